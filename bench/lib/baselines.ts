import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { createDatabase } from "./database.js";
import { machineBusySeconds, round, waitForQuiet } from "./load.js";
import { log } from "./report.js";

const run = promisify(execFile);

/**
 * What a durable movement costs without our service: SQLite with one commit per movement, and
 * PostgreSQL's own TPC-B (pgbench), both on this machine, in the same run as the HTTP figures.
 */

export interface SqliteBaseline {
  kind: "sqlite one commit per movement";
  movements: number;
  seconds: number;
  perSecond: number;
  /** Mean time of one movement transaction (two UPDATEs, one INSERT, durable COMMIT). */
  meanUs: number;
  /** CPU used by the rest of the machine meanwhile (noise), in cores. */
  otherCores: number;
}

/**
 * A loop of better-sqlite3 transactions on a temporary database with the service's pragmas
 * (WAL, synchronous=FULL, foreign keys), each one movement: UPDATE the master account row,
 * UPDATE a wallet's account row, INSERT the transfer row, COMMIT. The tables mirror the service's
 * accounts and transfers (TEXT counters, the same indexes).
 */
export async function sqliteOneCommitPerMovement(seconds: number, wallets: number): Promise<SqliteBaseline> {
  const database = await createDatabase("sqlite", "baseline");
  const db = new Database(database.name);
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("foreign_keys = ON");
    db.exec(`
      CREATE TABLE accounts (
        seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, tenant_id TEXT NOT NULL, owner_kind TEXT NOT NULL,
        wallet_uuid TEXT, currency TEXT NOT NULL, debits_must_not_exceed_credits INTEGER NOT NULL,
        credits_posted TEXT NOT NULL, debits_posted TEXT NOT NULL, credits_pending TEXT NOT NULL, debits_pending TEXT NOT NULL);
      CREATE UNIQUE INDEX accounts_owner ON accounts (tenant_id, owner_kind, ifnull(wallet_uuid, ''), currency);
      CREATE INDEX accounts_wallet ON accounts (wallet_uuid, seq);
      CREATE TABLE transfers (
        seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, tenant_id TEXT NOT NULL, currency TEXT NOT NULL, flag TEXT NOT NULL,
        debit_account_id TEXT NOT NULL REFERENCES accounts(id), credit_account_id TEXT NOT NULL REFERENCES accounts(id),
        amount TEXT NOT NULL, pending_id TEXT REFERENCES transfers(id), transfer_type TEXT, wallet_uuid TEXT,
        status TEXT NOT NULL, created_at TEXT NOT NULL);
      CREATE INDEX transfers_wallet ON transfers (wallet_uuid, seq) WHERE transfer_type IS NOT NULL;
    `);
    const tenant = randomUUID();
    const insertAccount = db.prepare(
      "INSERT INTO accounts (id, tenant_id, owner_kind, wallet_uuid, currency, debits_must_not_exceed_credits, credits_posted, debits_posted, credits_pending, debits_pending) VALUES (?, ?, ?, ?, 'USDTTRC20', 1, ?, '0', '0', '0')",
    );
    const master = { id: randomUUID(), credits: 10n ** 15n, debits: 0n };
    const accounts = Array.from({ length: wallets }, () => ({ id: randomUUID(), wallet: randomUUID(), credits: 0n, debits: 0n }));
    db.transaction(() => {
      insertAccount.run(master.id, tenant, "master", null, master.credits.toString());
      for (const account of accounts) insertAccount.run(account.id, tenant, "wallet", account.wallet, "0");
    })();
    const update = db.prepare("UPDATE accounts SET credits_posted = ?, debits_posted = ? WHERE id = ?");
    const insertTransfer = db.prepare(
      `INSERT INTO transfers (id, tenant_id, currency, flag, debit_account_id, credit_account_id, amount, pending_id, transfer_type, wallet_uuid, status, created_at)
       VALUES (?, ?, 'USDTTRC20', 'posted', ?, ?, '10000', NULL, ?, ?, 'posted', ?)`,
    );
    const amount = 10_000n;
    const movement = db.transaction((index: number) => {
      const wallet = accounts[index % accounts.length] as (typeof accounts)[number];
      // Each wallet receives, then gives back, then receives...: balances stay non-negative.
      const toUser = Math.floor(index / accounts.length) % 2 === 0;
      const [debit, credit] = toUser ? [master, wallet] : [wallet, master];
      debit.debits += amount;
      credit.credits += amount;
      update.run(debit.credits.toString(), debit.debits.toString(), debit.id);
      update.run(credit.credits.toString(), credit.debits.toString(), credit.id);
      insertTransfer.run(
        randomUUID(),
        tenant,
        debit.id,
        credit.id,
        toUser ? "to_sub" : "to_master",
        wallet.wallet,
        new Date().toISOString(),
      );
    });
    await waitForQuiet();
    log(`baseline: SQLite, one commit per movement, ${seconds} s`);
    const machineBefore = machineBusySeconds();
    const selfBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    const deadline = started + BigInt(seconds) * 1_000_000_000n;
    let movements = 0;
    for (;;) {
      movement.immediate(movements);
      movements += 1;
      if ((movements & 15) === 0 && process.hrtime.bigint() >= deadline) break;
    }
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    const self = process.cpuUsage(selfBefore);
    const others = machineBusySeconds() - machineBefore - (self.user + self.system) / 1e6;
    return {
      otherCores: round(Math.max(0, others) / elapsed, 2),
      kind: "sqlite one commit per movement",
      movements,
      seconds: round(elapsed, 2),
      perSecond: round(movements / elapsed, 0),
      meanUs: round((elapsed / movements) * 1e6, 1),
    };
  } finally {
    db.close();
    await database.drop();
  }
}

export interface PgbenchBaseline {
  kind: "pgbench TPC-B";
  command: string;
  scale: number;
  tps: number;
  latencyMs: number | null;
  transactions: number | null;
}

/** `pgbench -i -s SCALE` on a fresh database, then the default TPC-B script; parses the tps. */
export async function pgbenchTpcB(options: { scale: number; clients: number; threads: number; seconds: number }): Promise<PgbenchBaseline> {
  const database = await createDatabase("postgres", "pgbench");
  const pgbench = process.env.PGBENCH ?? "pgbench";
  try {
    log(`baseline: pgbench -i -s ${options.scale}`);
    await run(pgbench, ["-i", "-q", "-s", String(options.scale), database.url], { maxBuffer: 64 * 1024 * 1024 });
    await waitForQuiet();
    const args = ["-c", String(options.clients), "-j", String(options.threads), "-T", String(options.seconds), "-M", "prepared"];
    log(`baseline: pgbench ${args.join(" ")}`);
    const { stdout } = await run(pgbench, [...args, database.url], { maxBuffer: 64 * 1024 * 1024 });
    const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout)?.[1];
    if (!tps) throw new Error(`could not read pgbench's tps from:\n${stdout}`);
    const latency = /latency average = ([\d.]+) ms/.exec(stdout)?.[1];
    const transactions = /number of transactions actually processed: (\d+)/.exec(stdout)?.[1];
    return {
      kind: "pgbench TPC-B",
      command: `pgbench -i -s ${options.scale}; pgbench ${args.join(" ")}`,
      scale: options.scale,
      tps: round(Number(tps), 0),
      latencyMs: latency ? Number(latency) : null,
      transactions: transactions ? Number(transactions) : null,
    };
  } finally {
    await database.drop();
  }
}
