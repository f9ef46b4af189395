import type { RateLimitCounters } from "../store/rate-limits.js";

/**
 * Rate limits shared by every process and host on the database, without a database round trip
 * per request. Each key is counted in fixed windows by a shared counter (the store's
 * `rateLimits`); a process leases tokens from it in chunks of `leaseSize(max)` =
 * max(1, floor(max / 1000)) and hands them out locally until its chunk is spent, then leases
 * again. Requests that wait while a lease is in flight are folded into it (one lease asks for
 * max(chunk, requests waiting)), so a process has one round trip in flight per key.
 *
 * The bound, per key and window of a limit N:
 * - never more than N requests pass, whatever the number of processes and hosts: the counter
 *   grants tokens atomically and never past N, and a chunk is spent only in the window it was
 *   leased for. It expires locally at the send time of its lease plus the time the counter said
 *   was left, never later than the window's end whatever the offset between the clocks of the
 *   process and of the counter (the counter's clock alone places the windows).
 * - when more than N are asked for, at least N - P * (chunk - 1) pass, P being the processes
 *   that served the key: each can end the window with at most chunk - 1 leased tokens unspent,
 *   since a lease is asked only by requests that take its first tokens (only a lease returning
 *   in the last instant of its window can leave more). That is at most 0.1% of N left unused
 *   per process, within 1% for up to 10 processes, and exactly N below N = 2000, where the
 *   chunk is one token and every request is counted in the database.
 * Once the counter is exhausted for a window, a process refuses the key's requests locally
 * until the window ends, without asking the database again.
 */

/** How many tokens a process leases at a time under a limit of `max` per window. */
export const leaseSize = (max: number) => Math.max(1, Math.floor(max / 1000));

export interface RateLimitDecision {
  /** Requests of the key in this window as far as this process knows, this one included; above max when refused. */
  current: number;
  /** Milliseconds until the window ends (at least 1). */
  ttlMs: number;
}

interface Bucket {
  /** When the tokens of this window stop being spent, in this process's clock. */
  windowEnd: number;
  /** The window of the last lease, in the counter's clock; 0 before the first. */
  counterWindowEnd: number;
  /** Tokens granted to all processes as of the last lease (spent or not). */
  granted: number;
  /** Leased tokens not handed out yet. */
  pool: number;
  /** The counter has granted every token of the window. */
  exhausted: boolean;
  /** Requests of this process waiting for a lease: the size of the next one. */
  waiting: number;
  lease: Promise<void> | undefined;
}

const SWEEP_INTERVAL_MS = 60_000;

export class SharedRateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  #nextSweepAt = 0;

  constructor(
    private readonly counters: RateLimitCounters,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * `take`, answered at once when this process holds a leased token or knows the window is
   * spent: all but one request in `leaseSize(max)` then cost no promise and no microtask.
   */
  takeNow(key: string, windowMs: number, max: number): RateLimitDecision | Promise<RateLimitDecision> {
    const window = Math.max(1, Math.trunc(windowMs));
    const now = this.clock();
    this.#sweep(now);
    const bucket = this.#bucket(key, now, window);
    if (bucket.pool > 0) {
      bucket.pool -= 1;
      return { current: bucket.granted - bucket.pool, ttlMs: Math.max(1, bucket.windowEnd - now) };
    }
    if (bucket.exhausted) return { current: max + 1, ttlMs: Math.max(1, bucket.windowEnd - now) };
    return this.take(key, windowMs, max);
  }

  /** Takes one request of `key` under `max` per `windowMs`: admitted when `current <= max`. */
  async take(key: string, windowMs: number, max: number): Promise<RateLimitDecision> {
    const window = Math.max(1, Math.trunc(windowMs));
    this.#sweep(this.clock());
    for (;;) {
      const now = this.clock();
      const bucket = this.#bucket(key, now, window);
      const ttlMs = Math.max(1, bucket.windowEnd - now);
      if (bucket.pool > 0) {
        bucket.pool -= 1;
        return { current: bucket.granted - bucket.pool, ttlMs };
      }
      if (bucket.exhausted) return { current: max + 1, ttlMs };
      bucket.waiting += 1;
      try {
        if (bucket.lease === undefined) {
          const lease = this.#lease(key, bucket, window, max);
          bucket.lease = lease.finally(() => {
            bucket.lease = undefined;
          });
        }
        await bucket.lease;
      } finally {
        bucket.waiting -= 1;
      }
    }
  }

  /** The key's bucket for this window; a new one once the last has expired and nothing is in flight. */
  #bucket(key: string, now: number, windowMs: number): Bucket {
    let bucket = this.#buckets.get(key);
    if (bucket === undefined || (bucket.windowEnd <= now && bucket.lease === undefined)) {
      bucket = { windowEnd: now + windowMs, counterWindowEnd: 0, granted: 0, pool: 0, exhausted: false, waiting: 0, lease: undefined };
      this.#buckets.set(key, bucket);
    }
    return bucket;
  }

  async #lease(key: string, bucket: Bucket, windowMs: number, max: number): Promise<void> {
    const want = Math.max(leaseSize(max), bucket.waiting);
    const sentAt = this.clock();
    const count = await this.counters.add(key, windowMs, want);
    const granted = Math.min(want, Math.max(0, max - count.before));
    if (count.windowEnd !== bucket.counterWindowEnd) {
      // The first lease of this bucket, or the window turned while its last lease was spent.
      bucket.counterWindowEnd = count.windowEnd;
      bucket.exhausted = false;
      bucket.pool = 0;
    }
    bucket.windowEnd = sentAt + count.resetInMs;
    bucket.granted = count.before + granted;
    bucket.pool += granted;
    // Every token of the window is granted (to this process or others): refuse locally from here on.
    if (bucket.granted >= max) bucket.exhausted = true;
  }

  /** Forgets the buckets of windows that have ended, once a minute: keys come and go. */
  #sweep(now: number): void {
    if (now < this.#nextSweepAt) return;
    this.#nextSweepAt = now + SWEEP_INTERVAL_MS;
    for (const [key, bucket] of this.#buckets) {
      if (bucket.windowEnd <= now && bucket.lease === undefined && bucket.waiting === 0) this.#buckets.delete(key);
    }
  }
}
