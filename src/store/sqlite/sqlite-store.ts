import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
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
  positionalInsertSql,
  TRANSFER_INSERT_COLUMNS,
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
import { type FlushRows, WriteBehindTx } from "../write-behind.js";
import { Checkpointer } from "./checkpointer.js";
import { migrate } from "./migrations.js";
import { SqliteOperator } from "./operator.js";
import { SqliteRateLimits } from "./rate-limits.js";

// SQLite's LIKE ignores ASCII case, which is what a search box wants.
const SEARCH_CLAUSE = "(@pattern IS NULL OR w.name LIKE @pattern ESCAPE '\\' OR w.external_id LIKE @pattern ESCAPE '\\')";
const LOOKUP_COLUMN = { id: "id", wallet_id: "wallet_id", external_id: "external_id" } as const;
const ACCOUNT_COLUMNS =
  "a.id, a.tenant_id, a.owner_kind, a.wallet_uuid, a.currency, a.debits_must_not_exceed_credits, a.credits_posted, a.debits_posted, a.credits_pending, a.debits_pending, a.version";
const WALLET_COLUMNS = "w.id, w.wallet_id, w.tenant_id, w.name, w.external_id, w.created_at, w.updated_at";

/** SQLite's own default, used again if the checkpoint thread fails. */
const AUTOCHECKPOINT_PAGES = 1000;

function openConnection(file: string): Database.Database {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  // FULL: a commit is on disk before the request that made it is answered (DESIGN 2).
  db.pragma("synchronous = FULL");
  db.pragma("busy_timeout = 5000");
  db.pragma("foreign_keys = ON");
  return db;
}

/**
 * The embedded store. One writer connection runs group-committed batches; a second connection
 * serves reads, so a read never sees a batch that has not committed yet.
 */
export class SqliteStore implements Store {
  readonly kind = "sqlite";
  readonly #writer: Database.Database;
  readonly #reader: Database.Database;
  readonly #writeStatements: WriteStatements;
  readonly #committer: GroupCommitter<WriteTx>;
  readonly #statements;
  readonly #eventListeners = new Set<(tenantIds: ReadonlySet<string>) => void>();
  readonly #checkpointer: Checkpointer;
  readonly rateLimits: SqliteRateLimits;
  readonly operator: SqliteOperator;

  constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.#writer = openConnection(file);
    migrate(this.#writer);
    this.#writer.pragma(`wal_autocheckpoint = 0`);
    this.#checkpointer = new Checkpointer(file, () => this.#writer.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`));
    this.#reader = openConnection(file);
    this.#writeStatements = prepareWrites(this.#writer);
    this.#committer = new GroupCommitter<WriteTx>((items) => this.#runBatch(items));
    this.#statements = prepareReads(this.#reader);
    this.rateLimits = new SqliteRateLimits(`${file}.rate-limits`);
    this.operator = new SqliteOperator(this.#reader, (statement) => this.#direct(statement));
  }

  async close(): Promise<void> {
    // Movements already queued are committed and answered, not dropped with the connection.
    await this.#committer.drain();
    await this.#checkpointer.close();
    this.#reader.close();
    this.#writer.close();
    await this.rateLimits.close();
  }

  get commitStats() {
    return this.#committer.stats;
  }

  observeCommits(observer: CommitObserver): () => void {
    return this.#committer.observe(observer);
  }

  /** Reads are in-process here and cost microseconds: the work reads what it needs itself. */
  write<T>(work: (tx: WriteTx) => Promise<T>): Promise<T> {
    return this.#committer.submit(work);
  }

  /**
   * Every write on the writer connection goes through the group committer, including these
   * bookkeeping ones: it is the one place that owns the connection's transactions.
   */
  #direct<T>(statement: (db: Database.Database) => T): Promise<T> {
    return this.write(async () => statement(this.#writer));
  }

  async #runBatch(items: BatchItem<WriteTx>[]): Promise<Outcome[]> {
    const db = this.#writer;
    const tx = new SqliteWriteTx(db, this.#writeStatements);
    db.exec("BEGIN IMMEDIATE");
    const outcomes: Outcome[] = [];
    try {
      for (const item of items) {
        // A savepoint per item: one item's failure undoes only its own writes.
        try {
          outcomes.push({ ok: true, value: await tx.atomically(() => item.work(tx)) });
        } catch (error) {
          outcomes.push({ ok: false, error });
        }
      }
      await tx.flush();
      db.exec("COMMIT");
    } catch (error) {
      if (db.inTransaction) db.exec("ROLLBACK");
      throw error;
    }
    this.#committer.eventsCommitted(tx.appendedEventTypes);
    this.#checkpointer.request();
    if (tx.appendedTenants.size > 0) for (const listener of this.#eventListeners) listener(tx.appendedTenants);
    return outcomes;
  }

  async insertTenant(tenant: TenantRecord): Promise<void> {
    const sql = "INSERT INTO tenants (id, name, created_at, unknown_rollback) VALUES (?, ?, ?, ?)";
    await this.#direct((db) => db.prepare(sql).run(tenant.id, tenant.name, tenant.createdAt, tenant.unknownRollback));
  }

  async findTenant(id: string): Promise<TenantRecord | undefined> {
    const row = this.#statements.tenant.get(id) as TenantRow | undefined;
    return row && tenantFromRow(row);
  }

  async setUnknownRollbackPolicy(tenantId: string, policy: UnknownRollbackPolicy): Promise<boolean> {
    const sql = "UPDATE tenants SET unknown_rollback = ? WHERE id = ?";
    return (await this.#direct((db) => db.prepare(sql).run(policy, tenantId))).changes === 1;
  }

  async insertApiKey(key: ApiKeyRecord): Promise<void> {
    const sql = "INSERT INTO api_keys (id, tenant_id, key_hash, scopes, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)";
    await this.#direct((db) => db.prepare(sql).run(key.id, key.tenantId, key.keyHash, key.scopes.join(","), key.createdAt, key.revokedAt));
  }

  async findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const row = this.#statements.apiKey.get(keyHash) as
      | { id: string; tenant_id: string | null; key_hash: string; scopes: string; created_at: string; revoked_at: string | null }
      | undefined;
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
    const sql = "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?";
    return (await this.#direct((db) => db.prepare(sql).run(revokedAt, id))).changes === 1;
  }

  async insertClient(client: ClientRecord): Promise<void> {
    const sql = "INSERT INTO oauth_clients (client_id, tenant_id, secret_hash, scopes, created_at) VALUES (?, ?, ?, ?, ?)";
    await this.#direct((db) =>
      db.prepare(sql).run(client.clientId, client.tenantId, client.secretHash, client.scopes.join(","), client.createdAt),
    );
  }

  async findClient(clientId: string): Promise<ClientRecord | undefined> {
    const row = this.#statements.client.get(clientId) as
      | { client_id: string; tenant_id: string; secret_hash: string; scopes: string; created_at: string }
      | undefined;
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
    return this.#direct((db) => {
      db.prepare("INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING").run(name, value);
      return (db.prepare("SELECT value FROM settings WHERE name = ?").get(name) as { value: string }).value;
    });
  }

  async findWallet(tenantId: string, lookup: WalletLookup): Promise<WalletRecord | undefined> {
    const row = this.#statements.wallet[lookup.by].get(tenantId, lookup.value) as WalletRow | undefined;
    return row && walletFromRow(row);
  }

  async findWalletWithAccounts(tenantId: string, lookup: WalletLookup) {
    const rows = this.#statements.walletWithAccounts[lookup.by].all(tenantId, lookup.value) as (WalletRow & {
      [K in keyof AccountRow as `a_${K}`]: AccountRow[K] | null;
    })[];
    const first = rows[0];
    if (!first) return undefined;
    const accounts = rows.filter((row) => row.a_id !== null).map((row) => accountFromRow(unprefixed(row)));
    return { wallet: walletFromRow(first), accounts };
  }

  async listWallets(tenantId: string, limit: number, offset: number, search?: string) {
    const pattern = search ? containsPattern(search) : null;
    const rows = this.#statements.walletPage.all({ tenantId, limit, offset, pattern }) as WalletRow[];
    const total = (this.#statements.walletCount.get({ tenantId, pattern }) as { n: number }).n;
    return { wallets: rows.map(walletFromRow), total };
  }

  async listDeposits(tenantId: string, walletUuid: string, status: DepositStatus | undefined, limit: number): Promise<DepositRecord[]> {
    const rows = this.#statements.deposits.all({ tenantId, walletUuid, status: status ?? null, limit }) as DepositRow[];
    return rows.map(depositFromRow);
  }

  async listWalletAccounts(walletUuids: string[]): Promise<AccountRecord[]> {
    if (walletUuids.length === 0) return [];
    const rows = this.#statements.walletAccounts.all(JSON.stringify(walletUuids)) as AccountRow[];
    return rows.map(accountFromRow);
  }

  async listMasterAccounts(tenantId: string): Promise<AccountRecord[]> {
    return (this.#statements.masterAccounts.all(tenantId) as AccountRow[]).map(accountFromRow);
  }

  async listTransfers(filter: TransferFilter) {
    const where = ["t.tenant_id = @tenantId", "t.wallet_uuid = @walletUuid", HISTORY_VISIBLE];
    if (filter.status) where.push("t.status = @status");
    if (filter.transferType) where.push("t.transfer_type = @transferType");
    if (filter.currency) where.push("t.currency = @currency");
    // created_at is toISOString text, so the same form compares in time order.
    if (filter.createdFrom) where.push("t.created_at >= @createdFrom");
    if (filter.createdBefore) where.push("t.created_at < @createdBefore");
    const clause = where.join(" AND ");
    const parameters = {
      ...filter,
      status: filter.status ?? null,
      transferType: filter.transferType ?? null,
      currency: filter.currency ?? null,
      createdFrom: filter.createdFrom ?? null,
      createdBefore: filter.createdBefore ?? null,
    };
    const rows = this.#reader
      .prepare(`SELECT t.*, r.amount AS posted_part FROM ${HISTORY_FROM} WHERE ${clause} ORDER BY t.seq DESC LIMIT @limit OFFSET @offset`)
      .all(parameters) as HistoryRow[];
    const total = (this.#reader.prepare(`SELECT count(*) AS n FROM transfers t WHERE ${clause}`).get(parameters) as { n: number }).n;
    return { transfers: rows.map(historyEntryFromRow), total };
  }

  async findHold(tenantId: string, id: string): Promise<HoldRecord | undefined> {
    const row = this.#statements.hold.get(tenantId, id) as HoldRow | undefined;
    return row && holdFromRow(row);
  }

  async findWithdrawal(tenantId: string | null, id: string): Promise<WithdrawalRecord | undefined> {
    const row = this.#statements.withdrawal.get({ tenantId, id }) as WithdrawalRow | undefined;
    return row && withdrawalFromRow(row);
  }

  async listWithdrawals(status: WithdrawalStatus, limit: number, offset: number): Promise<WithdrawalRecord[]> {
    return (this.#statements.withdrawalsByStatus.all(status, limit, offset) as WithdrawalRow[]).map(withdrawalFromRow);
  }

  async listExpiredHolds(now: string, limit: number) {
    return (this.#statements.expiredHolds.all(now, limit) as { tenant_id: string; id: string }[]).map((row) => ({
      tenantId: row.tenant_id,
      id: row.id,
    }));
  }

  async deleteExpiredIdempotencyRecords(now: string, limit: number): Promise<number> {
    const sql = "DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys WHERE expires_at <= ? LIMIT ?)";
    return (await this.#direct((db) => db.prepare(sql).run(now, limit))).changes;
  }

  async listEvents(tenantId: string, afterSeq: number, walletUuid: string | undefined, limit: number): Promise<EventRecord[]> {
    const rows = this.#statements.events.all({ tenantId, afterSeq, walletUuid: walletUuid ?? null, limit }) as EventRow[];
    return rows.map(eventFromRow);
  }

  async lastEventSeq(tenantId: string): Promise<number> {
    const row = this.#statements.lastEventSeq.get(tenantId) as { last_seq: number } | undefined;
    return row?.last_seq ?? 0;
  }

  async onEventsCommitted(listener: (tenantIds: ReadonlySet<string>) => void): Promise<() => void> {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  async listWebhookEndpoints(tenantId: string): Promise<WebhookEndpointRecord[]> {
    return (this.#statements.webhookEndpoints.all(tenantId) as WebhookEndpointRow[]).map(webhookEndpointFromRow);
  }

  claimDueDeliveries(now: string, leaseUntil: string, limit: number): Promise<ClaimedDelivery[]> {
    return this.#direct((db) => {
      const claimed = db
        .prepare(
          `UPDATE webhook_deliveries SET locked_until = @leaseUntil WHERE rowid IN (
             SELECT rowid FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= @now
               AND (locked_until IS NULL OR locked_until <= @now) ORDER BY next_attempt_at LIMIT @limit)
           RETURNING event_id, endpoint_id`,
        )
        .all({ now, leaseUntil, limit }) as { event_id: string; endpoint_id: string }[];
      const details = db.prepare(
        `SELECT d.event_id, d.endpoint_id, d.attempts, d.created_at, e.type AS event_type, e.payload, w.url, w.secret
         FROM webhook_deliveries d JOIN events e ON e.id = d.event_id JOIN webhook_endpoints w ON w.id = d.endpoint_id
         WHERE d.event_id = ? AND d.endpoint_id = ?`,
      );
      return claimed.map((row) => claimedDeliveryFromRow(details.get(row.event_id, row.endpoint_id) as ClaimedDeliveryRow));
    });
  }

  async finishDeliveryAttempt(eventId: string, endpointId: string, outcome: DeliveryOutcome): Promise<void> {
    const sql = `UPDATE webhook_deliveries SET status = @status, attempts = @attempts, next_attempt_at = @nextAttemptAt,
      last_status_code = @lastStatusCode, last_error = @lastError, delivered_at = @deliveredAt, locked_until = NULL
      WHERE event_id = @eventId AND endpoint_id = @endpointId`;
    await this.#direct((db) => db.prepare(sql).run({ ...outcome, eventId, endpointId }));
  }

  async listDeliveries(tenantId: string, status: DeliveryStatus | undefined, limit: number, offset: number): Promise<DeliveryRecord[]> {
    const rows = this.#statements.deliveries.all({ tenantId, status: status ?? null, limit, offset }) as DeliveryRow[];
    return rows.map(deliveryFromRow);
  }

  async withLedgerSnapshot<T>(visit: (accounts: ReplayAccount[], transfers: AsyncIterable<ReplayTransfer>) => Promise<T>): Promise<T> {
    // A connection of its own: its read transaction pins one snapshot for the whole visit
    // without making the shared reader serve stale data meanwhile.
    const db = openConnection(this.file);
    try {
      db.exec("BEGIN");
      const accounts = (db.prepare(`SELECT ${ACCOUNT_COLUMNS} FROM accounts a ORDER BY a.seq`).all() as AccountRow[]).map(
        (row): ReplayAccount => ({ ...accountFromRow(row), ledgerKey: `${row.tenant_id}/${row.currency}` }),
      );
      const statement = db.prepare("SELECT * FROM transfers ORDER BY seq");
      async function* transfers(): AsyncIterable<ReplayTransfer> {
        for (const row of statement.iterate() as IterableIterator<TransferRow>) yield transferFromRow(row);
      }
      return await visit(accounts, transfers());
    } finally {
      db.close();
    }
  }
}

function unprefixed(row: object): AccountRow {
  const entries = Object.entries(row).filter(([key]) => key.startsWith("a_"));
  return Object.fromEntries(entries.map(([key, value]) => [key.slice(2), value])) as unknown as AccountRow;
}

function prepareReads(db: Database.Database) {
  const byLookup = (sql: (column: string) => string) =>
    Object.fromEntries(Object.entries(LOOKUP_COLUMN).map(([by, column]) => [by, db.prepare(sql(column))])) as Record<
      WalletLookup["by"],
      Database.Statement
    >;
  const prefixedAccountColumns = ACCOUNT_COLUMNS.split(", ")
    .map((column) => `${column} AS a_${column.slice(2)}`)
    .join(", ");
  return {
    tenant: db.prepare("SELECT * FROM tenants WHERE id = ?"),
    apiKey: db.prepare("SELECT * FROM api_keys WHERE key_hash = ?"),
    client: db.prepare("SELECT * FROM oauth_clients WHERE client_id = ?"),
    wallet: byLookup((column) => `SELECT ${WALLET_COLUMNS} FROM wallets w WHERE w.tenant_id = ? AND w.${column} = ?`),
    walletWithAccounts: byLookup(
      (column) =>
        `SELECT ${WALLET_COLUMNS}, ${prefixedAccountColumns} FROM wallets w LEFT JOIN accounts a ON a.wallet_uuid = w.id AND a.version > 0
         WHERE w.tenant_id = ? AND w.${column} = ? ORDER BY a.seq`,
    ),
    walletPage: db.prepare(`SELECT ${WALLET_COLUMNS} FROM wallets w WHERE w.tenant_id = @tenantId AND ${SEARCH_CLAUSE}
      ORDER BY w.seq LIMIT @limit OFFSET @offset`),
    walletCount: db.prepare(`SELECT count(*) AS n FROM wallets w WHERE w.tenant_id = @tenantId AND ${SEARCH_CLAUSE}`),
    deposits: db.prepare(`SELECT * FROM deposits WHERE tenant_id = @tenantId AND wallet_uuid = @walletUuid
      AND (@status IS NULL OR status = @status) ORDER BY created_at DESC LIMIT @limit`),
    walletAccounts: db.prepare(
      `SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.wallet_uuid IN (SELECT value FROM json_each(?)) AND a.version > 0 ORDER BY a.seq`,
    ),
    events: db.prepare(
      `SELECT * FROM events WHERE tenant_id = @tenantId AND seq > @afterSeq AND (@walletUuid IS NULL OR wallet_uuid = @walletUuid)
       ORDER BY seq LIMIT @limit`,
    ),
    lastEventSeq: db.prepare("SELECT last_seq FROM event_counters WHERE tenant_id = ?"),
    webhookEndpoints: db.prepare("SELECT * FROM webhook_endpoints WHERE tenant_id = ? AND disabled_at IS NULL ORDER BY created_at"),
    deliveries: db.prepare(
      `SELECT d.*, e.type AS event_type FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
       WHERE d.tenant_id = @tenantId AND (@status IS NULL OR d.status = @status) ORDER BY d.created_at DESC LIMIT @limit OFFSET @offset`,
    ),
    hold: db.prepare("SELECT * FROM holds WHERE tenant_id = ? AND id = ?"),
    withdrawal: db.prepare("SELECT * FROM withdrawals WHERE (@tenantId IS NULL OR tenant_id = @tenantId) AND id = @id"),
    withdrawalsByStatus: db.prepare("SELECT * FROM withdrawals WHERE status = ? ORDER BY created_at LIMIT ? OFFSET ?"),
    expiredHolds: db.prepare("SELECT tenant_id, id FROM holds WHERE status = 'pending' AND expires_at <= ? ORDER BY expires_at LIMIT ?"),
    masterAccounts: db.prepare(
      `SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.tenant_id = ? AND a.owner_kind = 'master' AND a.version > 0 ORDER BY a.seq`,
    ),
  };
}

/** The writer connection's statements, prepared once. */
function prepareWrites(db: Database.Database) {
  return {
    eventCounter: db.prepare("SELECT last_seq FROM event_counters WHERE tenant_id = ?"),
    saveEventCounter: db.prepare(
      `INSERT INTO event_counters (tenant_id, last_seq) VALUES (?, ?)
       ON CONFLICT (tenant_id) DO UPDATE SET last_seq = excluded.last_seq`,
    ),
    insertEvent: db.prepare(positionalInsertSql("events", EVENT_INSERT_COLUMNS)),
    activeEndpoints: db.prepare("SELECT id FROM webhook_endpoints WHERE tenant_id = ? AND disabled_at IS NULL ORDER BY created_at"),
    insertDelivery: db.prepare(
      `INSERT INTO webhook_deliveries (event_id, endpoint_id, tenant_id, status, attempts, next_attempt_at, created_at)
       VALUES (@eventId, @endpointId, @tenantId, 'pending', 0, @createdAt, @createdAt)`,
    ),
    gameTransaction: db.prepare("SELECT * FROM game_transactions WHERE tenant_id = ? AND transaction_id = ?"),
    saveGameTransaction: db.prepare(upsertSql(GAME_TRANSACTIONS, "sqlite")),
    hold: db.prepare("SELECT * FROM holds WHERE tenant_id = ? AND id = ?"),
    saveHold: db.prepare(upsertSql(HOLDS, "sqlite")),
    withdrawal: db.prepare("SELECT * FROM withdrawals WHERE (@tenantId IS NULL OR tenant_id = @tenantId) AND id = @id"),
    saveWithdrawal: db.prepare(upsertSql(WITHDRAWALS, "sqlite")),
    idempotency: db.prepare("SELECT * FROM idempotency_keys WHERE scope = ? AND key = ?"),
    saveIdempotency: db.prepare(upsertSql(IDEMPOTENCY_KEYS, "sqlite", IDEMPOTENCY_INSERT_CONDITION)),
    wallet: Object.fromEntries(
      Object.entries(LOOKUP_COLUMN).map(([by, column]) => [
        by,
        db.prepare(`SELECT ${WALLET_COLUMNS} FROM wallets w WHERE w.tenant_id = ? AND w.${column} = ?`),
      ]),
    ) as Record<WalletLookup["by"], Database.Statement>,
    insertWallet: db.prepare(
      `INSERT INTO wallets (id, wallet_id, tenant_id, name, external_id, created_at, updated_at)
       VALUES (@id, @wallet_id, @tenant_id, @name, @external_id, @created_at, @updated_at)
       ON CONFLICT (tenant_id, external_id) DO NOTHING`,
    ),
    account: db.prepare(
      `SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.tenant_id = ? AND a.owner_kind = ? AND ifnull(a.wallet_uuid, '') = ? AND a.currency = ?`,
    ),
    accountById: db.prepare(`SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = ?`),
    insertAccount: db.prepare(
      `INSERT INTO accounts (id, tenant_id, owner_kind, wallet_uuid, currency, debits_must_not_exceed_credits,
         credits_posted, debits_posted, credits_pending, debits_pending, version)
       VALUES (@id, @tenant_id, @owner_kind, @wallet_uuid, @currency, @debits_must_not_exceed_credits,
         @credits_posted, @debits_posted, @credits_pending, @debits_pending, @version)`,
    ),
    saveAccount: db.prepare(
      `UPDATE accounts SET credits_posted = @credits_posted, debits_posted = @debits_posted,
         credits_pending = @credits_pending, debits_pending = @debits_pending, version = @version WHERE id = @id`,
    ),
    insertTransfer: db.prepare(positionalInsertSql("transfers", TRANSFER_INSERT_COLUMNS)),
    setTransferStatus: db.prepare("UPDATE transfers SET status = ? WHERE id = ?"),
    transfer: db.prepare("SELECT * FROM transfers WHERE id = ?"),
    deposit: db.prepare("SELECT * FROM deposits WHERE currency = ? AND tx_hash = ?"),
    saveDeposit: db.prepare(
      `INSERT INTO deposits (id, tenant_id, wallet_uuid, currency, tx_hash, amount, confirmations, status, transfer_id, created_at, updated_at)
       VALUES (@id, @tenant_id, @wallet_uuid, @currency, @tx_hash, @amount, @confirmations, @status, @transfer_id, @created_at, @updated_at)
       ON CONFLICT (id) DO UPDATE SET confirmations = excluded.confirmations, status = excluded.status,
         transfer_id = excluded.transfer_id, updated_at = excluded.updated_at`,
    ),
  };
}

type WriteStatements = ReturnType<typeof prepareWrites>;

/**
 * The writer's side of one batch. Only the group committer uses it, one item at a time; the
 * writer is the only connection that writes, so what it reads stays true until the batch
 * commits and reading is locking. Rows that reference transfers (deposits, holds, withdrawals)
 * flush the write-behind state first, so their foreign keys find the rows.
 */
class SqliteWriteTx extends WriteBehindTx implements WriteTx {
  constructor(
    private readonly db: Database.Database,
    private readonly statements: WriteStatements,
  ) {
    super();
  }

  protected async readWallets(tenantId: string, lookups: WalletLookup[]): Promise<WalletRecord[]> {
    return lookups.flatMap((lookup) => {
      const row = this.statements.wallet[lookup.by].get(tenantId, lookup.value) as WalletRow | undefined;
      return row ? [walletFromRow(row)] : [];
    });
  }

  protected async lockAccounts(keys: AccountKey[]): Promise<AccountRecord[]> {
    return keys.map((key) => {
      const row = this.statements.account.get(key.tenantId, key.ownerKind, key.walletUuid ?? "", key.currency) as AccountRow | undefined;
      if (row) return accountFromRow(row);
      const account: AccountRecord = {
        ...key,
        id: randomUUID(),
        debitsMustNotExceedCredits: key.ownerKind !== "chain",
        creditsPosted: 0n,
        debitsPosted: 0n,
        creditsPending: 0n,
        debitsPending: 0n,
        version: 0,
      };
      this.statements.insertAccount.run(accountToRow(account));
      return account;
    });
  }

  protected async lockAccountsByIds(ids: string[]): Promise<AccountRecord[]> {
    return ids.map((id) => {
      const row = this.statements.accountById.get(id) as AccountRow | undefined;
      if (!row) throw new Error(`account ${id} does not exist`);
      return accountFromRow(row);
    });
  }

  protected async readTransfer(id: string): Promise<TransferRecord | undefined> {
    const row = this.statements.transfer.get(id) as TransferRow | undefined;
    return row && transferFromRow(row);
  }

  protected async writeTransferStatus(id: string, status: TransferStatus): Promise<void> {
    this.statements.setTransferStatus.run(status, id);
  }

  protected async lockGameTransactions(tenantId: string, transactionIds: string[]): Promise<GameTransactionRecord[]> {
    return transactionIds.flatMap((id) => {
      const row = this.statements.gameTransaction.get(tenantId, id) as GameTransactionRow | undefined;
      return row ? [gameTransactionFromRow(row)] : [];
    });
  }

  protected async lockEventCounter(tenantId: string): Promise<number> {
    return (this.statements.eventCounter.get(tenantId) as { last_seq: number } | undefined)?.last_seq ?? 0;
  }

  protected async readActiveEndpointIds(tenantId: string): Promise<string[]> {
    return (this.statements.activeEndpoints.all(tenantId) as { id: string }[]).map((row) => row.id);
  }

  protected async writeRows(rows: FlushRows): Promise<void> {
    const { statements } = this;
    // Positional parameters: a batch inserts thousands of these rows, and binding by name costs
    // a property lookup per column.
    for (const transfer of rows.transfers) statements.insertTransfer.run(transferValues(transfer));
    for (const event of rows.events) {
      statements.insertEvent.run(event.tenantId, event.seq, event.id, event.type, event.walletUuid, event.payload, event.createdAt);
    }
    for (const delivery of rows.deliveries) statements.insertDelivery.run(delivery);
    for (const account of rows.accounts) statements.saveAccount.run(accountToRow(account));
    for (const game of rows.gameTransactions) statements.saveGameTransaction.run(gameTransactionToRow(game));
    for (const counter of rows.eventCounters) statements.saveEventCounter.run(counter.tenantId, counter.lastSeq);
  }

  protected async savepoint(name: string): Promise<void> {
    this.db.exec(`SAVEPOINT ${name}`);
  }

  protected async releaseSavepoint(name: string): Promise<void> {
    this.db.exec(`RELEASE ${name}`);
  }

  protected async rollbackToSavepoint(name: string): Promise<void> {
    this.db.exec(`ROLLBACK TO ${name}`);
  }

  async insertWallet(wallet: WalletRecord): Promise<"inserted" | "duplicate_external_id"> {
    const result = this.statements.insertWallet.run({
      id: wallet.id,
      wallet_id: wallet.walletId,
      tenant_id: wallet.tenantId,
      name: wallet.name,
      external_id: wallet.externalId,
      created_at: wallet.createdAt,
      updated_at: wallet.updatedAt,
    });
    return result.changes === 1 ? "inserted" : "duplicate_external_id";
  }

  async findDeposit(currency: string, txHash: string): Promise<DepositRecord | undefined> {
    const row = this.statements.deposit.get(currency, txHash) as DepositRow | undefined;
    return row && depositFromRow(row);
  }

  async saveDeposit(deposit: DepositRecord): Promise<void> {
    await this.flush();
    this.statements.saveDeposit.run(depositToRow(deposit));
  }

  async findHold(tenantId: string, id: string): Promise<HoldRecord | undefined> {
    const row = this.statements.hold.get(tenantId, id) as HoldRow | undefined;
    return row && holdFromRow(row);
  }

  async insertWebhookEndpoint(endpoint: WebhookEndpointRecord): Promise<void> {
    const sql = "INSERT INTO webhook_endpoints (id, tenant_id, url, secret, created_at, disabled_at) VALUES (?, ?, ?, ?, ?, ?)";
    this.db.prepare(sql).run(endpoint.id, endpoint.tenantId, endpoint.url, endpoint.secret, endpoint.createdAt, endpoint.disabledAt);
  }

  async disableWebhookEndpoint(tenantId: string, id: string, disabledAt: string): Promise<boolean> {
    const sql = "UPDATE webhook_endpoints SET disabled_at = ? WHERE tenant_id = ? AND id = ? AND disabled_at IS NULL";
    return this.db.prepare(sql).run(disabledAt, tenantId, id).changes === 1;
  }

  async redeliver(tenantId: string, eventId: string, now: string): Promise<number> {
    // Deliveries of this transaction's own events must exist before they are queued again.
    await this.flush();
    const sql = `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?, locked_until = NULL
      WHERE tenant_id = ? AND event_id = ?`;
    return this.db.prepare(sql).run(now, tenantId, eventId).changes;
  }

  async saveHold(hold: HoldRecord): Promise<void> {
    await this.flush();
    this.statements.saveHold.run(holdToRow(hold));
  }

  async findWithdrawal(tenantId: string | null, id: string): Promise<WithdrawalRecord | undefined> {
    const row = this.statements.withdrawal.get({ tenantId, id }) as WithdrawalRow | undefined;
    return row && withdrawalFromRow(row);
  }

  async saveWithdrawal(withdrawal: WithdrawalRecord): Promise<void> {
    await this.flush();
    this.statements.saveWithdrawal.run(withdrawalToRow(withdrawal));
  }

  async findIdempotencyRecord(scope: string, key: string): Promise<IdempotencyRecord | undefined> {
    const row = this.statements.idempotency.get(scope, key) as IdempotencyRow | undefined;
    return row && idempotencyFromRow(row);
  }

  async saveIdempotencyRecord(record: IdempotencyRecord): Promise<boolean> {
    return this.statements.saveIdempotency.run(idempotencyToRow(record)).changes === 1;
  }
}
