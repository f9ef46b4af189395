import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TSchema } from "typebox";
import { CurrencyRegistry, DEFAULT_CURRENCIES } from "../../src/ledger/currencies.js";
import { DAY_MS } from "../../src/ledger/limits.js";
import { breachView, exclusionView, limitChangeView, limitEventPayload } from "../../src/services/limit-views.js";
import type { BatchOutcome, GameResult } from "../../src/services/results.js";
import * as views from "../../src/services/views.js";
import type {
  AccountRecord,
  DeliveryRecord,
  DepositRecord,
  HoldRecord,
  ListedEvent,
  TransferRecord,
  WalletRecord,
  WebhookEndpointRecord,
  WithdrawalRecord,
} from "../../src/store/store.js";
import { EVENT_SCHEMAS, EVENT_SHAPES, EVENT_TYPES, EventPayload } from "../../src/wire/events.js";
import * as wire from "../../src/wire/schemas.js";
import { wireProblem } from "../contract.js";

/**
 * One source of truth for the wire format (DESIGN 2): every view of src/services/views.ts
 * returns exactly what its schema in src/wire/ names. The schemas are checked closed here, so
 * a property added to a view and not to its schema fails this test (Fastify's serializer
 * would otherwise drop it from HTTP answers without a word, while webhooks kept it).
 */

const currencies = new CurrencyRegistry(DEFAULT_CURRENCIES);
const at = "2024-06-11T10:00:00.000Z";
const uuid = (n: number) => `0190a1b2-c3d4-7e5f-8a9b-${String(n).padStart(12, "0")}`;

const wallet: WalletRecord = {
  uuid: uuid(1),
  walletId: "w_abcdefghijkl",
  tenantId: uuid(2),
  name: "Player 12345",
  externalId: "player-12345",
  createdAt: at,
  updatedAt: at,
};

const account: AccountRecord = {
  id: uuid(3),
  currency: "USDTTRC20",
  debitsMustNotExceedCredits: true,
  creditsPosted: 500_000_000n,
  debitsPosted: 100_000_000n,
  creditsPending: 100_000_000n,
  debitsPending: 0n,
  controls: null,
  controlsDueAt: null,
  tenantId: wallet.tenantId,
  ownerKind: "wallet",
  walletUuid: wallet.uuid,
  version: 4,
};

const transfer: TransferRecord = {
  id: uuid(4),
  tenantId: wallet.tenantId,
  currency: "USDTTRC20",
  flag: "posted",
  debitAccountId: uuid(5),
  creditAccountId: account.id,
  amount: 25_500_000n,
  pendingId: null,
  transferType: "to_sub",
  walletUuid: wallet.uuid,
  status: "posted",
  createdAt: at,
  reference: "tx-1",
  roundId: null,
  betTransactionId: null,
  balanceAmount: 400_000_000n,
  balancePending: 100_000_000n,
  accountVersion: 4,
};

const deposit: DepositRecord = {
  id: uuid(6),
  tenantId: wallet.tenantId,
  walletUuid: wallet.uuid,
  currency: "USDTTRC20",
  txHash: "t2",
  amount: 100_000_000n,
  confirmations: 3,
  status: "pending",
  transferId: uuid(7),
  createdAt: at,
  updatedAt: at,
};

const hold: HoldRecord = {
  id: uuid(8),
  tenantId: wallet.tenantId,
  walletUuid: wallet.uuid,
  currency: "USDTTRC20",
  amount: 30_000_000n,
  capturedAmount: 10_000_000n,
  status: "posted",
  transferId: uuid(9),
  reference: "order-1",
  expiresAt: at,
  createdAt: at,
  updatedAt: at,
};

const withdrawal: WithdrawalRecord = {
  id: uuid(10),
  tenantId: wallet.tenantId,
  walletUuid: wallet.uuid,
  currency: "BTC",
  amount: 2_500_000n,
  address: "bc1qexample",
  status: "completed",
  transferId: uuid(11),
  txHash: "b-out-1",
  createdAt: at,
  updatedAt: at,
};

const game: GameResult = {
  transaction: {
    transactionId: "bet-1001",
    kind: "bet",
    status: "completed",
    currency: "USDTTRC20",
    amount: 10_000_000n,
    roundId: "round-77",
    referenceId: null,
    createdAt: at,
  },
  balance: { amount: 500_000_000n, pendingAmount: 100_000_000n },
  betNotFound: false,
};

/** An answer stored before issue 13 (an Idempotency-Key's record of a batch): the account instead of its balance. */
const legacyGame = { transaction: game.transaction, account, betNotFound: false } as unknown as GameResult;

/** An event as the outbox lists it: a transfer.posted of `transfer`, unless told otherwise. */
const listed = (overrides: Partial<ListedEvent>): ListedEvent => ({
  tenantId: wallet.tenantId,
  seq: 1,
  id: uuid(14),
  type: "transfer.posted",
  walletUuid: wallet.uuid,
  transferId: transfer.id,
  webhooks: false,
  createdAt: at,
  depositId: null,
  confirmations: null,
  requiredConfirmations: null,
  payload: null,
  balance: { amount: 500_000_000n, pendingAmount: 100_000_000n },
  accountVersion: 4,
  wallet,
  transfer,
  pending: null,
  deposit: null,
  ...overrides,
});

/** A hold of 30 captured for 10: the resolution and the pending transfer it resolved. */
const pendingHold: TransferRecord = {
  ...transfer,
  id: uuid(5),
  transferType: "hold",
  flag: "pending",
  status: "voided",
  amount: 30_000_000n,
};
const captured: TransferRecord = {
  ...transfer,
  transferType: "hold",
  flag: "post_pending",
  pendingId: pendingHold.id,
  amount: 10_000_000n,
};

const endpoint: WebhookEndpointRecord = {
  id: uuid(12),
  tenantId: wallet.tenantId,
  url: "https://casino.example/wallet-events",
  secret: "whsec_0123456789",
  createdAt: at,
  disabledAt: null,
};

const delivery: DeliveryRecord = {
  eventId: uuid(13),
  endpointId: endpoint.id,
  tenantId: wallet.tenantId,
  eventType: "transfer.posted",
  status: "failed",
  attempts: 3,
  nextAttemptAt: at,
  lastStatusCode: 503,
  lastError: "answered 503",
  createdAt: at,
  deliveredAt: null,
};

const batchOutcomes: BatchOutcome[] = [
  { status: "ok", value: { kind: "transfer", transfer } },
  { status: "ok", value: { kind: "game", game } },
  { status: "failed", error: { code: "insufficient_funds", message: "Insufficient funds", details: { available_balance: "0.00" } } },
];

/** Each view, with the outputs it gives for the fixtures and the schema they must match. */
const CASES: Record<keyof typeof views, { schema: TSchema; outputs: () => unknown[] }> = {
  balanceView: { schema: wire.Balance, outputs: () => [views.balanceView(currencies, account)] },
  walletSummaryView: { schema: wire.WalletSummary, outputs: () => [views.walletSummaryView(wallet)] },
  walletView: {
    schema: wire.Wallet,
    outputs: () => [
      views.walletView(currencies, wallet, [account], null),
      views.walletView(currencies, wallet, [], exclusionView({ kind: "timeout", startedAtMs: 0, endsAtMs: DAY_MS })),
    ],
  },
  walletListEntryView: {
    schema: wire.WalletListEntry,
    outputs: () => [
      views.walletListEntryView(currencies, wallet, [account]),
      views.walletListEntryView(currencies, wallet, [{ ...account, creditsPending: 0n }]),
      views.walletListEntryView(currencies, wallet, []),
    ],
  },
  transferView: { schema: wire.Transfer, outputs: () => [views.transferView(currencies, transfer)] },
  emptyBalanceView: { schema: wire.Balance, outputs: () => [views.emptyBalanceView(currencies, "ETH")] },
  snapshotView: { schema: wire.Balance, outputs: () => [views.snapshotView(currencies, "BTC", { amount: -5n, pendingAmount: 3n })] },
  gameView: {
    schema: wire.GameAnswer,
    outputs: () => [
      views.gameView(currencies, game),
      views.gameView(currencies, legacyGame),
      views.gameView(currencies, { ...game, balance: null }),
      views.gameView(currencies, { ...game, balance: null, transaction: { ...game.transaction, currency: "" } }),
    ],
  },
  holdView: {
    schema: wire.Hold,
    outputs: () => [views.holdView(currencies, hold), views.holdView(currencies, { ...hold, reference: null })],
  },
  withdrawalView: { schema: wire.Withdrawal, outputs: () => [views.withdrawalView(currencies, withdrawal)] },
  depositView: { schema: wire.Deposit, outputs: () => [views.depositView(currencies, deposit)] },
  systemWithdrawalView: { schema: wire.SystemWithdrawal, outputs: () => [views.systemWithdrawalView(currencies, withdrawal)] },
  webhookEndpointView: { schema: wire.WebhookEndpoint, outputs: () => [views.webhookEndpointView(endpoint)] },
  newWebhookEndpointView: { schema: wire.NewWebhookEndpoint, outputs: () => [views.newWebhookEndpointView(endpoint)] },
  webhookDeliveryView: {
    schema: wire.WebhookDelivery,
    outputs: () => [views.webhookDeliveryView(delivery), views.webhookDeliveryView({ ...delivery, status: "delivered", deliveredAt: at })],
  },
  batchResultView: {
    schema: wire.BatchMovementResult,
    outputs: () => batchOutcomes.map((outcome, index) => views.batchResultView(currencies, outcome, index)),
  },
  eventPayloadView: {
    schema: EventPayload,
    outputs: () => [
      views.eventPayloadView(
        currencies,
        listed({ type: "deposit.pending", deposit, depositId: deposit.id, confirmations: 3, requiredConfirmations: 19 }),
      ),
      views.eventPayloadView(
        currencies,
        listed({
          type: "deposit.pending",
          wallet: null,
          transfer: null,
          deposit,
          depositId: deposit.id,
          confirmations: 5,
          requiredConfirmations: 19,
        }),
      ),
      views.eventPayloadView(currencies, listed({ type: "hold.captured", transfer: captured, pending: pendingHold })),
    ],
  },
  eventJson: { schema: EventPayload, outputs: () => [JSON.parse(views.eventJson(currencies, listed({})))] },
};

describe("views match their wire schemas exactly", () => {
  it("has a case for every view, so a new view cannot skip this test", () => {
    const exported = Object.entries(views)
      .filter(([, value]) => typeof value === "function")
      .map(([name]) => name)
      .sort();
    assert.deepEqual(Object.keys(CASES).sort(), exported);
  });

  for (const [name, { schema, outputs }] of Object.entries(CASES)) {
    it(`${name} sends no property its schema lacks, and every one it names`, () => {
      for (const output of outputs()) {
        const problem = wireProblem(schema, JSON.parse(JSON.stringify(output)));
        assert.equal(problem, undefined, `${name} returned ${JSON.stringify(output)}`);
      }
    });
  }

  it("catches a property added to a view only (the check has teeth)", () => {
    const balance = views.balanceView(currencies, account);
    assert.equal(wireProblem(wire.Balance, balance), undefined);
    assert.match(
      String(wireProblem(wire.Balance, { ...balance, frozen_amount: "0.00" })),
      /additionalProperties|must NOT have additional properties/,
    );
    assert.match(
      String(wireProblem(wire.Wallet, { ...views.walletView(currencies, wallet, [account], null), tier: "gold" })),
      /additional/,
    );
    // Nested objects are closed too.
    const nested = { ...views.walletView(currencies, wallet, [account], null) };
    nested.balances = [{ ...balance, frozen_amount: "0.00" } as typeof balance];
    assert.match(String(wireProblem(wire.Wallet, nested)), /additional/);
  });

  it("writes amounts as the decimal strings the schema's pattern names", () => {
    assert.deepEqual(views.balanceView(currencies, account), {
      currency: "USDTTRC20",
      amount: "500.00",
      pending_amount: "100.00",
      available_balance: "400.00",
    });
    assert.match(String(wireProblem(wire.Balance, { ...views.balanceView(currencies, account), amount: "500" })), /pattern/);
    assert.match(String(wireProblem(wire.Balance, { ...views.balanceView(currencies, account), amount: 500 })), /string/);
  });

  it("builds every event type's payload as the webhooks document names it", () => {
    assert.equal(EVENT_TYPES.length, 20);
    for (const type of EVENT_TYPES.filter((type) => !EVENT_SHAPES[type].controls)) {
      // A held deposit released in part is shown as a capture is: the posted part and the part still held.
      const shapeOf: Partial<ListedEvent> =
        type.startsWith("deposit.") && type !== "deposit.released"
          ? { deposit, depositId: deposit.id, confirmations: 3, requiredConfirmations: 19 }
          : type === "hold.captured" || type === "deposit.released"
            ? { transfer: captured, pending: pendingHold }
            : {};
      const payload = views.eventPayloadView(currencies, listed({ id: uuid(20), type, ...shapeOf }));
      assert.equal(wireProblem(EVENT_SCHEMAS[type], JSON.parse(JSON.stringify(payload))), undefined, type);
    }
  });

  it("builds the payload of every event about limits as the webhooks document names it", () => {
    const decimals = 6;
    const about = {
      changes: {
        changes: [
          limitChangeView({ name: "loss_day", amount: 100_000_000n, effectiveAtMs: 0 }, decimals),
          limitChangeView({ name: "max_stake", amount: null, effectiveAtMs: DAY_MS }, decimals),
        ],
      },
      limits: {
        limits: [
          breachView(
            { name: "wager_week", limit: "wager", window: "week", amount: 5_000_000n, used: 5_000_000n, remaining: 0n, resetsAtMs: DAY_MS },
            decimals,
          ),
          breachView(
            { name: "deposit_day", limit: "deposit", window: "day", amount: 1n, used: 0n, remaining: 1n, resetsAtMs: null },
            decimals,
          ),
        ],
      },
      exclusion: { exclusion: exclusionView({ kind: "self_exclusion", startedAtMs: 0, endsAtMs: 183 * DAY_MS }) },
    };
    const controlled = EVENT_TYPES.filter((type) => EVENT_SHAPES[type].controls);
    assert.deepEqual(controlled, ["limits.changed", "limits.change_scheduled", "limit.reached", "exclusion.started", "exclusion.ended"]);
    for (const type of controlled) {
      const shape = EVENT_SHAPES[type].controls as keyof typeof about;
      const payload = JSON.parse(
        limitEventPayload(currencies, { id: uuid(21), type, createdAt: at, wallet, account, about: about[shape] }),
      );
      assert.equal(wireProblem(EVENT_SCHEMAS[type], payload), undefined, type);
      for (const movementField of ["transfer", "released_transfer", "deposit"]) assert.equal(movementField in payload, false, type);
    }
  });

  it("shows an event's transfer as it was when the event happened", () => {
    const placed = views.eventPayloadView(currencies, listed({ type: "hold.placed", transfer: { ...pendingHold, status: "posted" } }));
    assert.equal(placed.transfer?.status, "pending", "a pending transfer posted since is shown pending");
    const voidRow: TransferRecord = { ...pendingHold, id: uuid(6), flag: "void_pending", pendingId: pendingHold.id };
    const voided = views.eventPayloadView(currencies, listed({ type: "hold.voided", transfer: voidRow, pending: pendingHold }));
    assert.deepEqual([voided.transfer?.id, voided.transfer?.status, voided.transfer?.amount], [pendingHold.id, "voided", "30.00"]);
    assert.equal(voided.released_transfer, null);
    const capture = views.eventPayloadView(currencies, listed({ type: "hold.captured", transfer: captured, pending: pendingHold }));
    assert.deepEqual(
      [capture.transfer?.amount, capture.released_transfer?.amount, capture.released_transfer?.id],
      ["10.00", "20.00", pendingHold.id],
    );
    const whole = views.eventPayloadView(
      currencies,
      listed({ type: "hold.captured", transfer: { ...captured, amount: 30_000_000n }, pending: pendingHold }),
    );
    assert.equal(whole.released_transfer, null);
    const deposited = views.eventPayloadView(
      currencies,
      listed({
        type: "deposit.pending",
        deposit: { ...deposit, status: "confirmed", confirmations: 40 },
        confirmations: 3,
        requiredConfirmations: 19,
      }),
    );
    assert.deepEqual([deposited.deposit?.status, deposited.deposit?.confirmations], ["pending", 3], "the deposit as it was then");
    assert.equal(views.eventJson(currencies, listed({ payload: '{"kept":true}' })), '{"kept":true}', "a payload kept from before issue 13");
  });

  it("answers a game stored with its account (before issue 13) as one stored with its balance", () => {
    assert.deepEqual(views.gameView(currencies, legacyGame), views.gameView(currencies, game));
  });
});
