import { resolve } from "node:path";

/**
 * Where a DATABASE_URL points, fit for a log line: the store's kind and its location, with no
 * secret. A PostgreSQL URL keeps its user, host, port and database and loses its password and
 * its query (which may carry `password=` or key files); an SQLite URL becomes the absolute path.
 */
export function storeLocation(databaseUrl: string): { kind: "sqlite" | "postgres" | "unknown"; location: string } {
  if (databaseUrl.startsWith("sqlite:")) return { kind: "sqlite", location: resolve(databaseUrl.slice("sqlite:".length)) };
  if (/^postgres(ql)?:\/\//.test(databaseUrl) && URL.canParse(databaseUrl)) {
    const url = new URL(databaseUrl);
    url.password = "";
    url.search = "";
    url.hash = "";
    return { kind: "postgres", location: url.href };
  }
  return { kind: "unknown", location: "(unrecognised DATABASE_URL)" };
}
