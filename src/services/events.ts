import { uuidv7 } from "../ids.js";
import { assert } from "../ledger/assert.js";
import type { CurrencyRegistry } from "../ledger/currencies.js";
import type { AccountRecord, DepositRecord, EventRecord, EventType, Store, TransferRecord, WalletRecord, WriteTx } from "../store/store.js";
import { DEFAULT_STREAM_LIMITS, EventStreams, type StreamLimits } from "./event-streams.js";
import { eventPayloadView } from "./views.js";

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
  transfer?: TransferRecord | null;
  /** For a partial capture: the part of the hold that went back to the wallet. */
  released?: TransferRecord | null;
  deposit?: DepositRecord | null;
}

export async function recordEvent(tx: WriteTx, currencies: CurrencyRegistry, input: EventInput): Promise<void> {
  const id = uuidv7();
  const createdAt = new Date().toISOString();
  const payload = eventPayloadView(currencies, { ...input, id, createdAt });
  await tx.appendEvent({
    tenantId: input.tenantId,
    id,
    type: input.type,
    walletUuid: input.wallet?.uuid ?? null,
    payload: JSON.stringify(payload),
    createdAt,
  });
}

/** The wallet a record belongs to, read inside the transaction (holds and withdrawals keep its id). */
export async function walletById(tx: WriteTx, tenantId: string, walletUuid: string): Promise<WalletRecord> {
  const wallet = await tx.findWallet(tenantId, { by: "uuid", value: walletUuid });
  assert(wallet !== undefined, `wallet ${walletUuid} of tenant ${tenantId} exists`);
  return wallet;
}

export const MAX_EVENTS_PER_READ = 500;

/** Reads the outbox for live streams: what came after a sequence number, and when to look. */
export class EventService {
  /** The live streams of this process: caps, one shared outbox reader per tenant (event-streams.ts). */
  readonly streams: EventStreams;

  constructor(
    private readonly store: Store,
    streamLimits: StreamLimits = DEFAULT_STREAM_LIMITS,
  ) {
    this.streams = new EventStreams(store, streamLimits);
  }

  after(tenantId: string, afterSeq: number, walletUuid: string | undefined): Promise<EventRecord[]> {
    return this.store.listEvents(tenantId, afterSeq, walletUuid, MAX_EVENTS_PER_READ);
  }

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
