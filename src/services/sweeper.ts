import type { FastifyBaseLogger } from "fastify";
import type { Services } from "./services.js";

const SWEEP_BATCH = 500;

/**
 * Applies what time decides, in every process: expires holds past their timeout and forgets
 * idempotency keys past their retention. Both are database state, so a restart loses nothing
 * and several processes sweeping at once is safe (each expiry re-checks under a lock).
 */
export class Sweeper {
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(
    private readonly services: Services,
    private readonly intervalMs: number,
    private readonly log: Pick<FastifyBaseLogger, "error">,
  ) {}

  start(): void {
    if (this.intervalMs <= 0 || this.#timer) return;
    this.#timer = setInterval(() => void this.sweep(), this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One pass; returns how many holds it expired. */
  async sweep(): Promise<number> {
    if (this.#running) return 0;
    this.#running = true;
    try {
      const now = new Date().toISOString();
      const expired = await this.services.store.listExpiredHolds(now, SWEEP_BATCH);
      const results = await Promise.all(expired.map((hold) => this.services.holds.expire(hold.tenantId, hold.id)));
      await this.services.store.deleteExpiredIdempotencyRecords(now, SWEEP_BATCH);
      return results.filter(Boolean).length;
    } catch (error) {
      this.log.error({ err: error }, "sweep failed; the next one will retry");
      return 0;
    } finally {
      this.#running = false;
    }
  }
}
