import type pg from "pg";
import { type AccountKey, accountKeyText } from "../../ledger/account-keys.js";
import { assert } from "../../ledger/assert.js";
import { gameFromRow } from "../lean-rows.js";
import type { ReadAhead, ReadAheadRequest } from "../prefetch.js";
import type {
  AccountRecord,
  DepositRecord,
  EventRecord,
  GameTransactionRecord,
  HoldRecord,
  IdempotencyRecord,
  TransferRecord,
  TransferStatus,
  WalletLookup,
  WalletRecord,
  WebhookEndpointRecord,
  WithdrawalRecord,
} from "../store.js";
import type { Row, Table } from "../table.js";
import { ACCOUNTS, DEPOSITS, EVENTS, HOLDS, IDEMPOTENCY_KEYS, TRANSFERS, WALLETS, WITHDRAWALS } from "../tables.js";
import { type Statement, type StatementResult, WriteBehindTx } from "../write-behind.js";
import { insertAccounts, lockAccountsById, lockAccountsByKey, lockPrefetchAccounts, updateAccounts } from "./accounts.js";
import { copyRecords, insertRecords } from "./copy.js";
import { lockDepositKey, selectDepositForUpdate, upsertDeposit } from "./deposits.js";
import { insertNumberedEvents, lockEventCounter, notifyEvents, updateEventCounter } from "./events.js";
import { lockGameIds, lockGameTransactions, upsertGameTransactions } from "./games.js";
import { selectHold, upsertHold } from "./holds.js";
import { insertIdempotencyRecord, selectIdempotencyRecord } from "./idempotency.js";
import { selectTransfer, updateTransferStatus } from "./transfers.js";
import { insertWallet, selectWallets } from "./wallets.js";
import { disableWebhookEndpoint, insertWebhookEndpoint, requeueDeliveries, selectActiveEndpointIds } from "./webhooks.js";
import { selectWithdrawal, upsertWithdrawal } from "./withdrawals.js";

/** About 1 000 movements (a transfer and an event each) per background write of a large batch. */
const BACKGROUND_WRITE_ROWS = 2048;

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Locks game transaction ids, then reads their rows: the second statement's rows are the games (`gamesOf`). */
const lockGames = (tenantId: string, transactionIds: string[]): Statement[] => [
  lockGameIds(tenantId, transactionIds),
  lockGameTransactions(tenantId, transactionIds),
];

const gamesOf = (rows: Row[]): GameTransactionRecord[] => rows.map(gameFromRow);

/** What a statement whose result is not read answers at once (see `commit`). */
const UNREAD: StatementResult = { rows: [], rowCount: 0 };

/**
 * A batch's side of PostgreSQL, on one connection. Accounts are locked with SELECT ... FOR UPDATE
 * and game transaction ids with advisory locks, both in bulk where a batch asks for it; what
 * the batch writes reaches the database in a few multi-row statements when the buffered rows
 * are written. Updating one hot row (the master account) once per movement would also grow a
 * chain of row versions that every further update walks, which is quadratic.
 *
 * Pipelined (a commit of a few items, on a connection in node-postgres' pipeline mode), the
 * statements that do not need each other's results go out together: the prefetch's reads and
 * locks in one round trip (`readAhead`), and every write with NOTIFY and COMMIT in one more
 * (`commit`). Rows are then inserted by INSERT ... json_to_recordset, since COPY cannot share a
 * pipeline, and events are numbered by the statement that inserts them: the tenant's event
 * counter, which every commit with events locks, is then held from the last round trip only,
 * not while the transaction waits for other locks (a commit that took it at its first event
 * and then waited for a master account held by a commit waiting for the counter would
 * deadlock). An item that writes what is buffered before the end (a deposit, a hold) takes it
 * there.
 */
export class PostgresWriteTx extends WriteBehindTx {
  protected override readonly backgroundWriteRows: number = BACKGROUND_WRITE_ROWS;
  protected override readonly lazySavepoints = true;
  readonly #connection: pg.PoolClient;
  readonly #pipelined: boolean;
  /** While `commit` sends the writes: the statements sent, whose results nothing reads. */
  #unread: Promise<unknown>[] | undefined;

  constructor(connection: pg.PoolClient, pipelined = false) {
    super();
    this.#connection = connection;
    this.#pipelined = pipelined;
    // A background write would interleave its statements with the work's on the pipeline.
    if (pipelined) this.backgroundWriteRows = Number.POSITIVE_INFINITY;
  }

  protected execute(statement: Statement): Promise<StatementResult> {
    const { name, text, values } = statement;
    const result = this.#connection.query({ name, text, values: values as unknown[] });
    if (this.#unread) {
      this.#unread.push(result);
      // Read by `commit`; until then, a failure must not count as unhandled.
      result.catch(() => undefined);
      return Promise.resolve(UNREAD);
    }
    return result.then((done) => ({ rows: done.rows, rowCount: done.rowCount ?? 0 }));
  }

  protected async executeBulkInsert<R>(table: Table<R>, records: readonly R[]): Promise<void> {
    if (!this.#pipelined) return copyRecords(this.#connection, table, records);
    if (table !== (EVENTS as Table<unknown>)) {
      await this.execute(insertRecords(table, records));
      return;
    }
    const byTenant = new Map<string, EventRecord[]>();
    for (const event of records as readonly EventRecord[]) {
      const events = byTenant.get(event.tenantId);
      if (events) events.push(event);
      else byTenant.set(event.tenantId, [event]);
    }
    // Counters are locked in tenant order, the same in every process.
    for (const [tenantId, events] of [...byTenant].sort(([a], [b]) => compareText(a, b))) {
      await this.execute(insertNumberedEvents(tenantId, events));
    }
  }

  /**
   * Writes what is buffered, tells listeners, and commits. Pipelined, all of it goes out at once,
   * one round trip: the writes' results are not read (`UNREAD` stands in), so nothing waits for
   * them before COMMIT is sent. After a failed write PostgreSQL answers the COMMIT by rolling
   * back, and the write's error is thrown.
   */
  async commit(committing: () => void = () => undefined): Promise<void> {
    if (!this.#pipelined) {
      await this.writeBuffered();
      await this.notifyEvents();
      const committed = this.#connection.query("COMMIT");
      committing();
      await committed;
      return;
    }
    const sent: Promise<unknown>[] = [];
    this.#unread = sent;
    // Nothing waits for an answer meanwhile (UNREAD), so the socket can hold the statements back.
    const socket = this.#connection.connection.stream;
    socket.cork();
    try {
      await this.writeBuffered();
      await this.notifyEvents();
      sent.push(this.#connection.query("COMMIT"));
    } finally {
      this.#unread = undefined;
      socket.uncork();
    }
    committing();
    const failed = (await Promise.allSettled(sent)).find((outcome) => outcome.status === "rejected");
    if (failed) throw failed.reason;
  }

  /**
   * Sends the statements `send` sends in one write to the socket. On this machine a write to a
   * loopback socket costs the process about as much CPU as a small statement costs PostgreSQL
   * (measured: writev was a third of a bet's CPU in the server while each statement of a pipeline
   * was written on its own).
   */
  corked<T>(send: () => T): T {
    const socket = this.#connection.connection.stream;
    socket.cork();
    try {
      return send();
    } finally {
      socket.uncork();
    }
  }

  /** Runs statements: pipelined, sent together and answered in one round trip; else one after another. */
  async #runAll(statements: Statement[]): Promise<StatementResult[]> {
    if (this.#pipelined) return Promise.all(this.corked(() => statements.map((statement) => this.run(statement))));
    const results: StatementResult[] = [];
    for (const statement of statements) results.push(await this.run(statement));
    return results;
  }

  /**
   * The prefetch's statements, in the lock order every process uses: game ids (advisory
   * locks, then their rows, read by a later statement so that it sees what a transaction that
   * held those locks committed), the wallets, their accounts and the master accounts (found by
   * the wallets' lookups, so they need not wait for the wallets' read), and the tenant's
   * webhook endpoints.
   */
  protected override async readAhead(request: ReadAheadRequest): Promise<ReadAhead> {
    const { tenantId, gameIds, lookups, wallets } = request;
    const statements: Statement[] = [];
    if (gameIds.length > 0) statements.push(...lockGames(tenantId, gameIds));
    const kinds = (["uuid", "wallet_id", "external_id"] as const).filter((by) => lookups.some((lookup) => lookup.by === by));
    for (const by of kinds) {
      const values = lookups.filter((lookup) => lookup.by === by).map((lookup) => lookup.value);
      statements.push(selectWallets(tenantId, by, values));
    }
    if (wallets.length > 0) statements.push(lockPrefetchAccounts(tenantId, wallets));
    if (request.endpoints) statements.push(selectActiveEndpointIds(tenantId));
    const results = await this.#runAll(statements);
    const next = () => results.shift()?.rows ?? [];
    if (gameIds.length > 0) next();
    const games = gameIds.length > 0 ? gamesOf(next()) : [];
    const found = kinds.flatMap(() => next().map(WALLETS.fromRow));
    const accounts = wallets.length > 0 ? next().map(ACCOUNTS.fromRow) : [];
    const endpointIds = request.endpoints ? next().map((row) => row.id as string) : undefined;
    return { games, wallets: found, accounts, endpointIds };
  }

  /** Runs a statement and decodes the rows it returns. */
  async #select<R>(table: Table<R>, statement: Statement): Promise<R[]> {
    return (await this.run(statement)).rows.map(table.fromRow);
  }

  protected async readWallets(tenantId: string, lookups: WalletLookup[]): Promise<WalletRecord[]> {
    const wallets: WalletRecord[] = [];
    for (const by of ["uuid", "wallet_id", "external_id"] as const) {
      const values = lookups.filter((lookup) => lookup.by === by).map((lookup) => lookup.value);
      if (values.length > 0) wallets.push(...(await this.#select(WALLETS, selectWallets(tenantId, by, values))));
    }
    return wallets;
  }

  /** Locks the accounts (see `lockAccountsByKey` for the order), opening the missing ones first. */
  protected async lockAccounts(keys: AccountKey[]): Promise<AccountRecord[]> {
    let found = await this.#lockByKey(keys);
    // Inserted in one order every process uses, so two processes opening the same new accounts
    // wait for each other instead of deadlocking.
    const missing = keys.filter((key) => !found.has(accountKeyText(key))).sort((a, b) => compareText(accountKeyText(a), accountKeyText(b)));
    if (missing.length > 0) {
      await this.run(insertAccounts(missing));
      found = new Map([...found, ...(await this.#lockByKey(missing))]);
    }
    return keys.map((key) => {
      const account = found.get(accountKeyText(key));
      assert(account !== undefined, `account ${accountKeyText(key)} could not be opened`);
      return account;
    });
  }

  async #lockByKey(keys: AccountKey[]): Promise<Map<string, AccountRecord>> {
    const locked = await this.#select(ACCOUNTS, lockAccountsByKey(keys));
    return new Map(locked.map((account) => [accountKeyText(account), account]));
  }

  protected async lockAccountsByIds(ids: string[]): Promise<AccountRecord[]> {
    const locked = await this.#select(ACCOUNTS, lockAccountsById(ids));
    assert(locked.length === ids.length, `some of the accounts ${ids.join(", ")} do not exist`);
    return locked;
  }

  protected async readTransfer(id: string): Promise<TransferRecord | undefined> {
    const [transfer] = await this.#select(TRANSFERS, selectTransfer(id));
    return transfer;
  }

  protected async lockGameTransactions(tenantId: string, transactionIds: string[]): Promise<GameTransactionRecord[]> {
    const [, found] = await this.#runAll(lockGames(tenantId, transactionIds));
    return gamesOf(found?.rows ?? []);
  }

  /** Pipelined, events are numbered from 1 within the transaction and numbered for good when inserted (`insertNumberedEvents`). */
  protected async lockEventCounter(tenantId: string): Promise<number> {
    if (this.#pipelined) return 0;
    const [counter] = (await this.run(lockEventCounter(tenantId))).rows;
    return Number(counter?.last_seq);
  }

  protected async readActiveEndpointIds(tenantId: string): Promise<string[]> {
    return (await this.run(selectActiveEndpointIds(tenantId))).rows.map((row) => row.id as string);
  }

  protected async writeAccounts(accounts: AccountRecord[]): Promise<void> {
    await this.run(updateAccounts(accounts));
  }

  protected async writeGameTransactions(games: GameTransactionRecord[]): Promise<void> {
    await this.run(upsertGameTransactions(games));
  }

  protected async writeEventCounters(counters: { tenantId: string; lastSeq: number }[]): Promise<void> {
    // Pipelined, the statement that inserted the events raised the counters.
    if (this.#pipelined) return;
    for (const counter of counters) await this.run(updateEventCounter(counter.tenantId, counter.lastSeq));
  }

  protected async writeTransferStatus(id: string, status: TransferStatus): Promise<void> {
    await this.run(updateTransferStatus(id, status));
  }

  protected async writeHold(hold: HoldRecord): Promise<void> {
    await this.run(upsertHold(hold));
  }

  protected async writeWithdrawal(withdrawal: WithdrawalRecord): Promise<void> {
    await this.run(upsertWithdrawal(withdrawal));
  }

  protected async writeDeposit(deposit: DepositRecord): Promise<void> {
    await this.run(upsertDeposit(deposit));
  }

  protected async requeueDeliveries(tenantId: string, eventId: string, now: string): Promise<number> {
    return (await this.run(requeueDeliveries(tenantId, eventId, now))).rowCount;
  }

  /** Tells every listening process, once the transaction commits, which tenants got events. */
  async notifyEvents(): Promise<void> {
    if (this.appendedTenants.size > 0) await this.run(notifyEvents([...this.appendedTenants]));
  }

  async insertWallet(wallet: WalletRecord): Promise<"inserted" | "duplicate_external_id"> {
    return (await this.run(insertWallet(wallet))).rowCount === 1 ? "inserted" : "duplicate_external_id";
  }

  async lockDeposit(currency: string, txHash: string): Promise<DepositRecord | undefined> {
    await this.run(lockDepositKey(currency, txHash));
    const [deposit] = await this.#select(DEPOSITS, selectDepositForUpdate(currency, txHash));
    return deposit;
  }

  async lockHold(tenantId: string, id: string): Promise<HoldRecord | undefined> {
    const [hold] = await this.#select(HOLDS, selectHold(tenantId, id, " FOR UPDATE"));
    return hold;
  }

  async lockWithdrawal(tenantId: string | null, id: string): Promise<WithdrawalRecord | undefined> {
    const [withdrawal] = await this.#select(WITHDRAWALS, selectWithdrawal(tenantId, id, " FOR UPDATE"));
    return withdrawal;
  }

  async findIdempotencyRecord(scope: string, key: string): Promise<IdempotencyRecord | undefined> {
    const [record] = await this.#select(IDEMPOTENCY_KEYS, selectIdempotencyRecord(scope, key));
    return record;
  }

  async saveIdempotencyRecord(record: IdempotencyRecord): Promise<boolean> {
    return (await this.run(insertIdempotencyRecord(record))).rowCount === 1;
  }

  async insertWebhookEndpoint(endpoint: WebhookEndpointRecord): Promise<void> {
    await this.run(insertWebhookEndpoint(endpoint));
  }

  async disableWebhookEndpoint(tenantId: string, id: string, disabledAt: string): Promise<boolean> {
    return (await this.run(disableWebhookEndpoint(tenantId, id, disabledAt))).rowCount === 1;
  }
}
