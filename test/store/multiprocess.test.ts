import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { loadConfig } from "../../src/config.js";
import { createServices } from "../../src/services/services.js";
import { verifyLedger } from "../../src/services/verify.js";
import { openStore } from "../../src/store/open.js";
import { createTestDatabase, TEST_STORE, type TestDatabase } from "../helpers.js";
import { openStream } from "../sse.js";

// Below Linux's ephemeral range (32768-60999), so no outgoing connection of another test holds it;
// each file draws from a band of its own.
const PORTS = [22_000 + Math.floor(Math.random() * 1000), 23_000 + Math.floor(Math.random() * 1000)];

function startServer(databaseUrl: string, port: number, workers: number): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    env: { ...process.env, DATABASE_URL: databaseUrl, PORT: String(port), HOST: "127.0.0.1", WORKERS: String(workers), LOG_LEVEL: "warn" },
    stdio: ["ignore", "ignore", "inherit"],
  });
}

async function waitUntilServing(port: number): Promise<void> {
  for (let attempt = 0; attempt < 150; attempt += 1) {
    const ready = await fetch(`http://127.0.0.1:${port}/wallets/`).then(
      (response) => response.status === 401,
      () => false,
    );
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`server on port ${port} did not start`);
}

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers.
async function request(port: number, method: string, path: string, key: string, body?: object): Promise<{ status: number; body: any }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { "x-api-key": key, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: await response.json() };
}

const post = (port: number, path: string, key: string, body: object) => request(port, "POST", path, key, body);

/** `api-keys revoke --id ID` of the command line, in a process of its own; its answer once it has exited. */
function revokeByCli(databaseUrl: string, id: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const cli = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "api-keys", "revoke", "--id", id], {
      env: { ...process.env, DATABASE_URL: databaseUrl },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    cli.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
    });
    cli.once("error", reject);
    cli.once("exit", (code) => (code === 0 ? resolve(JSON.parse(output)) : reject(new Error(`cli exited with ${code}: ${output}`))));
  });
}

/** Several processes on one database: correctness must come from the database alone. */
describe("several server processes on one database", () => {
  let database: TestDatabase;
  let servers: ChildProcess[] = [];
  let apiKey = "";
  /** A second key of the tenant, revoked by the command line in one test. */
  let revokedKey = { id: "", apiKey: "" };
  /** A wallet with a loss limit, in one test. */
  let limitedWalletId = "";

  before(async () => {
    database = await createTestDatabase();
    const store = await openStore(database.url);
    const services = await createServices(store, { ...loadConfig({}), databaseUrl: database.url });
    const tenant = await services.credentials.createTenant("Shared Casino");
    apiKey = tenant.apiKey;
    revokedKey = await services.credentials.createApiKey(tenant.tenantId, ["read", "write"]);
    await services.wallets.create(tenant.tenantId, "Shared Player", "shared-player");
    limitedWalletId = (await services.wallets.create(tenant.tenantId, "Limited Player", "limited-player")).value.walletId;
    await services.deposits.report({
      tenantId: tenant.tenantId,
      lookup: undefined,
      currency: "USDTTRC20",
      amount: "1000",
      txHash: "fund",
      confirmations: 99,
    });
    await store.close();
    const [first = 0, second = 0] = PORTS;
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

  it("lets exactly the fundable movements through, across processes, and verifies", async () => {
    const [first = 0] = PORTS;
    const funded = await post(first, "/wallets/transfer-to-user/", apiKey, {
      external_id: "shared-player",
      currency: "USDTTRC20",
      amount: "100",
    });
    assert.equal(funded.status, 200);
    const attempts = Array.from({ length: 60 }, (_, index) =>
      post(PORTS[index % PORTS.length] ?? first, "/wallets/withdraw-to-master/", apiKey, {
        external_id: "shared-player",
        currency: "USDTTRC20",
        amount: "7",
      }),
    );
    const results = await Promise.all(attempts);
    const statuses = results.map((result) => (result.status === 200 ? "ok" : result.body.error?.code));
    assert.equal(statuses.filter((status) => status === "ok").length, 14, JSON.stringify(statuses));
    assert.equal(statuses.filter((status) => status === "insufficient_funds").length, 46);
    const balance = await post(first, "/wallets/balances/", apiKey, { external_id: "shared-player" });
    assert.equal(balance.body.balances?.[0]?.available_balance, "2.00");

    const store = await openStore(database.url);
    try {
      const report = await verifyLedger(store);
      assert.equal(report.ok, true, JSON.stringify(report.problems));
    } finally {
      await store.close();
    }
  });

  it("refuses in every process, at once, a key revoked by the command line, also where a process remembers it", async () => {
    const balanceOf = (port: number, key: string) => post(port, "/wallets/balances/", key, { external_id: "shared-player" });
    // Every process (a cluster of two on the first port) reads balances with the key, and so remembers it.
    const warm = await Promise.all(
      Array.from({ length: 12 }, (_, index) => balanceOf(PORTS[index % PORTS.length] ?? 0, revokedKey.apiKey)),
    );
    assert.deepEqual(
      warm.map((answer) => answer.status),
      warm.map(() => 200),
    );

    const revoked = await revokeByCli(database.url, revokedKey.id);
    assert.deepEqual(revoked, { id: revokedKey.id, revoked: true });

    // The very next requests, in every process: balance reads first (they take a remembered key
    // without a query of their own, the statement that reads the balance checks it), then a route
    // that reads the key before anything else.
    const reads = await Promise.all(
      Array.from({ length: 8 }, (_, index) => balanceOf(PORTS[index % PORTS.length] ?? 0, revokedKey.apiKey)),
    );
    const listings = await Promise.all(
      PORTS.map((port) =>
        fetch(`http://127.0.0.1:${port}/wallets/`, { headers: { "x-api-key": revokedKey.apiKey } }).then(async (response) => ({
          status: response.status,
          body: (await response.json()) as { error?: { code: string } },
        })),
      ),
    );
    assert.deepEqual(
      [...reads, ...listings].map((answer) => [answer.status, answer.body.error?.code]),
      [...reads, ...listings].map(() => [401, "unauthorized"]),
    );
    // The tenant's other key goes on working everywhere.
    for (const port of PORTS) assert.equal((await balanceOf(port, apiKey)).status, 200);
  });

  it("streams to a client of one process the events committed by another", async () => {
    const [first = 0, second = 0] = PORTS;
    const stream = await openStream(`http://127.0.0.1:${first}/wallets/events/?external_id=shared-player`, { "x-api-key": apiKey });
    try {
      const sent = Date.now();
      const moved = await post(second, "/wallets/transfer-to-user/", apiKey, {
        external_id: "shared-player",
        currency: "USDTTRC20",
        amount: "1.25",
      });
      assert.equal(moved.status, 200);
      const [event] = await stream.waitFor(1);
      assert.equal(event?.type, "transfer.posted");
      assert.equal(event?.data.transfer.amount, "1.25");
      // PostgreSQL wakes the other process with NOTIFY; several SQLite processes share only the file, so a poll finds it.
      const boundMs = TEST_STORE === "postgres" ? 500 : 2000;
      assert.ok((event?.receivedAt ?? Number.POSITIVE_INFINITY) - sent < boundMs, `arrived after ${(event?.receivedAt ?? 0) - sent} ms`);
    } finally {
      stream.close();
    }
  });

  it("lets exactly the bets within a loss limit through when 100 race from two processes, and verifies", async () => {
    const [first = 0, second = 0] = PORTS;
    const funded = await request(first, "POST", "/wallets/transfer-to-user/", apiKey, {
      external_id: "limited-player",
      currency: "USDTTRC20",
      amount: "100",
    });
    assert.equal(funded.status, 200, JSON.stringify(funded.body));
    const set = await request(second, "PUT", `/wallets/${limitedWalletId}/limits/USDTTRC20/`, apiKey, { loss_day: "50.00" });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.equal(set.body.limits[0]?.used, "0.00");

    const results = await Promise.all(
      Array.from({ length: 100 }, (_, index) =>
        request(PORTS[index % PORTS.length] ?? first, "POST", "/games/bets/", apiKey, {
          external_id: "limited-player",
          currency: "USDTTRC20",
          amount: "1.00",
          transaction_id: `mp-bet-${index}`,
          round_id: `mp-round-${index}`,
        }),
      ),
    );
    const outcomes = results.map((result) => (result.status === 200 ? "ok" : `${result.status} ${result.body.error?.code}`));
    assert.equal(outcomes.filter((outcome) => outcome === "ok").length, 50, JSON.stringify(outcomes));
    assert.equal(outcomes.filter((outcome) => outcome === "400 limit_exceeded").length, 50, JSON.stringify(outcomes));
    for (const result of results.filter((each) => each.status === 400)) {
      assert.deepEqual(
        { ...result.body.error.details, resets_at: null },
        { currency: "USDTTRC20", limit: "loss", window: "day", amount: "50.00", used: "50.00", remaining: "0.00", resets_at: null },
      );
    }
    // Each accepted bet saw a balance of its own: 99, 98, ... 50.
    const seen = results
      .filter((result) => result.status === 200)
      .map((result) => Number(result.body.balance.available_balance))
      .sort((a, b) => a - b);
    assert.deepEqual(
      seen,
      Array.from({ length: 50 }, (_, index) => 50 + index),
    );

    for (const port of PORTS) {
      const balance = await request(port, "POST", "/wallets/balances/", apiKey, { external_id: "limited-player" });
      assert.equal(balance.status, 200);
      assert.equal(balance.body.balances?.[0]?.available_balance, "50.00");
      const limits = await request(port, "GET", `/wallets/${limitedWalletId}/limits/`, apiKey);
      assert.equal(limits.status, 200, JSON.stringify(limits.body));
      const [row] = limits.body.currencies[0].limits;
      assert.deepEqual(
        { ...row, resets_at: null },
        { limit: "loss", window: "day", amount: "50.00", used: "50.00", remaining: "0.00", resets_at: null },
      );
    }
    const history = await request(first, "POST", "/wallets/transfer-history/", apiKey, { external_id: "limited-player" });
    assert.equal(history.body.pagination.total, 51, "the transfer in and the 50 bets, nothing of the refused ones");

    const store = await openStore(database.url);
    try {
      const report = await verifyLedger(store);
      assert.equal(report.ok, true, JSON.stringify(report.problems));
    } finally {
      await store.close();
    }
  });
});
