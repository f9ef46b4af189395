import { randomUUID } from "node:crypto";
import Database from "better-sqlite3";
import pg from "pg";
import { type AccountKey, chainKey, walletKey } from "../../src/ledger/account-keys.js";
import { applyTransfer } from "../../src/ledger/accounts.js";
import { newWalletId } from "../../src/services/wallets.js";
import { openStore } from "../../src/store/open.js";
import type { AccountRecord, DepositRecord, TransferRecord, WalletRecord, WriteTx } from "../../src/store/store.js";
import { ACCOUNTS, DEPOSITS, newAccount, TRANSFERS, WALLETS } from "../../src/store/tables.js";
import { round } from "./load.js";
import { log } from "./report.js";

/**
 * Bulk-loads wallets for the scale benchmark, not through the API: each wallet is inserted and
 * credited by a confirmed deposit from the tenant's chain account, written the way the deposit
 * service writes one (wallet row, wallet account opened, the transfer applied to both accounts
 * by the ledger and their versions raised, a posted transfer of type "deposit", a confirmed
 * deposit row), so balances, histories and `verify` are all real. Accounts are named by the
 * ledger's key builders and opened with its opening rule; every balance change is the ledger's
 * `applyTransfer`, never counter arithmetic of our own. Not written: the balance event the
 * deposit service also appends to its outbox (events table) for webhooks and live streams;
 * balance reads never look at it.
 */

export const BULK_CURRENCY = "USDTTRC20";
/** 100.00 USDTTRC20 (6 decimals) per wallet. */
export const BULK_AMOUNT = 100_000_000n;
/** The group committer's largest batch: one chunk is one SQLite transaction. */
const CHUNK = 8190;
const SQL_CHUNK = 100_000;

export const externalIdOf = (index: number) => `player-${index}`;

export interface LoadStats {
  method: "store" | "sql";
  wallets: number;
  seconds: number;
  walletsPerSecond: number;
}

const bulkWallet = (tenantId: string, index: number, now: string): WalletRecord => ({
  uuid: randomUUID(),
  walletId: newWalletId(),
  tenantId,
  name: `Player ${index}`,
  externalId: externalIdOf(index),
  createdAt: now,
  updatedAt: now,
});

/** An account as a store opens it. */
const openedAccount = (key: AccountKey): AccountRecord => newAccount(key, randomUUID());

/** The deposit's transfer applied by the ledger, each account's version raised as the movement code does. */
function credited(chain: AccountRecord, account: AccountRecord): { chain: AccountRecord; account: AccountRecord } {
  const applied = applyTransfer(chain, account, BULK_AMOUNT, "posted");
  if (!applied.ok) throw new Error("the ledger refused a bulk deposit");
  return {
    chain: { ...applied.debit, version: chain.version + 1 },
    account: { ...applied.credit, version: account.version + 1 },
  };
}

/**
 * What `count` bulk deposits leave: the chain account after each of them is applied by the
 * ledger, and the account each wallet ends with (every wallet opens the same way and receives
 * the same deposit, so the SQL loaders write that one state with each wallet's own ids).
 */
function chunkAccounts(chain: AccountRecord, tenantId: string, count: number): { chain: AccountRecord; account: AccountRecord } {
  const opened = openedAccount(walletKey({ tenantId, uuid: randomUUID() }, BULK_CURRENCY));
  const { account } = credited(chain, opened);
  let after = chain;
  for (let index = 0; index < count; index += 1) after = credited(after, opened).chain;
  return { chain: after, account };
}

/** The transfer and the confirmed deposit row of one wallet's bulk deposit. */
function depositRows(wallet: WalletRecord, chainId: string, accountId: string, index: number) {
  const transfer: TransferRecord = {
    id: randomUUID(),
    tenantId: wallet.tenantId,
    currency: BULK_CURRENCY,
    flag: "posted",
    debitAccountId: chainId,
    creditAccountId: accountId,
    amount: BULK_AMOUNT,
    pendingId: null,
    transferType: "deposit",
    walletUuid: wallet.uuid,
    status: "posted",
    createdAt: wallet.createdAt,
    reference: null,
    roundId: null,
    // No event refers to a bulk-loaded transfer: it need not keep the balance after it.
    betTransactionId: null,
    balanceAmount: null,
    balancePending: null,
    accountVersion: null,
  };
  const deposit: DepositRecord = {
    id: randomUUID(),
    tenantId: wallet.tenantId,
    walletUuid: wallet.uuid,
    currency: BULK_CURRENCY,
    txHash: `bulk-${index}`,
    amount: BULK_AMOUNT,
    confirmations: 1000,
    status: "confirmed",
    transferId: transfer.id,
    createdAt: wallet.createdAt,
    updatedAt: wallet.createdAt,
  };
  return { transfer, deposit };
}

/** Wallets [from, to) through Store.write(), CHUNK work items at a time (group-committed). */
export async function loadThroughStore(databaseUrl: string, tenantId: string, from: number, to: number): Promise<LoadStats> {
  const store = await openStore(databaseUrl);
  const started = process.hrtime.bigint();
  try {
    let lastLog = Date.now();
    for (let start = from; start < to; start += CHUNK) {
      const end = Math.min(to, start + CHUNK);
      const chunk: Promise<void>[] = [];
      for (let index = start; index < end; index += 1) chunk.push(store.write((tx) => depositWallet(tx, tenantId, index)));
      await Promise.all(chunk);
      if (Date.now() - lastLog > 10_000) {
        lastLog = Date.now();
        log(`  ${end - from}/${to - from} wallets loaded through the store`);
      }
    }
  } finally {
    await store.close();
  }
  return stats("store", to - from, started);
}

async function depositWallet(tx: WriteTx, tenantId: string, index: number): Promise<void> {
  const wallet = bulkWallet(tenantId, index, new Date().toISOString());
  if ((await tx.insertWallet(wallet)) !== "inserted") throw new Error(`wallet ${wallet.externalId} already exists`);
  const [chain, account] = await tx.openAccounts([chainKey(tenantId, BULK_CURRENCY), walletKey(wallet, BULK_CURRENCY)]);
  if (!chain || !account) throw new Error("the store opened fewer accounts than asked");
  const after = credited(chain, account);
  await tx.saveAccounts([after.chain, after.account]);
  const { transfer, deposit } = depositRows(wallet, chain.id, account.id, index);
  await tx.insertTransfer(transfer);
  await tx.saveDeposit(deposit);
}

/**
 * Wallets [from, to) with plain SQL on a connection of our own, SQL_CHUNK per transaction,
 * producing the same rows as loadThroughStore (random UUIDs, a 16-character lower-case
 * wallet_id, the same names, external ids, amounts, transfer and deposit rows) and the chain
 * account as the ledger leaves it. Needs the chain account: load some wallets through the store first.
 */
export function loadWithSql(databaseUrl: string, tenantId: string, from: number, to: number): Promise<LoadStats> {
  if (databaseUrl.startsWith("sqlite:")) return loadSqliteWithSql(databaseUrl.slice("sqlite:".length), tenantId, from, to);
  return loadPostgresWithSql(databaseUrl, tenantId, from, to);
}

const CHAIN_WHERE = "tenant_id = $1 AND owner_kind = $2 AND wallet_uuid IS NULL AND currency = $3";
const chainParameters = (tenantId: string) => {
  const key = chainKey(tenantId, BULK_CURRENCY);
  return [key.tenantId, key.ownerKind, key.currency];
};
const CHAIN_UPDATE =
  "UPDATE accounts SET credits_posted = $1, debits_posted = $2, credits_pending = $3, debits_pending = $4, version = $5 WHERE id = $6";
const chainUpdateValues = (chain: AccountRecord) => [
  chain.creditsPosted.toString(),
  chain.debitsPosted.toString(),
  chain.creditsPending.toString(),
  chain.debitsPending.toString(),
  chain.version,
  chain.id,
];
const sqlite = (text: string) => text.replace(/\$\d+/g, "?");
const noChainAccount = () => new Error("no chain account yet: load some wallets through the store first");

/** SQLite: the descriptors' prepared INSERTs in big transactions (the server's pragmas, and a large page cache). */
async function loadSqliteWithSql(file: string, tenantId: string, from: number, to: number): Promise<LoadStats> {
  const db = new Database(file);
  const started = process.hrtime.bigint();
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("foreign_keys = ON");
    db.pragma("busy_timeout = 5000");
    db.pragma("cache_size = -1048576");
    const readChain = db.prepare(sqlite(`SELECT * FROM accounts WHERE ${CHAIN_WHERE}`));
    const [insertWallet, insertAccount, insertTransfer, insertDeposit] = [WALLETS, ACCOUNTS, TRANSFERS, DEPOSITS].map((table) =>
      db.prepare(table.insertSql("sqlite")),
    ) as [Database.Statement, Database.Statement, Database.Statement, Database.Statement];
    const updateChain = db.prepare(sqlite(CHAIN_UPDATE));
    const chunk = db.transaction((start: number, end: number) => {
      const row = readChain.get(...chainParameters(tenantId)) as Record<string, unknown> | undefined;
      if (!row) throw noChainAccount();
      const { chain, account } = chunkAccounts(ACCOUNTS.fromRow(row), tenantId, end - start);
      for (let index = start; index < end; index += 1) {
        const wallet = bulkWallet(tenantId, index, new Date().toISOString());
        const walletAccount = { ...account, id: randomUUID(), walletUuid: wallet.uuid };
        const { transfer, deposit } = depositRows(wallet, chain.id, walletAccount.id, index);
        insertWallet.run(WALLETS.values(wallet));
        insertAccount.run(ACCOUNTS.values(walletAccount));
        insertTransfer.run(TRANSFERS.values(transfer));
        insertDeposit.run(DEPOSITS.values(deposit));
      }
      updateChain.run(chainUpdateValues(chain));
    });
    for (let start = from; start < to; start += SQL_CHUNK) {
      const end = Math.min(to, start + SQL_CHUNK);
      chunk.immediate(start, end);
      log(`  ${end - from}/${to - from} wallets loaded with SQL`);
    }
    db.pragma("wal_checkpoint(TRUNCATE)");
  } finally {
    db.close();
  }
  return stats("sql", to - from, started);
}

/**
 * PostgreSQL: set-based SQL (generate_series) with the accounts of `chunkAccounts`. Ends with
 * VACUUM ANALYZE, as autovacuum would after such a load.
 */
async function loadPostgresWithSql(databaseUrl: string, tenantId: string, from: number, to: number): Promise<LoadStats> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const started = process.hrtime.bigint();
  try {
    for (let start = from; start < to; start += SQL_CHUNK) {
      const end = Math.min(to, start + SQL_CHUNK);
      await client.query("BEGIN");
      const [row] = (
        await client.query(`SELECT ${ACCOUNTS.select()} FROM accounts WHERE ${CHAIN_WHERE} FOR UPDATE`, chainParameters(tenantId))
      ).rows;
      if (!row) throw noChainAccount();
      const { chain, account } = chunkAccounts(ACCOUNTS.fromRow(row), tenantId, end - start);
      await insertChunk(client, tenantId, chain.id, account, start, end);
      await client.query(CHAIN_UPDATE, chainUpdateValues(chain));
      await client.query("COMMIT");
      log(`  ${end - from}/${to - from} wallets loaded with SQL`);
    }
    log("  VACUUM ANALYZE");
    await client.query("VACUUM ANALYZE wallets, accounts, transfers, deposits");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
  return stats("sql", to - from, started);
}

/** The rows of wallets [start, end): the same columns and values loadThroughStore writes. */
async function insertChunk(client: pg.Client, tenantId: string, chainId: string, account: AccountRecord, start: number, end: number) {
  const amount = BULK_AMOUNT.toString();
  await client.query(
    `CREATE TEMP TABLE bulk ON COMMIT DROP AS
     SELECT i, gen_random_uuid() AS wallet_uuid, 'w_' || substr(md5(random()::text || i::text), 1, 16) AS wallet_id,
            gen_random_uuid() AS account_id, gen_random_uuid() AS transfer_id, gen_random_uuid() AS deposit_id, clock_timestamp() AS at
     FROM generate_series($1::int, $2::int) AS i`,
    [start, end - 1],
  );
  await client.query(
    `INSERT INTO wallets (id, wallet_id, tenant_id, name, external_id, created_at, updated_at)
     SELECT wallet_uuid, wallet_id, $1, 'Player ' || i, 'player-' || i, at, at FROM bulk ORDER BY i`,
    [tenantId],
  );
  await client.query(
    `INSERT INTO accounts (id, tenant_id, owner_kind, wallet_uuid, currency, debits_must_not_exceed_credits,
       credits_posted, debits_posted, credits_pending, debits_pending, version)
     SELECT account_id, $1, $2, wallet_uuid, $3, $4, $5, $6, $7, $8, $9 FROM bulk ORDER BY i`,
    [
      tenantId,
      account.ownerKind,
      account.currency,
      account.debitsMustNotExceedCredits,
      account.creditsPosted.toString(),
      account.debitsPosted.toString(),
      account.creditsPending.toString(),
      account.debitsPending.toString(),
      account.version,
    ],
  );
  await client.query(
    `INSERT INTO transfers (id, tenant_id, currency, flag, debit_account_id, credit_account_id, amount, pending_id,
       transfer_type, wallet_uuid, status, created_at)
     SELECT transfer_id, $1, $2, 'posted', $3, account_id, $4, NULL, 'deposit', wallet_uuid, 'posted', at FROM bulk ORDER BY i`,
    [tenantId, BULK_CURRENCY, chainId, amount],
  );
  await client.query(
    `INSERT INTO deposits (id, tenant_id, wallet_uuid, currency, tx_hash, amount, confirmations, status, transfer_id, created_at, updated_at)
     SELECT deposit_id, $1, wallet_uuid, $2, 'bulk-' || i, $3, 1000, 'confirmed', transfer_id, at, at FROM bulk ORDER BY i`,
    [tenantId, BULK_CURRENCY, amount],
  );
}

function stats(method: "store" | "sql", wallets: number, started: bigint): LoadStats {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { method, wallets, seconds: round(seconds, 1), walletsPerSecond: round(wallets / seconds, 0) };
}
