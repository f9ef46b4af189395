/**
 * The public JSON representation of records: amounts as decimal strings (DESIGN 1.2). HTTP
 * answers, webhook bodies and stream events all use it, so a client parses one shape. Each view
 * returns the type of its schema in src/wire/ (the one source of truth of the wire format);
 * test/wire/views.test.ts fails when a view sends a property its schema lacks.
 */
import { balanceOf } from "../ledger/accounts.js";
import { assert } from "../ledger/assert.js";
import type { CurrencyRegistry } from "../ledger/currencies.js";
import { formatAmount } from "../ledger/money.js";
import type {
  AccountBalanceRecord,
  AccountRecord,
  BalanceSnapshot,
  DeliveryRecord,
  DepositRecord,
  EventType,
  HoldRecord,
  ListedEvent,
  TransferRecord,
  WalletRecord,
  WebhookEndpointRecord,
  WithdrawalRecord,
} from "../store/store.js";
import type { EventPayload } from "../wire/events.js";
import type {
  Balance,
  BatchMovementResult,
  Deposit,
  Exclusion,
  GameAnswer,
  Hold,
  NewWebhookEndpoint,
  SystemWithdrawal,
  Transfer,
  Wallet,
  WalletListEntry,
  WalletSummary,
  WebhookDelivery,
  WebhookEndpoint,
  Withdrawal,
} from "../wire/schemas.js";
import { answeredBalance, type BatchOutcome, type GameResult } from "./results.js";

export function balanceView(currencies: CurrencyRegistry, account: AccountBalanceRecord): Balance {
  const decimals = currencies.held(account.currency).decimals;
  const balance = balanceOf(account);
  return {
    currency: account.currency,
    amount: formatAmount(balance.amount, decimals),
    pending_amount: formatAmount(balance.pendingAmount, decimals),
    available_balance: formatAmount(balance.available, decimals),
  };
}

export function walletSummaryView(wallet: Pick<WalletRecord, "uuid" | "name" | "externalId" | "walletId">): WalletSummary {
  return { id: wallet.uuid, name: wallet.name, external_id: wallet.externalId, wallet_id: wallet.walletId };
}

/** A wallet with its balances and the exclusion in force (services/limits.ts `exclusionOf`). */
export function walletView(
  currencies: CurrencyRegistry,
  wallet: WalletRecord,
  accounts: AccountRecord[],
  exclusion: Exclusion | null,
): Wallet {
  return { ...walletFields(currencies, wallet, accounts), exclusion };
}

function walletFields(currencies: CurrencyRegistry, wallet: WalletRecord, accounts: AccountRecord[]) {
  return {
    ...walletSummaryView(wallet),
    created: wallet.createdAt,
    updated: wallet.updatedAt,
    balances: accounts.map((account) => balanceView(currencies, account)),
  };
}

/**
 * A wallet of GET /wallets/: deposits are the only credits that wait on a wallet account (holds
 * and withdrawals are pending debits), so credits pending on any of its accounts mean a deposit
 * is confirming. The accounts are the ones the list loads anyway: no query per wallet.
 */
export function walletListEntryView(currencies: CurrencyRegistry, wallet: WalletRecord, accounts: AccountRecord[]): WalletListEntry {
  return { ...walletFields(currencies, wallet, accounts), has_pending_deposits: accounts.some((account) => account.creditsPending > 0n) };
}

export function transferView(currencies: CurrencyRegistry, transfer: TransferRecord): Transfer {
  assert(transfer.transferType !== null, `transfer ${transfer.id} shown to a client is not an internal resolution row`);
  return {
    id: transfer.id,
    transfer_type: transfer.transferType,
    currency: transfer.currency,
    amount: formatAmount(transfer.amount, currencies.held(transfer.currency).decimals),
    status: transfer.status,
    created_at: transfer.createdAt,
    ...referencesOf(transfer),
  };
}

/** The transfer's reference under the name a casino knows it by (TransferRecord.reference). */
function referencesOf(transfer: TransferRecord) {
  const game = transfer.transferType === "bet" || transfer.transferType === "win" || transfer.transferType === "rollback";
  const only = (type: TransferRecord["transferType"]) => (transfer.transferType === type ? transfer.reference : null);
  return {
    transaction_id: game ? transfer.reference : null,
    round_id: game ? transfer.roundId : null,
    tx_hash: only("deposit"),
    hold_id: only("hold"),
    withdrawal_id: only("withdrawal"),
  };
}

/** A balance object for a currency the wallet has never used: all zero. */
export function emptyBalanceView(currencies: CurrencyRegistry, currency: string): Balance {
  const zero = formatAmount(0n, currencies.held(currency).decimals);
  return { currency, amount: zero, pending_amount: zero, available_balance: zero };
}

export function gameView(currencies: CurrencyRegistry, result: GameResult): GameAnswer {
  const { transaction } = result;
  const currency = transaction.currency;
  const balance = answeredBalance(result);
  return {
    transaction: {
      transaction_id: transaction.transactionId,
      type: transaction.kind,
      round_id: transaction.roundId,
      bet_transaction_id: transaction.referenceId,
      currency: currency || null,
      amount: currency ? formatAmount(transaction.amount, currencies.held(currency).decimals) : "0.00",
      status: transaction.status,
      created_at: transaction.createdAt,
    },
    balance: balance ? snapshotView(currencies, currency, balance) : currency ? emptyBalanceView(currencies, currency) : null,
  };
}

/** A balance object from the two numbers a snapshot keeps: the available balance is their difference. */
export function snapshotView(currencies: CurrencyRegistry, currency: string, balance: BalanceSnapshot): Balance {
  const decimals = currencies.held(currency).decimals;
  return {
    currency,
    amount: formatAmount(balance.amount, decimals),
    pending_amount: formatAmount(balance.pendingAmount, decimals),
    available_balance: formatAmount(balance.amount - balance.pendingAmount, decimals),
  };
}

export function holdView(currencies: CurrencyRegistry, hold: HoldRecord): Hold {
  const decimals = currencies.held(hold.currency).decimals;
  return {
    id: hold.id,
    status: hold.status,
    currency: hold.currency,
    amount: formatAmount(hold.amount, decimals),
    captured_amount: formatAmount(hold.capturedAmount, decimals),
    reference: hold.reference,
    expires_at: hold.expiresAt,
    created_at: hold.createdAt,
    updated_at: hold.updatedAt,
  };
}

export function withdrawalView(currencies: CurrencyRegistry, withdrawal: WithdrawalRecord): Withdrawal {
  return {
    id: withdrawal.id,
    status: withdrawal.status,
    currency: withdrawal.currency,
    amount: formatAmount(withdrawal.amount, currencies.held(withdrawal.currency).decimals),
    address: withdrawal.address,
    tx_hash: withdrawal.txHash,
    created_at: withdrawal.createdAt,
    updated_at: withdrawal.updatedAt,
  };
}

/** `atEvent`: the deposit as an event shows it, with its status and confirmations at the time. */
export function depositView(
  currencies: CurrencyRegistry,
  deposit: DepositRecord,
  atEvent?: { status: DepositRecord["status"]; confirmations: number; requiredConfirmations: number },
): Deposit {
  const currency = currencies.held(deposit.currency);
  return {
    id: deposit.id,
    status: atEvent?.status ?? deposit.status,
    confirmations: atEvent?.confirmations ?? deposit.confirmations,
    required_confirmations: atEvent?.requiredConfirmations ?? currency.requiredConfirmations,
    currency: deposit.currency,
    amount: formatAmount(deposit.amount, currency.decimals),
    tx_hash: deposit.txHash,
    created_at: deposit.createdAt,
  };
}

export function systemWithdrawalView(currencies: CurrencyRegistry, withdrawal: WithdrawalRecord): SystemWithdrawal {
  return { ...withdrawalView(currencies, withdrawal), tenant_id: withdrawal.tenantId };
}

export function webhookEndpointView(endpoint: WebhookEndpointRecord): WebhookEndpoint {
  return { id: endpoint.id, url: endpoint.url, created_at: endpoint.createdAt };
}

/** The endpoint as registered: the only answer that shows its signing secret. */
export function newWebhookEndpointView(endpoint: WebhookEndpointRecord): NewWebhookEndpoint {
  return { ...webhookEndpointView(endpoint), secret: endpoint.secret };
}

export function webhookDeliveryView(delivery: DeliveryRecord): WebhookDelivery {
  return {
    event_id: delivery.eventId,
    endpoint_id: delivery.endpointId,
    event_type: delivery.eventType,
    status: delivery.status,
    attempts: delivery.attempts,
    next_attempt_at: delivery.nextAttemptAt,
    last_status_code: delivery.lastStatusCode,
    last_error: delivery.lastError,
    created_at: delivery.createdAt,
    delivered_at: delivery.deliveredAt,
  };
}

export function batchResultView(currencies: CurrencyRegistry, outcome: BatchOutcome, index: number): BatchMovementResult {
  if (outcome.status !== "ok") return { index, status: outcome.status, error: outcome.error };
  const { value } = outcome;
  return value.kind === "transfer"
    ? { index, status: outcome.status, transfer: transferView(currencies, value.transfer) }
    : { index, status: outcome.status, game: gameView(currencies, value.game) };
}

/** The deposit's status an event of each deposit type shows: the status it reached then. */
const DEPOSIT_STATUS_OF: Partial<Record<EventType, DepositRecord["status"]>> = {
  "deposit.pending": "pending",
  "deposit.confirmed": "confirmed",
  "deposit.dropped": "dropped",
};

/**
 * What an event shows of its transfer (the row its movement wrote), as it was then: a pending
 * transfer is shown pending (its row later says posted or voided); a void shows the pending
 * transfer it gave back; a capture of part of a hold shows the part that went back as
 * `released`. The rows never change otherwise, so this gives back the first rendering.
 */
function shownTransfers(event: ListedEvent): { transfer: TransferRecord | null; released: TransferRecord | null } {
  const { transfer, pending } = event;
  if (transfer === null) return { transfer: null, released: null };
  switch (transfer.flag) {
    case "pending":
      return { transfer: { ...transfer, status: "pending" }, released: null };
    case "void_pending":
      assert(pending !== null, `void ${transfer.id} has its pending transfer`);
      return { transfer: { ...pending, status: "voided" }, released: null };
    case "post_pending":
      assert(pending !== null, `resolution ${transfer.id} has its pending transfer`);
      return {
        transfer,
        released: pending.amount > transfer.amount ? { ...pending, amount: pending.amount - transfer.amount, status: "voided" } : null,
      };
    default:
      return { transfer, released: null };
  }
}

/** The body of a webhook delivery and (with its `seq`) of a live-stream event. */
export function eventPayloadView(currencies: CurrencyRegistry, event: ListedEvent): EventPayload {
  const { wallet, deposit } = event;
  const { transfer, released } = shownTransfers(event);
  const currency = event.transfer?.currency ?? deposit?.currency;
  assert(currency !== undefined, `event ${event.id} has a transfer or a deposit`);
  const depositStatus = DEPOSIT_STATUS_OF[event.type];
  const atEvent = depositStatus &&
    event.confirmations !== null &&
    event.requiredConfirmations !== null && {
      status: depositStatus,
      confirmations: event.confirmations,
      requiredConfirmations: event.requiredConfirmations,
    };
  return {
    id: event.id,
    type: event.type,
    created_at: event.createdAt,
    tenant_id: event.tenantId,
    // This order, not walletSummaryView's: the JSON stays byte for byte what it always was.
    wallet: wallet && { id: wallet.uuid, wallet_id: wallet.walletId, external_id: wallet.externalId, name: wallet.name },
    currency,
    balance: snapshotView(currencies, currency, event.balance),
    account_version: event.accountVersion,
    transfer: transfer ? transferView(currencies, transfer) : null,
    released_transfer: released ? transferView(currencies, released) : null,
    deposit: deposit ? depositView(currencies, deposit, atEvent || undefined) : null,
  };
}

/** The event's JSON as webhooks send it: kept as written for an event from before issue 13 that its columns cannot give back. */
export function eventJson(currencies: CurrencyRegistry, event: ListedEvent): string {
  return event.payload ?? JSON.stringify(eventPayloadView(currencies, event));
}
