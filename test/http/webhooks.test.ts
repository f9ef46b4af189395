import assert from "node:assert/strict";
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { loadConfig } from "../../src/config.js";
import { Contract } from "../contract.js";
import { call, createTestDatabase, createWallet, deposit, startApp, startServer, type TestApp } from "../helpers.js";

interface Received {
  eventId: string;
  signature: string;
  body: string;
  answeredStatus: number;
}

/** A real local HTTP receiver whose answers a test scripts: fail n times, then succeed. */
async function startReceiver(
  failuresFirst: number,
): Promise<{ url: string; received: Received[]; recover(): void; close(): Promise<void> }> {
  const received: Received[] = [];
  let failuresLeft = failuresFirst;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const status = failuresLeft > 0 ? 503 : 200;
      if (failuresLeft > 0) failuresLeft -= 1;
      received.push({
        eventId: String(request.headers["x-event-id"]),
        signature: String(request.headers["x-signature"]),
        body: Buffer.concat(chunks).toString("utf8"),
        answeredStatus: status,
      });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    recover: () => {
      failuresLeft = 0;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The README's verification recipe, exactly as a receiver would write it. */
function verifySignature(secret: string, header: string, rawBody: string, toleranceSeconds = 300): boolean {
  const parts = Object.fromEntries(header.split(",").map((part) => part.split("=") as [string, string]));
  const timestamp = Number(parts.t);
  if (!Number.isInteger(timestamp) || Math.abs(Date.now() / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = createHmac("sha256", secret).update(`${parts.t}.${rawBody}`).digest("hex");
  const given = parts.v1 ?? "";
  return given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const FAST_RETRIES = { webhookBackoffBaseMs: 50, webhookPollIntervalMs: 50 };
/** The receivers listen on 127.0.0.1 over http: open exactly that (targets must otherwise be public https). */
const LOCAL_TARGETS = { webhookAllowHttp: true, webhookAllowedTargets: ["127.0.0.1/32"] };

describe("webhooks", () => {
  let test: TestApp;

  before(async () => {
    test = await startApp({ ...FAST_RETRIES, ...LOCAL_TARGETS });
    await test.app.ready();
    await createWallet(test, "hooked");
  });
  after(() => test.close());

  const register = async (url: string) => {
    const response = await call(test.app, "POST", "/webhooks/", { key: test.tenant.apiKey, body: { url } });
    assert.equal(response.status, 201);
    assert.match(response.body.secret, /^whsec_/);
    return response.body as { id: string; secret: string };
  };

  it("signs each event so that the documented recipe verifies it", async () => {
    const receiver = await startReceiver(0);
    const endpoint = await register(receiver.url);
    try {
      await deposit(test, { externalId: "hooked", currency: "BTC", amount: "0.5", txHash: "hook-1", confirmations: 1 });
      await waitUntil(() => receiver.received.length >= 1);
      const [first] = receiver.received;
      assert.ok(first);
      assert.equal(verifySignature(endpoint.secret, first.signature, first.body), true);
      assert.equal(verifySignature(endpoint.secret, first.signature, `${first.body} `), false);
      assert.equal(verifySignature("whsec_wrong", first.signature, first.body), false);
      const event = JSON.parse(first.body);
      assert.equal(event.id, first.eventId);
      assert.equal(event.type, "deposit.pending");
      assert.deepEqual(event.balance, { currency: "BTC", amount: "0.50", pending_amount: "0.50", available_balance: "0.00" });
      assert.equal(event.wallet.external_id, "hooked");
      assert.equal(typeof event.account_version, "number");
      // The body is the payload the OpenAPI document names under webhooks for its type (closed).
      assert.equal(Contract.of(test.app).eventProblem(event), undefined);
    } finally {
      await call(test.app, "DELETE", `/webhooks/${endpoint.id}/`, { key: test.tenant.apiKey });
      await receiver.close();
    }
  });

  it("retries a failing receiver until it answers 2xx, and acknowledges the event exactly once", async () => {
    const receiver = await startReceiver(3);
    const endpoint = await register(receiver.url);
    try {
      await deposit(test, { externalId: "hooked", currency: "BTC", amount: "0.5", txHash: "hook-1", confirmations: 5 });
      await waitUntil(() => receiver.received.some((entry) => entry.answeredStatus === 200));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const attempts = receiver.received.filter((entry) => JSON.parse(entry.body).type === "deposit.confirmed");
      assert.deepEqual(
        attempts.map((entry) => entry.answeredStatus),
        [503, 503, 503, 200],
      );
      assert.equal(new Set(attempts.map((entry) => entry.eventId)).size, 1);
      const deliveries = await call(test.app, "GET", "/webhooks/deliveries/?status=delivered", { key: test.tenant.apiKey });
      const delivered = deliveries.body.deliveries.filter((entry: { endpoint_id: string }) => entry.endpoint_id === endpoint.id);
      assert.equal(delivered.length, 1);
      assert.equal(delivered[0].attempts, 4);
      assert.equal(delivered[0].last_status_code, 200);

      const redelivered = await call(test.app, "POST", `/webhooks/events/${delivered[0].event_id}/redeliver/`, { key: test.tenant.apiKey });
      assert.equal(redelivered.status, 200);
      await waitUntil(() => receiver.received.length === 5);
      assert.equal(receiver.received[4]?.eventId, delivered[0].event_id);
    } finally {
      await call(test.app, "DELETE", `/webhooks/${endpoint.id}/`, { key: test.tenant.apiKey });
      await receiver.close();
    }
  });

  it("keeps endpoints per tenant and refuses bad URLs", async () => {
    const bad = await call(test.app, "POST", "/webhooks/", { key: test.tenant.apiKey, body: { url: "ftp://example.test/x" } });
    assert.equal(bad.status, 400);
    const other = await test.newTenant("Other Casino");
    const mine = await register("http://127.0.0.1:9/never");
    assert.equal((await call(test.app, "DELETE", `/webhooks/${mine.id}/`, { key: other.apiKey })).status, 404);
    const listed = await call(test.app, "GET", "/webhooks/", { key: other.apiKey });
    assert.deepEqual(listed.body.webhooks, []);
    assert.equal((await call(test.app, "DELETE", `/webhooks/${mine.id}/`, { key: test.tenant.apiKey })).status, 200);
  });
});

describe("webhooks across a restart", () => {
  it("loses nothing when the service stops in the middle of retrying", async () => {
    const database = await createTestDatabase();
    const config = { ...loadConfig({}), databaseUrl: database.url, ...FAST_RETRIES, ...LOCAL_TARGETS };
    const receiver = await startReceiver(1_000_000);
    const startService = async () => {
      const { app, runtime } = await startServer(config);
      const close = async () => {
        await app.close();
        await runtime.close();
      };
      return { app, services: runtime.services, close };
    };
    try {
      const first = await startService();
      const tenant = await first.services.credentials.createTenant("Restart Casino");
      await first.services.wallets.create(tenant.tenantId, "Restart Player", "restart-player");
      await first.services.webhooks.create(tenant.tenantId, receiver.url);
      await first.services.deposits.report({
        tenantId: tenant.tenantId,
        lookup: { by: "external_id", value: "restart-player" },
        currency: "LTC",
        amount: "2",
        txHash: "restart-1",
        confirmations: 1,
      });
      await waitUntil(() => receiver.received.length >= 2);
      await first.close();

      const failedBeforeRestart = receiver.received.length;
      // The receiver recovers while the service is down.
      receiver.recover();

      const second = await startService();
      try {
        await waitUntil(() => receiver.received.some((entry) => entry.answeredStatus === 200));
        const event = JSON.parse(receiver.received.find((entry) => entry.answeredStatus === 200)?.body ?? "{}");
        assert.equal(event.type, "deposit.pending");
        assert.ok(failedBeforeRestart >= 2);
        // The receiver has answered 200; the service records the delivery once it reads that answer.
        const delivered = () => second.services.webhooks.deliveries(tenant.tenantId, "delivered", 10, 0);
        await waitUntil(async () => (await delivered()).length > 0);
        assert.equal((await delivered()).length, 1);
      } finally {
        await second.close();
      }
    } finally {
      await receiver.close();
      await database.drop();
    }
  });
});
