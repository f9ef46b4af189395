import type pg from "pg";
import { type AccountKey, accountKeyText } from "../../ledger/account-keys.js";
import { assert } from "../../ledger/assert.js";
import type {
  AccountRecord,
  DepositRecord,
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
import type { Table } from "../table.js";
import { ACCOUNTS, DEPOSITS, GAME_TRANSACTIONS, HOLDS, IDEMPOTENCY_KEYS, TRANSFERS, WALLETS, WITHDRAWALS } from "../tables.js";
import { type Statement, type StatementResult, WriteBehindTx } from "../write-behind.js";
import { insertAccounts, lockAccountsById, lockAccountsByKey, updateAccounts } from "./accounts.js";
import { copyRecords } from "./copy.js";
import { lockDepositKey, selectDepositForUpdate, upsertDeposit } from "./deposits.js";
import { lockEventCounter, notifyEvents, updateEventCounter } from "./events.js";
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

/**
 * A batch's side of PostgreSQL, on one connection. Accounts are locked with SELECT ... FOR UPDATE
 * and game transaction ids with advisory locks, both in bulk where a batch asks for it; what
 * the batch writes reaches the database in a few multi-row statements when the buffered rows
 * are written. Updating one hot row (the master account) once per movement would also grow a
 * chain of row versions that every further update walks, which is quadratic.
 */
export class PostgresWriteTx extends WriteBehindTx {
  protected override readonly backgroundWriteRows = BACKGROUND_WRITE_ROWS;
  protected override readonly lazySavepoints = true;
  readonly #connection: pg.PoolClient;

  constructor(connection: pg.PoolClient) {
    super();
    this.#connection = connection;
  }

  protected async execute(statement: Statement): Promise<StatementResult> {
    const { name, text, values } = statement;
    const result = await this.#connection.query({ name, text, values: values as unknown[] });
    return { rows: result.rows, rowCount: result.rowCount ?? 0 };
  }

  protected executeBulkInsert<R>(table: Table<R>, records: readonly R[]): Promise<void> {
    return copyRecords(this.#connection, table, records);
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
    await this.run(lockGameIds(tenantId, transactionIds));
    return this.#select(GAME_TRANSACTIONS, lockGameTransactions(tenantId, transactionIds));
  }

  protected async lockEventCounter(tenantId: string): Promise<number> {
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
