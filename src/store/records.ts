import type { AccountKey, OwnerKind } from "../ledger/account-keys.js";
import type { Counters, LedgerAccount } from "../ledger/accounts.js";
import type { TransferFlag } from "../ledger/replay.js";

/** What the stores keep, as the services see it: one record type per table (tables.ts maps each to its columns). */

export type Scope = "read" | "write" | "deposits" | "withdrawals";
export type TransferType = "to_sub" | "to_master" | "deposit" | "bet" | "win" | "rollback" | "hold" | "withdrawal";
export type TransferStatus = "posted" | "pending" | "voided";
export type DepositStatus = "pending" | "confirmed" | "dropped";
export type GameKind = "bet" | "win" | "rollback";
/**
 * A bet is completed, settled once a win refers to it, or rolled_back. A tombstone marks a bet
 * that was rolled back before it arrived: it can never be placed.
 */
export type GameStatus = "completed" | "settled" | "rolled_back" | "tombstone";
export type HoldStatus = "pending" | "posted" | "voided" | "expired";
export type WithdrawalStatus = "pending" | "completed" | "failed";
export type UnknownRollbackPolicy = "succeed" | "not_found";

export interface TenantRecord {
  id: string;
  name: string;
  createdAt: string;
  /** How a rollback of a bet never seen is answered (the bet is tombstoned either way). */
  unknownRollback: UnknownRollbackPolicy;
  /** How long a raised or removed safer-gambling limit waits before it applies (24 h unless the operator sets it). */
  limitCoolingOffSeconds: number;
}

/**
 * A game transaction as the use cases see it. One that moved money is kept by its transfer
 * (issue 13: the transfer's reference is its transaction_id, and the transfer keeps the bet it
 * refers to and the balance after it); only one that moved nothing keeps a row of its own
 * (GameTransactionRow), as do those written before issue 13.
 */
export interface GameTransactionRecord {
  tenantId: string;
  transactionId: string;
  kind: GameKind;
  /** A bet's status is not stored when its transfer keeps it: the win or rollback that refers to it tells. */
  status: GameStatus;
  walletUuid: string;
  currency: string;
  amount: bigint;
  roundId: string;
  /** For wins and rollbacks: the bet's transaction_id. */
  referenceId: string | null;
  createdAt: string;
  /** The transfer of its movement, which keeps it; null when it keeps a row of its own. */
  transferId: string | null;
  /** The wallet's balance in `currency` right after the call, as answered; null if its account had never been opened. */
  balance: BalanceSnapshot | null;
  /** A rollback of an unknown bet answered 404 (the tenant's policy): a repeat answers it again. */
  betNotFound: boolean;
  /**
   * The answer as stored before issue 13 (JSON), kept only where the row's columns cannot give
   * it back exactly (counters past 64 bits on SQLite, an unexpected shape); null otherwise.
   */
  result: string | null;
}

/** A balance as answered: `amount` and `pending_amount`; the available balance is their difference. */
export interface BalanceSnapshot {
  amount: bigint;
  pendingAmount: bigint;
}

/** The row of a game transaction that moved nothing (a zero win, a rollback with nothing to roll back, a tombstone), or of one written before issue 13. */
export interface GameTransactionRow extends Omit<GameTransactionRecord, "transferId" | "balance"> {
  /** The balance answered (null: the account had never been opened, or a tombstone). */
  balanceAmount: bigint | null;
  balancePending: bigint | null;
}

export interface HoldRecord {
  id: string;
  tenantId: string;
  walletUuid: string;
  currency: string;
  amount: bigint;
  capturedAmount: bigint;
  status: HoldStatus;
  transferId: string;
  reference: string | null;
  expiresAt: string;
  createdAt: string;
  updatedAt: string;
}

export interface WithdrawalRecord {
  id: string;
  tenantId: string;
  walletUuid: string;
  currency: string;
  amount: bigint;
  address: string;
  status: WithdrawalStatus;
  transferId: string;
  txHash: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface IdempotencyRecord {
  scope: string;
  key: string;
  fingerprint: string;
  /** The stored answer (JSON), replayed on a repeat. */
  result: string;
  expiresAt: string;
  createdAt: string;
}

export interface ApiKeyRecord {
  id: string;
  /** null for system keys, which belong to the operator of the service. */
  tenantId: string | null;
  keyHash: string;
  scopes: Scope[];
  createdAt: string;
  revokedAt: string | null;
}

export interface ClientRecord {
  clientId: string;
  tenantId: string;
  secretHash: string;
  scopes: Scope[];
  createdAt: string;
}

/**
 * A player's wallet. It has two ids: `uuid`, the internal one every row that belongs to the
 * wallet refers to (as `walletUuid`), and `walletId`, the public `w_…` id of the API.
 */
export interface WalletRecord {
  uuid: string;
  walletId: string;
  tenantId: string;
  name: string;
  externalId: string;
  createdAt: string;
  updatedAt: string;
}

/** What the balance read shows of one account: its currency and counters. */
export interface AccountBalanceRecord extends Counters {
  currency: string;
}

/** The balance read's wallet: its ids and names, and its accounts that have moved, in the order they were opened. */
export interface WalletBalancesRecord extends Pick<WalletRecord, "uuid" | "walletId" | "name" | "externalId"> {
  accounts: AccountBalanceRecord[];
}

/**
 * What the balance read answers: the API key it was asked to check is revoked (then nothing of
 * the wallet is read), or the wallet (undefined when the lookup names none).
 */
export type BalancesRead = { revoked: true } | { revoked: false; wallet: WalletBalancesRecord | undefined };

/** Names a wallet the way the API does; wallet_id wins over external_id (the specification). */
export type WalletLookup = { by: "uuid"; value: string } | { by: "wallet_id"; value: string } | { by: "external_id"; value: string };

export type { AccountKey, OwnerKind };

export interface AccountRecord extends LedgerAccount, AccountKey {
  /** Grows by one with every change of the account: consumers order balance updates by it. */
  version: number;
  /**
   * A wallet account's safer-gambling controls (ledger/limits.ts `encodeControls`): limits,
   * their use in buckets, held deposits, the wallet's exclusion. Null on every account without
   * any, so that movements of the others neither read nor write more than before.
   */
  controls: string | null;
  /** When the sweeper next has work on the controls (a scheduled change, an exclusion's end, held deposits); null when none. */
  controlsDueAt: string | null;
}

export type EventType =
  | "deposit.pending"
  | "deposit.confirmed"
  | "deposit.dropped"
  | "transfer.posted"
  | "bet.placed"
  | "win.credited"
  | "rollback.applied"
  | "hold.placed"
  | "hold.captured"
  | "hold.voided"
  | "hold.expired"
  | "withdrawal.requested"
  | "withdrawal.completed"
  | "withdrawal.failed"
  | "deposit.released"
  | "limits.changed"
  | "limits.change_scheduled"
  | "limit.reached"
  | "exclusion.started"
  | "exclusion.ended";

/**
 * An outbox entry, written in the transaction of the movement it describes. It keeps what its
 * JSON (webhooks, streams) needs and nothing the rows it refers to keep: the JSON is rendered
 * when read (services/views.ts `eventPayloadView`) from this, the wallet, the transfer (with the
 * balance after it) and the deposit (ListedEvent).
 */
export interface EventRecord {
  tenantId: string;
  /** Per tenant, in commit order, without gaps: what Last-Event-ID resumes from. */
  seq: number;
  /** Stable id for de-duplication by webhook receivers. */
  id: string;
  type: EventType;
  walletUuid: string | null;
  /**
   * The transfer the event is about: the movement, or the resolution of a pending one (a void
   * shows the pending transfer it gave back). Null for a deposit's progress, which moves nothing.
   */
  transferId: string | null;
  /** Whether the tenant had webhook endpoints: only then do deliveries look the event up by id. */
  webhooks: boolean;
  /**
   * The account's balance (`amount`, `pending_amount`) and version after the movement, when the
   * transfer does not keep them: a deposit's progress, and events written before issue 13.
   */
  balanceAmount: bigint | null;
  balancePending: bigint | null;
  accountVersion: number | null;
  /** Null when it is the transfer's created_at, as for every event written since issue 13 that has a transfer. */
  createdAt: string | null;
  /** For deposit events: the deposit, and its confirmations (seen, required) at the time. */
  depositId: string | null;
  confirmations: number | null;
  requiredConfirmations: number | null;
  /**
   * The JSON of an event written before issue 13 whose columns could not be shown to give it
   * back byte for byte (an older shape); null for every other event.
   */
  payload: string | null;
}

/** An event as the outbox lists it: its row, with what it leaves to the transfer filled in, and the rows its JSON shows. */
export interface ListedEvent extends Omit<EventRecord, "createdAt" | "balanceAmount" | "balancePending" | "accountVersion"> {
  createdAt: string;
  /** The account's balance and version after the movement. */
  balance: BalanceSnapshot;
  accountVersion: number;
  wallet: WalletRecord | null;
  transfer: TransferRecord | null;
  /** When `transfer` resolved a pending transfer: that pending transfer. */
  pending: TransferRecord | null;
  deposit: DepositRecord | null;
}

export interface WebhookEndpointRecord {
  id: string;
  tenantId: string;
  url: string;
  secret: string;
  createdAt: string;
  disabledAt: string | null;
}

export type DeliveryStatus = "pending" | "delivered" | "failed";

export interface DeliveryRecord {
  eventId: string;
  endpointId: string;
  tenantId: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: string;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

/** A due delivery, leased to one dispatcher, with what it needs to send. */
export interface ClaimedDelivery {
  eventId: string;
  endpointId: string;
  eventType: string;
  attempts: number;
  createdAt: string;
  url: string;
  secret: string;
  /** What is sent: the event, rendered by the dispatcher. */
  event: ListedEvent;
}

export interface DeliveryOutcome {
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: string;
  lastStatusCode: number | null;
  lastError: string | null;
  deliveredAt: string | null;
}

export interface TransferRecord {
  id: string;
  tenantId: string;
  currency: string;
  flag: TransferFlag;
  debitAccountId: string;
  creditAccountId: string;
  amount: bigint;
  pendingId: string | null;
  /** What the API shows; null only on resolution rows written before history listed them. */
  transferType: TransferType | null;
  walletUuid: string | null;
  status: TransferStatus;
  createdAt: string;
  /**
   * What a casino reconciles the transfer by: the game's transaction_id, the deposit's tx_hash,
   * the hold's or the withdrawal's id; null for master-wallet transfers.
   */
  reference: string | null;
  /** The game round of a bet, win or rollback. */
  roundId: string | null;
  /** A win's or rollback's bet (its transaction_id): the transfer keeps the game transaction (GameTransactionRecord). */
  betTransactionId: string | null;
  /**
   * The balance (`amount`, `pending_amount`) and version, right after this transfer, of its
   * wallet's account, or the master's when no wallet takes part: what the event of the movement
   * and a game's answer show. Null on transfers written before issue 13.
   */
  balanceAmount: bigint | null;
  balancePending: bigint | null;
  accountVersion: number | null;
}

export interface DepositRecord {
  id: string;
  tenantId: string;
  walletUuid: string | null;
  currency: string;
  txHash: string;
  amount: bigint;
  confirmations: number;
  status: DepositStatus;
  transferId: string | null;
  createdAt: string;
  updatedAt: string;
}
