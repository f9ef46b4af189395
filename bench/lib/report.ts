import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { ROOT } from "./server.js";

/** Command-line flags, the machine description, and how results are printed and kept. */

export interface Flag {
  type: "string" | "boolean";
  default?: string | boolean;
  description: string;
}

export function flags<T extends Record<string, Flag>>(scenario: string, spec: T): { [K in keyof T]: string } & { json: boolean } {
  const options = Object.fromEntries(Object.entries(spec).map(([name, flag]) => [name, { type: flag.type }]));
  const values = parseArgs<ParseArgsConfig>({
    args: process.argv.slice(2),
    options: { ...options, help: { type: "boolean" }, json: { type: "boolean" } } as ParseArgsConfig["options"],
    strict: true,
  }).values as Record<string, string | boolean | undefined>;
  if (values.help) {
    const lines = Object.entries(spec).map(
      ([name, flag]) => `  --${name.padEnd(14)} ${flag.description} (default: ${flag.default ?? "none"})`,
    );
    console.log(`usage: npm run bench:${scenario} -- [flags]\n${lines.join("\n")}\n  --json           print only the JSON result`);
    process.exit(0);
  }
  const result: Record<string, unknown> = { json: values.json === true };
  for (const [name, flag] of Object.entries(spec)) result[name] = String(values[name] ?? flag.default ?? "");
  return result as { [K in keyof T]: string } & { json: boolean };
}

export function positiveInteger(text: string, name: string): number {
  const value = Number(text.replace(/_/g, ""));
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got ${text}`);
  return value;
}

export function storeKind(text: string): "sqlite" | "postgres" {
  if (text === "sqlite" || text === "postgres") return text;
  throw new Error(`--store must be sqlite or postgres, got ${text}`);
}

export interface Machine {
  commit: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  postgres: string;
  sqlite: string;
  kernel: string;
}

export function machine(): Machine {
  const modelLine = readFileSync("/proc/cpuinfo", "utf8")
    .split("\n")
    .find((line) => line.startsWith("model name"));
  const dirty = command("git", ["-C", ROOT, "status", "--porcelain", "--", "src"]);
  return {
    commit:
      process.env.BENCH_COMMIT ??
      `${command("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"])}${dirty ? " + uncommitted src changes" : ""}`,
    cpus: cpus().length,
    cpuModel: modelLine?.split(":")[1]?.trim() ?? "unknown",
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    postgres: command("psql", ["-X", "-A", "-t", "-h", "127.0.0.1", "-U", "postgres", "-c", "SHOW server_version"]),
    sqlite: sqliteVersion(),
    kernel: command("uname", ["-r"]),
  };
}

function command(file: string, args: string[]): string {
  try {
    return execFileSync(file, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unavailable";
  }
}

function sqliteVersion(): string {
  try {
    return execFileSync(
      process.execPath,
      ["-e", "const D=require('better-sqlite3');const d=new D(':memory:');console.log(d.prepare('select sqlite_version() v').get().v)"],
      { cwd: ROOT, encoding: "utf8" },
    ).trim();
  } catch {
    return "unavailable";
  }
}

/** Progress goes to stderr, so stdout holds only the result. */
export const log = (message: string) => console.error(`[bench] ${message}`);

export function markdownTable(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** Prints the result (markdown then JSON, or JSON only) and keeps the JSON in BENCH_RESULTS_DIR. */
export function publish(scenario: string, json: boolean, result: object, markdown: string): void {
  const directory = process.env.BENCH_RESULTS_DIR ?? join(tmpdir(), "wallet-bench-results");
  mkdirSync(directory, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const file = join(directory, `${scenario}-${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  if (!json) console.log(`${markdown}\n`);
  console.log(JSON.stringify(result, null, json ? 0 : 2));
  log(`result kept in ${file}`);
}

export const verdict = (met: boolean) => (met ? "met" : "MISSED");
