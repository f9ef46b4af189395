import cluster from "node:cluster";
import { loadConfig } from "./config.js";
import { buildApp } from "./http/app.js";
import { createServices } from "./services/services.js";
import { openStore } from "./store/open.js";

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
  await (await openStore(config.databaseUrl)).close();
  let stopping = false;
  for (let index = 0; index < count; index += 1) cluster.fork();
  cluster.on("exit", (worker, code, signal) => {
    if (stopping) return;
    console.error(JSON.stringify({ level: "error", msg: "worker exited; starting another", pid: worker.process.pid, code, signal }));
    setTimeout(() => cluster.fork(), RESTART_DELAY_MS);
  });
  const stop = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

async function runServer(): Promise<void> {
  const store = await openStore(config.databaseUrl);
  const services = await createServices(store, config);
  const app = await buildApp({ services, config, logger: { level: config.logLevel } });
  const shutdown = async (signal: string) => {
    app.log.info({ signal }, "shutting down");
    // Closing the server first lets requests in flight finish and commit before the store closes.
    await app.close();
    await store.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
  await app.listen({ port: config.port, host: config.host });
}
