import { loadConfig } from "./config.js";
import { buildApp } from "./http/app.js";
import { createServices } from "./services/services.js";
import { openStore } from "./store/open.js";

const config = loadConfig();
const store = await openStore(config.databaseUrl);
const services = await createServices(store, config);
const app = await buildApp({ services, config, logger: { level: config.logLevel } });

async function shutdown(signal: string): Promise<void> {
  app.log.info({ signal }, "shutting down");
  // Closing the server first lets requests in flight finish and commit before the store closes.
  await app.close();
  await store.close();
  process.exit(0);
}
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));

await app.listen({ port: config.port, host: config.host });
