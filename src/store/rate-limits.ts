/**
 * Request counters for rate limiting, shared by every process (and host) using one database.
 * They need no durability: a counter lost in a crash only forgives the rest of one window.
 */

export interface RateLimitCount {
  /** The key's count in the current window before this call added to it. */
  before: number;
  /** When the current window ends, in the counter's clock (milliseconds since the epoch). */
  windowEnd: number;
  /** Milliseconds until the window ends. */
  resetInMs: number;
}

export interface RateLimitCounters {
  /**
   * Atomically adds `amount` to the key's count in the current fixed window of `windowMs`
   * (windows start at multiples of `windowMs` since the epoch; the first call of a new window
   * starts it from zero) and returns the count as it was before. Counts every request asked
   * for, refused or not: the caller grants `min(amount, max(0, limit - before))`.
   */
  add(key: string, windowMs: number, amount: number): Promise<RateLimitCount>;
  close(): Promise<void>;
}

/** Counters of windows that have ended are deleted at most this often, by each process. */
export const RATE_LIMIT_PRUNE_INTERVAL_MS = 60_000;
