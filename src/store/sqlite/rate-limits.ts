import { rmSync } from "node:fs";
import Database from "better-sqlite3";
import { assert } from "../../ledger/assert.js";
import { RATE_LIMIT_PRUNE_INTERVAL_MS, type RateLimitCount, type RateLimitCounters } from "../rate-limits.js";

/**
 * Rate-limit counters of the embedded store, in their own database file next to the ledger's
 * (`wallet.db.rate-limits`), shared by every process that opens the same ledger (WORKERS > 1).
 * A separate file because counting must never queue behind the ledger's writer, which holds the
 * write lock for a whole group-committed batch and syncs every commit (synchronous=FULL); here
 * commits are not synced at all (synchronous=OFF): a crash of the machine can lose the last
 * counts, which only forgives part of a minute. Each count is one atomic upsert with RETURNING
 * in its own transaction, so processes never read-modify-write over each other.
 *
 * Windows are read from this process's clock: the processes sharing a SQLite file run on one
 * machine and so share one clock. A process whose clock were behind would still count into the
 * newer window it finds stored, never reset it.
 */

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS rate_limit_counters (
    key TEXT PRIMARY KEY,
    window_end INTEGER NOT NULL,
    count INTEGER NOT NULL
  ) WITHOUT ROWID`;

const ADD = `
  INSERT INTO rate_limit_counters (key, window_end, count) VALUES (@key, @windowEnd, @amount)
  ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN excluded.window_end > window_end THEN excluded.count ELSE count + excluded.count END,
    window_end = max(window_end, excluded.window_end)
  RETURNING count, window_end`;

/** A file damaged by a machine crash is thrown away: it holds nothing worth keeping. */
const DISPOSABLE = new Set(["SQLITE_CORRUPT", "SQLITE_NOTADB"]);

function open(file: string): Database.Database {
  const db = new Database(file);
  try {
    db.pragma("busy_timeout = 5000");
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = OFF");
    db.exec(SCHEMA);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

interface Opened {
  db: Database.Database;
  add: Database.Statement<{ key: string; windowEnd: number; amount: number }, { count: number; window_end: number }>;
  prune: Database.Statement<[number]>;
}

export class SqliteRateLimits implements RateLimitCounters {
  /** Opened on first use: the command line and the cluster's primary never count requests. */
  #opened: Opened | undefined;
  #nextPruneAt = 0;

  constructor(readonly file: string) {}

  #open(): Opened {
    let db: Database.Database;
    try {
      db = open(this.file);
    } catch (error) {
      if (!DISPOSABLE.has((error as { code?: string }).code ?? "")) throw error;
      for (const suffix of ["", "-wal", "-shm"]) rmSync(`${this.file}${suffix}`, { force: true });
      db = open(this.file);
    }
    this.#opened = { db, add: db.prepare(ADD), prune: db.prepare("DELETE FROM rate_limit_counters WHERE window_end <= ?") };
    return this.#opened;
  }

  async add(key: string, windowMs: number, amount: number): Promise<RateLimitCount> {
    const opened = this.#opened ?? this.#open();
    const now = Date.now();
    if (now >= this.#nextPruneAt) {
      this.#nextPruneAt = now + RATE_LIMIT_PRUNE_INTERVAL_MS;
      opened.prune.run(now);
    }
    const windowEnd = now - (now % windowMs) + windowMs;
    const row = opened.add.get({ key, windowEnd, amount });
    assert(row !== undefined, "the rate limit upsert returns its row");
    return { before: row.count - amount, windowEnd: row.window_end, resetInMs: Math.max(0, row.window_end - now) };
  }

  async close(): Promise<void> {
    this.#opened?.db.close();
    this.#opened = undefined;
  }
}
