import type { AccountKey, OwnerKind } from "../ledger/account-keys.js";
import type { LedgerAccount } from "../ledger/accounts.js";
import type { ReplayAccount, ReplayTransfer, TransferFlag } from "../ledger/replay.js";
import type { CommitObserver, CommitStats } from "./group-commit.js";
import type { OperatorStore } from "./operator.js";
import type { RateLimitCounters } from "./rate-limits.js";
import type { PrefetchRequest } from "./write-behind.js";

/**
 * One interface, two adapters (SQLite, PostgreSQL). Services hold the use cases and call the
 * ledger core; stores only load and persist. Every balance change goes through `write`, which
 * runs the work inside one database transaction (group-committed with its neighbours) and
 * resolves only after that transaction is durable.
 */

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
}

export interface GameTransactionRecord {
  tenantId: string;
  transactionId: string;
  kind: GameKind;
  status: GameStatus;
  walletUuid: string;
  currency: string;
  amount: bigint;
  roundId: string;
  /** For wins and rollbacks: the bet's transaction_id. */
  referenceId: string | null;
  /** Hash of the request that created it: a repeat must match it to replay. */
  fingerprint: string;
  /** The answer given the first time, replayed on a repeat (JSON). */
  result: string;
  createdAt: string;
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

export interface WalletRecord {
  id: string;
  walletId: string;
  tenantId: string;
  name: string;
  externalId: string;
  createdAt: string;
  updatedAt: string;
}

/** Names a wallet the way the API does; wallet_id wins over external_id (the specification). */
export type WalletLookup = { by: "id"; value: string } | { by: "wallet_id"; value: string } | { by: "external_id"; value: string };

export type { AccountKey, OwnerKind };

export interface AccountRecord extends LedgerAccount, AccountKey {
  /** Grows by one with every change of the account: consumers order balance updates by it. */
  version: number;
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
  | "withdrawal.failed";

/** An outbox entry: written in the transaction of the movement it describes. */
export interface EventRecord {
  tenantId: string;
  /** Per tenant, in commit order, without gaps: what Last-Event-ID resumes from. */
  seq: number;
  /** Stable id for de-duplication by webhook receivers. */
  id: string;
  type: EventType;
  walletUuid: string | null;
  /** The event's JSON as sent to webhooks and streams (without seq). */
  payload: string;
  createdAt: string;
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
  payload: string;
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

export interface TransferFilter {
  tenantId: string;
  walletUuid: string;
  status?: TransferStatus;
  transferType?: TransferType;
  currency?: string;
  /** ISO 8601 UTC times (toISOString): created at or after `createdFrom`, before `createdBefore`. */
  createdFrom?: string;
  createdBefore?: string;
  limit: number;
  offset: number;
}

export interface WriteTx {
  findWallet(tenantId: string, lookup: WalletLookup): Promise<WalletRecord | undefined>;
  /** Inserts the wallet, or reports that its external_id is taken for this tenant. */
  insertWallet(wallet: WalletRecord): Promise<"inserted" | "duplicate_external_id">;
  /**
   * Returns the accounts for the keys, in the keys' order, opening missing ones with zero
   * counters. The adapter locks them for the rest of the transaction.
   */
  openAccounts(keys: AccountKey[]): Promise<AccountRecord[]>;
  /** Returns existing accounts by id, in the ids' order, locked for the rest of the transaction. */
  lockAccountsById(ids: string[]): Promise<AccountRecord[]>;
  saveAccounts(accounts: AccountRecord[]): Promise<void>;
  insertTransfer(transfer: TransferRecord): Promise<void>;
  setTransferStatus(id: string, status: TransferStatus): Promise<void>;
  findTransfer(id: string): Promise<TransferRecord | undefined>;
  findDeposit(currency: string, txHash: string): Promise<DepositRecord | undefined>;
  saveDeposit(deposit: DepositRecord): Promise<void>;
  /** Locked for the rest of the transaction. */
  findGameTransaction(tenantId: string, transactionId: string): Promise<GameTransactionRecord | undefined>;
  saveGameTransaction(record: GameTransactionRecord): Promise<void>;
  /** Locked for the rest of the transaction. */
  findHold(tenantId: string, id: string): Promise<HoldRecord | undefined>;
  saveHold(hold: HoldRecord): Promise<void>;
  /** Locked for the rest of the transaction; tenantId null finds any tenant's (system keys). */
  findWithdrawal(tenantId: string | null, id: string): Promise<WithdrawalRecord | undefined>;
  saveWithdrawal(withdrawal: WithdrawalRecord): Promise<void>;
  findIdempotencyRecord(scope: string, key: string): Promise<IdempotencyRecord | undefined>;
  /** Stores the record, replacing an expired one of the same key; false if a live one holds it. */
  saveIdempotencyRecord(record: IdempotencyRecord): Promise<boolean>;
  /**
   * Reads and locks, in a few round trips, the wallets, accounts and game transactions a batch
   * is about to use; later calls find them in the transaction's memory. Optional for
   * correctness: everything not prefetched is read when first asked for.
   */
  prefetch(request: PrefetchRequest): Promise<void>;
  /**
   * Runs work in a nested savepoint: if it throws, its writes are undone and the error passes
   * on, while the enclosing transaction goes on. Linked batch groups are built on this.
   */
  atomically<T>(work: () => Promise<T>): Promise<T>;
  /**
   * Appends an event to the tenant's outbox with the next sequence number, and queues a webhook
   * delivery of it for each of the tenant's active endpoints. Returns the sequence number.
   */
  appendEvent(event: Omit<EventRecord, "seq">): Promise<number>;
  /**
   * Webhook endpoints are managed in write transactions, like money, so that an Idempotency-Key
   * record commits together with the change it stands for.
   */
  insertWebhookEndpoint(endpoint: WebhookEndpointRecord): Promise<void>;
  /** Disables an active endpoint of the tenant; false if there is none. */
  disableWebhookEndpoint(tenantId: string, id: string, disabledAt: string): Promise<boolean>;
  /** Queues the event again for every endpoint it was meant for; returns how many. */
  redeliver(tenantId: string, eventId: string, now: string): Promise<number>;
}

export interface Store {
  readonly kind: "sqlite" | "postgres";
  close(): Promise<void>;

  /**
   * `prefetch` names what the work will touch: a client-server store reads and locks it for
   * all the work of one transaction in a few round trips, before running any of it.
   */
  write<T>(work: (tx: WriteTx) => Promise<T>, prefetch?: PrefetchRequest): Promise<T>;
  /** How well group commit is batching: items per batch is the commits saved. */
  readonly commitStats: CommitStats;
  /** Tells the observer about every transaction and the events it committed (metrics); returns the function that removes it. */
  observeCommits(observer: CommitObserver): () => void;
  /** Readiness, metrics and the command line's listings. */
  readonly operator: OperatorStore;
  /** Request counters shared by every process on the database (rate limiting); not durable. */
  readonly rateLimits: RateLimitCounters;

  insertTenant(tenant: TenantRecord): Promise<void>;
  findTenant(id: string): Promise<TenantRecord | undefined>;
  setUnknownRollbackPolicy(tenantId: string, policy: UnknownRollbackPolicy): Promise<boolean>;
  insertApiKey(key: ApiKeyRecord): Promise<void>;
  findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined>;
  revokeApiKey(id: string, revokedAt: string): Promise<boolean>;
  insertClient(client: ClientRecord): Promise<void>;
  findClient(clientId: string): Promise<ClientRecord | undefined>;
  /** Returns the stored value, storing `value` first if there is none (first writer wins). */
  getOrInsertSetting(name: string, value: string): Promise<string>;

  findWallet(tenantId: string, lookup: WalletLookup): Promise<WalletRecord | undefined>;
  /**
   * The wallet and its accounts in the order they were opened, in one round trip. Here and in
   * every balance listing, an account that has never moved (version 0) is left out: a refused
   * first movement may have created it, and a refusal must change nothing a client can see.
   */
  findWalletWithAccounts(tenantId: string, lookup: WalletLookup): Promise<{ wallet: WalletRecord; accounts: AccountRecord[] } | undefined>;
  /** A page of the tenant's wallets, optionally those whose name or external_id contains `search`. */
  listWallets(tenantId: string, limit: number, offset: number, search?: string): Promise<{ wallets: WalletRecord[]; total: number }>;
  listDeposits(tenantId: string, walletUuid: string, status: DepositStatus | undefined, limit: number): Promise<DepositRecord[]>;
  /** Accounts of the given wallets, in the order they were opened. */
  listWalletAccounts(walletUuids: string[]): Promise<AccountRecord[]>;
  listMasterAccounts(tenantId: string): Promise<AccountRecord[]>;
  listTransfers(filter: TransferFilter): Promise<{ transfers: TransferRecord[]; total: number }>;
  findHold(tenantId: string, id: string): Promise<HoldRecord | undefined>;
  findWithdrawal(tenantId: string | null, id: string): Promise<WithdrawalRecord | undefined>;
  listWithdrawals(status: WithdrawalStatus, limit: number, offset: number): Promise<WithdrawalRecord[]>;
  /** Pending holds whose timeout has passed, oldest first: the expiry sweeper's work list. */
  listExpiredHolds(now: string, limit: number): Promise<{ tenantId: string; id: string }[]>;
  deleteExpiredIdempotencyRecords(now: string, limit: number): Promise<number>;

  /** Events after `afterSeq`, oldest first, of the tenant or of one of its wallets. */
  listEvents(tenantId: string, afterSeq: number, walletUuid: string | undefined, limit: number): Promise<EventRecord[]>;
  lastEventSeq(tenantId: string): Promise<number>;
  /**
   * Calls the listener after a commit that appended events, with their tenants; on PostgreSQL
   * also for commits of other processes. Resolves, with the unsubscribe function, once
   * listening has begun: nothing committed after that is missed.
   */
  onEventsCommitted(listener: (tenantIds: ReadonlySet<string>) => void): Promise<() => void>;
  listWebhookEndpoints(tenantId: string): Promise<WebhookEndpointRecord[]>;
  /** Leases up to `limit` due deliveries until `leaseUntil`, so no other dispatcher sends them. */
  claimDueDeliveries(now: string, leaseUntil: string, limit: number): Promise<ClaimedDelivery[]>;
  finishDeliveryAttempt(eventId: string, endpointId: string, outcome: DeliveryOutcome): Promise<void>;
  listDeliveries(tenantId: string, status: DeliveryStatus | undefined, limit: number, offset: number): Promise<DeliveryRecord[]>;

  /**
   * Hands every account (with the group it must sum to zero in) and every transfer in commit
   * order, both read from one consistent snapshot, to `visit`. Used by verification.
   */
  withLedgerSnapshot<T>(visit: (accounts: ReplayAccount[], transfers: AsyncIterable<ReplayTransfer>) => Promise<T>): Promise<T>;
}
