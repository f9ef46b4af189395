import { uuidv7 } from "../ids.js";
import { balanceOf } from "../ledger/accounts.js";
import { assert } from "../ledger/assert.js";
import type { CurrencyRegistry } from "../ledger/currencies.js";
import type { AccountRecord, DepositRecord, EventType, ListedEvent, Store, TransferRecord, WalletRecord, WriteTx } from "../store/store.js";
import type { OutboxEvent } from "./event-streams/frames.js";
import { DEFAULT_STREAM_LIMITS, EventStreams, type StreamLimits } from "./event-streams.js";
import { eventJson } from "./views.js";

/**
 * The transactional outbox: every movement writes its event in the same database transaction,
 * so an event exists exactly when its movement committed. Webhooks and live streams read it.
 */

export interface EventInput {
  type: EventType;
  tenantId: string;
  /** The player's wallet, or null for the tenant's master account. */
  wallet: WalletRecord | null;
  /** The wallet's (or master's) account after the movement. */
  account: AccountRecord;
  /** The transfer the movement wrote (a resolution, for a pending transfer posted or voided); none for a deposit's progress. */
  transfer?: TransferRecord | null;
  deposit?: DepositRecord | null;
}

/**
 * Appends the event: its row keeps ids and what no other row keeps (EventRecord), and its JSON is
 * rendered when read (`eventJson`). The transfer keeps the balance and version after it, and its
 * time is the event's.
 */
export async function recordEvent(tx: WriteTx, currencies: CurrencyRegistry, input: EventInput): Promise<void> {
  const { account, transfer = null, deposit = null } = input;
  const balance = balanceOf(account);
  if (transfer) {
    assert(
      transfer.balanceAmount === balance.amount &&
        transfer.balancePending === balance.pendingAmount &&
        transfer.accountVersion === account.version,
      `transfer ${transfer.id} keeps the balance its event shows`,
    );
  }
  const createdAt = transfer?.createdAt ?? new Date().toISOString();
  const event = {
    tenantId: input.tenantId,
    id: uuidv7(),
    type: input.type,
    walletUuid: input.wallet?.uuid ?? null,
    transferId: transfer?.id ?? null,
    balanceAmount: transfer ? null : balance.amount,
    balancePending: transfer ? null : balance.pendingAmount,
    accountVersion: transfer ? null : account.version,
    createdAt: transfer ? null : createdAt,
    depositId: deposit?.id ?? null,
    confirmations: deposit?.confirmations ?? null,
    requiredConfirmations: deposit ? currencies.held(deposit.currency).requiredConfirmations : null,
    payload: null,
  };
  await tx.appendEvent(event, createdAt);
}

/** The wallet a record belongs to, read inside the transaction (holds and withdrawals keep its id). */
export async function walletById(tx: WriteTx, tenantId: string, walletUuid: string): Promise<WalletRecord> {
  const wallet = await tx.findWallet(tenantId, { by: "uuid", value: walletUuid });
  assert(wallet !== undefined, `wallet ${walletUuid} of tenant ${tenantId} exists`);
  return wallet;
}

export const MAX_EVENTS_PER_READ = 500;

/** Reads the outbox for live streams and polling: what came after a sequence number, rendered, and when to look. */
export class EventService {
  /** The live streams of this process: caps, one shared outbox reader per tenant (event-streams.ts). */
  readonly streams: EventStreams;

  constructor(
    private readonly store: Store,
    private readonly currencies: CurrencyRegistry,
    streamLimits: StreamLimits = DEFAULT_STREAM_LIMITS,
  ) {
    this.streams = new EventStreams(store, streamLimits, (tenantId, afterSeq, walletUuid, limit) =>
      this.read(tenantId, afterSeq, walletUuid, limit),
    );
  }

  after(tenantId: string, afterSeq: number, walletUuid: string | undefined): Promise<OutboxEvent[]> {
    return this.read(tenantId, afterSeq, walletUuid, MAX_EVENTS_PER_READ);
  }

  /** Events after `afterSeq` with their JSON: the one rendering that streams, polling and webhooks (`render`) share. */
  async read(tenantId: string, afterSeq: number, walletUuid: string | undefined, limit: number): Promise<OutboxEvent[]> {
    const events = await this.store.listEvents(tenantId, afterSeq, walletUuid, limit);
    return events.map((event) => ({ seq: event.seq, type: event.type, walletUuid: event.walletUuid, payload: this.render(event) }));
  }

  /** The event's JSON as webhooks POST it (and streams send it, after its `seq`). */
  render = (event: ListedEvent): string => eventJson(this.currencies, event);

  lastSeq(tenantId: string): Promise<number> {
    return this.store.lastEventSeq(tenantId);
  }

  /** Calls `listener` whenever events of the tenant may have committed. */
  subscribe(tenantId: string, listener: () => void): Promise<() => void> {
    return this.store.onEventsCommitted((tenantIds) => {
      if (tenantIds.has(tenantId)) listener();
    });
  }
}
