import type { ReplayAccount, ReplayTransfer } from "../ledger/replay.js";
import type { CommitObserver, CommitStats } from "./group-commit.js";
import type { OperatorStore } from "./operator.js";
import type { RateLimitCounters } from "./rate-limits.js";
import type {
  AccountKey,
  AccountRecord,
  ApiKeyRecord,
  BalancesRead,
  ClaimedDelivery,
  ClientRecord,
  DeliveryOutcome,
  DeliveryRecord,
  DeliveryStatus,
  DepositRecord,
  DepositStatus,
  EventRecord,
  GameTransactionRecord,
  HoldRecord,
  IdempotencyRecord,
  ListedEvent,
  TenantRecord,
  TransferRecord,
  TransferStatus,
  TransferType,
  UnknownRollbackPolicy,
  WalletLookup,
  WalletRecord,
  WebhookEndpointRecord,
  WithdrawalRecord,
  WithdrawalStatus,
} from "./records.js";

export type * from "./records.js";

/**
 * One interface, two adapters (SQLite, PostgreSQL). Services hold the use cases and call the
 * ledger core; stores only load and persist. Every balance change goes through `write`, which
 * runs the work inside one database transaction (group-committed with its neighbours) and
 * resolves only after that transaction is durable.
 */

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

/** What a batch is about to touch, so a store can read and lock it in a few round trips. */
export interface PrefetchRequest {
  tenantId: string;
  /** Wallets with the currency each moves in. */
  wallets: { lookup: WalletLookup; currency: string }[];
  /** The tenant's game transaction ids the batch reports or refers to. */
  gameTransactionIds: string[];
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
  lockDeposit(currency: string, txHash: string): Promise<DepositRecord | undefined>;
  saveDeposit(deposit: DepositRecord): Promise<void>;
  /** Locked for the rest of the transaction. */
  lockGameTransaction(tenantId: string, transactionId: string): Promise<GameTransactionRecord | undefined>;
  saveGameTransaction(record: GameTransactionRecord): Promise<void>;
  /** Locked for the rest of the transaction. */
  lockHold(tenantId: string, id: string): Promise<HoldRecord | undefined>;
  saveHold(hold: HoldRecord): Promise<void>;
  /** Locked for the rest of the transaction; tenantId null finds any tenant's (system keys). */
  lockWithdrawal(tenantId: string | null, id: string): Promise<WithdrawalRecord | undefined>;
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
   * delivery of it for each of the tenant's active endpoints, due from `createdAt` (the event's
   * time, which its record leaves to its transfer). Returns the sequence number (on PostgreSQL,
   * in a pipelined commit, its number within the transaction: it is numbered for good at commit).
   */
  appendEvent(event: Omit<EventRecord, "seq" | "webhooks">, createdAt: string): Promise<number>;
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
  /** How long a raised or removed safer-gambling limit waits before it applies; false when there is no such tenant. */
  setLimitCoolingOff(tenantId: string, seconds: number): Promise<boolean>;
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
  /**
   * The balance read of POST /wallets/balances/ in one statement (one round trip): the wallet's
   * ids and names and the counters of its accounts that have moved (as above). Given the id of
   * the request's API key, the same statement reads whether that key is still unrevoked, so a
   * key revoked by any process is refused as soon as its revocation has committed (store/balances.ts).
   * SQLite answers at once, not with a promise: the read is in-process, and the balance route
   * then answers in the same turn.
   */
  readBalances(tenantId: string, lookup: WalletLookup, apiKeyId: string | null): BalancesRead | Promise<BalancesRead>;
  /** A page of the tenant's wallets, optionally those whose name or external_id contains `search`. */
  listWallets(tenantId: string, limit: number, offset: number, search?: string): Promise<{ wallets: WalletRecord[]; total: number }>;
  listDeposits(tenantId: string, walletUuid: string, status: DepositStatus | undefined, limit: number): Promise<DepositRecord[]>;
  /** Accounts of the given wallets, in the order they were opened. */
  listWalletAccounts(walletUuids: string[]): Promise<AccountRecord[]>;
  listMasterAccounts(tenantId: string): Promise<AccountRecord[]>;
  /** The wallet's accounts that have safer-gambling controls, moved or not. */
  listControlledAccounts(walletUuid: string): Promise<AccountRecord[]>;
  /** Accounts whose controls the sweeper has work on at `now` (controls_due_at), oldest due first. */
  listDueControls(now: string, limit: number): Promise<{ tenantId: string; walletUuid: string; currency: string }[]>;
  listTransfers(filter: TransferFilter): Promise<{ transfers: TransferRecord[]; total: number }>;
  findHold(tenantId: string, id: string): Promise<HoldRecord | undefined>;
  findWithdrawal(tenantId: string | null, id: string): Promise<WithdrawalRecord | undefined>;
  listWithdrawals(status: WithdrawalStatus, limit: number, offset: number): Promise<WithdrawalRecord[]>;
  /** Pending holds whose timeout has passed, oldest first: the expiry sweeper's work list. */
  listExpiredHolds(now: string, limit: number): Promise<{ tenantId: string; id: string }[]>;
  deleteExpiredIdempotencyRecords(now: string, limit: number): Promise<number>;

  /** Events after `afterSeq`, oldest first, of the tenant or of one of its wallets, with the rows their JSON shows. */
  listEvents(tenantId: string, afterSeq: number, walletUuid: string | undefined, limit: number): Promise<ListedEvent[]>;
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
