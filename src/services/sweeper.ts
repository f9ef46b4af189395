import type { FastifyBaseLogger } from "fastify";
import { InvariantError } from "../ledger/assert.js";

/**
 * Applies what time decides, in every process, every `intervalMs`: the sweep use case
 * (`Services.sweep`) expires holds past their timeout and forgets idempotency keys past their
 * retention. Both are database state, so a restart loses nothing and several processes sweeping
 * at once is safe (each expiry re-checks under a lock). A failed sweep is logged and retried by
 * the next one, except a broken invariant, which stops the process.
 */
export class Sweeper {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;

  constructor(
    private readonly sweep: (now: string) => Promise<number>,
    private readonly intervalMs: number,
    private readonly log: Pick<FastifyBaseLogger, "error">,
    private readonly onInvariantBroken: (error: InvariantError) => void,
  ) {}

  start(): void {
    if (this.intervalMs <= 0 || this.#timer) return;
    this.#timer = setInterval(() => void this.run(), this.intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer and waits for a sweep in flight, so none outlives the store it writes to. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** One sweep now, unless one is running; returns how many holds it expired. */
  run(): Promise<number> {
    if (this.#running) return Promise.resolve(0);
    this.#running = this.#sweepOnce().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #sweepOnce(): Promise<number> {
    try {
      return await this.sweep(new Date().toISOString());
    } catch (error) {
      if (error instanceof InvariantError) this.onInvariantBroken(error);
      else this.log.error({ err: error }, "sweep failed; the next one will retry");
      return 0;
    }
  }
}
