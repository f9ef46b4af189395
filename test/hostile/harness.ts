import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import type { Config } from "../../src/config.js";
import { HTTP_STATUS } from "../../src/http/errors.js";
import { CredentialService } from "../../src/services/credentials.js";
import { ERROR_CODES, type ErrorCode } from "../../src/services/errors.js";
import { Contract } from "../contract.js";
import { type CallResult, call, createWallet, deposit, fundMaster, startApp, TEST_STORE, type TestApp } from "../helpers.js";
import {
  CATEGORIES,
  type Category,
  type Credential,
  type Fixture,
  type FixtureWallet,
  generate,
  type HostileRequest,
  keyedPlan,
} from "./generator.js";

/**
 * The hostile-input run shared by test/http/hostile.test.ts and scripts/fuzz.ts: an app on a
 * fresh database with a setup phase of real resources, a snapshot of everything a request could
 * change, the generated requests sent through inject, and the checks of every answer (DESIGN
 * 1.1: no 5xx, the error envelope, a 4xx) and of the state afterwards (unchanged, verify ok).
 */

const CURRENCY = "USDTTRC20";

/** What the app under test is configured with: webhooks to the local receiver, fast retries. */
export const HOSTILE_CONFIG: Partial<Config> = {
  webhookAllowHttp: true,
  webhookAllowedTargets: ["127.0.0.1/32"],
  webhookPollIntervalMs: 50,
  webhookBackoffBaseMs: 50,
  // Small enough that an over-limit batch stays a cheap request.
  batchBodyLimitBytes: 256 * 1024,
};

export interface HostileContext {
  test: TestApp;
  fixture: Fixture;
  /** Every wallet of the tenant, funded or not (the snapshot reads each). */
  allWallets: FixtureWallet[];
  otherTenantId: string;
  close(): Promise<void>;
}

/** A local webhook receiver on 127.0.0.1 that answers 200 to everything. */
async function startReceiver(): Promise<{ url: string; received: () => number; close(): Promise<void> }> {
  let count = 0;
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      count += 1;
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    received: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function expectStatus(response: CallResult, status: number, what: string): CallResult {
  if (response.status !== status) throw new Error(`setup: ${what} answered ${response.status} ${JSON.stringify(response.body)}`);
  return response;
}

/** Starts the app and the receiver and creates the resources the generated requests name. */
export async function startHostile(): Promise<HostileContext> {
  const receiver = await startReceiver();
  const test = await startApp(HOSTILE_CONFIG);
  try {
    const context = await setup(test, receiver.url);
    return {
      ...context,
      test,
      async close() {
        await test.close();
        await receiver.close();
      },
    };
  } catch (error) {
    await test.close();
    await receiver.close();
    throw error;
  }
}

async function setup(test: TestApp, receiverUrl: string): Promise<Omit<HostileContext, "test" | "close">> {
  const { app, tenant } = test;
  const key = tenant.apiKey;
  const post = (url: string, body: unknown, headers: Record<string, string> = {}, credential = key) =>
    call(app, "POST", url, { key: credential, body, headers });

  const webhook = expectStatus(await post("/webhooks/", { url: `${receiverUrl}setup` }), 201, "webhook registration");
  const webhookId = String(webhook.body.id);
  const doomed = expectStatus(await post("/webhooks/", { url: `${receiverUrl}doomed` }), 201, "webhook registration");

  const wallets: FixtureWallet[] = [];
  for (const index of [0, 1, 2]) {
    const wallet = await createWallet(test, `hostile-setup-${index}`, `Setup player ${index}`);
    wallets.push({ id: wallet.id, walletId: wallet.wallet_id, externalId: wallet.external_id });
  }
  const [first, second, third] = wallets as [FixtureWallet, FixtureWallet, FixtureWallet];
  const deposits = [
    { wallet: first, currency: CURRENCY, amount: "500", txHash: "setup-deposit-1", confirmations: 19 },
    { wallet: first, currency: CURRENCY, amount: "100", txHash: "setup-deposit-2", confirmations: 3 },
    { wallet: first, currency: "BTC", amount: "0.025", txHash: "setup-deposit-3", confirmations: 2 },
    { wallet: second, currency: CURRENCY, amount: "300", txHash: "setup-deposit-4", confirmations: 25 },
    { wallet: third, currency: CURRENCY, amount: "50", txHash: "setup-deposit-5", confirmations: 19 },
  ];
  for (const entry of deposits) {
    const answer = await deposit(test, { walletId: entry.wallet.walletId, ...entry });
    expectStatus(answer, 200, `deposit ${entry.txHash}`);
  }
  await fundMaster(test, CURRENCY, "10000", "setup-master");

  const game = async (kind: "bets" | "wins" | "rollbacks", wallet: FixtureWallet, body: Record<string, unknown>) =>
    expectStatus(await post(`/games/${kind}/`, { wallet_id: wallet.walletId, ...body }), 200, `game ${kind} ${body.transaction_id}`);
  await game("bets", first, { transaction_id: "setup-bet-1", round_id: "setup-round-1", currency: CURRENCY, amount: "5" });
  await game("bets", second, { transaction_id: "setup-bet-2", round_id: "setup-round-2", currency: CURRENCY, amount: "3" });
  await game("bets", first, { transaction_id: "setup-bet-3", round_id: "setup-round-3", currency: CURRENCY, amount: "2" });
  await game("wins", first, {
    transaction_id: "setup-win-3",
    round_id: "setup-round-3",
    bet_transaction_id: "setup-bet-3",
    currency: CURRENCY,
    amount: "4",
  });
  await game("bets", second, { transaction_id: "setup-bet-4", round_id: "setup-round-4", currency: CURRENCY, amount: "1" });
  await game("rollbacks", second, {
    transaction_id: "setup-rollback-4",
    round_id: "setup-round-4",
    bet_transaction_id: "setup-bet-4",
    currency: CURRENCY,
  });
  const openBets = [
    { transactionId: "setup-bet-1", roundId: "setup-round-1", wallet: first },
    { transactionId: "setup-bet-2", roundId: "setup-round-2", wallet: second },
  ];

  const hold = async (wallet: FixtureWallet, amount: string, reference: string) =>
    String(
      expectStatus(
        await post("/holds/", { wallet_id: wallet.walletId, currency: CURRENCY, amount, timeout_seconds: 86_400, reference }),
        201,
        `hold ${reference}`,
      ).body.hold.id,
    );
  const pendingHold = await hold(first, "10", "setup-hold-pending");
  const holdToVoid = await hold(first, "4", "setup-hold-void");
  const holdToCapture = await hold(second, "5", "setup-hold-capture");

  const withdrawalsKey = (await test.services.credentials.createSystemKey(["withdrawals"])).apiKey;
  const withdrawal = async (wallet: FixtureWallet, amount: string, address: string) =>
    String(
      expectStatus(
        await post("/withdrawals/", { wallet_id: wallet.walletId, currency: CURRENCY, amount, address }),
        201,
        `withdrawal ${address}`,
      ).body.withdrawal.id,
    );
  const pendingWithdrawal = await withdrawal(second, "5", "TSetupPending1");
  const withdrawalToComplete = await withdrawal(first, "6", "TSetupCompleted1");

  const keyed = keyedPlan({
    tenantId: tenant.tenantId,
    currency: CURRENCY,
    wallets,
    holdToVoid,
    holdToCapture,
    pendingHold,
    withdrawalToComplete,
    pendingWithdrawal,
    openBet: openBets[0] as Fixture["openBets"][number],
    webhookUrl: receiverUrl,
    webhookId,
    webhookToDelete: String(doomed.body.id),
  });
  const credentialKey: Record<Credential, string> = {
    tenant: key,
    "system-deposits": test.systemKey,
    "system-withdrawals": withdrawalsKey,
    client: key,
  };
  const pendingHoldIds = [pendingHold];
  const pendingWithdrawalIds = [pendingWithdrawal];
  const allWallets = [...wallets];
  for (const entry of keyed) {
    const answer = await call(app, entry.method, entry.path, {
      key: credentialKey[entry.credential],
      headers: { "idempotency-key": entry.key },
      ...(entry.body === undefined ? {} : { body: entry.body }),
    });
    if (answer.status !== 200 && answer.status !== 201) {
      throw new Error(`setup: keyed ${entry.route} answered ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    if (entry.route === "POST /holds/") pendingHoldIds.push(String(answer.body.hold.id));
    if (entry.route === "POST /withdrawals/") pendingWithdrawalIds.push(String(answer.body.withdrawal.id));
    if (entry.route === "POST /wallets/") {
      allWallets.push({ id: answer.body.id, walletId: answer.body.wallet_id, externalId: answer.body.external_id });
    }
  }

  const token = expectStatus(
    await call(app, "POST", "/o/token/", {
      body: { grant_type: "client_credentials", client_id: tenant.clientId, client_secret: tenant.clientSecret },
    }),
    200,
    "token",
  ).body.access_token as string;
  const tokenKey = await CredentialService.tokenKey(test.store, test.config.tokenSecret);
  const expired = await new CredentialService(test.store, tokenKey, -120).issueToken(tenant.clientId, tenant.clientSecret, undefined);
  const credentials = test.services.credentials;
  const readOnlyKey = (await credentials.createApiKey(tenant.tenantId, ["read"])).apiKey;
  const writeOnlyKey = (await credentials.createApiKey(tenant.tenantId, ["write"])).apiKey;
  const revoked = await credentials.createApiKey(tenant.tenantId, ["read", "write"]);
  await credentials.revokeApiKey(revoked.id);
  const other = await test.newTenant("Other Casino");

  const eventId = await settleDeliveries(app, key);

  const fixture: Fixture = {
    tenantId: tenant.tenantId,
    apiKey: key,
    token,
    expiredToken: expired.accessToken,
    readOnlyKey,
    writeOnlyKey,
    revokedKey: revoked.apiKey,
    otherTenantKey: other.apiKey,
    systemDepositsKey: test.systemKey,
    systemWithdrawalsKey: withdrawalsKey,
    clientId: tenant.clientId,
    clientSecret: tenant.clientSecret,
    otherClientId: other.clientId,
    currency: CURRENCY,
    wallets,
    pendingHoldIds,
    settledHoldIds: [holdToVoid, holdToCapture],
    pendingWithdrawalIds,
    settledWithdrawalIds: [withdrawalToComplete],
    webhookId,
    webhookUrl: receiverUrl,
    eventId,
    openBets,
    keyed,
    bodyLimitBytes: test.config.bodyLimitBytes,
    batchBodyLimitBytes: test.config.batchBodyLimitBytes,
  };
  return { fixture, allWallets, otherTenantId: other.tenantId };
}

/** Waits until every webhook delivery of the setup is delivered; returns one delivered event's id. */
async function settleDeliveries(app: FastifyInstance, key: string): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const pending = await call(app, "GET", "/webhooks/deliveries/?status=pending&limit=1", { key });
    const delivered = await call(app, "GET", "/webhooks/deliveries/?status=delivered&limit=1", { key });
    const first = delivered.body?.deliveries?.[0];
    if (pending.status === 200 && pending.body.deliveries.length === 0 && first) return String(first.event_id);
    if (Date.now() > deadline) {
      throw new Error(
        `setup: webhook deliveries did not settle: pending ${JSON.stringify(pending.body)}, delivered ${JSON.stringify(delivered.body)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

// ---------------------------------------------------------------------------------------------
// State snapshot.

export type Snapshot = Record<string, unknown>;

/** Everything a hostile request could change, read through the API (and verify). */
export async function takeSnapshot(context: HostileContext): Promise<Snapshot> {
  const { test, fixture } = context;
  const key = fixture.apiKey;
  const read = async (method: string, url: string, body?: unknown, credential = key) => {
    const answer = await call(test.app, method, url, { key: credential, ...(body === undefined ? {} : { body }) });
    return { status: answer.status, body: answer.body };
  };
  const snapshot: Snapshot = {};
  snapshot["wallet list total"] = (await read("GET", "/wallets/?limit=1")).body?.total;
  for (const wallet of context.allWallets) {
    snapshot[`balances ${wallet.externalId}`] = await read("POST", "/wallets/balances/", { wallet_id: wallet.walletId });
    snapshot[`history ${wallet.externalId}`] = await read("POST", "/wallets/transfer-history/", { wallet_id: wallet.walletId, limit: 100 });
    snapshot[`deposits ${wallet.externalId}`] = await read("GET", `/wallets/${wallet.walletId}/deposits/?limit=100`);
    snapshot[`limits ${wallet.externalId}`] = await read("GET", `/wallets/${wallet.walletId}/limits/`);
  }
  snapshot["master balances"] = await read("GET", "/master/balances/");
  for (const id of [...fixture.pendingHoldIds, ...fixture.settledHoldIds]) snapshot[`hold ${id}`] = await read("GET", `/holds/${id}/`);
  for (const id of [...fixture.pendingWithdrawalIds, ...fixture.settledWithdrawalIds]) {
    snapshot[`withdrawal ${id}`] = await read("GET", `/withdrawals/${id}/`);
  }
  snapshot["system pending withdrawals"] = await read(
    "GET",
    "/system/withdrawals/?status=pending",
    undefined,
    fixture.systemWithdrawalsKey,
  );
  snapshot.webhooks = await read("GET", "/webhooks/");
  const deliveries: unknown[] = [];
  for (let offset = 0; ; offset += 100) {
    const page = await read("GET", `/webhooks/deliveries/?limit=100&offset=${offset}`);
    const items = (page.body?.deliveries ?? []) as unknown[];
    deliveries.push(...items);
    if (items.length < 100) break;
  }
  snapshot["webhook deliveries"] = deliveries;
  snapshot["event sequence"] = await test.services.events.lastSeq(fixture.tenantId);
  snapshot["other tenant wallet total"] = (await read("GET", "/wallets/?limit=1", undefined, fixture.otherTenantKey)).body?.total;
  snapshot["other tenant master balances"] = await read("GET", "/master/balances/", undefined, fixture.otherTenantKey);
  snapshot["other tenant event sequence"] = await test.services.events.lastSeq(context.otherTenantId);
  const verify = await test.services.verify();
  snapshot.verify = { ok: verify.ok, accounts: verify.accounts, transfers: verify.transfers, problem_count: verify.problem_count };
  return snapshot;
}

/** The snapshot entries that differ, with a short before and after. */
export function diffSnapshots(before: Snapshot, after: Snapshot): { entry: string; before: string; after: string }[] {
  const entries = new Set([...Object.keys(before), ...Object.keys(after)]);
  const changes: { entry: string; before: string; after: string }[] = [];
  for (const entry of entries) {
    const was = JSON.stringify(before[entry]);
    const is = JSON.stringify(after[entry]);
    if (was !== is) changes.push({ entry, before: clip(was ?? "undefined", 300), after: clip(is ?? "undefined", 300) });
  }
  return changes;
}

// ---------------------------------------------------------------------------------------------
// Sending and checking.

export interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: string;
}

export type ProblemKind = "server_error" | "not_4xx" | "not_envelope" | "status_mismatch" | "no_answer" | "off_contract";
export const PROBLEM_KINDS: readonly ProblemKind[] = [
  "server_error",
  "not_4xx",
  "not_envelope",
  "status_mismatch",
  "no_answer",
  "off_contract",
];

export interface Problem {
  kind: ProblemKind;
  detail: string;
}

const OAUTH_ERRORS = [
  "invalid_request",
  "invalid_client",
  "invalid_grant",
  "unauthorized_client",
  "unsupported_grant_type",
  "invalid_scope",
];

/** Sends one request through inject; a stream that never ends (or a hang) is `undefined`. */
export async function send(app: FastifyInstance, request: HostileRequest, timeoutMs: number): Promise<Answer | Error | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    const injected = app
      .inject({
        method: request.method as "GET",
        url: request.url,
        headers: request.headers,
        ...(request.payload === undefined ? {} : { payload: request.payload }),
      })
      .then((response) => ({ status: response.statusCode, headers: response.headers as Record<string, unknown>, body: response.body }))
      .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
    return await Promise.race([injected, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** What the OpenAPI document says is wrong with the answer: status, media type, body (test/contract.ts). */
export function contractProblem(app: FastifyInstance, request: HostileRequest, answer: Answer): string | undefined {
  const contentType = answer.headers["content-type"];
  return Contract.of(app).problem({
    method: request.method,
    url: request.url,
    status: answer.status,
    contentType: typeof contentType === "string" ? contentType : undefined,
    body: answer.body,
  });
}

/** Is this request answered by the OAuth token route, whose errors follow RFC 6749? */
function isTokenRoute(request: HostileRequest): boolean {
  return request.method === "POST" && /^\/o\/token\/?(\?|$)/.test(request.url);
}

/** The contract's checks of one answer to a hostile request. */
export function checkAnswer(request: HostileRequest, answer: Answer | Error | undefined): Problem[] {
  if (answer === undefined) {
    return [{ kind: "no_answer", detail: request.stream ? "no answer in time: the event stream was opened" : "no answer in time" }];
  }
  if (answer instanceof Error) return [{ kind: "no_answer", detail: `inject failed: ${answer.message}` }];
  const problems: Problem[] = [];
  if (answer.status >= 500) problems.push({ kind: "server_error", detail: `status ${answer.status}` });
  else if (answer.status < 400) problems.push({ kind: "not_4xx", detail: `status ${answer.status}` });
  // A success is reported as such; its body is not an error to check.
  const shape = answer.status < 400 ? undefined : isTokenRoute(request) ? oauthProblem(answer) : envelopeProblem(answer);
  if (shape) problems.push(shape);
  return problems;
}

function parseJson(answer: Answer): { value: unknown } | undefined {
  if (!/^application\/json/.test(String(answer.headers["content-type"] ?? ""))) return undefined;
  try {
    return { value: JSON.parse(answer.body) };
  } catch {
    return undefined;
  }
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function envelopeProblem(answer: Answer): Problem | undefined {
  const parsed = parseJson(answer);
  if (!parsed) return { kind: "not_envelope", detail: `not a JSON body (content-type ${String(answer.headers["content-type"])})` };
  const body = parsed.value;
  if (!isPlainObject(body) || Object.keys(body).join() !== "error" || !isPlainObject(body.error)) {
    return { kind: "not_envelope", detail: "body is not {error: {...}}" };
  }
  const error = body.error;
  if (Object.keys(error).sort().join() !== "code,details,message") {
    return { kind: "not_envelope", detail: `error has keys ${Object.keys(error).join(",")}` };
  }
  if (typeof error.code !== "string" || !(ERROR_CODES as readonly string[]).includes(error.code)) {
    return { kind: "not_envelope", detail: `code ${JSON.stringify(error.code)} is not in the closed list` };
  }
  if (typeof error.message !== "string" || error.message === "")
    return { kind: "not_envelope", detail: "message is not a non-empty string" };
  if (!isPlainObject(error.details)) return { kind: "not_envelope", detail: "details is not an object" };
  const status = HTTP_STATUS[error.code as ErrorCode];
  if (status !== answer.status) return { kind: "status_mismatch", detail: `code ${error.code} is ${status}, answered ${answer.status}` };
  return undefined;
}

function oauthProblem(answer: Answer): Problem | undefined {
  const parsed = parseJson(answer);
  if (!parsed) return { kind: "not_envelope", detail: "token error is not JSON" };
  const body = parsed.value;
  if (!isPlainObject(body) || typeof body.error !== "string" || typeof body.error_description !== "string") {
    return { kind: "not_envelope", detail: "token error is not RFC 6749 {error, error_description}" };
  }
  if (Object.keys(body).some((name) => !["error", "error_description", "error_uri"].includes(name))) {
    return { kind: "not_envelope", detail: `token error has keys ${Object.keys(body).join(",")}` };
  }
  if (!OAUTH_ERRORS.includes(body.error))
    return { kind: "not_envelope", detail: `token error ${JSON.stringify(body.error)} is not RFC 6749's` };
  if (body.error === "invalid_client" && answer.status !== 401) {
    return { kind: "status_mismatch", detail: `invalid_client answered ${answer.status}, not 401` };
  }
  if (body.error !== "invalid_client" && answer.status !== 400 && answer.status !== 413) {
    return { kind: "status_mismatch", detail: `${body.error} answered ${answer.status}, not 400` };
  }
  return undefined;
}

/**
 * Finer rules for an answer that passed the checks: the status the contract names for the
 * defect, and a validation error's `details.fields` naming each field (`{field, problem}`).
 */
export function adviseAnswer(request: HostileRequest, answer: Answer): string | undefined {
  if (request.expect !== undefined && answer.status !== request.expect)
    return `the contract names ${request.expect}, answered ${answer.status}`;
  if (isTokenRoute(request)) return undefined;
  const body = parseJson(answer)?.value as { error?: { code?: unknown; details?: { fields?: unknown } } } | undefined;
  const fields = body?.error?.details?.fields;
  if (body?.error?.code !== "invalid_request" || fields === undefined) return undefined;
  const named =
    Array.isArray(fields) &&
    fields.length > 0 &&
    fields.every(
      (entry) => isPlainObject(entry) && typeof entry.field === "string" && entry.field !== "" && typeof entry.problem === "string",
    );
  return named ? undefined : `details.fields does not name each field as {field, problem}: ${clip(JSON.stringify(fields), 120)}`;
}

// ---------------------------------------------------------------------------------------------
// The run and its summary.

export interface Sample {
  defect: string;
  request: string;
  answer: string;
  detail: string;
}

export interface FailureGroup {
  route: string;
  category: Category;
  kind: ProblemKind | "advisory";
  count: number;
  statuses: Record<string, number>;
  sample: Sample;
}

export interface HostileReport {
  store: string;
  seed: number;
  requests: number;
  durationMs: number;
  byStatus: Record<string, number>;
  byCategory: Record<string, { requests: number; failing: number }>;
  byRoute: Record<string, { requests: number; failing: number }>;
  /** Requests per `route [category]` pair. */
  byPair: Record<string, number>;
  /** Requests with at least one problem; the groups, by route, category and problem. */
  failingRequests: number;
  failures: FailureGroup[];
  /**
   * Answers that pass the checks but differ from a finer rule of DESIGN 1.1: not the status the
   * contract names for the defect, or a validation error that names no field. Not failures.
   */
  advisories: FailureGroup[];
  stateChanges: { entry: string; before: string; after: string }[];
  verify: unknown;
  /** A valid balance request after the run: its status. */
  healthStatus: number;
  ok: boolean;
}

export interface RunOptions {
  seed: number;
  requests: number;
  concurrency?: number;
  timeoutMs?: number;
  streamTimeoutMs?: number;
}

/** Snapshot, generate, send, check, snapshot again, and a final valid request. */
export async function runHostile(context: HostileContext, options: RunOptions): Promise<HostileReport> {
  const { test, fixture } = context;
  const started = Date.now();
  const before = await takeSnapshot(context);
  const requests = generate(fixture, options.seed, options.requests);
  const redact = redactor(fixture);
  const byStatus: Record<string, number> = {};
  const byCategory: Record<string, { requests: number; failing: number }> = Object.fromEntries(
    CATEGORIES.map((category) => [category, { requests: 0, failing: 0 }]),
  );
  const byRoute: Record<string, { requests: number; failing: number }> = {};
  const byPair: Record<string, number> = {};
  const groups = new Map<string, FailureGroup>();
  let failingRequests = 0;
  const record = (request: HostileRequest, answer: Answer | Error | undefined, kind: FailureGroup["kind"], detail: string) => {
    const id = `${request.route}\u0000${request.category}\u0000${kind}`;
    const status = answer === undefined || answer instanceof Error ? "none" : String(answer.status);
    let group = groups.get(id);
    if (!group) {
      group = {
        route: request.route,
        category: request.category,
        kind,
        count: 0,
        statuses: {},
        sample: {
          defect: printable(redact(request.defect)),
          request: describeRequest(request, redact),
          answer: describeAnswer(answer, redact),
          detail,
        },
      };
      groups.set(id, group);
    }
    group.count += 1;
    group.statuses[status] = (group.statuses[status] ?? 0) + 1;
  };

  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const request = requests[next++] as HostileRequest;
      const timeout = request.stream ? (options.streamTimeoutMs ?? 750) : (options.timeoutMs ?? 10_000);
      const answer = await send(test.app, request, timeout);
      const status = answer === undefined || answer instanceof Error ? "none" : String(answer.status);
      byStatus[status] = (byStatus[status] ?? 0) + 1;
      const category = byCategory[request.category] as { requests: number; failing: number };
      const route = byRoute[request.route] ?? { requests: 0, failing: 0 };
      byRoute[request.route] = route;
      category.requests += 1;
      route.requests += 1;
      const pair = `${request.route} [${request.category}]`;
      byPair[pair] = (byPair[pair] ?? 0) + 1;
      const problems = checkAnswer(request, answer);
      const offContract = answer === undefined || answer instanceof Error ? undefined : contractProblem(test.app, request, answer);
      if (offContract) problems.push({ kind: "off_contract", detail: offContract });
      if (problems.length > 0) {
        failingRequests += 1;
        category.failing += 1;
        route.failing += 1;
        for (const problem of problems) record(request, answer, problem.kind, problem.detail);
      } else {
        const advice = adviseAnswer(request, answer as Answer);
        if (advice) record(request, answer, "advisory", advice);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));

  const after = await takeSnapshot(context);
  const health = await call(test.app, "POST", "/wallets/balances/", {
    key: fixture.apiKey,
    body: { wallet_id: fixture.wallets[0]?.walletId },
  });
  const healthy = health.status === 200 && health.body?.account?.wallet_id === fixture.wallets[0]?.walletId;
  const all = [...groups.values()].sort(
    (left, right) => left.route.localeCompare(right.route) || left.category.localeCompare(right.category),
  );
  const failures = all.filter((group) => group.kind !== "advisory");
  const stateChanges = diffSnapshots(before, after);
  const verify = after.verify;
  return {
    store: TEST_STORE,
    seed: options.seed,
    requests: requests.length,
    durationMs: Date.now() - started,
    byStatus,
    byCategory,
    byRoute,
    byPair,
    failingRequests,
    failures,
    advisories: all.filter((group) => group.kind === "advisory"),
    stateChanges,
    verify,
    healthStatus: health.status,
    ok: failures.length === 0 && stateChanges.length === 0 && (verify as { ok?: boolean }).ok === true && healthy,
  };
}

/** Secrets of the fixture replaced by their names, so that samples read well. */
function redactor(fixture: Fixture): (text: string) => string {
  const secrets: [string, string][] = [
    [fixture.expiredToken, "<expired token>"],
    [fixture.token, "<token>"],
    [fixture.apiKey, "<tenant key>"],
    [fixture.readOnlyKey, "<read-only key>"],
    [fixture.writeOnlyKey, "<write-only key>"],
    [fixture.revokedKey, "<revoked key>"],
    [fixture.otherTenantKey, "<other tenant key>"],
    [fixture.systemDepositsKey, "<system key deposits>"],
    [fixture.systemWithdrawalsKey, "<system key withdrawals>"],
    [fixture.clientSecret, "<client secret>"],
    [fixture.clientId, "<client id>"],
    [fixture.otherClientId, "<other client id>"],
  ];
  return (text) => secrets.reduce((result, [secret, name]) => result.split(secret).join(name), text);
}

/** Shows a string or bytes with control characters, lone surrogates and non-UTF-8 bytes escaped. */
export function printable(payload: string | Buffer, limit = 220): string {
  let text = "";
  if (Buffer.isBuffer(payload)) {
    const decoded = new TextDecoder("utf-8", { fatal: false }).decode(payload);
    const valid = Buffer.from(decoded, "utf8").equals(payload);
    text = valid
      ? escapeText(decoded)
      : [...payload]
          .map((byte) => (byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, "0")}`))
          .join("");
  } else text = escapeText(payload);
  const size = Buffer.isBuffer(payload) ? payload.length : Buffer.byteLength(payload);
  return text.length > limit ? `${text.slice(0, limit)}…(${size} bytes)` : text;
}

function escapeText(text: string): string {
  let result = "";
  for (const character of text) {
    const code = character.codePointAt(0) ?? 0;
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f) || (code >= 0xd800 && code <= 0xdfff))
      result += `\\u${code.toString(16).padStart(4, "0")}`;
    else result += character;
  }
  return result;
}

function describeRequest(request: HostileRequest, redact: (text: string) => string): string {
  const headers = Object.entries(request.headers)
    .map(([name, value]) => `${name}: ${printable(redact(value), 80)}`)
    .join("; ");
  const payload =
    request.payload === undefined ? "" : ` body ${printable(Buffer.isBuffer(request.payload) ? request.payload : redact(request.payload))}`;
  return `${request.method} ${printable(clip(redact(request.url), 200))} [${headers}]${payload}`;
}

function describeAnswer(answer: Answer | Error | undefined, redact: (text: string) => string): string {
  if (answer === undefined) return "no answer";
  if (answer instanceof Error) return `error ${answer.message}`;
  return `${answer.status} ${printable(redact(answer.body), 240)}`;
}

function clip(text: string, limit: number): string {
  return text.length > limit ? `${text.slice(0, limit)}…(${text.length})` : text;
}

/** The failures as a checklist: by route and category, each problem with its statuses and one sample. */
export function formatGroups(groups: FailureGroup[]): string {
  const lines: string[] = [];
  let heading = "";
  for (const group of groups) {
    const title = `${group.route} [${group.category}]`;
    if (title !== heading) {
      lines.push(title);
      heading = title;
    }
    const statuses = Object.entries(group.statuses)
      .map(([status, count]) => `${status}×${count}`)
      .join(" ");
    lines.push(`  ${group.kind} ×${group.count} (${statuses}): ${group.sample.detail}`);
    lines.push(`    e.g. ${group.sample.defect}: ${group.sample.request}`);
    lines.push(`      → ${group.sample.answer}`);
  }
  return lines.join("\n");
}

/** The whole report as text: counts, failures, state changes and advisory contract statuses. */
export function formatReport(report: HostileReport): string {
  const lines = [
    `hostile input on ${report.store}, seed ${report.seed}: ${report.requests} requests in ${report.durationMs} ms, ${report.failingRequests} failing`,
    `by status: ${JSON.stringify(report.byStatus)}`,
  ];
  if (report.failures.length > 0) lines.push("FAILURES (route [category]):", formatGroups(report.failures));
  if (report.stateChanges.length > 0) {
    lines.push("STATE CHANGED:");
    for (const change of report.stateChanges) lines.push(`  ${change.entry}\n    before ${change.before}\n    after  ${change.after}`);
  }
  if ((report.verify as { ok?: boolean }).ok !== true) lines.push(`VERIFY: ${JSON.stringify(report.verify)}`);
  if (report.healthStatus !== 200) lines.push(`HEALTH: a valid balance request answered ${report.healthStatus}`);
  if (report.advisories.length > 0) lines.push("ADVISORY (not failures):", formatGroups(report.advisories));
  return lines.join("\n");
}
