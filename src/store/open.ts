import { SqliteStore } from "./sqlite/sqlite-store.js";
import type { Store } from "./store.js";

/** Picks the store from DATABASE_URL: `sqlite:PATH` (the default) or `postgres://...`. */
export async function openStore(databaseUrl: string): Promise<Store> {
  if (databaseUrl.startsWith("sqlite:")) return new SqliteStore(databaseUrl.slice("sqlite:".length));
  throw new Error(`unsupported DATABASE_URL: ${databaseUrl.replace(/\/\/[^@]*@/, "//***@")}`);
}
