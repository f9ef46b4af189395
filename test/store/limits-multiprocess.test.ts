import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { loadConfig } from "../../src/config.js";
import { createServices } from "../../src/services/services.js";
import { verifyLedger } from "../../src/services/verify.js";
import { openStore } from "../../src/store/open.js";
import { createTestDatabase, type TestDatabase } from "../helpers.js";

// This file's band of ports (47400-47499): one for each server process.
const PORTS = [47_400 + Math.floor(Math.random() * 50), 47_450 + Math.floor(Math.random() * 50)];
const CURRENCY = "USDTTRC20";

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

/** A loss limit across server processes on one database: the account's lock alone must hold it. */
describe("safer-gambling limits across server processes on one database", () => {
  let database: TestDatabase;
  let servers: ChildProcess[] = [];
  let apiKey = "";
  let walletId = "";

  before(async () => {
    database = await createTestDatabase();
    const store = await openStore(database.url);
    const services = await createServices(store, { ...loadConfig({}), databaseUrl: database.url });
    const tenant = await services.credentials.createTenant("Limited Casino");
    apiKey = tenant.apiKey;
    walletId = (await services.wallets.create(tenant.tenantId, "Limited Player", "limited-player")).value.walletId;
    await services.deposits.report({
      tenantId: tenant.tenantId,
      lookup: undefined,
      currency: CURRENCY,
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

  it("lets exactly the bets within a loss limit through when 100 race from two processes, and verifies", async () => {
    const [first = 0, second = 0] = PORTS;
    const funded = await request(first, "POST", "/wallets/transfer-to-user/", apiKey, {
      external_id: "limited-player",
      currency: CURRENCY,
      amount: "1000",
    });
    assert.equal(funded.status, 200, JSON.stringify(funded.body));
    const set = await request(second, "PUT", `/wallets/${walletId}/limits/${CURRENCY}/`, apiKey, { loss_day: "50.00" });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.equal(set.body.limits[0]?.used, "0.00");

    const results = await Promise.all(
      Array.from({ length: 100 }, (_, index) =>
        request(PORTS[index % PORTS.length] ?? first, "POST", "/games/bets/", apiKey, {
          external_id: "limited-player",
          currency: CURRENCY,
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
        { currency: CURRENCY, limit: "loss", window: "day", amount: "50.00", used: "50.00", remaining: "0.00", resets_at: null },
      );
    }
    // Each accepted bet saw a balance of its own: 999, 998, ... 950.
    const seen = results
      .filter((result) => result.status === 200)
      .map((result) => Number(result.body.balance.available_balance))
      .sort((a, b) => a - b);
    assert.deepEqual(
      seen,
      Array.from({ length: 50 }, (_, index) => 950 + index),
    );

    for (const port of PORTS) {
      const balance = await request(port, "POST", "/wallets/balances/", apiKey, { external_id: "limited-player" });
      assert.equal(balance.status, 200);
      assert.equal(balance.body.balances?.[0]?.available_balance, "950.00");
      const limits = await request(port, "GET", `/wallets/${walletId}/limits/`, apiKey);
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
