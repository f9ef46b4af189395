import type { FastifyBaseLogger } from "fastify";
import type { Config } from "./config.js";
import type { InvariantError } from "./ledger/assert.js";
import { createServices, type Services, webhookTargetOptions } from "./services/services.js";
import { Sweeper } from "./services/sweeper.js";
import { DEFAULT_DISPATCHER_OPTIONS, type DispatcherOptions, WebhookDispatcher } from "./services/webhook-dispatcher.js";
import { openStore } from "./store/open.js";
import type { DeliveryOutcome, Store } from "./store/store.js";

/**
 * The composition root: the one place that builds the store, the use cases on it and the
 * background workers (the sweeper of expired holds and idempotency keys, the webhook
 * dispatcher), and the one place that closes them, in order. The server (main.ts) starts the
 * workers once its HTTP layer is built; the command line builds the same root and never starts
 * them, so a command runs the very use cases the server runs, on the same store.
 */

/** Where the workers log: the HTTP layer's logger in the server. */
export type WorkerLog = Pick<FastifyBaseLogger, "error" | "warn" | "fatal">;

/** What the server hands the workers when it starts them. */
export interface WorkerHooks {
  log: WorkerLog;
  /** Told the outcome of every webhook delivery attempt (the HTTP layer's metrics count them). */
  onDeliveryAttempt?: (outcome: DeliveryOutcome) => void;
}

export interface RuntimeOptions {
  /**
   * What a broken invariant in a worker does. The default logs it as fatal and ends the process
   * with status 70 (EX_SOFTWARE), as the HTTP layer does: a program that broke its own rules
   * must not go on writing to the ledger. Tests replace it to watch it happen.
   */
  onInvariantBroken?: (error: InvariantError, log: WorkerLog) => void;
}

const exitOnInvariantBroken = (error: InvariantError, log: WorkerLog) => {
  log.fatal({ err: error }, "ledger invariant broken in a background worker; stopping");
  process.exit(70);
};

export class Runtime {
  #workers: { sweeper: Sweeper; dispatcher: WebhookDispatcher } | undefined;
  #closed: Promise<void> | undefined;

  constructor(
    /** The store the use cases run on; outside this file only tests that tamper with it reach it. */
    readonly store: Store,
    readonly services: Services,
    private readonly config: Config,
    private readonly options: RuntimeOptions = {},
  ) {}

  /** Whether the background workers run. */
  get started(): boolean {
    return this.#workers !== undefined;
  }

  /** Starts the background workers; once only, and never after `close`. */
  start(hooks: WorkerHooks): void {
    if (this.#workers || this.#closed) return;
    const onInvariantBroken = (error: InvariantError) => (this.options.onInvariantBroken ?? exitOnInvariantBroken)(error, hooks.log);
    const sweeper = new Sweeper((now) => this.services.sweep(now), this.config.sweepIntervalMs, hooks.log, onInvariantBroken);
    const dispatcher = new WebhookDispatcher(
      this.store,
      this.services.events.render,
      { ...dispatcherOptions(this.config), ...(hooks.onDeliveryAttempt ? { onAttempt: hooks.onDeliveryAttempt } : {}) },
      hooks.log,
      onInvariantBroken,
    );
    this.#workers = { sweeper, dispatcher };
    sweeper.start();
    dispatcher.start();
  }

  /**
   * Stops the workers, waiting for a sweep or deliveries in flight, then closes the store. The
   * server calls it after its HTTP layer has closed, so requests in flight commit first. Calling
   * it again returns the same promise.
   */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    const workers = this.#workers;
    this.#workers = undefined;
    if (workers) await Promise.all([workers.sweeper.stop(), workers.dispatcher.stop()]);
    await this.store.close();
  }
}

/** Opens the store named by `config.databaseUrl` (migrating it) and builds the use cases on it. */
export async function createRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const store = await openStore(config.databaseUrl);
  try {
    return new Runtime(store, await createServices(store, config), config, options);
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** Brings the database's schema up to date, and nothing else: a cluster's primary does it once for its workers. */
export async function migrate(config: Pick<Config, "databaseUrl">): Promise<void> {
  await (await openStore(config.databaseUrl)).close();
}

function dispatcherOptions(config: Config): DispatcherOptions {
  return {
    ...DEFAULT_DISPATCHER_OPTIONS,
    pollIntervalMs: config.webhookPollIntervalMs,
    backoffBaseMs: config.webhookBackoffBaseMs,
    retryWindowMs: config.webhookRetryHours * 3_600_000,
    timeoutMs: config.webhookTimeoutMs,
    targets: webhookTargetOptions(config),
  };
}
