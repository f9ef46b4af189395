import { type AccountKey, accountKeyText } from "../ledger/account-keys.js";
import { assert } from "../ledger/assert.js";
import type { AccountRecord, GameTransactionRecord, WalletLookup, WalletRecord } from "./store.js";
import { UndoableMap, type UndoLog } from "./undo.js";

const walletKey = (tenantId: string, lookup: WalletLookup) => `${tenantId}/${lookup.by}/${lookup.value}`;
const gameKey = (tenantId: string, transactionId: string) => `${tenantId}/${transactionId}`;

/**
 * What a write transaction has read and locked (see write-behind.ts): wallets by each of their
 * names, accounts by key and by id, game transaction ids. Later asks find them here without a
 * round trip, and the accounts and game transactions are changed here until they are written.
 * A savepoint rollback undoes what was remembered or changed inside it.
 */
export class ReadCache {
  readonly #wallets: UndoableMap<string, WalletRecord>;
  readonly #accounts: UndoableMap<string, AccountRecord>;
  readonly #accountIds: UndoableMap<string, string>;
  /** Game transactions by tenant and id; null when the id is known (and locked) to be unused. */
  readonly #games: UndoableMap<string, GameTransactionRecord | null>;

  constructor(undo: UndoLog) {
    this.#wallets = new UndoableMap(undo);
    this.#accounts = new UndoableMap(undo);
    this.#accountIds = new UndoableMap(undo);
    this.#games = new UndoableMap(undo);
  }

  wallet(tenantId: string, lookup: WalletLookup): WalletRecord | undefined {
    return this.#wallets.get(walletKey(tenantId, lookup));
  }

  /** The lookups that are not cached, each once. */
  uncachedLookups(tenantId: string, lookups: WalletLookup[]): WalletLookup[] {
    return uniqueBy(lookups, (lookup) => walletKey(tenantId, lookup)).filter((lookup) => !this.#wallets.has(walletKey(tenantId, lookup)));
  }

  /** Remembers the wallet by every name a request may give it. */
  rememberWallet(wallet: WalletRecord): void {
    for (const lookup of [
      { by: "uuid", value: wallet.uuid },
      { by: "wallet_id", value: wallet.walletId },
      { by: "external_id", value: wallet.externalId },
    ] as const) {
      this.#wallets.set(walletKey(wallet.tenantId, lookup), wallet);
    }
  }

  accountId(key: AccountKey): string | undefined {
    return this.#accountIds.get(accountKeyText(key));
  }

  /** The keys whose accounts are not locked yet, each once. */
  uncachedKeys(keys: AccountKey[]): AccountKey[] {
    return uniqueBy(keys, accountKeyText).filter((key) => !this.#accountIds.has(accountKeyText(key)));
  }

  /** The ids whose accounts are not locked yet, each once. */
  uncachedAccountIds(ids: string[]): string[] {
    return [...new Set(ids.filter((id) => !this.#accounts.has(id)))];
  }

  /** A locked account as this transaction has changed it so far. */
  account(id: string): AccountRecord {
    const account = this.#accounts.get(id);
    assert(account !== undefined, `account ${id} is not locked in this transaction`);
    return account;
  }

  accountOf(key: AccountKey): AccountRecord {
    const id = this.accountId(key);
    assert(id !== undefined, `account ${accountKeyText(key)} is not locked in this transaction`);
    return this.account(id);
  }

  rememberAccount(account: AccountRecord): void {
    this.#accountIds.set(accountKeyText(account), account.id);
    this.#accounts.set(account.id, account);
  }

  /** Replaces a locked account by its changed version. */
  changeAccount(account: AccountRecord): void {
    this.account(account.id);
    this.#accounts.set(account.id, account);
  }

  /** The game transaction if it exists, null if it is known not to, undefined if it was never locked. */
  game(tenantId: string, transactionId: string): GameTransactionRecord | null | undefined {
    return this.#games.get(gameKey(tenantId, transactionId));
  }

  /** The ids that were never locked, each once. */
  uncachedGameIds(tenantId: string, transactionIds: string[]): string[] {
    return [...new Set(transactionIds)].filter((id) => !this.#games.has(gameKey(tenantId, id)));
  }

  /** Remembers a locked id with its game transaction, or null if it is unused. */
  rememberGame(tenantId: string, transactionId: string, game: GameTransactionRecord | null): void {
    this.#games.set(gameKey(tenantId, transactionId), game);
  }

  /** Replaces a locked game transaction by its changed version; returns its key for `savedGame`. */
  changeGame(game: GameTransactionRecord): string {
    const key = gameKey(game.tenantId, game.transactionId);
    assert(this.#games.has(key), `game transaction ${key} was saved without being locked`);
    this.#games.set(key, game);
    return key;
  }

  savedGame(key: string): GameTransactionRecord {
    const game = this.#games.get(key);
    assert(game !== undefined && game !== null, `game transaction ${key} was saved but is not cached`);
    return game;
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
