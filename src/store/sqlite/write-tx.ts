import { randomUUID } from "node:crypto";
import type { AccountKey } from "../../ledger/account-keys.js";
import { assert } from "../../ledger/assert.js";
import { gameFromRow, gameRowOf } from "../lean-rows.js";
import type * as records from "../store.js";
import type { Table } from "../table.js";
import {
  ACCOUNTS,
  DEPOSITS,
  GAME_TRANSACTIONS,
  HOLDS,
  IDEMPOTENCY_KEYS,
  newAccount,
  TRANSFERS,
  WALLETS,
  WEBHOOK_ENDPOINTS,
  WITHDRAWALS,
} from "../tables.js";
import { type Statement, type StatementResult, WriteBehindTx } from "../write-behind.js";
import { insertAccount, selectAccountById, selectAccountByKey, updateAccount } from "./accounts.js";
import { selectDeposit, upsertDeposit } from "./deposits.js";
import { selectEventCounter, upsertEventCounter } from "./events.js";
import { selectGameTransaction, upsertGameTransaction } from "./games.js";
import { selectHold, upsertHold } from "./holds.js";
import { insertIdempotencyRecord, selectIdempotencyRecord } from "./idempotency.js";
import type { PreparedStatements } from "./statements.js";
import { selectTransfer, updateTransferStatus } from "./transfers.js";
import { insertWallet, selectWallet } from "./wallets.js";
import { disableWebhookEndpoint, insertWebhookEndpoint, requeueDeliveries, selectActiveEndpointIds } from "./webhooks.js";
import { selectWithdrawal, upsertWithdrawal } from "./withdrawals.js";

/**
 * The writer's side of one batch. Only the group committer uses it, one item at a time; the
 * writer is the only connection that writes, so what it reads stays true until the batch
 * commits and reading is locking. The base class orders the writes and issues the savepoints;
 * every statement here runs in this thread and costs no round trip, so reads go one key at a time.
 */
export class SqliteWriteTx extends WriteBehindTx {
  constructor(private readonly statements: PreparedStatements) {
    super();
  }

  protected async execute(statement: Statement): Promise<StatementResult> {
    return this.statements.execute(statement);
  }

  /**
   * One prepared single-row INSERT run per row, with positional parameters: a batch inserts
   * thousands of these rows, and binding by name costs a property lookup per column.
   */
  protected async executeBulkInsert<R>(table: Table<R>, rows: readonly R[]): Promise<void> {
    const insert = this.statements.get(`insert-${table.name}`, table.insertSql("sqlite"));
    for (const row of rows) insert.run(table.values(row));
  }

  /** The statement's first row as the table's record. */
  async #one<R>(table: Table<R>, statement: Statement): Promise<R | undefined> {
    const [row] = (await this.run(statement)).rows;
    return row && table.fromRow(row);
  }

  protected async readWallets(tenantId: string, lookups: records.WalletLookup[]): Promise<records.WalletRecord[]> {
    const wallets: records.WalletRecord[] = [];
    for (const lookup of lookups) {
      const wallet = await this.#one(WALLETS, selectWallet(tenantId, lookup));
      if (wallet) wallets.push(wallet);
    }
    return wallets;
  }

  protected async lockAccounts(keys: AccountKey[]): Promise<records.AccountRecord[]> {
    const accounts: records.AccountRecord[] = [];
    for (const key of keys) accounts.push((await this.#one(ACCOUNTS, selectAccountByKey(key))) ?? (await this.#openAccount(key)));
    return accounts;
  }

  async #openAccount(key: AccountKey): Promise<records.AccountRecord> {
    const account = newAccount(key, randomUUID());
    await this.run(insertAccount(...ACCOUNTS.values(account)));
    return account;
  }

  protected async lockAccountsByIds(ids: string[]): Promise<records.AccountRecord[]> {
    const accounts: records.AccountRecord[] = [];
    for (const id of ids) {
      const account = await this.#one(ACCOUNTS, selectAccountById(id));
      assert(account !== undefined, `account ${id} does not exist`);
      accounts.push(account);
    }
    return accounts;
  }

  protected readTransfer(id: string): Promise<records.TransferRecord | undefined> {
    return this.#one(TRANSFERS, selectTransfer(id));
  }

  protected async lockGameTransactions(tenantId: string, transactionIds: string[]): Promise<records.GameTransactionRecord[]> {
    const games: records.GameTransactionRecord[] = [];
    for (const id of transactionIds) {
      const [row] = (await this.run(selectGameTransaction({ tenantId, transactionId: id }))).rows;
      if (row) games.push(gameFromRow(row));
    }
    return games;
  }

  protected async lockEventCounter(tenantId: string): Promise<number> {
    const [row] = (await this.run(selectEventCounter(tenantId))).rows;
    return (row?.last_seq as number | undefined) ?? 0;
  }

  protected async readActiveEndpointIds(tenantId: string): Promise<string[]> {
    return (await this.run(selectActiveEndpointIds(tenantId))).rows.map((row) => row.id as string);
  }

  protected async writeAccounts(accounts: records.AccountRecord[]): Promise<void> {
    for (const account of accounts) await this.run(updateAccount(ACCOUNTS.row(account)));
  }

  protected async writeGameTransactions(games: records.GameTransactionRecord[]): Promise<void> {
    for (const game of games) await this.run(upsertGameTransaction(...GAME_TRANSACTIONS.values(gameRowOf(game))));
  }

  protected async writeEventCounters(counters: { tenantId: string; lastSeq: number }[]): Promise<void> {
    for (const counter of counters) await this.run(upsertEventCounter(counter.tenantId, counter.lastSeq));
  }

  protected async writeTransferStatus(id: string, status: records.TransferStatus): Promise<void> {
    await this.run(updateTransferStatus(status, id));
  }

  protected async writeHold(hold: records.HoldRecord): Promise<void> {
    await this.run(upsertHold(...HOLDS.values(hold)));
  }

  protected async writeWithdrawal(withdrawal: records.WithdrawalRecord): Promise<void> {
    await this.run(upsertWithdrawal(...WITHDRAWALS.values(withdrawal)));
  }

  protected async writeDeposit(deposit: records.DepositRecord): Promise<void> {
    await this.run(upsertDeposit(...DEPOSITS.values(deposit)));
  }

  protected async requeueDeliveries(tenantId: string, eventId: string, now: string): Promise<number> {
    return (await this.run(requeueDeliveries(now, tenantId, eventId))).rowCount;
  }

  async insertWallet(wallet: records.WalletRecord): Promise<"inserted" | "duplicate_external_id"> {
    const { rowCount } = await this.run(insertWallet(...WALLETS.values(wallet)));
    return rowCount === 1 ? "inserted" : "duplicate_external_id";
  }

  lockDeposit(currency: string, txHash: string): Promise<records.DepositRecord | undefined> {
    return this.#one(DEPOSITS, selectDeposit(currency, txHash));
  }

  lockHold(tenantId: string, id: string): Promise<records.HoldRecord | undefined> {
    return this.#one(HOLDS, selectHold(tenantId, id));
  }

  lockWithdrawal(tenantId: string | null, id: string): Promise<records.WithdrawalRecord | undefined> {
    return this.#one(WITHDRAWALS, selectWithdrawal({ tenantId, id }));
  }

  findIdempotencyRecord(scope: string, key: string): Promise<records.IdempotencyRecord | undefined> {
    return this.#one(IDEMPOTENCY_KEYS, selectIdempotencyRecord(scope, key));
  }

  async saveIdempotencyRecord(record: records.IdempotencyRecord): Promise<boolean> {
    return (await this.run(insertIdempotencyRecord(...IDEMPOTENCY_KEYS.values(record)))).rowCount === 1;
  }

  async insertWebhookEndpoint(endpoint: records.WebhookEndpointRecord): Promise<void> {
    await this.run(insertWebhookEndpoint(...WEBHOOK_ENDPOINTS.values(endpoint)));
  }

  async disableWebhookEndpoint(tenantId: string, id: string, disabledAt: string): Promise<boolean> {
    return (await this.run(disableWebhookEndpoint(disabledAt, tenantId, id))).rowCount === 1;
  }
}
