import cluster from "node:cluster";
import Fastify from "fastify";

/**
 * The balance benchmark's baseline: a bare Fastify server with one POST route that answers the
 * exact JSON body the real POST /wallets/balances/ returns for the benchmark wallet (BARE_BODY),
 * with none of the real work (no authentication, no rate limit, no validation, no database).
 * Fastify's default JSON body parser still parses the request, and the answer is serialized on
 * every request, as the real route's is. WORKERS=N runs N cluster workers, like src/main.ts.
 */

const body = JSON.parse(process.env.BARE_BODY ?? "null") as unknown;
if (body === null) throw new Error("BARE_BODY must hold the JSON body to answer");
const port = Number(process.env.PORT ?? "3001");
const host = process.env.HOST ?? "127.0.0.1";
const workers = Number(process.env.WORKERS ?? "1");

if (workers > 1 && cluster.isPrimary) {
  for (let index = 0; index < workers; index += 1) cluster.fork();
  const stop = () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
} else {
  const app = Fastify({ logger: false, routerOptions: { ignoreTrailingSlash: true } });
  app.post("/wallets/balances/", async () => body);
  const shutdown = async () => {
    await app.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown());
  process.once("SIGINT", () => void shutdown());
  await app.listen({ port, host });
}
