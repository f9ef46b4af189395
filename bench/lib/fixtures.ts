import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ROOT } from "./server.js";

/**
 * Data set-up through the project's stable surfaces: the command line (DESIGN 1.6) for tenants
 * and keys, and the HTTP API for wallets, deposits and movements.
 */

const run = promisify(execFile);

/** `npm run -s cli -- ARGS` with DATABASE_URL, parsed (it prints one JSON object). */
export async function cli<T>(databaseUrl: string, args: string[]): Promise<{ code: number; output: T }> {
  try {
    const { stdout } = await run(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, output: JSON.parse(stdout) as T };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code === "number" && failed.stdout) return { code: failed.code, output: JSON.parse(failed.stdout) as T };
    throw new Error(`cli ${args.join(" ")} failed: ${failed.stderr ?? String(error)}`);
  }
}

export interface BenchTenant {
  tenantId: string;
  apiKey: string;
  systemKey: string;
}

/** A tenant with a read+write API key, and a system key for deposits. */
export async function createTenant(databaseUrl: string): Promise<BenchTenant> {
  const tenant = await cli<{ tenant_id: string; api_key: string }>(databaseUrl, ["tenants", "create", "--name", "Bench Casino"]);
  const system = await cli<{ api_key: string }>(databaseUrl, ["system-keys", "create", "--scopes", "deposits"]);
  if (tenant.code !== 0 || system.code !== 0) throw new Error(`could not create the tenant: ${JSON.stringify([tenant, system])}`);
  return { tenantId: tenant.output.tenant_id, apiKey: tenant.output.api_key, systemKey: system.output.api_key };
}

export interface VerifyReport {
  ok: boolean;
  [key: string]: unknown;
}

/** `cli verify`: replays the whole ledger and checks the zero-sum invariant. */
export async function verify(databaseUrl: string): Promise<VerifyReport> {
  return (await cli<VerifyReport>(databaseUrl, ["verify"])).output;
}

export const jsonHeaders = (apiKey: string) => ({ "content-type": "application/json", "x-api-key": apiKey });

/** One JSON request over HTTP; throws unless the status is the expected one. */
export async function request<T = unknown>(baseUrl: string, method: string, path: string, apiKey: string, body?: unknown, expected = 200) {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: jsonHeaders(apiKey),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (response.status !== expected) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return { text, json: JSON.parse(text) as T };
}

/** Reports a confirmed blockchain deposit (system key), to a wallet or to the master account. */
export function deposit(
  baseUrl: string,
  tenant: BenchTenant,
  target: { external_id: string } | { master: true },
  currency: string,
  amount: string,
  txHash: string,
  confirmations = 1000,
) {
  return request(baseUrl, "POST", "/deposits/", tenant.systemKey, {
    tenant_id: tenant.tenantId,
    ...target,
    currency,
    amount,
    tx_hash: txHash,
    confirmations,
  });
}

/** Runs `task` over `items` with at most `limit` in flight. */
export async function inParallel<T>(items: T[], limit: number, task: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
