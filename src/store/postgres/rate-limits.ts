import type pg from "pg";
import { RATE_LIMIT_PRUNE_INTERVAL_MS, type RateLimitCount, type RateLimitCounters } from "../rate-limits.js";

/**
 * Rate-limit counters on PostgreSQL, shared by every process and host on the database: one
 * row per key in an UNLOGGED table (no WAL, so no fsync and no replication; the table is
 * emptied after a crash, which only forgives part of a minute), counted by one atomic
 * `INSERT ... ON CONFLICT DO UPDATE ... RETURNING` in its own transaction. Windows follow the
 * database's clock, so hosts whose clocks disagree still agree on when a window ends.
 */

const NOW_MS = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

const ADD = `
  INSERT INTO rate_limit_counters AS c (key, window_end, count)
  SELECT $1, now.ms - now.ms % $2::bigint + $2::bigint, $3::bigint FROM (SELECT ${NOW_MS} AS ms) AS now
  ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN EXCLUDED.window_end > c.window_end THEN EXCLUDED.count ELSE c.count + EXCLUDED.count END,
    window_end = GREATEST(c.window_end, EXCLUDED.window_end)
  RETURNING c.count::float8 AS count, c.window_end::float8 AS window_end, (c.window_end - ${NOW_MS})::float8 AS reset_in_ms`;

const PRUNE = `DELETE FROM rate_limit_counters WHERE window_end <= ${NOW_MS}`;

export class PostgresRateLimits implements RateLimitCounters {
  #nextPruneAt = 0;

  constructor(private readonly pool: pg.Pool) {}

  async add(key: string, windowMs: number, amount: number): Promise<RateLimitCount> {
    const now = Date.now();
    if (now >= this.#nextPruneAt) {
      this.#nextPruneAt = now + RATE_LIMIT_PRUNE_INTERVAL_MS;
      // Housekeeping off the request's path; a failure is retried at the next interval.
      this.pool.query({ name: "rate_limit_prune", text: PRUNE }).catch(() => undefined);
    }
    const result = await this.pool.query<{ count: number; window_end: number; reset_in_ms: number }>({
      name: "rate_limit_add",
      text: ADD,
      values: [key, windowMs, amount],
    });
    const row = result.rows[0];
    if (!row) throw new Error("rate limit upsert returned no row");
    return { before: row.count - amount, windowEnd: row.window_end, resetInMs: Math.max(0, row.reset_in_ms) };
  }

  /** The pool belongs to the store, which ends it. */
  async close(): Promise<void> {}
}
