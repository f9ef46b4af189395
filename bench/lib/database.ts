import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { onCleanup } from "./cleanup.js";

/** Fresh, throw-away databases for one benchmark run, on this machine only. */

export type StoreKind = "sqlite" | "postgres";

export const POSTGRES_ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface BenchDatabase {
  kind: StoreKind;
  /** DATABASE_URL for the server and the CLI. */
  url: string;
  /** The SQLite file, or the PostgreSQL database name. */
  name: string;
  drop(): Promise<void>;
}

/** Benchmarks only ever talk to this machine. */
export function assertLocal(url: string): void {
  const host = new URL(url).hostname;
  if (host !== "127.0.0.1" && host !== "localhost") throw new Error(`benchmarks only target 127.0.0.1, not ${host}`);
}

export async function adminQuery(sql: string): Promise<void> {
  assertLocal(POSTGRES_ADMIN_URL);
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export function postgresUrl(database: string): string {
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

/** A new empty database; dropped by `drop()` or, failing that, when the run ends. */
export async function createDatabase(kind: StoreKind, label: string): Promise<BenchDatabase> {
  if (kind === "sqlite") {
    const directory = mkdtempSync(join(tmpdir(), `wallet-bench-${label}-`));
    const file = join(directory, "wallet.db");
    const drop = onCleanup(() => rmSync(directory, { recursive: true, force: true }));
    return { kind, url: `sqlite:${file}`, name: file, drop };
  }
  const name = `wallet_bench_${label.replace(/[^a-z0-9]/g, "_")}_${randomBytes(4).toString("hex")}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const drop = onCleanup(() => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  return { kind, url: postgresUrl(name), name, drop };
}
