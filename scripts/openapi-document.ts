import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../src/config.js";
import { buildApp } from "../src/http/app.js";
import { createServices } from "../src/services/services.js";
import { openStore } from "../src/store/open.js";

/**
 * The OpenAPI document without a server or a database of anyone's: the app is built on a
 * temporary SQLite store with the default settings, asked for its document (`app.swagger()`,
 * what GET /openapi.json answers), and thrown away. Used by `npm run sdk:generate` and the
 * test that keeps sdk/schema.d.ts fresh.
 */
export async function buildOpenApiDocument(): Promise<Record<string, unknown>> {
  const directory = mkdtempSync(join(tmpdir(), "wallet-openapi-"));
  try {
    const config = { ...loadConfig({}), databaseUrl: `sqlite:${join(directory, "wallet.db")}` };
    const store = await openStore(config.databaseUrl);
    try {
      const services = await createServices(store, config);
      const app = await buildApp({ services, config });
      try {
        await app.ready();
        return JSON.parse(JSON.stringify(app.swagger())) as Record<string, unknown>;
      } finally {
        await app.close();
      }
    } finally {
      await store.close();
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
