import type {
  AccountKey,
  AccountRecord,
  EventRecord,
  EventType,
  GameTransactionRecord,
  TransferRecord,
  TransferStatus,
  WalletLookup,
  WalletRecord,
} from "./store.js";

/**
 * A transaction's write-behind state, shared by both stores. Accounts are read and locked once
 * per transaction and then changed in memory; new transfers, events, webhook deliveries and game
 * transactions are kept in memory; `flush` writes all of it with a few bulk statements before
 * commit (or before a write that must see those rows). A batch of 8 190 movements then costs
 * a handful of statements per table instead of about ten statements per movement.
 *
 * Savepoints roll this state back together with the database: every change records how to undo
 * itself in an undo log, and a savepoint is a position in that log.
 */

/** Undo actions in the order their changes were made; a savepoint is a length of the log. */
class UndoLog {
  readonly #entries: (() => void)[] = [];

  mark(): number {
    return this.#entries.length;
  }

  push(undo: () => void): void {
    this.#entries.push(undo);
  }

  rollbackTo(mark: number): void {
    while (this.#entries.length > mark) this.#entries.pop()?.();
  }
}

/** A map whose changes a savepoint rollback undoes. */
class UndoableMap<K, V> {
  #map = new Map<K, V>();

  constructor(private readonly undo: UndoLog) {}

  get(key: K): V | undefined {
    return this.#map.get(key);
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  set(key: K, value: V): void {
    const had = this.#map.has(key);
    const previous = this.#map.get(key);
    // Nothing to undo: a batch marks the same account dirty thousands of times.
    if (had && previous === value) return;
    this.#map.set(key, value);
    this.undo.push(() => (had ? this.#map.set(key, previous as V) : this.#map.delete(key)));
  }

  /** Empties the map and returns what it held; a rollback past this point brings it back. */
  take(): Map<K, V> {
    const taken = this.#map;
    this.#map = new Map();
    this.undo.push(() => {
      this.#map = taken;
    });
    return taken;
  }
}

/** Rows waiting to be inserted, in the order they were made. */
class PendingRows<T> {
  readonly #rows: T[] = [];
  #written = 0;

  constructor(private readonly undo: UndoLog) {}

  append(row: T): void {
    this.#rows.push(row);
    this.undo.push(() => this.#rows.pop());
  }

  /** An unwritten row that matches, searched from the newest (rows a transaction reads back are rare). */
  findUnwritten(matches: (row: T) => boolean): T | undefined {
    for (let index = this.#rows.length - 1; index >= this.#written; index -= 1) {
      const row = this.#rows[index] as T;
      if (matches(row)) return row;
    }
    return undefined;
  }

  /** The rows not yet written; they count as written unless a rollback passes this point. */
  take(): T[] {
    const written = this.#written;
    this.#written = this.#rows.length;
    this.undo.push(() => {
      this.#written = written;
    });
    return this.#rows.slice(written);
  }
}

export interface DeliveryRowToInsert {
  eventId: string;
  endpointId: string;
  tenantId: string;
  createdAt: string;
}

/** Everything `flush` hands a store to write, each list in the order it was made. */
export interface FlushRows {
  transfers: TransferRecord[];
  events: EventRecord[];
  deliveries: DeliveryRowToInsert[];
  accounts: AccountRecord[];
  gameTransactions: GameTransactionRecord[];
  eventCounters: { tenantId: string; lastSeq: number }[];
}

export const accountCacheKey = (key: AccountKey) => `${key.tenantId}/${key.currency}/${key.ownerKind}:${key.walletUuid ?? ""}`;
const walletCacheKey = (tenantId: string, lookup: WalletLookup) => `${tenantId}/${lookup.by}/${lookup.value}`;
const gameCacheKey = (tenantId: string, transactionId: string) => `${tenantId}/${transactionId}`;

/** What a batch is about to touch, so a store can read and lock it in a few round trips. */
export interface PrefetchRequest {
  tenantId: string;
  /** Wallets with the currency each moves in. */
  wallets: { lookup: WalletLookup; currency: string }[];
  /** The tenant's game transaction ids the batch reports or refers to. */
  gameTransactionIds: string[];
}

/** One request per tenant, in tenant order, so every process locks tenants in the same order. */
export function mergePrefetch(requests: PrefetchRequest[]): PrefetchRequest[] {
  const byTenant = new Map<string, PrefetchRequest>();
  for (const request of requests) {
    const merged = byTenant.get(request.tenantId) ?? { tenantId: request.tenantId, wallets: [], gameTransactionIds: [] };
    merged.wallets.push(...request.wallets);
    merged.gameTransactionIds.push(...request.gameTransactionIds);
    byTenant.set(request.tenantId, merged);
  }
  return [...byTenant.values()].sort((a, b) => (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : 0));
}

/**
 * The store-independent half of a write transaction. A store supplies reads, locks and the bulk
 * writes of `FlushRows`; the bookkeeping of what is cached, changed and still unwritten is here.
 */
export abstract class WriteBehindTx {
  readonly #undo = new UndoLog();
  readonly #wallets = new UndoableMap<string, WalletRecord>(this.#undo);
  readonly #accounts = new UndoableMap<string, AccountRecord>(this.#undo);
  readonly #accountIds = new UndoableMap<string, string>(this.#undo);
  readonly #dirtyAccounts = new UndoableMap<string, true>(this.#undo);
  readonly #transfers = new PendingRows<TransferRecord>(this.#undo);
  readonly #events = new PendingRows<EventRecord>(this.#undo);
  readonly #deliveries = new PendingRows<DeliveryRowToInsert>(this.#undo);
  readonly #eventSeqs = new UndoableMap<string, number>(this.#undo);
  readonly #dirtyCounters = new UndoableMap<string, true>(this.#undo);
  /** Game transactions by tenant and id; null when the id is known (and locked) to be unused. */
  readonly #games = new UndoableMap<string, GameTransactionRecord | null>(this.#undo);
  readonly #dirtyGames = new UndoableMap<string, true>(this.#undo);
  /** Active webhook endpoints per tenant, read once per transaction. */
  readonly #endpoints = new Map<string, string[]>();
  /** Tenants that got events in this transaction: told to listeners once it commits. */
  readonly appendedTenants = new Set<string>();
  /** The type of every event appended and not rolled back: counted by metrics once the transaction commits. */
  readonly #appendedTypes: EventType[] = [];

  protected abstract readWallets(tenantId: string, lookups: WalletLookup[]): Promise<WalletRecord[]>;
  /** Returns the accounts for the keys, in the keys' order, opening missing ones; locks them. */
  protected abstract lockAccounts(keys: AccountKey[]): Promise<AccountRecord[]>;
  protected abstract lockAccountsByIds(ids: string[]): Promise<AccountRecord[]>;
  protected abstract readTransfer(id: string): Promise<TransferRecord | undefined>;
  protected abstract writeTransferStatus(id: string, status: TransferStatus): Promise<void>;
  /** Locks the ids (including unused ones, so no one else can take them) and returns the existing. */
  protected abstract lockGameTransactions(tenantId: string, transactionIds: string[]): Promise<GameTransactionRecord[]>;
  /** The tenant's last event number, with its counter locked until commit. */
  protected abstract lockEventCounter(tenantId: string): Promise<number>;
  protected abstract readActiveEndpointIds(tenantId: string): Promise<string[]>;
  protected abstract writeRows(rows: FlushRows): Promise<void>;
  protected abstract savepoint(name: string): Promise<void>;
  protected abstract releaseSavepoint(name: string): Promise<void>;
  protected abstract rollbackToSavepoint(name: string): Promise<void>;

  /**
   * Whether savepoints are created in the database only when a statement runs inside them. A
   * client-server store sets it: work that finds everything in memory (a movement whose
   * wallet and accounts were read ahead) then costs no round trip for its savepoint, and its
   * failure is undone by the undo log alone.
   */
  protected readonly lazySavepoints: boolean = false;
  /** The savepoints `atomically` has opened, outermost first. */
  readonly #savepoints: { name: string; created: boolean }[] = [];

  /**
   * Runs work in a savepoint: if it throws, its database writes and its changes to this state
   * are undone and the error passes on, while the enclosing transaction goes on.
   */
  async atomically<T>(work: () => Promise<T>): Promise<T> {
    await this.#settled();
    const savepoint = { name: `nested_${this.#savepoints.length + 1}`, created: false };
    this.#savepoints.push(savepoint);
    const mark = this.#undo.mark();
    try {
      if (!this.lazySavepoints) await this.createSavepoints();
      const value = await work();
      await this.#settled();
      if (savepoint.created) await this.releaseSavepoint(savepoint.name);
      return value;
    } catch (error) {
      await this.#abandonBackground();
      if (savepoint.created) {
        await this.rollbackToSavepoint(savepoint.name);
        await this.releaseSavepoint(savepoint.name);
      }
      this.#undo.rollbackTo(mark);
      throw error;
    } finally {
      this.#savepoints.pop();
    }
  }

  /**
   * Creates the open savepoints the database does not have yet, outermost first; a store with
   * lazy savepoints calls it, and waits for it, before every statement.
   */
  protected async createSavepoints(): Promise<void> {
    const missing = this.#savepoints.filter((savepoint) => !savepoint.created);
    if (missing.length === 0) return;
    for (const savepoint of missing) savepoint.created = true;
    await Promise.all(missing.map((savepoint) => this.savepoint(savepoint.name)));
  }

  /**
   * Unwritten rows after which a flush starts in the background while the work goes on. A
   * client-server store sets it: the database then stores the first part of a large batch while
   * this process computes the rest, on the other core. SQLite writes on this thread; it keeps
   * the default and writes once.
   */
  protected readonly backgroundFlushRows: number = Number.POSITIVE_INFINITY;
  #background: Promise<void> | undefined;
  #rowsSinceFlush = 0;

  #rowAppended(): void {
    this.#rowsSinceFlush += 1;
    if (this.#rowsSinceFlush < this.backgroundFlushRows || this.#background) return;
    const running = this.#write();
    this.#background = running;
    // A failure stays in #background and is thrown by the next step that waits for it.
    running.then(
      () => {
        if (this.#background === running) this.#background = undefined;
      },
      () => undefined,
    );
  }

  /** Waits for a background flush; its failure fails the step that waits. */
  async #settled(): Promise<void> {
    if (this.#background) await this.#background;
  }

  /**
   * Waits for a background flush that a savepoint rollback is about to undo, ignoring its
   * failure: the rollback undoes its writes, and the undo log marks its rows unwritten again.
   */
  async #abandonBackground(): Promise<void> {
    const running = this.#background;
    this.#background = undefined;
    await running?.catch(() => undefined);
  }

  /** Writes everything changed since the last flush. */
  async flush(): Promise<void> {
    await this.#settled();
    await this.#write();
  }

  async #write(): Promise<void> {
    this.#rowsSinceFlush = 0;
    const accounts = [...this.#dirtyAccounts.take().keys()].map((id) => this.#cachedAccount(id));
    const games = [...this.#dirtyGames.take().keys()].map((key) => {
      const game = this.#games.get(key);
      if (!game) throw new Error(`game transaction ${key} was saved but is not cached`);
      return game;
    });
    const eventCounters = [...this.#dirtyCounters.take().keys()].map((tenantId) => ({
      tenantId,
      lastSeq: this.#eventSeqs.get(tenantId) ?? 0,
    }));
    const rows: FlushRows = {
      transfers: this.#transfers.take(),
      events: this.#events.take(),
      deliveries: this.#deliveries.take(),
      accounts,
      gameTransactions: games,
      eventCounters,
    };
    if (Object.values(rows).some((list) => list.length > 0)) await this.writeRows(rows);
  }

  /** Reads and locks, in a few round trips, what a batch is about to use. */
  async prefetch(request: PrefetchRequest): Promise<void> {
    const gameIds = [...new Set(request.gameTransactionIds)].filter((id) => !this.#games.has(gameCacheKey(request.tenantId, id)));
    if (gameIds.length > 0) await this.#lockGames(request.tenantId, gameIds);
    const lookups = uniqueBy(
      request.wallets.map((wallet) => wallet.lookup),
      (lookup) => walletCacheKey(request.tenantId, lookup),
    ).filter((lookup) => !this.#wallets.has(walletCacheKey(request.tenantId, lookup)));
    if (lookups.length > 0) for (const wallet of await this.readWallets(request.tenantId, lookups)) this.#rememberWallet(wallet);
    const keys: AccountKey[] = [];
    for (const { lookup, currency } of request.wallets) {
      const wallet = this.#wallets.get(walletCacheKey(request.tenantId, lookup));
      if (!wallet) continue;
      keys.push({ tenantId: request.tenantId, ownerKind: "master", walletUuid: null, currency });
      keys.push({ tenantId: request.tenantId, ownerKind: "wallet", walletUuid: wallet.id, currency });
    }
    const uncached = uniqueBy(keys, accountCacheKey).filter((key) => !this.#accountIds.has(accountCacheKey(key)));
    if (uncached.length > 0) await this.openAccounts(uncached);
  }

  async findWallet(tenantId: string, lookup: WalletLookup): Promise<WalletRecord | undefined> {
    const cached = this.#wallets.get(walletCacheKey(tenantId, lookup));
    if (cached) return cached;
    const [wallet] = await this.readWallets(tenantId, [lookup]);
    if (wallet) this.#rememberWallet(wallet);
    return wallet;
  }

  #rememberWallet(wallet: WalletRecord): void {
    for (const lookup of [
      { by: "id", value: wallet.id },
      { by: "wallet_id", value: wallet.walletId },
      { by: "external_id", value: wallet.externalId },
    ] as const) {
      this.#wallets.set(walletCacheKey(wallet.tenantId, lookup), wallet);
    }
  }

  async openAccounts(keys: AccountKey[]): Promise<AccountRecord[]> {
    const ids = keys.map((key) => this.#accountIds.get(accountCacheKey(key)));
    if (ids.every((id) => id !== undefined)) return ids.map((id) => this.#cachedAccount(id));
    const uncached = uniqueBy(
      keys.filter((_, index) => ids[index] === undefined),
      accountCacheKey,
    );
    if (uncached.length > 0) {
      const locked = await this.lockAccounts(uncached);
      uncached.forEach((key, index) => {
        const account = locked[index];
        if (!account) throw new Error(`account ${accountCacheKey(key)} could not be opened`);
        this.#rememberAccount(account);
      });
    }
    return keys.map((key) => this.#cachedAccount(this.#accountIds.get(accountCacheKey(key)) ?? ""));
  }

  async lockAccountsById(ids: string[]): Promise<AccountRecord[]> {
    const uncached = [...new Set(ids.filter((id) => !this.#accounts.has(id)))];
    if (uncached.length > 0) for (const account of await this.lockAccountsByIds(uncached)) this.#rememberAccount(account);
    return ids.map((id) => this.#cachedAccount(id));
  }

  #rememberAccount(account: AccountRecord): void {
    this.#accountIds.set(accountCacheKey(account), account.id);
    this.#accounts.set(account.id, account);
  }

  #cachedAccount(id: string): AccountRecord {
    const account = this.#accounts.get(id);
    if (!account) throw new Error(`account ${id} is not locked in this transaction`);
    return account;
  }

  async saveAccounts(accounts: AccountRecord[]): Promise<void> {
    for (const account of accounts) {
      this.#cachedAccount(account.id);
      this.#accounts.set(account.id, account);
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
    // A background flush may be writing it right now.
    await this.#settled();
    return this.readTransfer(id);
  }

  async setTransferStatus(id: string, status: TransferStatus): Promise<void> {
    await this.flush();
    await this.writeTransferStatus(id, status);
  }

  async findGameTransaction(tenantId: string, transactionId: string): Promise<GameTransactionRecord | undefined> {
    const key = gameCacheKey(tenantId, transactionId);
    if (!this.#games.has(key)) await this.#lockGames(tenantId, [transactionId]);
    return this.#games.get(key) ?? undefined;
  }

  async #lockGames(tenantId: string, transactionIds: string[]): Promise<void> {
    const found = new Map((await this.lockGameTransactions(tenantId, transactionIds)).map((game) => [game.transactionId, game]));
    for (const id of transactionIds) this.#games.set(gameCacheKey(tenantId, id), found.get(id) ?? null);
  }

  async saveGameTransaction(record: GameTransactionRecord): Promise<void> {
    const key = gameCacheKey(record.tenantId, record.transactionId);
    if (!this.#games.has(key)) throw new Error(`game transaction ${key} was saved without being locked`);
    this.#games.set(key, record);
    this.#dirtyGames.set(key, true);
  }

  /**
   * Numbers the event after the tenant's last one (its counter stays locked until commit, so
   * events are numbered in commit order) and queues a delivery for each active endpoint.
   */
  /** What `#appendedTypes` holds, for the store to report after its commit. */
  get appendedEventTypes(): readonly EventType[] {
    return this.#appendedTypes;
  }

  async appendEvent(event: Omit<EventRecord, "seq">): Promise<number> {
    const last = this.#eventSeqs.get(event.tenantId) ?? (await this.lockEventCounter(event.tenantId));
    const seq = last + 1;
    this.#eventSeqs.set(event.tenantId, seq);
    this.#dirtyCounters.set(event.tenantId, true);
    this.#events.append({ ...event, seq });
    this.#appendedTypes.push(event.type);
    this.#undo.push(() => this.#appendedTypes.pop());
    this.#rowAppended();
    let endpoints = this.#endpoints.get(event.tenantId);
    if (!endpoints) {
      endpoints = await this.readActiveEndpointIds(event.tenantId);
      this.#endpoints.set(event.tenantId, endpoints);
    }
    for (const endpointId of endpoints) {
      this.#deliveries.append({ eventId: event.id, endpointId, tenantId: event.tenantId, createdAt: event.createdAt });
    }
    this.appendedTenants.add(event.tenantId);
    return seq;
  }
}

function uniqueBy<T>(items: T[], key: (item: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of items) {
    const itemKey = key(item);
    if (!seen.has(itemKey)) seen.set(itemKey, item);
  }
  return [...seen.values()];
}
