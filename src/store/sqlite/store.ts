import type Database from "better-sqlite3";
import type { ReplayAccount, ReplayTransfer } from "../../ledger/replay.js";
import type { CommitObserver } from "../group-commit.js";
import type { Store, WriteTx } from "../store.js";
import * as accounts from "./accounts.js";
import { openConnection } from "./connection.js";
import * as deposits from "./deposits.js";
import * as events from "./events.js";
import * as holds from "./holds.js";
import * as idempotency from "./idempotency.js";
import { SqliteOperator } from "./operator.js";
import { SqliteRateLimits } from "./rate-limits.js";
import { SqliteRunner } from "./runner.js";
import { type Direct, PreparedStatements } from "./statements.js";
import * as tenants from "./tenants.js";
import * as transfers from "./transfers.js";
import * as wallets from "./wallets.js";
import * as webhooks from "./webhooks.js";
import * as withdrawals from "./withdrawals.js";

/**
 * The embedded store. One writer connection runs group-committed batches; a second connection
 * serves reads, so a read never sees a batch that has not committed yet. Reads run in this
 * thread and answer at once; writes outside a write transaction go through the group committer.
 *
 * This class only composes the parts: the writer and its group committer (runner.ts), the write
 * transaction (write-tx.ts) and the statements of each resource.
 */
export class SqliteStore implements Store {
  readonly kind = "sqlite";
  readonly #runner: SqliteRunner;
  readonly #connection: Database.Database;
  readonly #reader: PreparedStatements;
  readonly #direct: Direct = (statement) => this.#runner.direct(statement);
  readonly rateLimits: SqliteRateLimits;
  readonly operator: SqliteOperator;

  constructor(readonly file: string) {
    // The runner opens the writer first: it applies the migrations before anything reads.
    this.#runner = new SqliteRunner(file);
    this.#connection = openConnection(file);
    this.#reader = new PreparedStatements(this.#connection);
    this.rateLimits = new SqliteRateLimits(`${file}.rate-limits`);
    this.operator = new SqliteOperator(this.#reader, this.#direct);
  }

  async close(): Promise<void> {
    await this.#runner.drain();
    this.#connection.close();
    this.#runner.close();
    await this.rateLimits.close();
  }

  get commitStats() {
    return this.#runner.committer.stats;
  }

  observeCommits(observer: CommitObserver): () => void {
    return this.#runner.committer.observe(observer);
  }

  /** Reads are in-process here and cost microseconds: the work reads what it needs itself, without a prefetch. */
  write<T>(work: (tx: WriteTx) => Promise<T>): Promise<T> {
    return this.#runner.committer.submit(work);
  }

  readonly onEventsCommitted: Store["onEventsCommitted"] = async (listener) => this.#runner.onEventsCommitted(listener);

  readonly insertTenant: Store["insertTenant"] = (tenant) => tenants.insertTenant(this.#direct, tenant);
  readonly findTenant: Store["findTenant"] = async (id) => tenants.findTenant(this.#reader, id);
  readonly setUnknownRollbackPolicy: Store["setUnknownRollbackPolicy"] = (tenantId, policy) =>
    tenants.setUnknownRollbackPolicy(this.#direct, tenantId, policy);
  readonly setLimitCoolingOff: Store["setLimitCoolingOff"] = (tenantId, seconds) =>
    tenants.setLimitCoolingOff(this.#direct, tenantId, seconds);
  readonly insertApiKey: Store["insertApiKey"] = (key) => tenants.insertApiKey(this.#direct, key);
  readonly findApiKeyByHash: Store["findApiKeyByHash"] = async (keyHash) => tenants.findApiKeyByHash(this.#reader, keyHash);
  readonly revokeApiKey: Store["revokeApiKey"] = (id, revokedAt) => tenants.revokeApiKey(this.#direct, id, revokedAt);
  readonly insertClient: Store["insertClient"] = (client) => tenants.insertClient(this.#direct, client);
  readonly findClient: Store["findClient"] = async (clientId) => tenants.findClient(this.#reader, clientId);
  readonly getOrInsertSetting: Store["getOrInsertSetting"] = (name, value) => tenants.getOrInsertSetting(this.#direct, name, value);

  readonly findWallet: Store["findWallet"] = async (tenantId, lookup) => wallets.findWallet(this.#reader, tenantId, lookup);
  readonly findWalletWithAccounts: Store["findWalletWithAccounts"] = async (tenantId, lookup) =>
    wallets.findWalletWithAccounts(this.#reader, tenantId, lookup);
  readonly readBalances: Store["readBalances"] = (tenantId, lookup, apiKeyId) =>
    wallets.readBalances(this.#reader, tenantId, lookup, apiKeyId);
  readonly listWallets: Store["listWallets"] = async (tenantId, limit, offset, search) =>
    wallets.listWallets(this.#reader, tenantId, limit, offset, search);
  readonly listWalletAccounts: Store["listWalletAccounts"] = async (walletUuids) => accounts.listWalletAccounts(this.#reader, walletUuids);
  readonly listMasterAccounts: Store["listMasterAccounts"] = async (tenantId) => accounts.listMasterAccounts(this.#reader, tenantId);
  readonly listControlledAccounts: Store["listControlledAccounts"] = async (walletUuid) =>
    accounts.listControlledAccounts(this.#reader, walletUuid);
  readonly listDueControls: Store["listDueControls"] = async (now, limit) => accounts.listDueControls(this.#reader, now, limit);
  readonly listDeposits: Store["listDeposits"] = async (tenantId, walletUuid, status, limit) =>
    deposits.listDeposits(this.#reader, tenantId, walletUuid, status, limit);
  readonly listTransfers: Store["listTransfers"] = async (filter) => transfers.listTransfers(this.#reader, filter);
  readonly findHold: Store["findHold"] = async (tenantId, id) => holds.findHold(this.#reader, tenantId, id);
  readonly listExpiredHolds: Store["listExpiredHolds"] = async (now, limit) => holds.listExpiredHolds(this.#reader, now, limit);
  readonly findWithdrawal: Store["findWithdrawal"] = async (tenantId, id) => withdrawals.findWithdrawal(this.#reader, tenantId, id);
  readonly listWithdrawals: Store["listWithdrawals"] = async (status, limit, offset) =>
    withdrawals.listWithdrawals(this.#reader, status, limit, offset);
  readonly deleteExpiredIdempotencyRecords: Store["deleteExpiredIdempotencyRecords"] = (now, limit) =>
    idempotency.deleteExpiredIdempotencyRecords(this.#direct, now, limit);

  readonly listEvents: Store["listEvents"] = async (tenantId, afterSeq, walletUuid, limit) =>
    events.listEvents(this.#reader, tenantId, afterSeq, walletUuid, limit);
  readonly lastEventSeq: Store["lastEventSeq"] = async (tenantId) => events.lastEventSeq(this.#reader, tenantId);
  readonly listWebhookEndpoints: Store["listWebhookEndpoints"] = async (tenantId) => webhooks.listWebhookEndpoints(this.#reader, tenantId);
  readonly claimDueDeliveries: Store["claimDueDeliveries"] = (now, leaseUntil, limit) =>
    webhooks.claimDueDeliveries(this.#direct, now, leaseUntil, limit);
  readonly finishDeliveryAttempt: Store["finishDeliveryAttempt"] = (eventId, endpointId, outcome) =>
    webhooks.finishDeliveryAttempt(this.#direct, eventId, endpointId, outcome);
  readonly listDeliveries: Store["listDeliveries"] = async (tenantId, status, limit, offset) =>
    webhooks.listDeliveries(this.#reader, tenantId, status, limit, offset);

  withLedgerSnapshot<T>(visit: (accounts: ReplayAccount[], transfers: AsyncIterable<ReplayTransfer>) => Promise<T>): Promise<T> {
    return transfers.withLedgerSnapshot(this.file, visit);
  }
}
