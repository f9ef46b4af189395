import { randomUUID } from "node:crypto";
import { type AccountKey, accountKeyText } from "../../src/ledger/account-keys.js";
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
} from "../../src/store/store.js";
import type { Table } from "../../src/store/table.js";
import { newAccount } from "../../src/store/tables.js";
import { type DeliveryRow, type Statement, type StatementResult, WriteBehindTx } from "../../src/store/write-behind.js";

/**
 * A fake adapter for unit tests of the write-behind base class: every statement it is handed is
 * recorded in `log` (its text; bulk inserts as `bulk <table> x<rows>`), and answers come from
 * the in-memory `FakeDatabase`. Written rows are kept in `written`, and SAVEPOINT / ROLLBACK TO
 * SAVEPOINT act on that list the way a database's savepoints act on its rows.
 */
export interface FakeDatabase {
  wallets: WalletRecord[];
  /** Accounts by `accountKeyText`. */
  accounts: Map<string, AccountRecord>;
  games: GameTransactionRecord[];
  eventCounters: Map<string, number>;
  endpoints: Map<string, string[]>;
  /** Every row written, in order, with its table. */
  written: { table: string; record: unknown }[];
}

export const emptyDatabase = (): FakeDatabase => ({
  wallets: [],
  accounts: new Map(),
  games: [],
  eventCounters: new Map(),
  endpoints: new Map(),
  written: [],
});

export interface RecordingOptions {
  lazySavepoints?: boolean;
  backgroundWriteRows?: number;
  db?: FakeDatabase;
}

const NO_ROWS: StatementResult = { rows: [], rowCount: 0 };

export class RecordingTx extends WriteBehindTx {
  protected override readonly lazySavepoints: boolean;
  protected override readonly backgroundWriteRows: number;
  readonly db: FakeDatabase;
  /** The text of every statement run, in order. */
  readonly log: string[] = [];
  /** Statements (by their log text) that fail with this error. */
  readonly failing = new Map<string, Error>();
  /** Called at the start of every bulk insert, with the table's name: lets a test act while a write is in flight. */
  onBulkInsert: ((table: string) => void) | undefined;
  /** When set, bulk inserts wait for it before storing their rows. */
  gate: Promise<void> | undefined;
  readonly #savepointMarks = new Map<string, number>();

  constructor(options: RecordingOptions = {}) {
    super();
    this.lazySavepoints = options.lazySavepoints ?? false;
    this.backgroundWriteRows = options.backgroundWriteRows ?? Number.POSITIVE_INFINITY;
    this.db = options.db ?? emptyDatabase();
  }

  /** The rows of one table written so far (and not rolled back). */
  rows<R>(table: string): R[] {
    return this.db.written.filter((row) => row.table === table).map((row) => row.record as R);
  }

  protected async execute(statement: Statement): Promise<StatementResult> {
    this.log.push(statement.text);
    const failure = this.failing.get(statement.text);
    if (failure) throw failure;
    const words = statement.text.split(" ");
    const savepoint = words[words.length - 1] ?? "";
    if (words[0] === "SAVEPOINT") this.#savepointMarks.set(savepoint, this.db.written.length);
    if (words[0] === "ROLLBACK") this.db.written.length = this.#savepointMarks.get(savepoint) ?? this.db.written.length;
    return NO_ROWS;
  }

  protected async executeBulkInsert<R>(table: Table<R>, records: readonly R[]): Promise<void> {
    const text = `bulk ${table.name} x${records.length}`;
    this.log.push(text);
    this.onBulkInsert?.(table.name);
    if (this.gate) await this.gate;
    const failure = this.failing.get(text);
    if (failure) throw failure;
    for (const record of records) this.db.written.push({ table: table.name, record });
  }

  /** Runs a recorded statement whose answer the caller takes from `db`. */
  async #statement(text: string, ...values: unknown[]): Promise<void> {
    await this.run({ name: text, text, values });
  }

  async #write(table: string, records: readonly unknown[]): Promise<void> {
    await this.#statement(`write-${table}`, records);
    for (const record of records) this.db.written.push({ table, record });
  }

  protected async readWallets(tenantId: string, lookups: WalletLookup[]): Promise<WalletRecord[]> {
    await this.#statement("read-wallets", tenantId, lookups);
    const column = { uuid: "uuid", wallet_id: "walletId", external_id: "externalId" } as const;
    return this.db.wallets.filter(
      (wallet) => wallet.tenantId === tenantId && lookups.some((lookup) => wallet[column[lookup.by]] === lookup.value),
    );
  }

  protected async lockAccounts(keys: AccountKey[]): Promise<AccountRecord[]> {
    await this.#statement("lock-accounts", keys);
    return keys.map((key) => {
      const found = this.db.accounts.get(accountKeyText(key));
      if (found) return found;
      const opened = newAccount(key, randomUUID());
      this.db.accounts.set(accountKeyText(key), opened);
      return opened;
    });
  }

  protected async lockAccountsByIds(ids: string[]): Promise<AccountRecord[]> {
    await this.#statement("lock-accounts-by-id", ids);
    return [...this.db.accounts.values()].filter((account) => ids.includes(account.id));
  }

  protected async readTransfer(id: string): Promise<TransferRecord | undefined> {
    await this.#statement("read-transfer", id);
    return this.rows<TransferRecord>("transfers").find((transfer) => transfer.id === id);
  }

  protected async lockGameTransactions(tenantId: string, transactionIds: string[]): Promise<GameTransactionRecord[]> {
    await this.#statement("lock-games", tenantId, transactionIds);
    return this.db.games.filter((game) => game.tenantId === tenantId && transactionIds.includes(game.transactionId));
  }

  protected async lockEventCounter(tenantId: string): Promise<number> {
    await this.#statement("lock-event-counter", tenantId);
    return this.db.eventCounters.get(tenantId) ?? 0;
  }

  protected async readActiveEndpointIds(tenantId: string): Promise<string[]> {
    await this.#statement("read-endpoints", tenantId);
    return this.db.endpoints.get(tenantId) ?? [];
  }

  protected writeAccounts(accounts: AccountRecord[]): Promise<void> {
    return this.#write("accounts", accounts);
  }

  protected writeGameTransactions(games: GameTransactionRecord[]): Promise<void> {
    return this.#write("games", games);
  }

  protected writeEventCounters(counters: { tenantId: string; lastSeq: number }[]): Promise<void> {
    return this.#write("event-counters", counters);
  }

  protected writeTransferStatus(id: string, status: TransferStatus): Promise<void> {
    return this.#write("transfer-status", [{ id, status }]);
  }

  protected writeHold(hold: HoldRecord): Promise<void> {
    return this.#write("hold", [hold]);
  }

  protected writeWithdrawal(withdrawal: WithdrawalRecord): Promise<void> {
    return this.#write("withdrawal", [withdrawal]);
  }

  protected writeDeposit(deposit: DepositRecord): Promise<void> {
    return this.#write("deposit", [deposit]);
  }

  protected async requeueDeliveries(tenantId: string, eventId: string, now: string): Promise<number> {
    await this.#statement("requeue-deliveries", tenantId, eventId, now);
    return this.rows<DeliveryRow>("webhook_deliveries").filter((row) => row.tenantId === tenantId && row.eventId === eventId).length;
  }

  async insertWallet(wallet: WalletRecord): Promise<"inserted" | "duplicate_external_id"> {
    await this.#write("wallet", [wallet]);
    return "inserted";
  }

  async lockDeposit(): Promise<DepositRecord | undefined> {
    await this.#statement("lock-deposit");
    return undefined;
  }

  async lockHold(): Promise<HoldRecord | undefined> {
    await this.#statement("lock-hold");
    return undefined;
  }

  async lockWithdrawal(): Promise<WithdrawalRecord | undefined> {
    await this.#statement("lock-withdrawal");
    return undefined;
  }

  async findIdempotencyRecord(): Promise<IdempotencyRecord | undefined> {
    await this.#statement("read-idempotency");
    return undefined;
  }

  async saveIdempotencyRecord(record: IdempotencyRecord): Promise<boolean> {
    await this.#write("idempotency", [record]);
    return true;
  }

  async insertWebhookEndpoint(endpoint: WebhookEndpointRecord): Promise<void> {
    await this.#write("endpoint", [endpoint]);
  }

  async disableWebhookEndpoint(): Promise<boolean> {
    await this.#statement("disable-endpoint");
    return false;
  }
}

export const TENANT = "tenant-1";
const AT = "2024-01-01T00:00:00.000Z";

export const aWallet = (overrides: Partial<WalletRecord> = {}): WalletRecord => ({
  uuid: "wallet-uuid-1",
  walletId: "W1",
  tenantId: TENANT,
  name: "player",
  externalId: "ext-1",
  createdAt: AT,
  updatedAt: AT,
  ...overrides,
});

export const aTransfer = (id: string): TransferRecord => ({
  id,
  tenantId: TENANT,
  currency: "USD",
  flag: "posted",
  debitAccountId: "debit",
  creditAccountId: "credit",
  amount: 1n,
  pendingId: null,
  transferType: "to_sub",
  walletUuid: null,
  status: "posted",
  createdAt: AT,
  reference: null,
  roundId: null,
  betTransactionId: null,
  balanceAmount: 1n,
  balancePending: 0n,
  accountVersion: 1,
});

export const anEvent = (id: string): Omit<EventRecord, "seq" | "webhooks"> => ({
  tenantId: TENANT,
  id,
  type: "transfer.posted",
  walletUuid: null,
  transferId: null,
  balanceAmount: 1n,
  balancePending: 0n,
  accountVersion: 1,
  createdAt: AT,
  depositId: null,
  confirmations: null,
  requiredConfirmations: null,
  payload: null,
});

export const aGame = (transactionId: string): GameTransactionRecord => ({
  tenantId: TENANT,
  transactionId,
  kind: "bet",
  status: "completed",
  walletUuid: "wallet-uuid-1",
  currency: "USD",
  amount: 1n,
  roundId: "round",
  referenceId: null,
  createdAt: AT,
  transferId: null,
  balance: null,
  betNotFound: false,
  result: null,
});

export const aHold = (transferId: string): HoldRecord => ({
  id: "hold-1",
  tenantId: TENANT,
  walletUuid: "wallet-uuid-1",
  currency: "USD",
  amount: 1n,
  capturedAmount: 0n,
  status: "pending",
  transferId,
  reference: null,
  expiresAt: AT,
  createdAt: AT,
  updatedAt: AT,
});

export const aWithdrawal = (transferId: string): WithdrawalRecord => ({
  id: "withdrawal-1",
  tenantId: TENANT,
  walletUuid: "wallet-uuid-1",
  currency: "USD",
  amount: 1n,
  address: "address",
  status: "pending",
  transferId,
  txHash: null,
  createdAt: AT,
  updatedAt: AT,
});

export const aDeposit = (transferId: string | null): DepositRecord => ({
  id: "deposit-1",
  tenantId: TENANT,
  walletUuid: "wallet-uuid-1",
  currency: "USD",
  txHash: "hash",
  amount: 1n,
  confirmations: 0,
  status: "pending",
  transferId,
  createdAt: AT,
  updatedAt: AT,
});

export { AT };
