import cluster from "node:cluster";
import { hostname } from "node:os";
import { AggregatorRegistry } from "prom-client";
import { type Config, loadConfig } from "./config.js";
import { buildApp } from "./http/app.js";
import { startMetricsListener } from "./http/metrics-listener.js";
import { createRuntime, migrate } from "./runtime.js";
import { storeLocation } from "./store/location.js";

/**
 * Starts the server. With WORKERS=N above 1 the primary process migrates the database once,
 * then runs N workers sharing the port (node cluster) and replaces any that dies. Workers hold
 * no state that matters for correctness: the database decides every balance change.
 */

const RESTART_DELAY_MS = 1000;
const config = loadConfig();
const workers = Number(process.env.WORKERS ?? "1");
if (!Number.isSafeInteger(workers) || workers < 1 || workers > 64) throw new Error(`WORKERS must be 1..64, got ${process.env.WORKERS}`);

if (workers > 1 && cluster.isPrimary) await runPrimary(workers);
else await runServer();

async function runPrimary(count: number): Promise<void> {
  // Migrating here, once, keeps N workers from racing to create the schema.
  await migrate(config);
  let stopping = false;
  // With METRICS_PORT the primary serves /metrics for all its workers, summed (metrics.ts).
  const aggregator = config.metricsPort === undefined ? undefined : new AggregatorRegistry();
  const metricsListener =
    aggregator &&
    (await startMetricsListener({
      host: config.metricsHost,
      port: config.metricsPort ?? 0,
      token: config.metricsToken,
      render: async () => ({ contentType: aggregator.contentType, body: await aggregator.clusterMetrics() }),
      onError: (error) => primaryLog(50, "metrics could not be gathered from the workers", { err: String(error) }),
    }));
  for (let index = 0; index < count; index += 1) cluster.fork();
  primaryLog(30, "wallet service started", { ...startupDetails(config, config.port), workers: count, metrics: metricsListener?.url });
  cluster.on("exit", (worker, code, signal) => {
    if (stopping) return;
    console.error(JSON.stringify({ level: "error", msg: "worker exited; starting another", pid: worker.process.pid, code, signal }));
    setTimeout(() => cluster.fork(), RESTART_DELAY_MS);
  });
  const stop = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
    void metricsListener?.close();
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

async function runServer(): Promise<void> {
  const runtime = await createRuntime(config);
  const app = await buildApp({ services: runtime.services, config, logger: { level: config.logLevel } });
  const shutdown = async (signal: string) => {
    app.log.info({ signal }, "shutting down");
    // Closing the server first lets requests in flight finish and commit before the workers
    // stop and the store closes.
    await app.close();
    await runtime.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
  await app.listen({ port: config.port, host: config.host });
  runtime.start({ log: app.log, onDeliveryAttempt: app.metrics.webhookAttempt });
  if (cluster.isPrimary) {
    const address = app.server.address();
    const port = typeof address === "object" && address !== null ? address.port : config.port;
    app.log.info({ ...startupDetails(config, port), metrics: app.metrics.listener?.url }, "wallet service started");
  }
}

/** What an operator wants to see at start: where to go, and which database it uses (never a password). */
function startupDetails(config: Config, port: number) {
  const host =
    config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  return { url, dashboard: `${url}/dashboard/`, store: storeLocation(config.databaseUrl) };
}

/** The primary has no Fastify logger; its lines have pino's shape, so one parser reads every line. */
function primaryLog(level: number, msg: string, details: object): void {
  const line = { level, time: Date.now(), pid: process.pid, hostname: hostname(), ...details, msg };
  (level >= 50 ? process.stderr : process.stdout).write(`${JSON.stringify(line)}\n`);
}
