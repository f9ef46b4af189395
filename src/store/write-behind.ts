import { type AccountKey, accountKeyText, masterKey, walletKey } from "../ledger/account-keys.js";
import { assert } from "../ledger/assert.js";
import type { ReadAhead, ReadAheadRequest } from "./prefetch.js";
import { ReadCache } from "./read-cache.js";
import { Savepoints, type Statement, type StatementResult } from "./savepoints.js";
import type {
  AccountRecord,
  DeliveryRecord,
  DepositRecord,
  EventRecord,
  EventType,
  GameTransactionRecord,
  HoldRecord,
  IdempotencyRecord,
  PrefetchRequest,
  TransferRecord,
  TransferStatus,
  WalletLookup,
  WalletRecord,
  WebhookEndpointRecord,
  WithdrawalRecord,
  WriteTx,
} from "./store.js";
import type { Table } from "./table.js";
import { EVENTS, pendingDelivery, TRANSFERS, WEBHOOK_DELIVERIES } from "./tables.js";
import { PendingRows, UndoableMap, UndoLog } from "./undo.js";

export { mergePrefetch, type ReadAhead, type ReadAheadRequest } from "./prefetch.js";
export type { Statement, StatementResult } from "./savepoints.js";

/** A delivery row as a transaction first writes it: its event's type is joined from events. */
export type DeliveryRow = Omit<DeliveryRecord, "eventType">;

/**
 * A transaction's write-behind state, shared by both stores. Accounts are read and locked once
 * per transaction and then changed in memory; new transfers, events, webhook deliveries and game
 * transactions are kept in memory; `writeBuffered` writes all of it with a few bulk statements
 * before commit (or before a write that must see those rows). A batch of 8 190 movements then
 * costs a handful of statements per table instead of about ten statements per movement.
 *
 * This class owns the order of every write and the savepoints: a store supplies the statements
 * (reads, locks, the dialect's writes) and runs them only through `run` and `insertMany`, which
 * create the savepoints a statement must run inside first.
 */
export abstract class WriteBehindTx implements WriteTx {
  readonly #undo = new UndoLog();
  readonly #cache = new ReadCache(this.#undo);
  readonly #dirtyAccounts = new UndoableMap<string, true>(this.#undo);
  readonly #transfers = new PendingRows<TransferRecord>(this.#undo);
  readonly #events = new PendingRows<EventRecord>(this.#undo);
  readonly #deliveries = new PendingRows<DeliveryRow>(this.#undo);
  readonly #eventSeqs = new UndoableMap<string, number>(this.#undo);
  readonly #dirtyCounters = new UndoableMap<string, true>(this.#undo);
  readonly #dirtyGames = new UndoableMap<string, true>(this.#undo);
  /** Active webhook endpoints per tenant, read once per transaction. */
  readonly #endpoints = new Map<string, string[]>();
  /** Tenants that got events in this transaction: told to listeners once it commits. */
  readonly appendedTenants = new Set<string>();
  /** The type of every event appended and not rolled back: counted by metrics once the transaction commits. */
  readonly #appendedTypes: EventType[] = [];

  // ---- the adapter: the only ways a subclass touches its connection ----

  /** Runs one statement on the transaction's connection. Only the base calls it; subclasses call `run`. */
  protected abstract execute(statement: Statement): Promise<StatementResult>;
  /** Inserts many rows of one table: COPY on PostgreSQL, multi-row INSERTs on SQLite. Subclasses call `insertMany`. */
  protected abstract executeBulkInsert<R>(table: Table<R>, records: readonly R[]): Promise<void>;

  // ---- reads and locks, built on `run` ----

  protected abstract readWallets(tenantId: string, lookups: WalletLookup[]): Promise<WalletRecord[]>;
  /** Returns the accounts for the keys, in the keys' order, opening missing ones with `openingFlags`; locks them. */
  protected abstract lockAccounts(keys: AccountKey[]): Promise<AccountRecord[]>;
  protected abstract lockAccountsByIds(ids: string[]): Promise<AccountRecord[]>;
  protected abstract readTransfer(id: string): Promise<TransferRecord | undefined>;
  /** Locks the ids (including unused ones, so no one else can take them) and returns the existing. */
  protected abstract lockGameTransactions(tenantId: string, transactionIds: string[]): Promise<GameTransactionRecord[]>;
  /** The tenant's last event number, with its counter locked until commit. */
  protected abstract lockEventCounter(tenantId: string): Promise<number>;
  protected abstract readActiveEndpointIds(tenantId: string): Promise<string[]>;

  // ---- the dialect's writes of buffered state, after the bulk inserts of `writeBuffered` ----

  /** Stores the accounts' counters and versions. */
  protected abstract writeAccounts(accounts: AccountRecord[]): Promise<void>;
  /** Inserts or replaces the game transactions. */
  protected abstract writeGameTransactions(games: GameTransactionRecord[]): Promise<void>;
  protected abstract writeEventCounters(counters: { tenantId: string; lastSeq: number }[]): Promise<void>;

  // ---- writes of rows that reference buffered rows: the template methods below call them ----

  protected abstract writeTransferStatus(id: string, status: TransferStatus): Promise<void>;
  protected abstract writeHold(hold: HoldRecord): Promise<void>;
  protected abstract writeWithdrawal(withdrawal: WithdrawalRecord): Promise<void>;
  protected abstract writeDeposit(deposit: DepositRecord): Promise<void>;
  /** Queues the event's deliveries again; returns how many. */
  protected abstract requeueDeliveries(tenantId: string, eventId: string, now: string): Promise<number>;

  // ---- the subclass-only part of WriteTx (built on `run`) ----

  abstract insertWallet(wallet: WalletRecord): Promise<"inserted" | "duplicate_external_id">;
  abstract lockDeposit(currency: string, txHash: string): Promise<DepositRecord | undefined>;
  abstract lockHold(tenantId: string, id: string): Promise<HoldRecord | undefined>;
  abstract lockWithdrawal(tenantId: string | null, id: string): Promise<WithdrawalRecord | undefined>;
  abstract findIdempotencyRecord(scope: string, key: string): Promise<IdempotencyRecord | undefined>;
  abstract saveIdempotencyRecord(record: IdempotencyRecord): Promise<boolean>;
  abstract insertWebhookEndpoint(endpoint: WebhookEndpointRecord): Promise<void>;
  abstract disableWebhookEndpoint(tenantId: string, id: string, disabledAt: string): Promise<boolean>;

  /**
   * Whether savepoints are created in the database only when a statement runs inside them. A
   * client-server store sets it: work that finds everything in memory (a movement whose
   * wallet and accounts were read ahead) then costs no round trip for its savepoint, and its
   * failure is undone by the undo log alone.
   */
  protected readonly lazySavepoints: boolean = false;
  readonly #savepoints = new Savepoints((statement) => this.execute(statement));

  /** Runs a statement inside the open savepoints, creating those the database does not have yet. */
  protected run(statement: Statement): Promise<StatementResult> {
    if (this.#savepoints.allCreated) return this.execute(statement);
    return this.#savepoints.createMissing().then(() => this.execute(statement));
  }

  /** Inserts rows inside the open savepoints, like `run`. */
  protected insertMany<R>(table: Table<R>, records: readonly R[]): Promise<void> {
    if (this.#savepoints.allCreated) return this.executeBulkInsert(table, records);
    return this.#savepoints.createMissing().then(() => this.executeBulkInsert(table, records));
  }

  /**
   * Runs work in a savepoint: if it throws, its database writes and its changes to this state
   * are undone and the error passes on, while the enclosing transaction goes on.
   */
  async atomically<T>(work: () => Promise<T>): Promise<T> {
    await this.#settled();
    const savepoint = this.#savepoints.open();
    const mark = this.#undo.mark();
    try {
      if (!this.lazySavepoints) await this.#savepoints.createMissing();
      const value = await work();
      await this.#settled();
      if (savepoint.created) await this.#savepoints.release(savepoint);
      return value;
    } catch (error) {
      await this.#abandonBackground();
      if (savepoint.created) await this.#savepoints.rollback(savepoint);
      this.#undo.rollbackTo(mark);
      throw error;
    } finally {
      this.#savepoints.close(savepoint);
    }
  }

  /**
   * Unwritten rows after which a write of the buffered rows starts in the background while the
   * work goes on. A client-server store sets it: the database then stores the first part of a
   * large batch while this process computes the rest, on the other core. SQLite writes on this
   * thread; it keeps the default and writes once.
   */
  protected readonly backgroundWriteRows: number = Number.POSITIVE_INFINITY;
  #background: Promise<void> | undefined;
  #rowsSinceWrite = 0;

  #rowAppended(): void {
    this.#rowsSinceWrite += 1;
    if (this.#rowsSinceWrite < this.backgroundWriteRows || this.#background) return;
    const running = this.#write(false);
    this.#background = running;
    // A failure stays in #background and is thrown by the next step that waits for it.
    running.then(
      () => {
        if (this.#background === running) this.#background = undefined;
      },
      () => undefined,
    );
  }

  /** Waits for a background write; its failure fails the step that waits. */
  async #settled(): Promise<void> {
    if (this.#background) await this.#background;
  }

  /**
   * Waits for a background write that a savepoint rollback is about to undo, ignoring its
   * failure: the rollback undoes its writes, and the undo log marks its rows unwritten again.
   */
  async #abandonBackground(): Promise<void> {
    const running = this.#background;
    this.#background = undefined;
    await running?.catch(() => undefined);
  }

  /** Writes everything buffered since the last write: before commit, or before a row that needs it. */
  async writeBuffered(): Promise<void> {
    await this.#settled();
    await this.#write(true);
  }

  /**
   * Takes every buffer at once (what is appended meanwhile waits for the next write), then
   * writes in an order the foreign keys accept: transfers, the events, their deliveries. Accounts
   * wait for the last write: each update adds a row version that cannot be pruned before commit
   * (issue 13: 59 bytes per game movement on PostgreSQL, 20 written once). Game transactions kept
   * by their transfer have no row.
   */
  async #write(last: boolean): Promise<void> {
    this.#rowsSinceWrite = 0;
    const transfers = this.#transfers.take();
    const events = this.#events.take();
    const deliveries = this.#deliveries.take();
    const accounts = last ? [...this.#dirtyAccounts.take().keys()].map((id) => this.#cache.account(id)) : [];
    const games = [...this.#dirtyGames.take().keys()].map((key) => this.#cache.savedGame(key)).filter((game) => game.transferId === null);
    const counters = [...this.#dirtyCounters.take().keys()].map((tenantId) => ({ tenantId, lastSeq: this.#eventSeqs.get(tenantId) ?? 0 }));
    if (transfers.length > 0) await this.insertMany(TRANSFERS, transfers);
    if (events.length > 0) await this.insertMany(EVENTS, events);
    if (deliveries.length > 0) await this.insertMany(WEBHOOK_DELIVERIES, deliveries);
    if (accounts.length > 0) await this.writeAccounts(accounts);
    if (games.length > 0) await this.writeGameTransactions(games);
    if (counters.length > 0) await this.writeEventCounters(counters);
  }

  /** Reads and locks, in a few round trips, what a batch is about to use. */
  async prefetch(request: PrefetchRequest): Promise<void> {
    const { tenantId } = request;
    const gameIds = this.#cache.uncachedGameIds(tenantId, request.gameTransactionIds);
    const lookups = this.#cache.uncachedLookups(
      tenantId,
      request.wallets.map((wallet) => wallet.lookup),
    );
    const endpoints = !this.#endpoints.has(tenantId);
    const found = await this.readAhead({ tenantId, gameIds, lookups, wallets: request.wallets, endpoints });
    this.#rememberGames(tenantId, gameIds, found.games);
    for (const wallet of found.wallets) this.#cache.rememberWallet(wallet);
    for (const account of found.accounts) if (this.#cache.uncachedAccountIds([account.id]).length > 0) this.#cache.rememberAccount(account);
    if (found.endpointIds) this.#endpoints.set(tenantId, found.endpointIds);
    const keys: AccountKey[] = [];
    for (const { lookup, currency } of request.wallets) {
      const wallet = this.#cache.wallet(tenantId, lookup);
      if (!wallet) continue;
      keys.push(masterKey(tenantId, currency), walletKey(wallet, currency));
    }
    const uncached = this.#cache.uncachedKeys(keys);
    if (uncached.length > 0) await this.openAccounts(uncached);
  }

  /**
   * The reads of a prefetch, one after the other. A client-server store overrides it to send them
   * at once, with the locks of the accounts (those it does not return are opened after).
   */
  protected async readAhead({ tenantId, gameIds, lookups }: ReadAheadRequest): Promise<ReadAhead> {
    const games = gameIds.length > 0 ? await this.lockGameTransactions(tenantId, gameIds) : [];
    const wallets = lookups.length > 0 ? await this.readWallets(tenantId, lookups) : [];
    return { games, wallets, accounts: [], endpointIds: undefined };
  }

  async findWallet(tenantId: string, lookup: WalletLookup): Promise<WalletRecord | undefined> {
    const cached = this.#cache.wallet(tenantId, lookup);
    if (cached) return cached;
    const [wallet] = await this.readWallets(tenantId, [lookup]);
    if (wallet) this.#cache.rememberWallet(wallet);
    return wallet;
  }

  async openAccounts(keys: AccountKey[]): Promise<AccountRecord[]> {
    const ids = keys.map((key) => this.#cache.accountId(key));
    if (ids.every((id) => id !== undefined)) return ids.map((id) => this.#cache.account(id));
    const uncached = this.#cache.uncachedKeys(keys);
    const locked = await this.lockAccounts(uncached);
    uncached.forEach((key, index) => {
      const account = locked[index];
      assert(account !== undefined, `account ${accountKeyText(key)} was not opened`);
      this.#cache.rememberAccount(account);
    });
    return keys.map((key) => this.#cache.accountOf(key));
  }

  async lockAccountsById(ids: string[]): Promise<AccountRecord[]> {
    const uncached = this.#cache.uncachedAccountIds(ids);
    if (uncached.length > 0) for (const account of await this.lockAccountsByIds(uncached)) this.#cache.rememberAccount(account);
    return ids.map((id) => this.#cache.account(id));
  }

  async saveAccounts(accounts: AccountRecord[]): Promise<void> {
    for (const account of accounts) {
      this.#cache.changeAccount(account);
      this.#dirtyAccounts.set(account.id, true);
    }
  }

  async insertTransfer(transfer: TransferRecord): Promise<void> {
    this.#transfers.append(transfer);
    this.#rowAppended();
  }

  async findTransfer(id: string): Promise<TransferRecord | undefined> {
    const unwritten = this.#transfers.findUnwritten((transfer) => transfer.id === id);
    if (unwritten) return unwritten;
    // A background write may be writing it right now.
    await this.#settled();
    return this.readTransfer(id);
  }

  async lockGameTransaction(tenantId: string, transactionId: string): Promise<GameTransactionRecord | undefined> {
    if (this.#cache.game(tenantId, transactionId) === undefined) {
      this.#rememberGames(tenantId, [transactionId], await this.lockGameTransactions(tenantId, [transactionId]));
    }
    return this.#cache.game(tenantId, transactionId) ?? undefined;
  }

  /** Remembers the locked ids: the games found, and null (unused, locked) for the others. */
  #rememberGames(tenantId: string, transactionIds: string[], games: GameTransactionRecord[]): void {
    const found = new Map(games.map((game) => [game.transactionId, game]));
    for (const id of transactionIds) this.#cache.rememberGame(tenantId, id, found.get(id) ?? null);
  }

  async saveGameTransaction(record: GameTransactionRecord): Promise<void> {
    this.#dirtyGames.set(this.#cache.changeGame(record), true);
  }

  /** What `#appendedTypes` holds, for the store to report after its commit. */
  get appendedEventTypes(): readonly EventType[] {
    return this.#appendedTypes;
  }

  /**
   * Numbers the event after the tenant's last one (its counter stays locked until commit, so
   * events are numbered in commit order) and queues a delivery for each active endpoint, due
   * from `createdAt`. An event with deliveries is marked (`webhooks`): they find it by its id.
   */
  async appendEvent(event: Omit<EventRecord, "seq" | "webhooks">, createdAt: string): Promise<number> {
    const last = this.#eventSeqs.get(event.tenantId) ?? (await this.lockEventCounter(event.tenantId));
    const endpointIds = await this.#activeEndpointIds(event.tenantId);
    const seq = last + 1;
    this.#eventSeqs.set(event.tenantId, seq);
    this.#dirtyCounters.set(event.tenantId, true);
    this.#events.append({ ...event, seq, webhooks: endpointIds.length > 0 });
    this.#appendedTypes.push(event.type);
    this.#undo.push(() => this.#appendedTypes.pop());
    this.#rowAppended();
    for (const endpointId of endpointIds) this.#deliveries.append(pendingDelivery(event.id, event.tenantId, createdAt, endpointId));
    this.appendedTenants.add(event.tenantId);
    return seq;
  }

  async #activeEndpointIds(tenantId: string): Promise<string[]> {
    let endpoints = this.#endpoints.get(tenantId);
    if (!endpoints) {
      endpoints = await this.readActiveEndpointIds(tenantId);
      this.#endpoints.set(tenantId, endpoints);
    }
    return endpoints;
  }

  // ---- template methods: rows that reference buffered rows are written after them ----

  async setTransferStatus(id: string, status: TransferStatus): Promise<void> {
    await this.writeBuffered();
    this.#assertTransferWritten(id);
    await this.writeTransferStatus(id, status);
  }

  async saveHold(hold: HoldRecord): Promise<void> {
    await this.writeBuffered();
    this.#assertTransferWritten(hold.transferId);
    await this.writeHold(hold);
  }

  async saveWithdrawal(withdrawal: WithdrawalRecord): Promise<void> {
    await this.writeBuffered();
    this.#assertTransferWritten(withdrawal.transferId);
    await this.writeWithdrawal(withdrawal);
  }

  async saveDeposit(deposit: DepositRecord): Promise<void> {
    await this.writeBuffered();
    if (deposit.transferId !== null) this.#assertTransferWritten(deposit.transferId);
    await this.writeDeposit(deposit);
  }

  /** Deliveries of this transaction's own events must exist before they are queued again. */
  async redeliver(tenantId: string, eventId: string, now: string): Promise<number> {
    await this.writeBuffered();
    const buffered = this.#events.findUnwritten((event) => event.id === eventId && event.tenantId === tenantId);
    assert(buffered === undefined, `event ${eventId} is redelivered before it is written`);
    return this.requeueDeliveries(tenantId, eventId, now);
  }

  /** Right after `writeBuffered` nothing is buffered, so this looks at no row unless the order broke. */
  #assertTransferWritten(id: string): void {
    const buffered = this.#transfers.findUnwritten((transfer) => transfer.id === id);
    assert(buffered === undefined, `transfer ${id} is referenced before it is written`);
  }
}
