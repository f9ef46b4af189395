import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { loadConfig } from "../../src/config.js";
import { leaseSize, SharedRateLimiter } from "../../src/services/rate-limiter.js";
import { createServices } from "../../src/services/services.js";
import { openStore } from "../../src/store/open.js";
import type { RateLimitCount, RateLimitCounters } from "../../src/store/rate-limits.js";
import type { Store } from "../../src/store/store.js";
import { assertError, type CallResult, createTestDatabase, type TestDatabase } from "../helpers.js";

/**
 * Rate limits are counted in the database, so a limit holds across every process sharing it:
 * real server processes (one of them a two-worker cluster) on one database, on 127.0.0.1.
 */

const LIMIT = 60;
const WINDOW_MS = 60_000;
// Below Linux's ephemeral range (32768-60999), so no outgoing connection of another test holds it;
// each file draws from a band of its own.
const PORTS = [26_000 + Math.floor(Math.random() * 1000), 27_000 + Math.floor(Math.random() * 1000)];

function startServer(databaseUrl: string, port: number, workers: number): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HOST: "127.0.0.1",
      WORKERS: String(workers),
      LOG_LEVEL: "warn",
      RATE_LIMIT_PER_MINUTE: String(LIMIT),
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
}

/** Waits for the port to answer (an unknown path: not counted by the rate limit). */
async function waitUntilServing(port: number): Promise<void> {
  for (let attempt = 0; attempt < 150; attempt += 1) {
    const ready = await fetch(`http://127.0.0.1:${port}/health/live`).then(
      () => true,
      () => false,
    );
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`server on port ${port} did not start`);
}

/** Counting is in fixed one-minute windows: a scenario starts early enough in one to end in it. */
async function startOfWindowWithin(neededMs: number): Promise<void> {
  const left = WINDOW_MS - (Date.now() % WINDOW_MS);
  if (left < neededMs) await new Promise((resolve) => setTimeout(resolve, left + 50));
}

async function send(port: number, headers: Record<string, string>, body: object = { external_id: "limited-player" }): Promise<CallResult> {
  const response = await fetch(`http://127.0.0.1:${port}/wallets/balances/`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text === "" ? undefined : JSON.parse(text),
    headers: Object.fromEntries(response.headers) as CallResult["headers"],
  };
}

/** Sends `count` requests, alternating between the servers, `concurrency` at a time. */
async function burst(count: number, headersFor: (index: number) => Record<string, string>, concurrency = 20): Promise<CallResult[]> {
  const results: CallResult[] = [];
  for (let start = 0; start < count; start += concurrency) {
    const wave = Array.from({ length: Math.min(concurrency, count - start) }, (_, offset) => {
      const index = start + offset;
      return send(PORTS[index % PORTS.length] ?? 0, headersFor(index));
    });
    results.push(...(await Promise.all(wave)));
  }
  return results;
}

function assertRateLimited(response: CallResult): void {
  assertError(response, 429, "rate_limited");
  const retryAfter = Number(response.headers["retry-after"]);
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${response.headers["retry-after"]}`);
  assert.equal(response.headers["x-ratelimit-limit"], String(LIMIT));
  assert.equal(response.headers["x-ratelimit-remaining"], "0");
}

const remainingOf = (responses: CallResult[]) =>
  responses.map((response) => Number(response.headers["x-ratelimit-remaining"])).sort((a, b) => a - b);
const range = (count: number) => Array.from({ length: count }, (_, index) => index);

describe("rate limits across server processes on one database", () => {
  let database: TestDatabase;
  let servers: ChildProcess[] = [];
  let apiKey = "";
  let secondKey = "";
  let revokedKey = "";
  let unusedKey = "";
  let tokens: string[] = [];

  before(async () => {
    database = await createTestDatabase();
    const store = await openStore(database.url);
    const services = await createServices(store, { ...loadConfig({}), databaseUrl: database.url });
    const tenant = await services.credentials.createTenant("Limited Casino");
    apiKey = tenant.apiKey;
    secondKey = (await services.credentials.createApiKey(tenant.tenantId, ["read", "write"])).apiKey;
    const revoked = await services.credentials.createApiKey(tenant.tenantId, ["read", "write"]);
    await services.credentials.revokeApiKey(revoked.id);
    revokedKey = revoked.apiKey;
    unusedKey = (await services.credentials.createApiKey(tenant.tenantId, ["read", "write"])).apiKey;
    tokens = await Promise.all(
      [1, 2].map(async () => (await services.credentials.issueToken(tenant.clientId, tenant.clientSecret, undefined)).accessToken),
    );
    await services.wallets.create(tenant.tenantId, "Limited Player", "limited-player");
    await store.close();
    const [first = 0, second = 0] = PORTS;
    // Three processes: a cluster of two workers and a single one.
    servers = [startServer(database.url, first, 2), startServer(database.url, second, 1)];
    await Promise.all(PORTS.map(waitUntilServing));
  });

  after(async () => {
    await Promise.all(
      servers.map(
        (server) => new Promise((resolve) => (server.exitCode === null ? server.once("exit", resolve).kill("SIGTERM") : resolve(null))),
      ),
    );
    await database.drop();
  });

  it("lets exactly the limit of one key through, whichever process serves it, and refuses the rest in the envelope", async () => {
    await startOfWindowWithin(10_000);
    const results = await burst(200, () => ({ "x-api-key": apiKey }));
    const passed = results.filter((result) => result.status === 200);
    assert.equal(passed.length, LIMIT, JSON.stringify(results.map((result) => result.status)));
    for (const result of results) if (result.status !== 200) assertRateLimited(result);
    // One count for all processes: every remaining value from 59 down to 0 was handed out once.
    assert.deepEqual(remainingOf(passed), range(LIMIT));
    for (const result of passed) {
      assert.equal(result.headers["x-ratelimit-limit"], String(LIMIT));
      const reset = Number(result.headers["x-ratelimit-reset"]);
      assert.ok(reset >= 1 && reset <= 60, `x-ratelimit-reset ${reset}`);
    }
  });

  it("counts the tenant's other key apart, and every token of one OAuth client together", async () => {
    await startOfWindowWithin(10_000);
    const other = await burst(70, () => ({ "x-api-key": secondKey }));
    assert.equal(other.filter((result) => result.status === 200).length, LIMIT);
    assert.deepEqual(remainingOf(other.filter((result) => result.status === 200)), range(LIMIT));
    const [first = "", second = ""] = tokens;
    const byToken = await burst(80, (index) => ({ authorization: `Bearer ${index % 2 === 0 ? first : second}` }));
    assert.equal(byToken.filter((result) => result.status === 200).length, LIMIT, "two tokens of one client share its count");
    for (const result of byToken) if (result.status !== 200) assertRateLimited(result);
  });

  it("counts unknown, revoked and malformed credentials and none at all in one count per client address", async () => {
    await startOfWindowWithin(10_000);
    const garbage = (index: number): Record<string, string> => {
      switch (index % 5) {
        case 0:
          return { "x-api-key": `wk_${randomBytes(32).toString("base64url")}` };
        case 1:
          return { "x-api-key": revokedKey };
        case 2:
          return { authorization: `Bearer ${randomBytes(24).toString("hex")}` };
        case 3:
          return { authorization: "Basic Zm9vOmJhcg==" };
        default:
          return {};
      }
    };
    // Sequential, so that the first answer tells how much of the address's count the probes used.
    const results: CallResult[] = [];
    for (let index = 0; index < 100; index += 1) results.push(await send(PORTS[index % PORTS.length] ?? 0, garbage(index)));
    const firstRemaining = Number(results[0]?.headers["x-ratelimit-remaining"]);
    assert.ok(firstRemaining <= LIMIT - 1 && firstRemaining >= LIMIT - 10, `first remaining ${firstRemaining}`);
    const refused = results.slice(0, firstRemaining + 1);
    const limited = results.slice(firstRemaining + 1);
    for (const result of refused) assertError(result, 401, "unauthorized");
    assert.ok(limited.length >= 40);
    for (const result of limited) assertRateLimited(result);
    // A valid key from the same address is counted under its own identity, not the address.
    const valid = await send(PORTS[0] ?? 0, { "x-api-key": unusedKey });
    assert.equal(valid.status, 200);
    assert.equal(valid.headers["x-ratelimit-remaining"], String(LIMIT - 1));
  });
});

/** Counts the database round trips of a store's counters. */
class CountingCounters implements RateLimitCounters {
  calls = 0;
  constructor(private readonly inner: RateLimitCounters) {}
  add(key: string, windowMs: number, amount: number): Promise<RateLimitCount> {
    this.calls += 1;
    return this.inner.add(key, windowMs, amount);
  }
  close() {
    return this.inner.close();
  }
}

describe("the shared limiter on the store's counters", () => {
  let database: TestDatabase;
  let stores: Store[] = [];

  before(async () => {
    database = await createTestDatabase();
    // Two stores on one database stand for two processes.
    stores = [await openStore(database.url), await openStore(database.url)];
  });
  after(async () => {
    for (const store of stores) await store.close();
    await database.drop();
  });

  it("admits a large limit within 0.1% per process, leasing in chunks instead of a round trip per request", async () => {
    const max = 20_000;
    const hour = 3_600_000;
    const counters = stores.map((store) => new CountingCounters(store.rateLimits));
    const limiters = counters.map((counter) => new SharedRateLimiter(counter));
    let admitted = 0;
    let refused = 0;
    for (let round = 0; round < 60; round += 1) {
      const wave = Array.from({ length: 400 }, (_, index) => limiters[(round + index) % 2]?.take("lease-test", hour, max));
      for (const decision of await Promise.all(wave)) {
        if (!decision) continue;
        if (decision.current <= max) admitted += 1;
        else refused += 1;
      }
    }
    assert.equal(admitted + refused, 24_000);
    assert.ok(admitted <= max, `admitted ${admitted}`);
    assert.ok(admitted >= max - 2 * (leaseSize(max) - 1), `admitted ${admitted}`);
    const trips = counters.reduce((sum, counter) => sum + counter.calls, 0);
    assert.ok(trips <= Math.ceil(max / leaseSize(max)) + 4, `${trips} round trips for ${admitted} requests`);
  });

  it("counts exactly when the limit is small, and refuses without asking again once it is spent", async () => {
    const counters = stores.map((store) => new CountingCounters(store.rateLimits));
    const limiters = counters.map((counter) => new SharedRateLimiter(counter));
    const decisions = await Promise.all(Array.from({ length: 150 }, (_, index) => limiters[index % 2]?.take("exact-test", 3_600_000, 100)));
    const admitted = decisions.filter((decision) => decision !== undefined && decision.current <= 100);
    assert.equal(admitted.length, 100);
    assert.deepEqual(
      admitted.map((decision) => decision?.current).sort((a = 0, b = 0) => a - b),
      range(100).map((n) => n + 1),
    );
    const spent = () => Promise.all(Array.from({ length: 50 }, (_, index) => limiters[index % 2]?.take("exact-test", 3_600_000, 100)));
    const trips = () => counters.reduce((sum, counter) => sum + counter.calls, 0);
    // A process that did not see the last token go asks once more; from then on it refuses locally.
    const tripsBefore = trips();
    assert.ok((await spent()).every((decision) => decision !== undefined && decision.current > 100));
    assert.ok(trips() <= tripsBefore + 2);
    const afterLearning = trips();
    assert.ok((await spent()).every((decision) => decision !== undefined && decision.current > 100));
    assert.equal(trips(), afterLearning, "a spent window is refused locally");
  });

  it("starts over in a new window", async () => {
    const limiter = new SharedRateLimiter(stores[0]?.rateLimits as RateLimitCounters);
    const windowMs = 1_500;
    const phase = Date.now() % windowMs;
    if (phase > 300) await new Promise((resolve) => setTimeout(resolve, windowMs - phase + 20));
    const first = await Promise.all(Array.from({ length: 5 }, () => limiter.take("window-test", windowMs, 3)));
    assert.equal(first.filter((decision) => decision.current <= 3).length, 3);
    await new Promise((resolve) => setTimeout(resolve, windowMs - (Date.now() % windowMs) + 20));
    const second = await Promise.all(Array.from({ length: 5 }, () => limiter.take("window-test", windowMs, 3)));
    assert.equal(second.filter((decision) => decision.current <= 3).length, 3);
  });
});
