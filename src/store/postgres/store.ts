import type pg from "pg";
import type { ReplayAccount, ReplayTransfer } from "../../ledger/replay.js";
import type { CommitObserver, GroupCommitter } from "../group-commit.js";
import type { PrefetchRequest, Store, WriteTx } from "../store.js";
import * as accounts from "./accounts.js";
import * as deposits from "./deposits.js";
import * as events from "./events.js";
import * as holds from "./holds.js";
import * as idempotency from "./idempotency.js";
import { EventsListener } from "./listener.js";
import { PostgresOperator } from "./operator.js";
import { PostgresRateLimits } from "./rate-limits.js";
import { openPool, transactionCommitter } from "./runner.js";
import * as tenants from "./tenants.js";
import * as transfers from "./transfers.js";
import * as wallets from "./wallets.js";
import * as webhooks from "./webhooks.js";
import * as withdrawals from "./withdrawals.js";

/**
 * The client-server store: several processes, on one host or many, share one PostgreSQL.
 * Correctness comes from the database alone: accounts are locked with SELECT ... FOR UPDATE in
 * id order before the ledger core decides, so two processes can never both spend one balance.
 *
 * This class only composes the parts: the pool and transaction runner (runner.ts), the write
 * transaction (write-tx.ts), the LISTEN connection (listener.ts) and the reads of each resource.
 */
export class PostgresStore implements Store {
  readonly kind = "postgres";
  readonly #pool: pg.Pool;
  readonly #committer: GroupCommitter<WriteTx, PrefetchRequest>;
  readonly #listener: EventsListener;
  readonly rateLimits: PostgresRateLimits;
  readonly operator: PostgresOperator;

  private constructor(pool: pg.Pool, connectionString: string) {
    this.#pool = pool;
    this.#committer = transactionCommitter(pool);
    this.#listener = new EventsListener(connectionString);
    this.rateLimits = new PostgresRateLimits(pool);
    this.operator = new PostgresOperator(pool);
  }

  static async open(connectionString: string, poolSize = 10): Promise<PostgresStore> {
    return new PostgresStore(await openPool(connectionString, poolSize), connectionString);
  }

  async close(): Promise<void> {
    // Movements already queued are committed and answered, not dropped with the pool.
    await this.#committer.drain();
    await this.#listener.close();
    await this.#pool.end();
  }

  get commitStats() {
    return this.#committer.stats;
  }

  observeCommits(observer: CommitObserver): () => void {
    return this.#committer.observe(observer);
  }

  write<T>(work: (tx: WriteTx) => Promise<T>, prefetch?: PrefetchRequest): Promise<T> {
    return this.#committer.submit(work, prefetch);
  }

  readonly onEventsCommitted: Store["onEventsCommitted"] = (listener) => this.#listener.subscribe(listener);

  readonly insertTenant: Store["insertTenant"] = (tenant) => tenants.insertTenant(this.#pool, tenant);
  readonly findTenant: Store["findTenant"] = (id) => tenants.findTenant(this.#pool, id);
  readonly setUnknownRollbackPolicy: Store["setUnknownRollbackPolicy"] = (tenantId, policy) =>
    tenants.setUnknownRollbackPolicy(this.#pool, tenantId, policy);
  readonly setLimitCoolingOff: Store["setLimitCoolingOff"] = (tenantId, seconds) =>
    tenants.setLimitCoolingOff(this.#pool, tenantId, seconds);
  readonly insertApiKey: Store["insertApiKey"] = (key) => tenants.insertApiKey(this.#pool, key);
  readonly findApiKeyByHash: Store["findApiKeyByHash"] = (keyHash) => tenants.findApiKeyByHash(this.#pool, keyHash);
  readonly revokeApiKey: Store["revokeApiKey"] = (id, revokedAt) => tenants.revokeApiKey(this.#pool, id, revokedAt);
  readonly insertClient: Store["insertClient"] = (client) => tenants.insertClient(this.#pool, client);
  readonly findClient: Store["findClient"] = (clientId) => tenants.findClient(this.#pool, clientId);
  readonly getOrInsertSetting: Store["getOrInsertSetting"] = (name, value) => tenants.getOrInsertSetting(this.#pool, name, value);

  readonly findWallet: Store["findWallet"] = (tenantId, lookup) => wallets.findWallet(this.#pool, tenantId, lookup);
  readonly findWalletWithAccounts: Store["findWalletWithAccounts"] = (tenantId, lookup) =>
    wallets.findWalletWithAccounts(this.#pool, tenantId, lookup);
  readonly readBalances: Store["readBalances"] = (tenantId, lookup, apiKeyId) =>
    wallets.readBalances(this.#pool, tenantId, lookup, apiKeyId);
  readonly listWallets: Store["listWallets"] = (tenantId, limit, offset, search) =>
    wallets.listWallets(this.#pool, tenantId, limit, offset, search);
  readonly listWalletAccounts: Store["listWalletAccounts"] = (walletUuids) => accounts.listWalletAccounts(this.#pool, walletUuids);
  readonly listMasterAccounts: Store["listMasterAccounts"] = (tenantId) => accounts.listMasterAccounts(this.#pool, tenantId);
  readonly listControlledAccounts: Store["listControlledAccounts"] = (walletUuid) =>
    accounts.listControlledAccounts(this.#pool, walletUuid);
  readonly listDueControls: Store["listDueControls"] = (now, limit) => accounts.listDueControls(this.#pool, now, limit);
  readonly listDeposits: Store["listDeposits"] = (tenantId, walletUuid, status, limit) =>
    deposits.listDeposits(this.#pool, tenantId, walletUuid, status, limit);
  readonly listTransfers: Store["listTransfers"] = (filter) => transfers.listTransfers(this.#pool, filter);
  readonly findHold: Store["findHold"] = (tenantId, id) => holds.findHold(this.#pool, tenantId, id);
  readonly listExpiredHolds: Store["listExpiredHolds"] = (now, limit) => holds.listExpiredHolds(this.#pool, now, limit);
  readonly findWithdrawal: Store["findWithdrawal"] = (tenantId, id) => withdrawals.findWithdrawal(this.#pool, tenantId, id);
  readonly listWithdrawals: Store["listWithdrawals"] = (status, limit, offset) =>
    withdrawals.listWithdrawals(this.#pool, status, limit, offset);
  readonly deleteExpiredIdempotencyRecords: Store["deleteExpiredIdempotencyRecords"] = (now, limit) =>
    idempotency.deleteExpiredIdempotencyRecords(this.#pool, now, limit);

  readonly listEvents: Store["listEvents"] = (tenantId, afterSeq, walletUuid, limit) =>
    events.listEvents(this.#pool, tenantId, afterSeq, walletUuid, limit);
  readonly lastEventSeq: Store["lastEventSeq"] = (tenantId) => events.lastEventSeq(this.#pool, tenantId);
  readonly listWebhookEndpoints: Store["listWebhookEndpoints"] = (tenantId) => webhooks.listWebhookEndpoints(this.#pool, tenantId);
  readonly claimDueDeliveries: Store["claimDueDeliveries"] = (now, leaseUntil, limit) =>
    webhooks.claimDueDeliveries(this.#pool, now, leaseUntil, limit);
  readonly finishDeliveryAttempt: Store["finishDeliveryAttempt"] = (eventId, endpointId, outcome) =>
    webhooks.finishDeliveryAttempt(this.#pool, eventId, endpointId, outcome);
  readonly listDeliveries: Store["listDeliveries"] = (tenantId, status, limit, offset) =>
    webhooks.listDeliveries(this.#pool, tenantId, status, limit, offset);

  withLedgerSnapshot<T>(visit: (accounts: ReplayAccount[], transfers: AsyncIterable<ReplayTransfer>) => Promise<T>): Promise<T> {
    return transfers.withLedgerSnapshot(this.#pool, visit);
  }
}
