import type { FastifyBaseLogger } from "fastify";
import type { ClaimedDelivery, DeliveryOutcome, Store } from "../store/store.js";
import { signature } from "./webhooks.js";

/**
 * Sends queued webhook deliveries, in every process. Each due delivery is leased in the
 * database before sending, so processes never send one twice at once; a delivery is done on a
 * 2xx answer and otherwise retried with exponential backoff until the retry window (24 h by
 * default) has passed. Everything lives in the database, so a restart loses nothing: at worst a
 * delivery whose answer was lost with the process is sent again, hence the stable event id.
 */

export interface DispatcherOptions {
  pollIntervalMs: number;
  backoffBaseMs: number;
  maxBackoffMs: number;
  retryWindowMs: number;
  timeoutMs: number;
  leaseMs: number;
  batchSize: number;
}

export const DEFAULT_DISPATCHER_OPTIONS: DispatcherOptions = {
  pollIntervalMs: 1000,
  backoffBaseMs: 10_000,
  maxBackoffMs: 3_600_000,
  retryWindowMs: 24 * 3_600_000,
  timeoutMs: 5000,
  leaseMs: 60_000,
  batchSize: 50,
};

export class WebhookDispatcher {
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: Promise<() => void> | undefined;
  #running: Promise<void> | undefined;
  #again = false;

  constructor(
    private readonly store: Store,
    private readonly options: DispatcherOptions,
    private readonly log: Pick<FastifyBaseLogger, "warn" | "error">,
  ) {}

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.tick(), this.options.pollIntervalMs);
    this.#timer.unref();
    // New events are worth sending at once rather than at the next poll.
    this.#unsubscribe = this.store.onEventsCommitted(() => void this.tick());
    this.#unsubscribe.catch((error: unknown) => this.log.error({ err: error }, "cannot listen for new events; polling only"));
  }

  /** Stops polling and waits for deliveries in flight, so none is left leased by a closed process. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    void this.#unsubscribe?.then(
      (unsubscribe) => unsubscribe(),
      () => undefined,
    );
    this.#unsubscribe = undefined;
    await this.#running;
  }

  /** Sends every delivery that is due now; overlapping calls fold into one more round. */
  tick(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#round().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #round(): Promise<void> {
    try {
      do {
        this.#again = false;
        const now = Date.now();
        const due = await this.store.claimDueDeliveries(
          new Date(now).toISOString(),
          new Date(now + this.options.leaseMs).toISOString(),
          this.options.batchSize,
        );
        await Promise.all(due.map((delivery) => this.#deliver(delivery)));
        if (due.length === this.options.batchSize) this.#again = true;
      } while (this.#again);
    } catch (error) {
      this.log.error({ err: error }, "webhook dispatch failed; the next poll retries");
    }
  }

  async #deliver(delivery: ClaimedDelivery): Promise<void> {
    const sentAt = Date.now();
    const answer = await send(delivery, sentAt, this.options.timeoutMs);
    const attempts = delivery.attempts + 1;
    const outcome: DeliveryOutcome = answer.ok
      ? {
          status: "delivered",
          attempts,
          nextAttemptAt: new Date(sentAt).toISOString(),
          lastStatusCode: answer.statusCode,
          lastError: null,
          deliveredAt: new Date().toISOString(),
        }
      : this.#retryOrGiveUp(delivery, attempts, answer);
    if (!answer.ok)
      this.log.warn({ eventId: delivery.eventId, url: delivery.url, attempts, error: answer.error }, "webhook delivery failed");
    await this.store.finishDeliveryAttempt(delivery.eventId, delivery.endpointId, outcome);
  }

  #retryOrGiveUp(delivery: ClaimedDelivery, attempts: number, answer: Answer): DeliveryOutcome {
    const backoffMs = Math.min(this.options.backoffBaseMs * 2 ** (attempts - 1), this.options.maxBackoffMs);
    // Jitter spreads the retries of many deliveries that failed together.
    const next = Date.now() + backoffMs * (0.8 + Math.random() * 0.4);
    const expired = next > Date.parse(delivery.createdAt) + this.options.retryWindowMs;
    return {
      status: expired ? "failed" : "pending",
      attempts,
      nextAttemptAt: new Date(next).toISOString(),
      lastStatusCode: answer.statusCode,
      lastError: answer.error,
      deliveredAt: null,
    };
  }
}

interface Answer {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
}

const MAX_ERROR_LENGTH = 500;

async function send(delivery: ClaimedDelivery, sentAt: number, timeoutMs: number): Promise<Answer> {
  try {
    const response = await fetch(delivery.url, {
      method: "POST",
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
      headers: {
        "content-type": "application/json",
        "user-agent": "casino-wallet-webhooks/1",
        "x-event-id": delivery.eventId,
        "x-event-type": delivery.eventType,
        "x-signature": signature(delivery.secret, Math.floor(sentAt / 1000), delivery.payload),
      },
      body: delivery.payload,
    });
    await response.body?.cancel();
    const ok = response.status >= 200 && response.status < 300;
    return { ok, statusCode: response.status, error: ok ? null : `HTTP ${response.status}` };
  } catch (error) {
    return { ok: false, statusCode: null, error: (error instanceof Error ? error.message : String(error)).slice(0, MAX_ERROR_LENGTH) };
  }
}
