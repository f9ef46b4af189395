import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { urlToHttpOptions } from "node:url";
import type { FastifyBaseLogger } from "fastify";
import { InvariantError } from "../ledger/assert.js";
import type { ClaimedDelivery, DeliveryOutcome, ListedEvent, Store } from "../store/store.js";
import { TargetRefusedError, type WebhookTargetOptions, WebhookTargetPolicy } from "./webhook-targets.js";
import { signature } from "./webhooks.js";

/**
 * Sends queued webhook deliveries, in every process. Each due delivery is leased in the
 * database before sending, so processes never send one twice at once; a delivery is done on a
 * 2xx answer and otherwise retried with exponential backoff until the retry window (24 h by
 * default) has passed. Everything lives in the database, so a restart loses nothing: at worst a
 * delivery whose answer was lost with the process is sent again, hence the stable event id.
 * A failed round is logged and retried by the next poll, except a broken invariant, which stops
 * the process.
 */

export interface DispatcherOptions {
  pollIntervalMs: number;
  backoffBaseMs: number;
  maxBackoffMs: number;
  retryWindowMs: number;
  timeoutMs: number;
  leaseMs: number;
  batchSize: number;
  /** Which targets may be contacted; checked again at every delivery (webhook-targets.ts). */
  targets: WebhookTargetOptions;
  /** Told the outcome of every attempt (metrics count failures and finished deliveries). */
  onAttempt?: (outcome: DeliveryOutcome) => void;
}

export const DEFAULT_DISPATCHER_OPTIONS: DispatcherOptions = {
  pollIntervalMs: 1000,
  backoffBaseMs: 10_000,
  maxBackoffMs: 3_600_000,
  retryWindowMs: 24 * 3_600_000,
  timeoutMs: 5000,
  leaseMs: 60_000,
  batchSize: 50,
  targets: { allowHttp: false, allowedTargets: [] },
};

export class WebhookDispatcher {
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: Promise<() => void> | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  readonly #targets: WebhookTargetPolicy;

  constructor(
    private readonly store: Store,
    /** The event's JSON, rendered as streams render it (EventService.render). */
    private readonly render: (event: ListedEvent) => string,
    private readonly options: DispatcherOptions,
    private readonly log: Pick<FastifyBaseLogger, "warn" | "error">,
    private readonly onInvariantBroken: (error: InvariantError) => void,
  ) {
    this.#targets = new WebhookTargetPolicy(options.targets);
  }

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
      if (error instanceof InvariantError) this.onInvariantBroken(error);
      else this.log.error({ err: error }, "webhook dispatch failed; the next poll retries");
    }
  }

  async #deliver(delivery: ClaimedDelivery): Promise<void> {
    const sentAt = Date.now();
    const answer = await send(delivery, this.render(delivery.event), sentAt, this.options.timeoutMs, this.#targets);
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
    this.options.onAttempt?.(outcome);
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

/**
 * One POST with node:http(s) rather than fetch, because only `request()` lets us hand the socket
 * our own `lookup`: the host is resolved at connection time, every address is checked, and the
 * socket connects only to a checked one, so a name that passed at registration cannot rebind to
 * an internal address later. An IP-literal host is checked before connecting (Node does not call
 * `lookup` for literals). No agent: each delivery resolves afresh and no pooled socket outlives
 * its check. Redirects are not followed; a 3xx is a failed attempt like any other non-2xx.
 */
async function send(
  delivery: ClaimedDelivery,
  payload: string,
  sentAt: number,
  timeoutMs: number,
  targets: WebhookTargetPolicy,
): Promise<Answer> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const url = targets.checkDeliveryUrl(delivery.url);
    const status = await new Promise<number>((resolve, reject) => {
      const request = (url.protocol === "https:" ? httpsRequest : httpRequest)(
        {
          ...urlToHttpOptions(url),
          method: "POST",
          agent: false,
          lookup: targets.lookup,
          signal,
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(payload),
            "user-agent": "casino-wallet-webhooks/1",
            "x-event-id": delivery.eventId,
            "x-event-type": delivery.eventType,
            "x-signature": signature(delivery.secret, Math.floor(sentAt / 1000), payload),
          },
        },
        (response) => {
          // The answer is its status; the body is read and thrown away (the timeout still bounds it).
          response.on("error", () => undefined);
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      );
      request.on("error", reject);
      request.end(payload);
    });
    const ok = status >= 200 && status < 300;
    return { ok, statusCode: status, error: ok ? null : `HTTP ${status}` };
  } catch (error) {
    const message = signal.aborted && !(error instanceof TargetRefusedError) ? `timed out after ${timeoutMs} ms` : errorText(error);
    return { ok: false, statusCode: null, error: message.slice(0, MAX_ERROR_LENGTH) };
  }
}

function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  // Socket errors say little without their code ("connect ECONNREFUSED 127.0.0.1:9" has it already).
  return typeof code === "string" && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
}
