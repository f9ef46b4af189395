import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import pg from "pg";
import { type Config, loadConfig } from "../src/config.js";
import { buildApp } from "../src/http/app.js";
import { createRuntime, type Runtime } from "../src/runtime.js";
import type { Services } from "../src/services/services.js";
import type { Store } from "../src/store/store.js";
import { Contract, installStrictResponses } from "./contract.js";

/**
 * Test harness: a real app on a real store in a fresh temporary database, driven through
 * Fastify's inject (the whole HTTP stack: parsing, validation, auth, error mapping).
 * TEST_STORE=postgres runs the same suites against a fresh PostgreSQL database each.
 */

export const TEST_STORE = process.env.TEST_STORE === "postgres" ? "postgres" : "sqlite";
export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A new, empty database of the store under test, and how to remove it. */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (TEST_STORE === "sqlite") {
    const directory = mkdtempSync(join(tmpdir(), "wallet-test-"));
    return { url: `sqlite:${join(directory, "wallet.db")}`, drop: async () => rmSync(directory, { recursive: true, force: true }) };
  }
  const name = `wallet_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const dropper = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await dropper.connect();
      await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await dropper.end();
    },
  };
}

/** Runs SQL straight against a test database, behind the service's back (for tampering tests). */
export async function rawQuery(databaseUrl: string, sql: string, parameters: unknown[] = []): Promise<Record<string, unknown>[]> {
  if (databaseUrl.startsWith("sqlite:")) {
    const db = new Database(databaseUrl.slice("sqlite:".length));
    try {
      const statement = db.prepare(sql.replace(/\$\d+/g, "?"));
      if (statement.reader) return statement.all(...parameters) as Record<string, unknown>[];
      statement.run(...parameters);
      return [];
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(sql, parameters)).rows;
  } finally {
    await client.end();
  }
}

export interface Tenant {
  tenantId: string;
  apiKey: string;
  clientId: string;
  clientSecret: string;
}

export interface TestApp {
  app: FastifyInstance;
  services: Services;
  /** The composition root's store, for tests that look at it or tamper with it behind the use cases. */
  store: Store;
  config: Config;
  databaseUrl: string;
  tenant: Tenant;
  systemKey: string;
  newTenant(name?: string): Promise<Tenant>;
  close(): Promise<void>;
}

export async function startApp(overrides: Partial<Config> = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const databaseUrl = database.url;
  const config = { ...loadConfig({}), databaseUrl, ...overrides };
  const { app, runtime } = await startServer(config);
  const { services, store } = runtime;
  const offContract = installStrictResponses(app);
  const newTenant = (name = "Test Casino") => services.credentials.createTenant(name);
  const tenant = await newTenant();
  const systemKey = (await services.credentials.createSystemKey(["deposits"])).apiKey;
  return {
    app,
    services,
    store,
    config,
    databaseUrl,
    tenant,
    systemKey,
    newTenant,
    async close() {
      await app.close();
      // Every test file ends with a ledger that verifies, history reconciling with balances
      // included: a use case that wrote a wrong row fails the file that made it.
      const verified = await services.verify();
      await runtime.close();
      await database.drop();
      if (!verified.ok) throw new Error(`the ledger does not verify after this test file: ${JSON.stringify(verified.problems)}`);
      if (offContract.length > 0) throw new Error(`answers off their schemas in this test file:\n${offContract.join("\n")}`);
    },
  };
}

/**
 * The server as main.ts assembles it, on `config`: the composition root, the app on its use
 * cases, and the workers started with the app's logger and metrics. Close the app, then the
 * runtime.
 */
export async function startServer(config: Config): Promise<{ app: FastifyInstance; runtime: Runtime }> {
  const runtime = await createRuntime(config);
  const app = await buildApp({ services: runtime.services, config });
  runtime.start({ log: app.log, onDeliveryAttempt: app.metrics.webhookAttempt });
  return { app, runtime };
}

export interface CallOptions {
  key?: string;
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface CallResult {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers.
  body: any;
  /** The body as sent, byte for byte, when `call` made the request: what a replay must repeat. */
  text?: string;
  headers: LightMyRequestResponse["headers"];
}

export async function call(app: FastifyInstance, method: string, url: string, options: CallOptions = {}): Promise<CallResult> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key !== undefined) headers["x-api-key"] = options.key;
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const payload = options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body);
  if (payload !== undefined && headers["content-type"] === undefined) headers["content-type"] = "application/json";
  const response = await app.inject({ method: method as "GET", url, headers, ...(payload === undefined ? {} : { payload }) });
  // Every answer the HTTP suites receive is checked against the OpenAPI document: its status,
  // media type and body (closed: no property the document does not name).
  const contentType = response.headers["content-type"];
  const problem = Contract.of(app).problem({
    method,
    url,
    status: response.statusCode,
    contentType: typeof contentType === "string" ? contentType : undefined,
    body: response.body,
  });
  if (problem) assert.fail(`the answer is off the OpenAPI document: ${problem}`);
  const text = response.body;
  return { status: response.statusCode, body: text === "" ? undefined : JSON.parse(text), text, headers: response.headers };
}

export async function createWallet(test: TestApp, externalId: string, name = `Player ${externalId}`, key = test.tenant.apiKey) {
  const response = await call(test.app, "POST", "/wallets/", { key, body: { name, external_id: externalId } });
  if (response.status !== 201) throw new Error(`wallet creation failed: ${JSON.stringify(response.body)}`);
  return response.body as { id: string; wallet_id: string; external_id: string; name: string };
}

export interface DepositInput {
  tenantId?: string;
  externalId?: string;
  walletId?: string;
  master?: boolean;
  currency: string;
  amount: string | number;
  txHash: string;
  confirmations: number;
  status?: "confirmed" | "dropped";
}

export function deposit(test: TestApp, input: DepositInput) {
  return call(test.app, "POST", "/deposits/", {
    key: test.systemKey,
    body: {
      tenant_id: input.tenantId ?? test.tenant.tenantId,
      ...(input.externalId === undefined ? {} : { external_id: input.externalId }),
      ...(input.walletId === undefined ? {} : { wallet_id: input.walletId }),
      ...(input.master === undefined ? {} : { master: input.master }),
      currency: input.currency,
      amount: input.amount,
      tx_hash: input.txHash,
      confirmations: input.confirmations,
      ...(input.status === undefined ? {} : { status: input.status }),
    },
  });
}

export function balances(test: TestApp, ids: { wallet_id?: string; external_id?: string }, key = test.tenant.apiKey) {
  return call(test.app, "POST", "/wallets/balances/", { key, body: ids });
}

/** Funds the tenant's master account through a confirmed deposit. */
export async function fundMaster(test: TestApp, currency: string, amount: string, txHash: string) {
  const response = await deposit(test, { master: true, currency, amount, txHash, confirmations: 1_000 });
  if (response.status !== 200) throw new Error(`master deposit failed: ${JSON.stringify(response.body)}`);
}

/** Asserts the contract's error envelope (DESIGN 1.1) with this status and code; returns `details`. */
export function assertError(response: CallResult, status: number, code: string): Record<string, unknown> {
  assert.equal(response.status, status, `expected ${status} ${code}, got ${response.status} ${JSON.stringify(response.body)}`);
  assert.equal(typeof response.body, "object", "an error answer has a JSON body");
  assert.ok(response.body !== null, "an error answer has a JSON body");
  assert.deepEqual(Object.keys(response.body), ["error"], "the body holds only `error`");
  const error = response.body.error;
  assert.deepEqual(Object.keys(error).sort(), ["code", "details", "message"], "error has exactly code, message, details");
  assert.equal(error.code, code);
  assert.equal(typeof error.message, "string");
  assert.ok(error.message.length > 0, "message is not empty");
  assert.equal(typeof error.details, "object");
  assert.ok(error.details !== null && !Array.isArray(error.details), "details is an object");
  assert.match(String(response.headers["content-type"]), /^application\/json/);
  return error.details;
}
