import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { assertError, call, createWallet, deposit, startApp, TEST_STORE, type TestApp } from "../helpers.js";

const TOKEN = "metrics-token-0123456789abcdef";
const FAST_WEBHOOKS = {
  webhookBackoffBaseMs: 50,
  webhookPollIntervalMs: 50,
  webhookAllowHttp: true,
  webhookAllowedTargets: ["127.0.0.1/32"],
};

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format's samples (comments skipped). */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((label) => [label[1], label[2]]));
    samples.push({ name: match[1] ?? "", labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample with this name and these labels (at least), or undefined. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter(
    (sample) => sample.name === name && Object.entries(labels).every(([key, text]) => sample.labels[key] === text),
  );
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe("metrics", () => {
  let test: TestApp;
  const scrape = async () => {
    const response = await test.app.inject({ method: "GET", url: "/metrics", headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(response.statusCode, 200, response.body);
    assert.match(String(response.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
    return parse(response.body);
  };

  before(async () => {
    test = await startApp({ metricsToken: TOKEN, ...FAST_WEBHOOKS });
    await createWallet(test, "gauged");
    await deposit(test, { externalId: "gauged", currency: "USDTTRC20", amount: "100", txHash: "metrics-funding", confirmations: 19 });
  });
  after(() => test.close());

  it("needs the bearer token, answered in the envelope, and counts against no rate limit", async () => {
    const missing = await call(test.app, "GET", "/metrics");
    assertError(missing, 401, "unauthorized");
    assert.equal(missing.headers["www-authenticate"], 'Bearer realm="metrics"');
    assertError(await call(test.app, "GET", "/metrics", { headers: { authorization: `Bearer ${TOKEN}x` } }), 401, "unauthorized");
    assertError(await call(test.app, "GET", "/metrics", { key: test.tenant.apiKey }), 401, "unauthorized");
    const allowed = await test.app.inject({ method: "GET", url: "/metrics", headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(allowed.statusCode, 200);
    assert.equal(allowed.headers["x-ratelimit-limit"], undefined);
  });

  it("exposes every named series", async () => {
    const samples = await scrape();
    const names = new Set(samples.map((sample) => sample.name));
    for (const name of [
      "wallet_http_requests_total",
      "wallet_http_request_duration_seconds_bucket",
      "wallet_http_request_duration_seconds_count",
      "wallet_commit_items_bucket",
      "wallet_commit_duration_seconds_bucket",
      "wallet_commit_queue_depth",
      "wallet_movements_total",
      "wallet_events_total",
      "wallet_event_stream_clients",
      "wallet_webhook_deliveries_pending",
      "wallet_webhook_delivery_failures_total",
      "wallet_webhook_deliveries_total",
      "process_cpu_user_seconds_total",
      "process_resident_memory_bytes",
      "nodejs_eventloop_lag_seconds",
      "nodejs_heap_size_used_bytes",
    ]) {
      assert.ok(names.has(name), `${name} is missing`);
    }
    for (const type of ["bet", "win", "rollback", "transfer", "hold", "withdrawal", "deposit"]) {
      assert.ok(value(samples, "wallet_movements_total", { type }) !== undefined, `movements of type ${type} are missing`);
    }
    if (TEST_STORE === "postgres") {
      for (const state of ["total", "idle", "waiting"]) assert.ok(value(samples, "wallet_db_pool_connections", { state }) !== undefined);
      assert.ok((value(samples, "wallet_db_pool_connections", { state: "total" }) ?? 0) >= 1);
    } else {
      assert.equal(value(samples, "wallet_db_pool_connections", { state: "total" }), undefined, "SQLite has no pool");
    }
  });

  it("counts requests by route pattern and status, movements when they commit, and group commits", async () => {
    const before = await scrape();
    const balanceLabels = { method: "POST", route: "/wallets/balances/", status: "200" };
    const walletLabels = { method: "GET", route: "/wallets/:id/", status: "404" };
    for (let index = 0; index < 3; index += 1) {
      assert.equal(
        (await call(test.app, "POST", "/wallets/balances/", { key: test.tenant.apiKey, body: { external_id: "gauged" } })).status,
        200,
      );
    }
    assert.equal((await call(test.app, "GET", "/wallets/w_doesnotexist00/", { key: test.tenant.apiKey })).status, 404);
    assert.equal((await call(test.app, "GET", "/no/such/route/")).status, 404);
    const bet = await call(test.app, "POST", "/games/bets/", {
      key: test.tenant.apiKey,
      body: { external_id: "gauged", currency: "USDTTRC20", amount: "10", transaction_id: "metrics-bet-1", round_id: "metrics-round" },
    });
    assert.equal(bet.status, 200, JSON.stringify(bet.body));
    // A refused bet moves nothing and counts as no movement.
    const refused = await call(test.app, "POST", "/games/bets/", {
      key: test.tenant.apiKey,
      body: { external_id: "gauged", currency: "USDTTRC20", amount: "1000", transaction_id: "metrics-bet-2", round_id: "metrics-round" },
    });
    assertError(refused, 400, "insufficient_funds");
    // A replay of the first bet answers again and moves nothing either.
    assert.equal(
      (
        await call(test.app, "POST", "/games/bets/", {
          key: test.tenant.apiKey,
          body: { external_id: "gauged", currency: "USDTTRC20", amount: "10", transaction_id: "metrics-bet-1", round_id: "metrics-round" },
        })
      ).status,
      200,
    );
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      (value(after, name, labels) ?? 0) - (value(before, name, labels) ?? 0);

    assert.equal(delta("wallet_http_requests_total", balanceLabels), 3);
    assert.equal(delta("wallet_http_request_duration_seconds_count", balanceLabels), 3);
    assert.ok((value(after, "wallet_http_request_duration_seconds_sum", balanceLabels) ?? 0) > 0);
    assert.equal(delta("wallet_http_requests_total", walletLabels), 1);
    assert.equal(delta("wallet_http_requests_total", { method: "GET", route: "unmatched", status: "404" }), 1);
    assert.equal(delta("wallet_http_requests_total", { method: "POST", route: "/games/bets/", status: "400" }), 1);
    assert.equal(delta("wallet_movements_total", { type: "bet" }), 1);
    assert.equal(delta("wallet_movements_total", { type: "win" }), 0);
    assert.equal(delta("wallet_events_total", { type: "bet.placed" }), 1);
    assert.ok(delta("wallet_commit_items_count") >= 1, "the bet's transaction is observed");
    assert.ok(delta("wallet_commit_items_sum") >= 3, "each bet (placed, refused, replayed) is a piece of work");
    assert.ok(delta("wallet_commit_duration_seconds_sum") > 0);
    assert.equal(value(after, "wallet_commit_queue_depth"), 0);
    // The deposit that funded the wallet in `before` was counted when it was confirmed.
    assert.ok((value(after, "wallet_movements_total", { type: "deposit" }) ?? 0) >= 1);
  });

  it("counts open event streams", async () => {
    await test.app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = test.app.server.address() as AddressInfo;
    const controller = new AbortController();
    const response = await fetch(`http://127.0.0.1:${port}/wallets/events/`, {
      headers: { "x-api-key": test.tenant.apiKey },
      signal: controller.signal,
    });
    assert.equal(response.status, 200);
    try {
      assert.equal(value(await scrape(), "wallet_event_stream_clients"), 1);
    } finally {
      controller.abort();
    }
    await waitUntil(async () => value(await scrape(), "wallet_event_stream_clients") === 0);
  });

  it("counts the webhook backlog and failed delivery attempts", async () => {
    const receiver = createServer((_request, response) => response.writeHead(503).end());
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    const endpoint = await call(test.app, "POST", "/webhooks/", { key: test.tenant.apiKey, body: { url } });
    assert.equal(endpoint.status, 201);
    try {
      const before = await scrape();
      await deposit(test, { externalId: "gauged", currency: "BTC", amount: "0.1", txHash: "metrics-hook", confirmations: 1 });
      await waitUntil(async () => {
        const samples = await scrape();
        return (
          (value(samples, "wallet_webhook_delivery_failures_total") ?? 0) >=
          (value(before, "wallet_webhook_delivery_failures_total") ?? 0) + 2
        );
      });
      assert.ok((value(await scrape(), "wallet_webhook_deliveries_pending") ?? 0) >= 1, "the failing delivery waits for its retry");
    } finally {
      await call(test.app, "DELETE", `/webhooks/${endpoint.body.id}/`, { key: test.tenant.apiKey });
      await new Promise((resolve) => receiver.close(resolve));
    }
  });
});

describe("who may read metrics", () => {
  it("serves none by default: /metrics is an unknown route", async () => {
    const test = await startApp();
    try {
      assertError(await call(test.app, "GET", "/metrics"), 404, "not_found");
    } finally {
      await test.close();
    }
  });

  it("serves them on a listener of their own with METRICS_PORT, bound to 127.0.0.1, and not on the main port", async () => {
    const test = await startApp({ metricsPort: 0, metricsToken: TOKEN });
    try {
      await test.app.ready();
      const url = test.app.metrics.listener?.url ?? "";
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      assertError(await call(test.app, "GET", "/metrics", { headers: { authorization: `Bearer ${TOKEN}` } }), 404, "not_found");
      await call(test.app, "GET", "/health/live");

      const refused = await fetch(url);
      assert.equal(refused.status, 401, "the token, when set, is needed there too");
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, "unauthorized");
      const response = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(response.status, 200);
      const samples = parse(await response.text());
      assert.equal(value(samples, "wallet_http_requests_total", { method: "GET", route: "/health/live", status: "200" }), 1);
      const elsewhere = await fetch(url.replace(/\/metrics$/, "/wallets/"), { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(elsewhere.status, 404);
    } finally {
      await test.close();
    }
    assert.equal(test.app.metrics.listener, undefined, "closing the app closes its listener");
  });

  it("keeps each app's counts apart", async () => {
    const first = await startApp({ metricsPort: 0 });
    const second = await startApp({ metricsPort: 0 });
    try {
      await first.app.ready();
      await second.app.ready();
      await call(first.app, "GET", "/health/live");
      await call(first.app, "GET", "/health/live");
      const count = async (test: TestApp) =>
        value(parse(await (await fetch(test.app.metrics.listener?.url ?? "")).text()), "wallet_http_requests_total", {
          route: "/health/live",
        });
      assert.equal(await count(first), 2);
      assert.equal(await count(second), undefined);
    } finally {
      await first.close();
      await second.close();
    }
  });
});
