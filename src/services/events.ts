import { uuidv7 } from "../ids.js";
import type { CurrencyRegistry } from "../ledger/currencies.js";
import type { AccountRecord, DepositRecord, EventRecord, EventType, Store, TransferRecord, WalletRecord, WriteTx } from "../store/store.js";
import { balanceView, depositView, transferView } from "./views.js";

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
  deposit?: DepositRecord | null;
  /** For a partial capture: the part of the hold that went back to the wallet. */
  released?: TransferRecord | null;
}

export async function recordEvent(tx: WriteTx, currencies: CurrencyRegistry, input: EventInput): Promise<void> {
  const id = uuidv7();
  const createdAt = new Date().toISOString();
  const { wallet, account } = input;
  const payload = {
    id,
    type: input.type,
    created_at: createdAt,
    tenant_id: input.tenantId,
    wallet: wallet && { id: wallet.id, wallet_id: wallet.walletId, external_id: wallet.externalId, name: wallet.name },
    currency: account.currency,
    balance: balanceView(currencies, account),
    account_version: account.version,
    transfer: input.transfer ? transferView(currencies, input.transfer) : null,
    released_transfer: input.released ? transferView(currencies, input.released) : null,
    deposit: input.deposit ? depositView(currencies, input.deposit) : null,
  };
  await tx.appendEvent({
    tenantId: input.tenantId,
    id,
    type: input.type,
    walletUuid: wallet?.id ?? null,
    payload: JSON.stringify(payload),
    createdAt,
  });
}

/** The wallet a record belongs to, read inside the transaction (holds and withdrawals keep its id). */
export async function walletById(tx: WriteTx, tenantId: string, walletUuid: string): Promise<WalletRecord> {
  const wallet = await tx.findWallet(tenantId, { by: "id", value: walletUuid });
  if (!wallet) throw new Error(`wallet ${walletUuid} of tenant ${tenantId} is missing`);
  return wallet;
}

export const MAX_EVENTS_PER_READ = 500;

/** Reads the outbox for live streams: what came after a sequence number, and when to look. */
export class EventService {
  constructor(private readonly store: Store) {}

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
