import type { PrefetchRequest, Store, WriteTx } from "../store/store.js";
import { AppError } from "./errors.js";

/**
 * Idempotency-Key support for every mutating request. The first result is stored in the same
 * transaction as its effect, so a crash can never leave an effect without its record or a
 * record without its effect. A repeat with the same request replays the stored result; another
 * request under the same key, or a repeat while the first is in flight, is a conflict.
 * Failed requests store nothing: they changed nothing, so running them again is safe.
 */

export interface Once {
  /** Whose keys these are: a tenant id, or "system". */
  scope: string;
  key: string;
  /** Hash of what was asked (route and body): a repeat must match it. */
  fingerprint: string;
}

export interface Written<T> {
  value: T;
  replayed: boolean;
}

export class Idempotency {
  readonly #inFlight = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly retentionMs: number,
  ) {}

  /** Runs work in a store transaction, at most once per key when `once` is given. */
  async write<T>(once: Once | undefined, work: (tx: WriteTx) => Promise<T>, prefetch?: PrefetchRequest): Promise<Written<T>> {
    if (!once) return { value: await this.store.write(work, prefetch), replayed: false };
    const slot = `${once.scope}\u0000${once.key}`;
    if (this.#inFlight.has(slot)) throw inFlight();
    this.#inFlight.add(slot);
    try {
      return await this.store.write((tx) => this.#writeOnce(tx, once, work), prefetch);
    } finally {
      this.#inFlight.delete(slot);
    }
  }

  /** Forgets up to `limit` records whose retention ended before `now`; returns how many. */
  forgetExpired(now: string, limit: number): Promise<number> {
    return this.store.deleteExpiredIdempotencyRecords(now, limit);
  }

  async #writeOnce<T>(tx: WriteTx, once: Once, work: (tx: WriteTx) => Promise<T>): Promise<Written<T>> {
    const now = new Date();
    const prior = await tx.findIdempotencyRecord(once.scope, once.key);
    if (prior && prior.expiresAt > now.toISOString()) {
      if (prior.fingerprint !== once.fingerprint) {
        throw new AppError("conflict", "This Idempotency-Key was already used for a different request", { idempotency_key: once.key });
      }
      return { value: decodeResult(prior.result) as T, replayed: true };
    }
    const value = await work(tx);
    const saved = await tx.saveIdempotencyRecord({
      ...once,
      result: encodeResult(value),
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.retentionMs).toISOString(),
    });
    // Another process committed the same key while this one worked: its effect stands, this
    // one is rolled back with the error.
    if (!saved) throw inFlight();
    return { value, replayed: false };
  }
}

const inFlight = () => new AppError("conflict", "A request with this Idempotency-Key is still in flight; retry later", {});

/** JSON that keeps bigints exact: results hold money. */
export function encodeResult(value: unknown): string {
  return JSON.stringify(value, (_key, item) => (typeof item === "bigint" ? { $bigint: item.toString() } : item));
}

export function decodeResult(text: string): unknown {
  return JSON.parse(text, (_key, item) =>
    item !== null && typeof item === "object" && typeof item.$bigint === "string" && Object.keys(item).length === 1
      ? BigInt(item.$bigint)
      : item,
  );
}
