import { randomBytes, randomUUID } from "node:crypto";
import Database from "better-sqlite3";
import pg from "pg";
import { openStore } from "../../src/store/open.js";
import type { AccountKey, AccountRecord, WriteTx } from "../../src/store/store.js";
import { round } from "./load.js";
import { log } from "./report.js";

/**
 * Bulk-loads wallets for the scale benchmark, not through the API: each wallet is inserted and
 * credited by a confirmed deposit from the tenant's chain account, written the way the deposit
 * service writes one (wallet row, wallet account opened, both accounts saved with their version
 * raised, a posted transfer of type "deposit", a confirmed deposit row), so balances, histories
 * and `verify` are all real. Not written: the balance event the deposit service also appends to
 * its outbox (events table) for webhooks and live streams; balance reads never look at it.
 */

export const BULK_CURRENCY = "USDTTRC20";
/** 100.00 USDTTRC20 (6 decimals) per wallet. */
export const BULK_AMOUNT = 100_000_000n;
/** The group committer's largest batch: one chunk is one SQLite transaction. */
const CHUNK = 8190;
const SQL_CHUNK = 100_000;

export const externalIdOf = (index: number) => `player-${index}`;

/** `w_` and 16 base-36 characters from 80 random bits, as the wallet service makes them. */
const newWalletId = () =>
  `w_${BigInt(`0x${randomBytes(10).toString("hex")}`)
    .toString(36)
    .padStart(16, "0")}`;

export interface LoadStats {
  method: "store" | "sql";
  wallets: number;
  seconds: number;
  walletsPerSecond: number;
}

/** Wallets [from, to) through Store.write(), CHUNK work items at a time (group-committed). */
export async function loadThroughStore(databaseUrl: string, tenantId: string, from: number, to: number): Promise<LoadStats> {
  const store = await openStore(databaseUrl);
  const started = process.hrtime.bigint();
  try {
    const chain: AccountKey = { tenantId, ownerKind: "chain", walletUuid: null, currency: BULK_CURRENCY };
    let lastLog = Date.now();
    for (let start = from; start < to; start += CHUNK) {
      const end = Math.min(to, start + CHUNK);
      const chunk: Promise<void>[] = [];
      for (let index = start; index < end; index += 1) chunk.push(store.write((tx) => depositWallet(tx, tenantId, chain, index)));
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

async function depositWallet(tx: WriteTx, tenantId: string, chainKey: AccountKey, index: number): Promise<void> {
  const now = new Date().toISOString();
  const wallet = {
    id: randomUUID(),
    walletId: newWalletId(),
    tenantId,
    name: `Player ${index}`,
    externalId: externalIdOf(index),
    createdAt: now,
    updatedAt: now,
  };
  if ((await tx.insertWallet(wallet)) !== "inserted") throw new Error(`wallet ${wallet.externalId} already exists`);
  const walletKey: AccountKey = { tenantId, ownerKind: "wallet", walletUuid: wallet.id, currency: BULK_CURRENCY };
  const [chain, account] = await tx.openAccounts([chainKey, walletKey]);
  if (!chain || !account) throw new Error("the store opened fewer accounts than asked");
  // Every change raises an account's version, as the movement code does.
  const debited: AccountRecord = { ...chain, debitsPosted: chain.debitsPosted + BULK_AMOUNT, version: chain.version + 1 };
  const credited: AccountRecord = { ...account, creditsPosted: account.creditsPosted + BULK_AMOUNT, version: account.version + 1 };
  await tx.saveAccounts([debited, credited]);
  const transferId = randomUUID();
  await tx.insertTransfer({
    id: transferId,
    tenantId,
    currency: BULK_CURRENCY,
    flag: "posted",
    debitAccountId: chain.id,
    creditAccountId: account.id,
    amount: BULK_AMOUNT,
    pendingId: null,
    transferType: "deposit",
    walletUuid: wallet.id,
    status: "posted",
    createdAt: now,
    reference: null,
    roundId: null,
  });
  await tx.saveDeposit({
    id: randomUUID(),
    tenantId,
    walletUuid: wallet.id,
    currency: BULK_CURRENCY,
    txHash: `bulk-${index}`,
    amount: BULK_AMOUNT,
    confirmations: 1000,
    status: "confirmed",
    transferId,
    createdAt: now,
    updatedAt: now,
  });
}

/**
 * Wallets [from, to) with plain SQL on a connection of our own, SQL_CHUNK per transaction,
 * producing the same rows as loadThroughStore (random UUIDs, a 16-character lower-case
 * wallet_id, the same names, external ids, amounts, transfer and deposit rows) and debiting the
 * chain account by the total. Needs the chain account: load some wallets through the store first.
 */
export function loadWithSql(databaseUrl: string, tenantId: string, from: number, to: number): Promise<LoadStats> {
  if (databaseUrl.startsWith("sqlite:")) return loadSqliteWithSql(databaseUrl.slice("sqlite:".length), tenantId, from, to);
  return loadPostgresWithSql(databaseUrl, tenantId, from, to);
}

/** SQLite: prepared INSERTs in big transactions (the server's pragmas, and a large page cache). */
async function loadSqliteWithSql(file: string, tenantId: string, from: number, to: number): Promise<LoadStats> {
  const db = new Database(file);
  const started = process.hrtime.bigint();
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("foreign_keys = ON");
    db.pragma("busy_timeout = 5000");
    db.pragma("cache_size = -1048576");
    const chain = db
      .prepare("SELECT id, debits_posted FROM accounts WHERE tenant_id = ? AND owner_kind = 'chain' AND currency = ?")
      .get(tenantId, BULK_CURRENCY) as { id: string; debits_posted: string } | undefined;
    if (!chain) throw new Error("no chain account yet: load some wallets through the store first");
    const insertWallet = db.prepare(
      "INSERT INTO wallets (id, wallet_id, tenant_id, name, external_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    const insertAccount = db.prepare(
      `INSERT INTO accounts (id, tenant_id, owner_kind, wallet_uuid, currency, debits_must_not_exceed_credits,
         credits_posted, debits_posted, credits_pending, debits_pending, version) VALUES (?, ?, 'wallet', ?, ?, 1, ?, '0', '0', '0', 1)`,
    );
    const insertTransfer = db.prepare(
      `INSERT INTO transfers (id, tenant_id, currency, flag, debit_account_id, credit_account_id, amount, pending_id,
         transfer_type, wallet_uuid, status, created_at) VALUES (?, ?, ?, 'posted', ?, ?, ?, NULL, 'deposit', ?, 'posted', ?)`,
    );
    const insertDeposit = db.prepare(
      `INSERT INTO deposits (id, tenant_id, wallet_uuid, currency, tx_hash, amount, confirmations, status, transfer_id, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, 1000, 'confirmed', ?, ?, ?)`,
    );
    const debitChain = db.prepare("UPDATE accounts SET debits_posted = ?, version = version + ? WHERE id = ?");
    const amount = BULK_AMOUNT.toString();
    let debits = BigInt(chain.debits_posted);
    const chunk = db.transaction((start: number, end: number) => {
      for (let index = start; index < end; index += 1) {
        const now = new Date().toISOString();
        const walletUuid = randomUUID();
        const accountId = randomUUID();
        const transferId = randomUUID();
        insertWallet.run(walletUuid, newWalletId(), tenantId, `Player ${index}`, externalIdOf(index), now, now);
        insertAccount.run(accountId, tenantId, walletUuid, BULK_CURRENCY, amount);
        insertTransfer.run(transferId, tenantId, BULK_CURRENCY, chain.id, accountId, amount, walletUuid, now);
        insertDeposit.run(randomUUID(), tenantId, walletUuid, BULK_CURRENCY, `bulk-${index}`, amount, transferId, now, now);
      }
      debits += BULK_AMOUNT * BigInt(end - start);
      debitChain.run(debits.toString(), end - start, chain.id);
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
 * PostgreSQL: set-based SQL (generate_series). Ends with VACUUM ANALYZE, as autovacuum would
 * after such a load.
 */
async function loadPostgresWithSql(databaseUrl: string, tenantId: string, from: number, to: number): Promise<LoadStats> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const started = process.hrtime.bigint();
  try {
    const chain = await client.query("SELECT id FROM accounts WHERE tenant_id = $1 AND owner_kind = 'chain' AND currency = $2", [
      tenantId,
      BULK_CURRENCY,
    ]);
    const chainId = chain.rows[0]?.id as string | undefined;
    if (!chainId) throw new Error("no chain account yet: load some wallets through the store first");
    for (let start = from; start < to; start += SQL_CHUNK) {
      const end = Math.min(to, start + SQL_CHUNK);
      await client.query("BEGIN");
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
         SELECT account_id, $1, 'wallet', wallet_uuid, $2, true, $3, 0, 0, 0, 1 FROM bulk ORDER BY i`,
        [tenantId, BULK_CURRENCY, BULK_AMOUNT.toString()],
      );
      await client.query(
        `INSERT INTO transfers (id, tenant_id, currency, flag, debit_account_id, credit_account_id, amount, pending_id,
           transfer_type, wallet_uuid, status, created_at)
         SELECT transfer_id, $1, $2, 'posted', $3, account_id, $4, NULL, 'deposit', wallet_uuid, 'posted', at FROM bulk ORDER BY i`,
        [tenantId, BULK_CURRENCY, chainId, BULK_AMOUNT.toString()],
      );
      await client.query(
        `INSERT INTO deposits (id, tenant_id, wallet_uuid, currency, tx_hash, amount, confirmations, status, transfer_id, created_at, updated_at)
         SELECT deposit_id, $1, wallet_uuid, $2, 'bulk-' || i, $3, 1000, 'confirmed', transfer_id, at, at FROM bulk ORDER BY i`,
        [tenantId, BULK_CURRENCY, BULK_AMOUNT.toString()],
      );
      await client.query("UPDATE accounts SET debits_posted = debits_posted + $1, version = version + $2 WHERE id = $3", [
        (BULK_AMOUNT * BigInt(end - start)).toString(),
        end - start,
        chainId,
      ]);
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

function stats(method: "store" | "sql", wallets: number, started: bigint): LoadStats {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { method, wallets, seconds: round(seconds, 1), walletsPerSecond: round(wallets / seconds, 0) };
}
