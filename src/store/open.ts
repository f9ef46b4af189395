import { PostgresStore } from "./postgres/store.js";
import { SqliteStore } from "./sqlite/store.js";
import type { Store } from "./store.js";

/** Picks the store from DATABASE_URL: `sqlite:PATH` (the default) or `postgres://...`. */
export async function openStore(databaseUrl: string): Promise<Store> {
  if (databaseUrl.startsWith("sqlite:")) return new SqliteStore(databaseUrl.slice("sqlite:".length));
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) return PostgresStore.open(databaseUrl);
  throw new Error(`unsupported DATABASE_URL: ${databaseUrl.replace(/\/\/[^@]*@/, "//***@")}`);
}
