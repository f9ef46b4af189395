import cluster from "node:cluster";
import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import { AggregatorRegistry, Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Config } from "../config.js";
import { AppError } from "../services/errors.js";
import type { Services } from "../services/services.js";
import { withTimeout } from "../store/operator.js";
import type { DeliveryOutcome, EventType } from "../store/store.js";
import { bearerMatches, type MetricsListener, startMetricsListener } from "./metrics-listener.js";
import { RequestMetrics } from "./request-metrics.js";

/**
 * Prometheus metrics (prom-client), one registry per app: tests build several apps in one
 * process, and each must count only its own traffic. What is counted where:
 * - HTTP requests and their duration, by method, route pattern and status: an onResponse hook.
 * - Group commit: items per transaction and its latency, observed through the store's commit
 *   observer (the store knows nothing of Prometheus); the queue depth is read at scrape time.
 * - Movements and events by type, when their transaction has committed (so a refused or rolled
 *   back movement never counts).
 * - Live event-stream clients, the webhook backlog and the database pool: read at scrape time.
 * - Webhook delivery attempts that failed, and deliveries done or given up: the dispatcher.
 * - Process metrics: prom-client's defaults (CPU, memory, event loop lag, GC, handles).
 */

declare module "fastify" {
  interface FastifyInstance {
    metrics: Metrics;
  }
}

type MetricsConfig = Pick<Config, "metricsToken" | "metricsPort" | "metricsHost">;

/**
 * The movement each event type stands for; other events resolve or report movements already
 * counted (deposit.released posts a deposit held when it was confirmed), or are about
 * safer-gambling controls and move nothing (limits.*, limit.reached, exclusion.*).
 */
const MOVEMENT_OF_EVENT: Partial<Record<EventType, string>> = {
  "transfer.posted": "transfer",
  "bet.placed": "bet",
  "win.credited": "win",
  "rollback.applied": "rollback",
  "hold.placed": "hold",
  "withdrawal.requested": "withdrawal",
  "deposit.confirmed": "deposit",
};

const SCRAPE_QUERY_TIMEOUT_MS = 1000;
const SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8190];

export class Metrics {
  readonly registry = new Registry();
  /** The separate listener (METRICS_PORT) while the app runs. */
  listener: MetricsListener | undefined;
  readonly #http: RequestMetrics;
  readonly #movements;
  readonly #events;
  readonly #webhookFailures;
  readonly #webhookDeliveries;
  /** Stops observing the store's commits (the store may outlive this app). */
  readonly close: () => void;

  /**
   * @param processMetrics prom-client's process metrics watch GC and the event loop from the
   *   moment they are made, so they are made only when the metrics can be read.
   */
  constructor(services: Services, processMetrics: boolean, onScrapeError: (error: unknown) => void) {
    const registers = [this.registry];
    const { operator } = services;
    // A Counter and a Histogram by method, route pattern and status, counted apart from prom-client (request-metrics.ts).
    this.#http = new RequestMetrics(
      this.registry,
      { requests: "wallet_http_requests_total", duration: "wallet_http_request_duration_seconds" },
      {
        requests: "HTTP requests answered, by method, route pattern and status",
        duration: "Time from receiving a request to finishing its answer, by method, route pattern and status",
      },
      SECONDS_BUCKETS,
    );
    const commitItems = new Histogram({
      name: "wallet_commit_items",
      help: "Pieces of work (movements, bookkeeping writes) per group-committed database transaction",
      buckets: BATCH_BUCKETS,
      registers,
    });
    const commitDuration = new Histogram({
      name: "wallet_commit_duration_seconds",
      help: "Time to run and commit one group-committed database transaction",
      buckets: SECONDS_BUCKETS,
      registers,
    });
    new Gauge({
      name: "wallet_commit_queue_depth",
      help: "Pieces of work waiting for the next database transaction",
      registers,
      collect() {
        this.set(operator.commitStats.queued);
      },
    });
    this.#movements = new Counter({
      name: "wallet_movements_total",
      help: "Committed money movements by type (deposits when confirmed)",
      labelNames: ["type"] as const,
      registers,
    });
    for (const type of Object.values(MOVEMENT_OF_EVENT)) this.#movements.inc({ type }, 0);
    this.#events = new Counter({
      name: "wallet_events_total",
      help: "Committed balance events by type",
      labelNames: ["type"] as const,
      registers,
    });
    new Gauge({
      name: "wallet_event_stream_clients",
      help: "Open live event streams (GET /wallets/events/) in this process",
      registers,
      collect() {
        this.set(services.events.streams.stats().streams);
      },
    });
    new Gauge({
      name: "wallet_webhook_deliveries_pending",
      help: "Webhook deliveries waiting to be sent or retried (the whole database)",
      // Every process reads the same database: aggregated across a cluster, one value is the value.
      aggregator: "max",
      registers,
      async collect() {
        try {
          this.set(await withTimeout(operator.pendingDeliveries(), SCRAPE_QUERY_TIMEOUT_MS, "the database did not answer in time"));
        } catch (error) {
          onScrapeError(error);
          this.set(Number.NaN);
        }
      },
    });
    this.#webhookFailures = new Counter({
      name: "wallet_webhook_delivery_failures_total",
      help: "Webhook delivery attempts that failed (no answer, or not 2xx)",
      registers,
    });
    this.#webhookDeliveries = new Counter({
      name: "wallet_webhook_deliveries_total",
      help: "Webhook deliveries finished: delivered, or given up after the retry window",
      labelNames: ["outcome"] as const,
      registers,
    });
    for (const outcome of ["delivered", "given_up"]) this.#webhookDeliveries.inc({ outcome }, 0);
    new Gauge({
      name: "wallet_db_pool_connections",
      help: "Database pool connections by state: total, idle, and requests waiting for one (PostgreSQL only)",
      labelNames: ["state"] as const,
      registers,
      collect() {
        const use = operator.poolUse();
        if (!use) return;
        this.set({ state: "total" }, use.total);
        this.set({ state: "idle" }, use.idle);
        this.set({ state: "waiting" }, use.waiting);
      },
    });
    if (processMetrics) collectDefaultMetrics({ register: this.registry });

    this.close = operator.observeCommits({
      commitFinished: (items, seconds) => {
        commitItems.observe(items);
        commitDuration.observe(seconds);
      },
      eventsCommitted: (types) => {
        for (const type of types) {
          this.#events.inc({ type });
          const movement = MOVEMENT_OF_EVENT[type as EventType];
          if (movement) this.#movements.inc({ type: movement });
        }
      },
    });
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.#http.observe(method, route, status, seconds);
  }

  /** The dispatcher's report of one attempt. */
  readonly webhookAttempt = (outcome: DeliveryOutcome): void => {
    if (outcome.status === "delivered") this.#webhookDeliveries.inc({ outcome: "delivered" });
    else this.#webhookFailures.inc();
    if (outcome.status === "failed") this.#webhookDeliveries.inc({ outcome: "given_up" });
  };

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/**
 * Counts every request (call it before any route) and opens the separate listener when
 * METRICS_PORT is set; `metricsRoutes` serves them on the main port behind METRICS_TOKEN.
 * With neither setting, metrics are counted but not served.
 */
export function installMetrics(app: FastifyInstance, services: Services, config: MetricsConfig): Metrics {
  const served = config.metricsPort !== undefined || config.metricsToken !== undefined;
  const metrics = new Metrics(services, served, (error) => app.log.warn({ err: error }, "a metric could not be read for this scrape"));
  app.decorate("metrics", metrics);
  app.addHook("onClose", async () => metrics.close());
  app.addHook("onResponse", async (request, reply) => {
    const route = request.is404 ? "unmatched" : (request.routeOptions.url ?? "unmatched");
    metrics.observeRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });

  const { metricsPort, metricsHost, metricsToken } = config;
  if (metricsPort === undefined) return metrics;
  if (cluster.isWorker) {
    // The cluster's primary serves the port and asks every worker for its registry (main.ts).
    new AggregatorRegistry();
    AggregatorRegistry.setRegistries([metrics.registry]);
    return metrics;
  }
  // On ready rather than on listen: a port already taken then stops the start instead of a log line.
  app.addHook("onReady", async () => {
    metrics.listener = await startMetricsListener({
      host: metricsHost,
      port: metricsPort,
      token: metricsToken,
      render: () => metrics.render(),
      onError: (error) => app.log.error({ err: error }, "metrics could not be rendered"),
    });
    app.log.info({ url: metrics.listener.url }, "metrics listener started");
  });
  app.addHook("onClose", async () => {
    await metrics.listener?.close();
    metrics.listener = undefined;
  });
  return metrics;
}

/** GET /metrics on the main port, when METRICS_TOKEN is set and METRICS_PORT is not. */
export const metricsRoutes: FastifyPluginAsync = async (app) => {
  const { metricsToken: token, metricsPort } = app.config;
  if (token === undefined || metricsPort !== undefined) return;
  app.get("/metrics", { config: { rateLimit: false }, logLevel: "warn" }, async (request, reply) => {
    if (!bearerMatches(request.headers.authorization, token)) {
      void reply.header("www-authenticate", 'Bearer realm="metrics"');
      throw new AppError("unauthorized", "Metrics need Authorization: Bearer <METRICS_TOKEN>");
    }
    const { contentType, body } = await app.metrics.render();
    return reply.header("cache-control", "no-store").type(contentType).send(body);
  });
};
