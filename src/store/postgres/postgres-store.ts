import { randomUUID } from "node:crypto";
import pg from "pg";
import type { ReplayAccount, ReplayTransfer } from "../../ledger/replay.js";
import { type BatchItem, type CommitObserver, GroupCommitter, type Outcome } from "../group-commit.js";
import {
  type AccountRow,
  accountFromRow,
  accountToRow,
  type ClaimedDeliveryRow,
  claimedDeliveryFromRow,
  type DeliveryRow,
  type DepositRow,
  deliveryFromRow,
  depositFromRow,
  depositToRow,
  type EventRow,
  eventFromRow,
  type GameTransactionRow,
  gameTransactionFromRow,
  gameTransactionToRow,
  type HistoryRow,
  type HoldRow,
  historyEntryFromRow,
  holdFromRow,
  holdToRow,
  type IdempotencyRow,
  idempotencyFromRow,
  idempotencyToRow,
  scopesFromText,
  type TenantRow,
  type TransferRow,
  tenantFromRow,
  transferFromRow,
  transferValues,
  type WalletRow,
  type WebhookEndpointRow,
  type WithdrawalRow,
  walletFromRow,
  webhookEndpointFromRow,
  withdrawalFromRow,
  withdrawalToRow,
} from "../rows.js";
import {
  containsPattern,
  EVENT_INSERT_COLUMNS,
  GAME_TRANSACTIONS,
  HISTORY_FROM,
  HISTORY_VISIBLE,
  HOLDS,
  IDEMPOTENCY_INSERT_CONDITION,
  IDEMPOTENCY_KEYS,
  positional,
  TRANSFER_INSERT_COLUMNS,
  type UpsertShape,
  upsertSql,
  WITHDRAWALS,
} from "../sql.js";
import type {
  AccountKey,
  AccountRecord,
  ApiKeyRecord,
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
  Store,
  TenantRecord,
  TransferFilter,
  TransferRecord,
  TransferStatus,
  UnknownRollbackPolicy,
  WalletLookup,
  WalletRecord,
  WebhookEndpointRecord,
  WithdrawalRecord,
  WithdrawalStatus,
  WriteTx,
} from "../store.js";
import {
  accountCacheKey,
  type DeliveryRowToInsert,
  type FlushRows,
  mergePrefetch,
  type PrefetchRequest,
  WriteBehindTx,
} from "../write-behind.js";
import { copyRows } from "./copy.js";
import { migrate } from "./migrations.js";
import { PostgresOperator } from "./operator.js";
import { PostgresRateLimits } from "./rate-limits.js";

/**
 * The client-server store: several processes, on one host or many, share one PostgreSQL.
 * Correctness comes from the database alone: accounts are locked with SELECT ... FOR UPDATE in
 * id order before the ledger core decides, so two processes can never both spend one balance.
 */

const TIMESTAMPTZ_OID = 1184;
const types = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    // Timestamps come back in the same ISO form the API shows and SQLite stores.
    if (oid === TIMESTAMPTZ_OID) return (value: string) => new Date(value).toISOString();
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

const EVENTS_CHANNEL = "wallet_events";
const LISTEN_RETRY_MS = 1000;
const RETRYABLE = new Set(["40P01", "40001"]);
const MAX_ATTEMPTS = 5;
/**
 * One batch at a time per process. A batch holds its row locks, and its advisory locks (which a
 * rolled-back savepoint does not release), until it commits; two batches of one process could
 * otherwise deadlock on the hot master account again and again. Group commit still folds
 * everything that arrives meanwhile into the next batch.
 */
const BATCHES_IN_FLIGHT = 1;
/**
 * An item that sends a statement runs in a savepoint (a subtransaction). Past 64 of them
 * PostgreSQL's per-backend subtransaction cache overflows and every visibility check slows
 * down, so batches stay below, even though most movements now send none (measured: 256 items
 * per batch gained about 10% on single movements, within the noise of this machine).
 */
const MAX_ITEMS_PER_BATCH = 64;

/** A power of two: game transaction ids are locked by bucket, at most this many per tenant. */
const GAME_LOCK_BUCKETS = 1024;
/** About 1 000 movements (a transfer and an event each) per background flush of a large batch. */
const BACKGROUND_FLUSH_ROWS = 2048;

const ACCOUNT_COLUMNS = `a.id, a.tenant_id, a.owner_kind, a.wallet_uuid, a.currency,
  a.debits_must_not_exceed_credits::int AS debits_must_not_exceed_credits, a.credits_posted::text AS credits_posted,
  a.debits_posted::text AS debits_posted, a.credits_pending::text AS credits_pending, a.debits_pending::text AS debits_pending, a.version`;
const WALLET_COLUMNS = "w.id, w.wallet_id, w.tenant_id, w.name, w.external_id, w.created_at, w.updated_at";
const TRANSFER_COLUMNS = `t.id, t.tenant_id, t.currency, t.flag, t.debit_account_id, t.credit_account_id, t.amount::text AS amount,
  t.pending_id, t.transfer_type, t.wallet_uuid, t.status, t.created_at, t.reference, t.round_id`;
const LOOKUP_COLUMN = { id: "w.id", wallet_id: "w.wallet_id", external_id: "w.external_id" } as const;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const ownerKey = (key: Pick<AccountKey, "ownerKind" | "walletUuid">) => `${key.ownerKind}:${key.walletUuid ?? ""}`;

/** A lookup by a malformed UUID can match nothing; asking PostgreSQL would raise a cast error. */
const impossible = (tenantId: string, lookup: WalletLookup) =>
  !UUID_PATTERN.test(tenantId) || (lookup.by === "id" && !UUID_PATTERN.test(lookup.value));

async function rows<T>(client: pg.Pool | pg.PoolClient, name: string, text: string, values: unknown[]): Promise<T[]> {
  return (await client.query({ name, text, values })).rows as T[];
}

export class PostgresStore implements Store {
  readonly kind = "postgres";
  readonly #pool: pg.Pool;
  readonly #committer: GroupCommitter<WriteTx, PrefetchRequest>;
  readonly rateLimits: PostgresRateLimits;
  readonly operator: PostgresOperator;

  readonly #eventListeners = new Set<(tenantIds: ReadonlySet<string>) => void>();
  #listener: pg.Client | undefined;
  #listening: Promise<void> | undefined;

  private constructor(
    pool: pg.Pool,
    private readonly connectionString: string,
  ) {
    this.#pool = pool;
    this.rateLimits = new PostgresRateLimits(pool);
    this.operator = new PostgresOperator(pool);
    this.#committer = new GroupCommitter<WriteTx, PrefetchRequest>(
      (items) => this.#runBatch(items),
      BATCHES_IN_FLIGHT,
      MAX_ITEMS_PER_BATCH,
    );
  }

  static async open(connectionString: string, poolSize = 10): Promise<PostgresStore> {
    const pool = new pg.Pool({ connectionString, max: poolSize, types });
    // An idle connection the server closes (a restart, a failover, an operator's kill) is
    // dropped by the pool, which connects again for the next query. Unhandled, the pool's
    // 'error' event would crash the process.
    pool.on("error", () => undefined);
    await migrate(pool);
    return new PostgresStore(pool, connectionString);
  }

  async close(): Promise<void> {
    // Movements already queued are committed and answered, not dropped with the pool.
    await this.#committer.drain();
    this.#eventListeners.clear();
    await this.#listener?.end().catch(() => undefined);
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

  /**
   * A deadlock or serialization failure with another process runs the whole transaction again:
   * the cycle may go through locks taken outside the failing item (the read-ahead, earlier
   * items), which retrying the item alone would keep.
   */
  async #runBatch(items: BatchItem<WriteTx, PrefetchRequest>[]): Promise<Outcome[]> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.#runTransaction(items);
      } catch (error) {
        if (retryable(error) && attempt < MAX_ATTEMPTS) continue;
        throw error;
      }
    }
  }

  async #runTransaction(items: BatchItem<WriteTx, PrefetchRequest>[]): Promise<Outcome[]> {
    const client = await this.#pool.connect();
    try {
      await client.query("BEGIN");
      const tx = new PostgresWriteTx(client);
      // Reading ahead is an optimisation: if it fails, each item reads what it needs itself.
      for (const request of mergePrefetch(items.flatMap((item) => (item.hint ? [item.hint] : [])))) {
        await runItem(tx, { work: (batchTx) => batchTx.prefetch(request) });
      }
      const outcomes: Outcome[] = [];
      for (const item of items) outcomes.push(await runItem(tx, item));
      await tx.flush();
      await tx.notifyEvents();
      await client.query("COMMIT");
      this.#committer.eventsCommitted(tx.appendedEventTypes);
      return outcomes;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async insertTenant(tenant: TenantRecord): Promise<void> {
    await this.#pool.query("INSERT INTO tenants (id, name, created_at, unknown_rollback) VALUES ($1, $2, $3, $4)", [
      tenant.id,
      tenant.name,
      tenant.createdAt,
      tenant.unknownRollback,
    ]);
  }

  async findTenant(id: string): Promise<TenantRecord | undefined> {
    if (!UUID_PATTERN.test(id)) return undefined;
    const [row] = await rows<TenantRow>(this.#pool, "tenant", "SELECT * FROM tenants WHERE id = $1", [id]);
    return row && tenantFromRow(row);
  }

  async setUnknownRollbackPolicy(tenantId: string, policy: UnknownRollbackPolicy): Promise<boolean> {
    if (!UUID_PATTERN.test(tenantId)) return false;
    return (await this.#pool.query("UPDATE tenants SET unknown_rollback = $2 WHERE id = $1", [tenantId, policy])).rowCount === 1;
  }

  async insertApiKey(key: ApiKeyRecord): Promise<void> {
    await this.#pool.query(
      "INSERT INTO api_keys (id, tenant_id, key_hash, scopes, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)",
      [key.id, key.tenantId, key.keyHash, key.scopes.join(","), key.createdAt, key.revokedAt],
    );
  }

  async findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const [row] = await rows<{
      id: string;
      tenant_id: string | null;
      key_hash: string;
      scopes: string;
      created_at: string;
      revoked_at: string | null;
    }>(this.#pool, "api-key", "SELECT * FROM api_keys WHERE key_hash = $1", [keyHash]);
    return (
      row && {
        id: row.id,
        tenantId: row.tenant_id,
        keyHash: row.key_hash,
        scopes: scopesFromText(row.scopes),
        createdAt: row.created_at,
        revokedAt: row.revoked_at,
      }
    );
  }

  async revokeApiKey(id: string, revokedAt: string): Promise<boolean> {
    if (!UUID_PATTERN.test(id)) return false;
    const result = await this.#pool.query("UPDATE api_keys SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2", [revokedAt, id]);
    return result.rowCount === 1;
  }

  async insertClient(client: ClientRecord): Promise<void> {
    await this.#pool.query(
      "INSERT INTO oauth_clients (client_id, tenant_id, secret_hash, scopes, created_at) VALUES ($1, $2, $3, $4, $5)",
      [client.clientId, client.tenantId, client.secretHash, client.scopes.join(","), client.createdAt],
    );
  }

  async findClient(clientId: string): Promise<ClientRecord | undefined> {
    const [row] = await rows<{ client_id: string; tenant_id: string; secret_hash: string; scopes: string; created_at: string }>(
      this.#pool,
      "client",
      "SELECT * FROM oauth_clients WHERE client_id = $1",
      [clientId],
    );
    return (
      row && {
        clientId: row.client_id,
        tenantId: row.tenant_id,
        secretHash: row.secret_hash,
        scopes: scopesFromText(row.scopes),
        createdAt: row.created_at,
      }
    );
  }

  async getOrInsertSetting(name: string, value: string): Promise<string> {
    await this.#pool.query("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", [name, value]);
    return (await this.#pool.query("SELECT value FROM settings WHERE name = $1", [name])).rows[0].value;
  }

  findWallet(tenantId: string, lookup: WalletLookup): Promise<WalletRecord | undefined> {
    return findWallet(this.#pool, tenantId, lookup);
  }

  async findWalletWithAccounts(tenantId: string, lookup: WalletLookup) {
    if (impossible(tenantId, lookup)) return undefined;
    const found = await rows<WalletRow & { accounts: AccountRow[] | null }>(
      this.#pool,
      `wallet-with-accounts-${lookup.by}`,
      `SELECT ${WALLET_COLUMNS},
         (SELECT json_agg(a ORDER BY a.seq) FROM (SELECT a.seq, ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.wallet_uuid = w.id AND a.version > 0) a) AS accounts
       FROM wallets w WHERE w.tenant_id = $1 AND ${LOOKUP_COLUMN[lookup.by]} = $2`,
      [tenantId, lookup.value],
    );
    const row = found[0];
    if (!row) return undefined;
    return { wallet: walletFromRow(row), accounts: (row.accounts ?? []).map(accountFromRow) };
  }

  async listWallets(tenantId: string, limit: number, offset: number, search?: string) {
    if (!UUID_PATTERN.test(tenantId)) return { wallets: [], total: 0 };
    const pattern = search ? containsPattern(search) : null;
    const where = "w.tenant_id = $1 AND ($2::text IS NULL OR w.name ILIKE $2 OR w.external_id ILIKE $2)";
    const page = await rows<WalletRow>(
      this.#pool,
      "wallet-page",
      `SELECT ${WALLET_COLUMNS} FROM wallets w WHERE ${where} ORDER BY w.seq LIMIT $3 OFFSET $4`,
      [tenantId, pattern, limit, offset],
    );
    const [count] = await rows<{ n: number }>(this.#pool, "wallet-count", `SELECT count(*)::int AS n FROM wallets w WHERE ${where}`, [
      tenantId,
      pattern,
    ]);
    return { wallets: page.map(walletFromRow), total: count?.n ?? 0 };
  }

  async listDeposits(tenantId: string, walletUuid: string, status: DepositStatus | undefined, limit: number): Promise<DepositRecord[]> {
    const found = await rows<DepositRow>(
      this.#pool,
      "wallet-deposits",
      `SELECT id, tenant_id, wallet_uuid, currency, tx_hash, amount::text AS amount, confirmations, status, transfer_id, created_at, updated_at
       FROM deposits WHERE tenant_id = $1 AND wallet_uuid = $2 AND ($3::text IS NULL OR status = $3) ORDER BY created_at DESC LIMIT $4`,
      [tenantId, walletUuid, status ?? null, limit],
    );
    return found.map(depositFromRow);
  }

  async listWalletAccounts(walletUuids: string[]): Promise<AccountRecord[]> {
    if (walletUuids.length === 0) return [];
    const found = await rows<AccountRow>(
      this.#pool,
      "wallet-accounts",
      `SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.wallet_uuid = ANY($1::uuid[]) AND a.version > 0 ORDER BY a.seq`,
      [walletUuids],
    );
    return found.map(accountFromRow);
  }

  async listMasterAccounts(tenantId: string): Promise<AccountRecord[]> {
    if (!UUID_PATTERN.test(tenantId)) return [];
    const found = await rows<AccountRow>(
      this.#pool,
      "master-accounts",
      `SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.tenant_id = $1 AND a.owner_kind = 'master' AND a.version > 0 ORDER BY a.seq`,
      [tenantId],
    );
    return found.map(accountFromRow);
  }

  async listTransfers(filter: TransferFilter) {
    const values: unknown[] = [filter.tenantId, filter.walletUuid];
    const where = ["t.tenant_id = $1", "t.wallet_uuid = $2", HISTORY_VISIBLE];
    const optional = { status: filter.status, transfer_type: filter.transferType, currency: filter.currency };
    for (const [column, value] of Object.entries(optional)) {
      if (value === undefined) continue;
      values.push(value);
      where.push(`t.${column} = $${values.length}`);
    }
    const range = { ">=": filter.createdFrom, "<": filter.createdBefore };
    for (const [operator, value] of Object.entries(range)) {
      if (value === undefined) continue;
      values.push(value);
      where.push(`t.created_at ${operator} $${values.length}`);
    }
    const clause = where.join(" AND ");
    const page = await this.#pool.query(
      `SELECT ${TRANSFER_COLUMNS}, r.amount::text AS posted_part FROM ${HISTORY_FROM}
       WHERE ${clause} ORDER BY t.seq DESC LIMIT $${values.length + 1} OFFSET $${values.length + 2}`,
      [...values, filter.limit, filter.offset],
    );
    const count = await this.#pool.query(`SELECT count(*)::int AS n FROM transfers t WHERE ${clause}`, values);
    return { transfers: (page.rows as HistoryRow[]).map(historyEntryFromRow), total: count.rows[0].n as number };
  }

  findHold(tenantId: string, id: string): Promise<HoldRecord | undefined> {
    return findHold(this.#pool, tenantId, id, "");
  }

  findWithdrawal(tenantId: string | null, id: string): Promise<WithdrawalRecord | undefined> {
    return findWithdrawal(this.#pool, tenantId, id, "");
  }

  async listWithdrawals(status: WithdrawalStatus, limit: number, offset: number): Promise<WithdrawalRecord[]> {
    const found = await rows<WithdrawalRow>(
      this.#pool,
      "withdrawals-by-status",
      `SELECT ${WITHDRAWAL_COLUMNS} FROM withdrawals WHERE status = $1 ORDER BY created_at LIMIT $2 OFFSET $3`,
      [status, limit, offset],
    );
    return found.map(withdrawalFromRow);
  }

  async listExpiredHolds(now: string, limit: number) {
    const found = await rows<{ tenant_id: string; id: string }>(
      this.#pool,
      "expired-holds",
      "SELECT tenant_id, id FROM holds WHERE status = 'pending' AND expires_at <= $1 ORDER BY expires_at LIMIT $2",
      [now, limit],
    );
    return found.map((row) => ({ tenantId: row.tenant_id, id: row.id }));
  }

  async deleteExpiredIdempotencyRecords(now: string, limit: number): Promise<number> {
    const sql = "DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM idempotency_keys WHERE expires_at <= $1 LIMIT $2)";
    return (await this.#pool.query(sql, [now, limit])).rowCount ?? 0;
  }

  async listEvents(tenantId: string, afterSeq: number, walletUuid: string | undefined, limit: number): Promise<EventRecord[]> {
    if (!UUID_PATTERN.test(tenantId) || (walletUuid !== undefined && !UUID_PATTERN.test(walletUuid))) return [];
    const found = await rows<EventRow>(
      this.#pool,
      "events",
      `SELECT * FROM events WHERE tenant_id = $1 AND seq > $2 AND ($3::uuid IS NULL OR wallet_uuid = $3) ORDER BY seq LIMIT $4`,
      [tenantId, afterSeq, walletUuid ?? null, limit],
    );
    return found.map(eventFromRow);
  }

  async lastEventSeq(tenantId: string): Promise<number> {
    if (!UUID_PATTERN.test(tenantId)) return 0;
    const [row] = await rows<{ last_seq: string }>(
      this.#pool,
      "last-event-seq",
      "SELECT last_seq FROM event_counters WHERE tenant_id = $1",
      [tenantId],
    );
    return Number(row?.last_seq ?? 0);
  }

  async onEventsCommitted(listener: (tenantIds: ReadonlySet<string>) => void): Promise<() => void> {
    this.#eventListeners.add(listener);
    await this.#listen();
    return () => this.#eventListeners.delete(listener);
  }

  /** One LISTEN connection per process, opened for the first subscriber and shared. */
  #listen(): Promise<void> {
    this.#listening ??= this.#connectListener().catch((error: unknown) => {
      this.#listening = undefined;
      throw error;
    });
    return this.#listening;
  }

  async #connectListener(): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString });
    this.#listener = client;
    client.on("notification", (message) => {
      const tenants = new Set([message.payload ?? ""]);
      for (const listener of this.#eventListeners) listener(tenants);
    });
    // Until a lost LISTEN connection is replaced, subscribers fall back to their polling.
    client.on("error", () => {
      this.#listening = undefined;
      if (this.#eventListeners.size > 0) setTimeout(() => void this.#listen().catch(() => undefined), LISTEN_RETRY_MS).unref();
    });
    await client.connect();
    await client.query(`LISTEN ${EVENTS_CHANNEL}`);
  }

  async listWebhookEndpoints(tenantId: string): Promise<WebhookEndpointRecord[]> {
    if (!UUID_PATTERN.test(tenantId)) return [];
    const found = await rows<WebhookEndpointRow>(
      this.#pool,
      "webhook-endpoints",
      "SELECT * FROM webhook_endpoints WHERE tenant_id = $1 AND disabled_at IS NULL ORDER BY created_at",
      [tenantId],
    );
    return found.map(webhookEndpointFromRow);
  }

  async claimDueDeliveries(now: string, leaseUntil: string, limit: number): Promise<ClaimedDelivery[]> {
    // SKIP LOCKED lets dispatchers in several processes take disjoint work without waiting.
    const found = await rows<ClaimedDeliveryRow>(
      this.#pool,
      "claim-deliveries",
      `WITH due AS (
         SELECT event_id, endpoint_id FROM webhook_deliveries
         WHERE status = 'pending' AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until <= $1)
         ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED),
       claimed AS (
         UPDATE webhook_deliveries d SET locked_until = $2 FROM due
         WHERE d.event_id = due.event_id AND d.endpoint_id = due.endpoint_id
         RETURNING d.event_id, d.endpoint_id, d.attempts, d.created_at)
       SELECT c.event_id, c.endpoint_id, c.attempts, c.created_at, e.type AS event_type, e.payload, w.url, w.secret
       FROM claimed c JOIN events e ON e.id = c.event_id JOIN webhook_endpoints w ON w.id = c.endpoint_id`,
      [now, leaseUntil, limit],
    );
    return found.map(claimedDeliveryFromRow);
  }

  async finishDeliveryAttempt(eventId: string, endpointId: string, outcome: DeliveryOutcome): Promise<void> {
    await this.#pool.query(
      `UPDATE webhook_deliveries SET status = $3, attempts = $4, next_attempt_at = $5, last_status_code = $6, last_error = $7,
         delivered_at = $8, locked_until = NULL WHERE event_id = $1 AND endpoint_id = $2`,
      [
        eventId,
        endpointId,
        outcome.status,
        outcome.attempts,
        outcome.nextAttemptAt,
        outcome.lastStatusCode,
        outcome.lastError,
        outcome.deliveredAt,
      ],
    );
  }

  async listDeliveries(tenantId: string, status: DeliveryStatus | undefined, limit: number, offset: number): Promise<DeliveryRecord[]> {
    if (!UUID_PATTERN.test(tenantId)) return [];
    const found = await rows<DeliveryRow>(
      this.#pool,
      "deliveries",
      `SELECT d.*, e.type AS event_type FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
       WHERE d.tenant_id = $1 AND ($2::text IS NULL OR d.status = $2) ORDER BY d.created_at DESC LIMIT $3 OFFSET $4`,
      [tenantId, status ?? null, limit, offset],
    );
    return found.map(deliveryFromRow);
  }

  async withLedgerSnapshot<T>(visit: (accounts: ReplayAccount[], transfers: AsyncIterable<ReplayTransfer>) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    try {
      // One REPEATABLE READ transaction: accounts and transfers come from the same snapshot.
      await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      const accounts = (await client.query(`SELECT ${ACCOUNT_COLUMNS} FROM accounts a ORDER BY a.seq`)).rows.map(
        (row: AccountRow): ReplayAccount => ({ ...accountFromRow(row), ledgerKey: `${row.tenant_id}/${row.currency}` }),
      );
      await client.query(`DECLARE ledger_transfers NO SCROLL CURSOR FOR SELECT ${TRANSFER_COLUMNS} FROM transfers t ORDER BY t.seq`);
      async function* transfers(): AsyncIterable<ReplayTransfer> {
        for (;;) {
          const chunk = await client.query("FETCH 10000 FROM ledger_transfers");
          if (chunk.rows.length === 0) return;
          for (const row of chunk.rows as TransferRow[]) yield transferFromRow(row);
        }
      }
      return await visit(accounts, transfers());
    } finally {
      await client.query("ROLLBACK").catch(() => undefined);
      client.release();
    }
  }
}

/** Runs one item inside its own savepoint; a deadlock fails the whole transaction, to be run again. */
async function runItem(tx: PostgresWriteTx, item: Pick<BatchItem<WriteTx, PrefetchRequest>, "work">): Promise<Outcome> {
  try {
    return { ok: true, value: await tx.atomically(() => item.work(tx)) };
  } catch (error) {
    if (retryable(error)) throw error;
    return { ok: false, error };
  }
}

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const retryable = (error: unknown) => RETRYABLE.has((error as { code?: string }).code ?? "");

const HOLD_COLUMNS = `id, tenant_id, wallet_uuid, currency, amount::text AS amount, captured_amount::text AS captured_amount, status,
  transfer_id, reference, expires_at, created_at, updated_at`;
const WITHDRAWAL_COLUMNS = `id, tenant_id, wallet_uuid, currency, amount::text AS amount, address, status, transfer_id, tx_hash,
  created_at, updated_at`;

async function findHold(client: pg.Pool | pg.PoolClient, tenantId: string, id: string, lock: "" | "FOR UPDATE") {
  if (!UUID_PATTERN.test(tenantId) || !UUID_PATTERN.test(id)) return undefined;
  const [row] = await rows<HoldRow>(client, `hold${lock}`, `SELECT ${HOLD_COLUMNS} FROM holds WHERE tenant_id = $1 AND id = $2 ${lock}`, [
    tenantId,
    id,
  ]);
  return row && holdFromRow(row);
}

async function findWithdrawal(client: pg.Pool | pg.PoolClient, tenantId: string | null, id: string, lock: "" | "FOR UPDATE") {
  if ((tenantId !== null && !UUID_PATTERN.test(tenantId)) || !UUID_PATTERN.test(id)) return undefined;
  const [row] = await rows<WithdrawalRow>(
    client,
    `withdrawal${lock}`,
    `SELECT ${WITHDRAWAL_COLUMNS} FROM withdrawals WHERE ($1::uuid IS NULL OR tenant_id = $1) AND id = $2 ${lock}`,
    [tenantId, id],
  );
  return row && withdrawalFromRow(row);
}

/**
 * SELECT ... FOR UPDATE locks nothing while a row does not exist yet, so two first reports of
 * one game transaction or deposit could both act. A transaction-scoped advisory lock on the
 * natural key serialises them: the second waits, then sees the first one's committed row.
 */
async function advisoryLock(client: pg.PoolClient, key: string): Promise<void> {
  await client.query({ name: "advisory-lock", text: "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", values: [key] });
}

async function upsert(client: pg.PoolClient, shape: UpsertShape, row: object, onlyWhere = ""): Promise<number> {
  const result = await client.query({
    name: `upsert-${shape.table}`,
    text: upsertSql(shape, "postgres", onlyWhere),
    values: positional(shape, row),
  });
  return result.rowCount ?? 0;
}

async function findWallet(client: pg.Pool | pg.PoolClient, tenantId: string, lookup: WalletLookup): Promise<WalletRecord | undefined> {
  if (impossible(tenantId, lookup)) return undefined;
  const [row] = await rows<WalletRow>(
    client,
    `wallet-${lookup.by}`,
    `SELECT ${WALLET_COLUMNS} FROM wallets w WHERE w.tenant_id = $1 AND ${LOOKUP_COLUMN[lookup.by]} = $2`,
    [tenantId, lookup.value],
  );
  return row && walletFromRow(row);
}

const GAME_COLUMNS = `tenant_id, transaction_id, kind, status, wallet_uuid, currency, amount::text AS amount, round_id, reference_id,
  fingerprint, result, created_at`;

/** `columns` of `rows`, one array per column: the parameters of a SELECT FROM unnest. */
const columnsOf = <T>(rows: T[], columns: ((row: T) => unknown)[]) => columns.map((column) => rows.map(column));

/**
 * Bulk rows travel as one JSON parameter that PostgreSQL unpacks (json_to_recordset): one round
 * trip, and no per-element array escaping, which cost node-pg more than the insert itself.
 */
const recordset = (types: Record<string, string>) =>
  `json_to_recordset($1::json) AS r(${Object.entries(types)
    .map(([column, type]) => `${column} ${type}`)
    .join(", ")})`;

const GAME_TRANSACTION_TYPES = {
  tenant_id: "uuid",
  transaction_id: "text",
  kind: "text",
  status: "text",
  wallet_uuid: "uuid",
  currency: "text",
  amount: "numeric",
  round_id: "text",
  reference_id: "text",
  fingerprint: "text",
  result: "text",
  created_at: "timestamptz",
};
const COUNTER_COLUMNS = ["credits_posted", "debits_posted", "credits_pending", "debits_pending"];

/**
 * A batch's side of PostgreSQL, on one connection. Accounts are locked with SELECT ... FOR UPDATE
 * and game transaction ids with advisory locks, both in bulk where a batch asks for it; what
 * the batch writes reaches the database in a few multi-row statements at flush. Updating one
 * hot row (the master account) once per movement would also grow a chain of row versions that
 * every further update walks, which is quadratic.
 */
class PostgresWriteTx extends WriteBehindTx implements WriteTx {
  protected override readonly backgroundFlushRows = BACKGROUND_FLUSH_ROWS;
  protected override readonly lazySavepoints = true;
  readonly #connection: pg.PoolClient;
  /** The connection as every statement of this class uses it: inside the open savepoints. */
  private readonly client: pg.PoolClient;

  constructor(connection: pg.PoolClient) {
    super();
    this.#connection = connection;
    const query = (...args: unknown[]) =>
      this.createSavepoints().then(() => (connection.query as (...queryArgs: unknown[]) => Promise<unknown>).apply(connection, args));
    // Only `query` is used on it; the cast keeps the helpers' PoolClient parameters.
    this.client = { query } as unknown as pg.PoolClient;
  }

  protected async readWallets(tenantId: string, lookups: WalletLookup[]): Promise<WalletRecord[]> {
    const possible = lookups.filter((lookup) => !impossible(tenantId, lookup));
    const wallets: WalletRecord[] = [];
    for (const by of ["id", "wallet_id", "external_id"] as const) {
      const values = possible.filter((lookup) => lookup.by === by).map((lookup) => lookup.value);
      if (values.length === 0) continue;
      const found = await rows<WalletRow>(
        this.client,
        `wallets-${by}`,
        `SELECT ${WALLET_COLUMNS} FROM wallets w WHERE w.tenant_id = $1 AND ${LOOKUP_COLUMN[by]} = ANY($2)`,
        [tenantId, values],
      );
      wallets.push(...found.map(walletFromRow));
    }
    return wallets;
  }

  /**
   * Locks the accounts in one order every process uses: the tenant's own accounts (master,
   * chain) first, then wallets, each by id. A transaction then waits for a hot master account
   * before it holds any wallet, which keeps concurrent batches out of lock cycles.
   */
  protected async lockAccounts(keys: AccountKey[]): Promise<AccountRecord[]> {
    let found = await this.#lockByKey(keys);
    // Inserted in one order every process uses, so two processes opening the same new accounts
    // wait for each other instead of deadlocking.
    const missing = keys
      .filter((key) => !found.has(accountCacheKey(key)))
      .sort((a, b) => compareText(accountCacheKey(a), accountCacheKey(b)));
    if (missing.length > 0) {
      await this.client.query({
        name: "insert-accounts",
        text: `INSERT INTO accounts (id, tenant_id, owner_kind, wallet_uuid, currency, debits_must_not_exceed_credits,
                 credits_posted, debits_posted, credits_pending, debits_pending)
               SELECT id, tenant_id, owner_kind, wallet_uuid, currency, owner_kind <> 'chain', 0, 0, 0, 0
               FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::text[]) AS k(id, tenant_id, owner_kind, wallet_uuid, currency)
               ON CONFLICT (tenant_id, currency, owner_key) DO NOTHING`,
        values: columnsOf(missing, [
          () => randomUUID(),
          (key) => key.tenantId,
          (key) => key.ownerKind,
          (key) => key.walletUuid,
          (key) => key.currency,
        ]),
      });
      found = new Map([...found, ...(await this.#lockByKey(missing))]);
    }
    return keys.map((key) => {
      const account = found.get(accountCacheKey(key));
      if (!account) throw new Error(`account ${accountCacheKey(key)} could not be opened`);
      return account;
    });
  }

  async #lockByKey(keys: AccountKey[]): Promise<Map<string, AccountRecord>> {
    const locked = await rows<AccountRow>(
      this.client,
      "lock-accounts",
      `SELECT ${ACCOUNT_COLUMNS} FROM accounts a
       JOIN unnest($1::uuid[], $2::text[], $3::text[]) AS k(tenant_id, currency, owner_key)
         ON a.tenant_id = k.tenant_id AND a.currency = k.currency AND a.owner_key = k.owner_key
       ORDER BY a.owner_kind = 'wallet', a.id FOR UPDATE OF a`,
      columnsOf(keys, [(key) => key.tenantId, (key) => key.currency, ownerKey]),
    );
    return new Map(locked.map((row) => [accountCacheKey(accountFromRow(row)), accountFromRow(row)]));
  }

  protected async lockAccountsByIds(ids: string[]): Promise<AccountRecord[]> {
    const locked = await rows<AccountRow>(
      this.client,
      "lock-accounts-by-id",
      `SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = ANY($1::uuid[]) ORDER BY a.owner_kind = 'wallet', a.id FOR UPDATE`,
      [ids],
    );
    if (locked.length !== ids.length) throw new Error(`some of the accounts ${ids.join(", ")} do not exist`);
    return locked.map(accountFromRow);
  }

  protected async readTransfer(id: string): Promise<TransferRecord | undefined> {
    const [row] = await rows<TransferRow>(this.client, "transfer", `SELECT ${TRANSFER_COLUMNS} FROM transfers t WHERE t.id = $1`, [id]);
    return row && transferFromRow(row);
  }

  protected async writeTransferStatus(id: string, status: TransferStatus): Promise<void> {
    await this.client.query({ name: "set-transfer-status", text: "UPDATE transfers SET status = $2 WHERE id = $1", values: [id, status] });
  }

  /**
   * SELECT ... FOR UPDATE locks nothing while a row does not exist yet, so two first reports of
   * one game transaction could both act. A transaction-scoped advisory lock serialises them: the
   * second waits, then sees the first one's committed row. The lock is on one of
   * GAME_LOCK_BUCKETS buckets of the tenant's ids, not on the id itself: PostgreSQL's lock table
   * is small (max_locks_per_transaction, 64 per connection by default), and a batch of 8 190
   * wins names 16 380 ids. Buckets are taken in ascending order (PostgreSQL evaluates the
   * volatile lock function after the sort).
   */
  protected async lockGameTransactions(tenantId: string, transactionIds: string[]): Promise<GameTransactionRecord[]> {
    if (!UUID_PATTERN.test(tenantId)) return [];
    await this.client.query({
      name: "lock-game-ids",
      text: `SELECT pg_advisory_xact_lock(hashtextextended('game:' || $1 || ':' || bucket, 0))
             FROM (SELECT DISTINCT hashtextextended(id, 0) & $3 AS bucket FROM unnest($2::text[]) AS id) AS buckets
             ORDER BY bucket`,
      values: [tenantId, transactionIds, GAME_LOCK_BUCKETS - 1],
    });
    const found = await rows<GameTransactionRow>(
      this.client,
      "lock-game-transactions",
      `SELECT ${GAME_COLUMNS} FROM game_transactions WHERE tenant_id = $1 AND transaction_id = ANY($2) FOR UPDATE`,
      [tenantId, transactionIds],
    );
    return found.map(gameTransactionFromRow);
  }

  /** The counter row stays locked until commit, so a tenant's events are numbered in commit order. */
  protected async lockEventCounter(tenantId: string): Promise<number> {
    const [counter] = await rows<{ last_seq: string }>(
      this.client,
      "lock-event-counter",
      `INSERT INTO event_counters (tenant_id, last_seq) VALUES ($1, 0)
       ON CONFLICT (tenant_id) DO UPDATE SET last_seq = event_counters.last_seq RETURNING last_seq`,
      [tenantId],
    );
    return Number(counter?.last_seq);
  }

  protected async readActiveEndpointIds(tenantId: string): Promise<string[]> {
    const found = await rows<{ id: string }>(
      this.client,
      "active-endpoints",
      "SELECT id FROM webhook_endpoints WHERE tenant_id = $1 AND disabled_at IS NULL ORDER BY created_at",
      [tenantId],
    );
    return found.map((row) => row.id);
  }

  protected async writeRows(rows: FlushRows): Promise<void> {
    // COPY goes to the connection itself (it returns a stream, not a promise).
    await this.createSavepoints();
    if (rows.transfers.length > 0) await this.#insertTransfers(rows.transfers);
    if (rows.events.length > 0) await this.#insertEvents(rows.events);
    if (rows.deliveries.length > 0) await this.#insertDeliveries(rows.deliveries);
    if (rows.accounts.length > 0) await this.#updateAccounts(rows.accounts);
    if (rows.gameTransactions.length > 0) await this.#upsertGameTransactions(rows.gameTransactions);
    for (const counter of rows.eventCounters) {
      await this.client.query({
        name: "save-event-seq",
        text: "UPDATE event_counters SET last_seq = $2 WHERE tenant_id = $1",
        values: [counter.tenantId, counter.lastSeq],
      });
    }
  }

  async #insertTransfers(transfers: TransferRecord[]): Promise<void> {
    await copyRows(this.#connection, "transfers", TRANSFER_INSERT_COLUMNS, transfers.map(transferValues));
  }

  async #insertEvents(events: EventRecord[]): Promise<void> {
    await copyRows(
      this.#connection,
      "events",
      EVENT_INSERT_COLUMNS,
      events.map((event) => [event.tenantId, event.seq, event.id, event.type, event.walletUuid, event.payload, event.createdAt]),
    );
  }

  async #insertDeliveries(deliveries: DeliveryRowToInsert[]): Promise<void> {
    await copyRows(
      this.#connection,
      "webhook_deliveries",
      ["event_id", "endpoint_id", "tenant_id", "status", "attempts", "next_attempt_at", "created_at"],
      deliveries.map((delivery) => [
        delivery.eventId,
        delivery.endpointId,
        delivery.tenantId,
        "pending",
        0,
        delivery.createdAt,
        delivery.createdAt,
      ]),
    );
  }

  async #updateAccounts(accounts: AccountRecord[]): Promise<void> {
    const counters = Object.fromEntries(COUNTER_COLUMNS.map((column) => [column, "numeric"]));
    await this.client.query({
      name: "save-accounts",
      text: `UPDATE accounts a SET ${[...COUNTER_COLUMNS, "version"].map((column) => `${column} = r.${column}`).join(", ")}
             FROM ${recordset({ id: "uuid", ...counters, version: "bigint" })} WHERE a.id = r.id`,
      values: [JSON.stringify(accounts.map(accountToRow))],
    });
  }

  async #upsertGameTransactions(games: GameTransactionRecord[]): Promise<void> {
    const columns = GAME_TRANSACTIONS.columns;
    const updates = columns.filter((column) => !GAME_TRANSACTIONS.key.includes(column)).map((column) => `${column} = excluded.${column}`);
    await this.#insertRows(
      "game_transactions",
      GAME_TRANSACTION_TYPES,
      games.map(gameTransactionToRow),
      `ON CONFLICT (${GAME_TRANSACTIONS.key.join(", ")}) DO UPDATE SET ${updates.join(", ")}`,
    );
  }

  async #insertRows(table: string, types: Record<string, string>, tableRows: object[], onConflict = ""): Promise<void> {
    const columns = Object.keys(types).join(", ");
    await this.client.query({
      name: `insert-${table}`,
      text: `INSERT INTO ${table} (${columns}) SELECT ${columns} FROM ${recordset(types)} ${onConflict}`,
      values: [JSON.stringify(tableRows)],
    });
  }

  /** Tells every listening process, once the transaction commits, which tenants got events. */
  async notifyEvents(): Promise<void> {
    if (this.appendedTenants.size === 0) return;
    await this.client.query({
      name: "notify-events",
      text: "SELECT pg_notify($1, tenant_id) FROM unnest($2::text[]) AS t(tenant_id)",
      values: [EVENTS_CHANNEL, [...this.appendedTenants]],
    });
  }

  protected async savepoint(name: string): Promise<void> {
    await this.#connection.query(`SAVEPOINT ${name}`);
  }

  protected async releaseSavepoint(name: string): Promise<void> {
    await this.#connection.query(`RELEASE SAVEPOINT ${name}`);
  }

  protected async rollbackToSavepoint(name: string): Promise<void> {
    await this.#connection.query(`ROLLBACK TO SAVEPOINT ${name}`);
  }

  async insertWallet(wallet: WalletRecord): Promise<"inserted" | "duplicate_external_id"> {
    const result = await this.client.query({
      name: "insert-wallet",
      text: `INSERT INTO wallets (id, wallet_id, tenant_id, name, external_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, external_id) DO NOTHING`,
      values: [wallet.id, wallet.walletId, wallet.tenantId, wallet.name, wallet.externalId, wallet.createdAt, wallet.updatedAt],
    });
    return result.rowCount === 1 ? "inserted" : "duplicate_external_id";
  }

  async findDeposit(currency: string, txHash: string): Promise<DepositRecord | undefined> {
    await advisoryLock(this.client, `deposit:${currency}:${txHash}`);
    // FOR UPDATE: two reports of one transaction at once must not both credit it.
    const [row] = await rows<DepositRow>(
      this.client,
      "deposit",
      "SELECT id, tenant_id, wallet_uuid, currency, tx_hash, amount::text AS amount, confirmations, status, transfer_id, created_at, updated_at FROM deposits WHERE currency = $1 AND tx_hash = $2 FOR UPDATE",
      [currency, txHash],
    );
    return row && depositFromRow(row);
  }

  findHold(tenantId: string, id: string): Promise<HoldRecord | undefined> {
    return findHold(this.client, tenantId, id, "FOR UPDATE");
  }

  async insertWebhookEndpoint(endpoint: WebhookEndpointRecord): Promise<void> {
    await this.client.query(
      "INSERT INTO webhook_endpoints (id, tenant_id, url, secret, created_at, disabled_at) VALUES ($1, $2, $3, $4, $5, $6)",
      [endpoint.id, endpoint.tenantId, endpoint.url, endpoint.secret, endpoint.createdAt, endpoint.disabledAt],
    );
  }

  async disableWebhookEndpoint(tenantId: string, id: string, disabledAt: string): Promise<boolean> {
    if (!UUID_PATTERN.test(tenantId) || !UUID_PATTERN.test(id)) return false;
    const sql = "UPDATE webhook_endpoints SET disabled_at = $3 WHERE tenant_id = $1 AND id = $2 AND disabled_at IS NULL";
    return (await this.client.query(sql, [tenantId, id, disabledAt])).rowCount === 1;
  }

  async redeliver(tenantId: string, eventId: string, now: string): Promise<number> {
    if (!UUID_PATTERN.test(tenantId) || !UUID_PATTERN.test(eventId)) return 0;
    // Deliveries of this transaction's own events must exist before they are queued again.
    await this.flush();
    const sql = `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $3, locked_until = NULL
      WHERE tenant_id = $1 AND event_id = $2`;
    return (await this.client.query(sql, [tenantId, eventId, now])).rowCount ?? 0;
  }

  async saveHold(hold: HoldRecord): Promise<void> {
    await this.flush();
    await upsert(this.client, HOLDS, holdToRow(hold));
  }

  findWithdrawal(tenantId: string | null, id: string): Promise<WithdrawalRecord | undefined> {
    return findWithdrawal(this.client, tenantId, id, "FOR UPDATE");
  }

  async saveWithdrawal(withdrawal: WithdrawalRecord): Promise<void> {
    await this.flush();
    await upsert(this.client, WITHDRAWALS, withdrawalToRow(withdrawal));
  }

  async findIdempotencyRecord(scope: string, key: string): Promise<IdempotencyRecord | undefined> {
    const [row] = await rows<IdempotencyRow>(this.client, "idempotency", "SELECT * FROM idempotency_keys WHERE scope = $1 AND key = $2", [
      scope,
      key,
    ]);
    return row && idempotencyFromRow(row);
  }

  async saveIdempotencyRecord(record: IdempotencyRecord): Promise<boolean> {
    return (await upsert(this.client, IDEMPOTENCY_KEYS, idempotencyToRow(record), IDEMPOTENCY_INSERT_CONDITION)) === 1;
  }

  async saveDeposit(deposit: DepositRecord): Promise<void> {
    await this.flush();
    const row = depositToRow(deposit);
    await this.client.query({
      name: "save-deposit",
      text: `INSERT INTO deposits (id, tenant_id, wallet_uuid, currency, tx_hash, amount, confirmations, status, transfer_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (id) DO UPDATE SET confirmations = excluded.confirmations, status = excluded.status,
               transfer_id = excluded.transfer_id, updated_at = excluded.updated_at`,
      values: [
        row.id,
        row.tenant_id,
        row.wallet_uuid,
        row.currency,
        row.tx_hash,
        row.amount,
        row.confirmations,
        row.status,
        row.transfer_id,
        row.created_at,
        row.updated_at,
      ],
    });
  }
}
