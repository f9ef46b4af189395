import { randomUUID } from "node:crypto";
import pg from "pg";
import type { ReplayAccount, ReplayTransfer } from "../../ledger/replay.js";
import { type BatchItem, GroupCommitter, type Outcome } from "../group-commit.js";
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
  type HoldRow,
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
  transferToRow,
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
  GAME_TRANSACTIONS,
  HOLDS,
  IDEMPOTENCY_INSERT_CONDITION,
  IDEMPOTENCY_KEYS,
  positional,
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
import { migrate } from "./migrations.js";

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
 * Each item runs in a savepoint (a subtransaction). Past 64 of them PostgreSQL's per-backend
 * subtransaction cache overflows and every visibility check slows down, so batches stay below.
 */
const MAX_ITEMS_PER_BATCH = 64;

const ACCOUNT_COLUMNS = `a.id, a.tenant_id, a.owner_kind, a.wallet_uuid, a.currency,
  a.debits_must_not_exceed_credits::int AS debits_must_not_exceed_credits, a.credits_posted::text AS credits_posted,
  a.debits_posted::text AS debits_posted, a.credits_pending::text AS credits_pending, a.debits_pending::text AS debits_pending, a.version`;
const WALLET_COLUMNS = "w.id, w.wallet_id, w.tenant_id, w.name, w.external_id, w.created_at, w.updated_at";
const TRANSFER_COLUMNS = `t.id, t.tenant_id, t.currency, t.flag, t.debit_account_id, t.credit_account_id, t.amount::text AS amount,
  t.pending_id, t.transfer_type, t.wallet_uuid, t.status, t.created_at`;
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
  readonly #committer: GroupCommitter<WriteTx>;

  readonly #eventListeners = new Set<(tenantIds: ReadonlySet<string>) => void>();
  #listener: pg.Client | undefined;
  #listening: Promise<void> | undefined;

  private constructor(
    pool: pg.Pool,
    private readonly connectionString: string,
  ) {
    this.#pool = pool;
    this.#committer = new GroupCommitter<WriteTx>((items) => this.#runBatch(items), BATCHES_IN_FLIGHT, MAX_ITEMS_PER_BATCH);
  }

  static async open(connectionString: string, poolSize = 10): Promise<PostgresStore> {
    const pool = new pg.Pool({ connectionString, max: poolSize, types });
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

  write<T>(work: (tx: WriteTx) => Promise<T>): Promise<T> {
    return this.#committer.submit(work);
  }

  async #runBatch(items: BatchItem<WriteTx>[]): Promise<Outcome[]> {
    const client = await this.#pool.connect();
    try {
      await client.query("BEGIN");
      const tx = new PostgresWriteTx(client);
      const outcomes: Outcome[] = [];
      for (const item of items) outcomes.push(await runItem(client, tx, item));
      await tx.flush();
      await client.query("COMMIT");
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
    const where = ["t.tenant_id = $1", "t.wallet_uuid = $2", "t.transfer_type IS NOT NULL"];
    const optional = { status: filter.status, transfer_type: filter.transferType, currency: filter.currency };
    for (const [column, value] of Object.entries(optional)) {
      if (value === undefined) continue;
      values.push(value);
      where.push(`t.${column} = $${values.length}`);
    }
    const clause = where.join(" AND ");
    const page = await this.#pool.query(
      `SELECT ${TRANSFER_COLUMNS} FROM transfers t WHERE ${clause} ORDER BY t.seq DESC LIMIT $${values.length + 1} OFFSET $${values.length + 2}`,
      [...values, filter.limit, filter.offset],
    );
    const count = await this.#pool.query(`SELECT count(*)::int AS n FROM transfers t WHERE ${clause}`, values);
    return { transfers: (page.rows as TransferRow[]).map(transferFromRow), total: count.rows[0].n as number };
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

  async insertWebhookEndpoint(endpoint: WebhookEndpointRecord): Promise<void> {
    await this.#pool.query(
      "INSERT INTO webhook_endpoints (id, tenant_id, url, secret, created_at, disabled_at) VALUES ($1, $2, $3, $4, $5, $6)",
      [endpoint.id, endpoint.tenantId, endpoint.url, endpoint.secret, endpoint.createdAt, endpoint.disabledAt],
    );
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

  async disableWebhookEndpoint(tenantId: string, id: string, disabledAt: string): Promise<boolean> {
    if (!UUID_PATTERN.test(tenantId) || !UUID_PATTERN.test(id)) return false;
    const sql = "UPDATE webhook_endpoints SET disabled_at = $3 WHERE tenant_id = $1 AND id = $2 AND disabled_at IS NULL";
    return (await this.#pool.query(sql, [tenantId, id, disabledAt])).rowCount === 1;
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

  async redeliver(tenantId: string, eventId: string, now: string): Promise<number> {
    if (!UUID_PATTERN.test(tenantId) || !UUID_PATTERN.test(eventId)) return 0;
    const sql = `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $3, locked_until = NULL
      WHERE tenant_id = $1 AND event_id = $2`;
    return (await this.#pool.query(sql, [tenantId, eventId, now])).rowCount ?? 0;
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

/**
 * Runs one item inside its own savepoint. A deadlock or serialization failure with another
 * process rolls back only this item, whose work is then retried; the locks it lost go with it.
 */
async function runItem(client: pg.PoolClient, tx: PostgresWriteTx, item: BatchItem<WriteTx>): Promise<Outcome> {
  for (let attempt = 1; ; attempt += 1) {
    const state = tx.snapshot();
    await client.query("SAVEPOINT item");
    try {
      const value = await item.work(tx);
      await client.query("RELEASE SAVEPOINT item");
      return { ok: true, value };
    } catch (error) {
      await client.query("ROLLBACK TO SAVEPOINT item");
      await client.query("RELEASE SAVEPOINT item");
      tx.restore(state);
      const code = (error as { code?: string }).code;
      if (code && RETRYABLE.has(code) && attempt < MAX_ATTEMPTS) continue;
      return { ok: false, error };
    }
  }
}

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

interface TxState {
  accountIds: Map<string, string>;
  accounts: Map<string, AccountRecord>;
  dirtyAccounts: Set<string>;
  eventSeqs: Map<string, number>;
}

/**
 * A batch's side of PostgreSQL. Locked accounts and event counters are kept in memory and
 * written once, at flush before commit: updating one row thousands of times in a transaction
 * (the master account in a bulk settlement) grows a chain of row versions that every further
 * update walks, which is quadratic. The memory state follows savepoints through snapshot and
 * restore, so a rolled-back item leaves no trace in it either.
 */
class PostgresWriteTx implements WriteTx {
  #savepointDepth = 0;
  #state: TxState = { accountIds: new Map(), accounts: new Map(), dirtyAccounts: new Set(), eventSeqs: new Map() };
  /** Event counters bumped in this transaction, whose final value flush writes. */
  #dirtyCounters = new Set<string>();
  #endpointsKnown = new Map<string, boolean>();
  /** Tenants already notified in this transaction (a rolled-back notify is never sent). */
  #notified = new Set<string>();

  constructor(private readonly client: pg.PoolClient) {}

  snapshot(): TxState {
    const state = this.#state;
    return {
      accountIds: new Map(state.accountIds),
      accounts: new Map(state.accounts),
      dirtyAccounts: new Set(state.dirtyAccounts),
      eventSeqs: new Map(state.eventSeqs),
    };
  }

  restore(state: TxState): void {
    this.#state = state;
  }

  async flush(): Promise<void> {
    for (const id of this.#state.dirtyAccounts) {
      const account = this.#state.accounts.get(id);
      if (!account) throw new Error(`dirty account ${id} is not cached`);
      const row = accountToRow(account);
      await this.client.query({
        name: "save-account",
        text: "UPDATE accounts SET credits_posted = $2, debits_posted = $3, credits_pending = $4, debits_pending = $5, version = $6 WHERE id = $1",
        values: [row.id, row.credits_posted, row.debits_posted, row.credits_pending, row.debits_pending, row.version],
      });
    }
    for (const tenantId of this.#dirtyCounters) {
      const seq = this.#state.eventSeqs.get(tenantId);
      if (seq === undefined) continue;
      await this.client.query({
        name: "save-event-seq",
        text: "UPDATE event_counters SET last_seq = $2 WHERE tenant_id = $1",
        values: [tenantId, seq],
      });
    }
    this.#state.dirtyAccounts.clear();
    this.#dirtyCounters.clear();
  }

  #remember(key: string, account: AccountRecord): AccountRecord {
    const cached = this.#state.accounts.get(account.id);
    if (cached) return cached;
    this.#state.accountIds.set(key, account.id);
    this.#state.accounts.set(account.id, account);
    return account;
  }

  findWallet(tenantId: string, lookup: WalletLookup): Promise<WalletRecord | undefined> {
    return findWallet(this.client, tenantId, lookup);
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

  async openAccounts(keys: AccountKey[]): Promise<AccountRecord[]> {
    const first = keys[0];
    if (!first || keys.some((key) => key.tenantId !== first.tenantId || key.currency !== first.currency)) {
      throw new Error("openAccounts takes keys of one tenant and one currency");
    }
    const cacheKey = (key: AccountKey) => `${key.tenantId}/${key.currency}/${ownerKey(key)}`;
    const cached = (key: AccountKey) => {
      const id = this.#state.accountIds.get(cacheKey(key));
      return id === undefined ? undefined : this.#state.accounts.get(id);
    };
    const uncached = keys.filter((key) => !cached(key));
    if (uncached.length > 0) {
      let found = await this.#lock(first.tenantId, first.currency, uncached.map(ownerKey));
      const missing = uncached.filter((key) => !found.has(ownerKey(key)));
      if (missing.length > 0) {
        for (const key of missing) await this.#insertAccount(key);
        found = await this.#lock(first.tenantId, first.currency, uncached.map(ownerKey));
      }
      for (const key of uncached) {
        const account = found.get(ownerKey(key));
        if (!account) throw new Error(`account ${ownerKey(key)} could not be opened`);
        this.#remember(cacheKey(key), account);
      }
    }
    return keys.map((key) => {
      const account = cached(key);
      if (!account) throw new Error(`account ${ownerKey(key)} is not cached`);
      return account;
    });
  }

  /**
   * Locks the accounts in one order every process uses: the tenant's own accounts (master,
   * chain) first, then wallets, each by id. A transaction then waits for a hot master account
   * before it holds any wallet, which keeps concurrent batches out of lock cycles.
   */
  async #lock(tenantId: string, currency: string, ownerKeys: string[]): Promise<Map<string, AccountRecord>> {
    const locked = await rows<AccountRow & { owner_key: string }>(
      this.client,
      "lock-accounts",
      `SELECT ${ACCOUNT_COLUMNS}, a.owner_key FROM accounts a
       WHERE a.tenant_id = $1 AND a.currency = $2 AND a.owner_key = ANY($3::text[]) ORDER BY a.owner_kind = 'wallet', a.id FOR UPDATE`,
      [tenantId, currency, ownerKeys],
    );
    return new Map(locked.map((row) => [row.owner_key, accountFromRow(row)]));
  }

  async #insertAccount(key: AccountKey): Promise<void> {
    await this.client.query({
      name: "insert-account",
      text: `INSERT INTO accounts (id, tenant_id, owner_kind, wallet_uuid, currency, debits_must_not_exceed_credits,
               credits_posted, debits_posted, credits_pending, debits_pending)
             VALUES ($1, $2, $3, $4, $5, $6, 0, 0, 0, 0) ON CONFLICT (tenant_id, currency, owner_key) DO NOTHING`,
      values: [randomUUID(), key.tenantId, key.ownerKind, key.walletUuid, key.currency, key.ownerKind !== "chain"],
    });
  }

  async lockAccountsById(ids: string[]): Promise<AccountRecord[]> {
    const uncached = ids.filter((id) => !this.#state.accounts.has(id));
    if (uncached.length > 0) {
      const locked = await rows<AccountRow & { owner_key: string }>(
        this.client,
        "lock-accounts-by-id",
        `SELECT ${ACCOUNT_COLUMNS}, a.owner_key FROM accounts a WHERE a.id = ANY($1::uuid[]) ORDER BY a.owner_kind = 'wallet', a.id FOR UPDATE`,
        [uncached],
      );
      for (const row of locked) this.#remember(`${row.tenant_id}/${row.currency}/${row.owner_key}`, accountFromRow(row));
    }
    return ids.map((id) => {
      const account = this.#state.accounts.get(id);
      if (!account) throw new Error(`account ${id} does not exist`);
      return account;
    });
  }

  async saveAccounts(accounts: AccountRecord[]): Promise<void> {
    for (const account of accounts) {
      if (!this.#state.accounts.has(account.id)) throw new Error(`account ${account.id} was saved without being locked`);
      this.#state.accounts.set(account.id, account);
      this.#state.dirtyAccounts.add(account.id);
    }
  }

  async insertTransfer(transfer: TransferRecord): Promise<void> {
    const row = transferToRow(transfer);
    await this.client.query({
      name: "insert-transfer",
      text: `INSERT INTO transfers (id, tenant_id, currency, flag, debit_account_id, credit_account_id, amount, pending_id,
               transfer_type, wallet_uuid, status, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      values: [
        row.id,
        row.tenant_id,
        row.currency,
        row.flag,
        row.debit_account_id,
        row.credit_account_id,
        row.amount,
        row.pending_id,
        row.transfer_type,
        row.wallet_uuid,
        row.status,
        row.created_at,
      ],
    });
  }

  async setTransferStatus(id: string, status: TransferStatus): Promise<void> {
    await this.client.query({ name: "set-transfer-status", text: "UPDATE transfers SET status = $2 WHERE id = $1", values: [id, status] });
  }

  async findTransfer(id: string): Promise<TransferRecord | undefined> {
    const [row] = await rows<TransferRow>(this.client, "transfer", `SELECT ${TRANSFER_COLUMNS} FROM transfers t WHERE t.id = $1`, [id]);
    return row && transferFromRow(row);
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

  async findGameTransaction(tenantId: string, transactionId: string): Promise<GameTransactionRecord | undefined> {
    if (!UUID_PATTERN.test(tenantId)) return undefined;
    await advisoryLock(this.client, `game:${tenantId}:${transactionId}`);
    const [row] = await rows<GameTransactionRow>(
      this.client,
      "game-transaction",
      `SELECT tenant_id, transaction_id, kind, status, wallet_uuid, currency, amount::text AS amount, round_id, reference_id,
         fingerprint, result, created_at
       FROM game_transactions WHERE tenant_id = $1 AND transaction_id = $2 FOR UPDATE`,
      [tenantId, transactionId],
    );
    return row && gameTransactionFromRow(row);
  }

  async saveGameTransaction(record: GameTransactionRecord): Promise<void> {
    await upsert(this.client, GAME_TRANSACTIONS, gameTransactionToRow(record));
  }

  findHold(tenantId: string, id: string): Promise<HoldRecord | undefined> {
    return findHold(this.client, tenantId, id, "FOR UPDATE");
  }

  async saveHold(hold: HoldRecord): Promise<void> {
    await upsert(this.client, HOLDS, holdToRow(hold));
  }

  findWithdrawal(tenantId: string | null, id: string): Promise<WithdrawalRecord | undefined> {
    return findWithdrawal(this.client, tenantId, id, "FOR UPDATE");
  }

  async saveWithdrawal(withdrawal: WithdrawalRecord): Promise<void> {
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

  async appendEvent(event: Omit<EventRecord, "seq">): Promise<number> {
    // The counter row stays locked until commit, so a tenant's events are numbered in commit
    // order: a stream that has seen seq n can never later find an event below n.
    const seq = await this.#nextEventSeq(event.tenantId);
    await this.client.query({
      name: "insert-event",
      text: "INSERT INTO events (tenant_id, seq, id, type, wallet_uuid, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
      values: [event.tenantId, seq, event.id, event.type, event.walletUuid, event.payload, event.createdAt],
    });
    if (await this.#hasEndpoints(event.tenantId)) {
      await this.client.query({
        name: "fan-out-event",
        text: `INSERT INTO webhook_deliveries (event_id, endpoint_id, tenant_id, status, attempts, next_attempt_at, created_at)
             SELECT $1, id, tenant_id, 'pending', 0, $3, $3 FROM webhook_endpoints WHERE tenant_id = $2 AND disabled_at IS NULL`,
        values: [event.id, event.tenantId, event.createdAt],
      });
    }
    // Delivered by PostgreSQL on commit, to every process listening (and only then); once per
    // tenant and transaction is enough to wake them.
    if (!this.#notified.has(event.tenantId)) {
      this.#notified.add(event.tenantId);
      await this.client.query({ name: "notify-event", text: "SELECT pg_notify($1, $2)", values: [EVENTS_CHANNEL, event.tenantId] });
    }
    return seq;
  }

  /** Whether the tenant has an active webhook endpoint, asked once per transaction. */
  async #hasEndpoints(tenantId: string): Promise<boolean> {
    let known = this.#endpointsKnown.get(tenantId);
    if (known === undefined) {
      const found = await rows(
        this.client,
        "has-endpoints",
        "SELECT 1 FROM webhook_endpoints WHERE tenant_id = $1 AND disabled_at IS NULL LIMIT 1",
        [tenantId],
      );
      known = found.length > 0;
      this.#endpointsKnown.set(tenantId, known);
    }
    return known;
  }

  /** The first event of a tenant in this transaction locks its counter; the rest count in memory. */
  async #nextEventSeq(tenantId: string): Promise<number> {
    const known = this.#state.eventSeqs.get(tenantId);
    let seq: number;
    if (known === undefined) {
      const [counter] = await rows<{ last_seq: string }>(
        this.client,
        "next-event-seq",
        `INSERT INTO event_counters (tenant_id, last_seq) VALUES ($1, 1)
         ON CONFLICT (tenant_id) DO UPDATE SET last_seq = event_counters.last_seq + 1 RETURNING last_seq`,
        [tenantId],
      );
      seq = Number(counter?.last_seq);
    } else {
      seq = known + 1;
      this.#dirtyCounters.add(tenantId);
    }
    this.#state.eventSeqs.set(tenantId, seq);
    return seq;
  }

  async atomically<T>(work: () => Promise<T>): Promise<T> {
    const name = `nested_${++this.#savepointDepth}`;
    const state = this.snapshot();
    await this.client.query(`SAVEPOINT ${name}`);
    try {
      const value = await work();
      await this.client.query(`RELEASE SAVEPOINT ${name}`);
      return value;
    } catch (error) {
      await this.client.query(`ROLLBACK TO SAVEPOINT ${name}`);
      await this.client.query(`RELEASE SAVEPOINT ${name}`);
      this.restore(state);
      throw error;
    } finally {
      this.#savepointDepth -= 1;
    }
  }

  async saveDeposit(deposit: DepositRecord): Promise<void> {
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
