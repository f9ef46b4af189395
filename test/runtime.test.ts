import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type Config, loadConfig } from "../src/config.js";
import { InvariantError } from "../src/ledger/assert.js";
import { createRuntime, type Runtime, type WorkerLog } from "../src/runtime.js";
import type { DeliveryOutcome } from "../src/store/store.js";
import { createTestDatabase, type TestDatabase } from "./helpers.js";

/**
 * The composition root (src/runtime.ts): what it builds, when its workers run, and how it closes.
 * Driven through the use cases alone, as the server and the command line drive it.
 */

/** A log that keeps what the workers say, by level. */
function recordingLog() {
  const lines: { level: string; message: string }[] = [];
  const at =
    (level: string) =>
    (...args: unknown[]) => {
      lines.push({ level, message: String(args.find((arg) => typeof arg === "string") ?? "") });
    };
  const log: WorkerLog = { error: at("error"), warn: at("warn"), fatal: at("fatal") };
  return { log, lines };
}

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(20);
  }
}

/** A webhook receiver on 127.0.0.1 that answers 200 after `delayMs`. */
async function startReceiver(delayMs: number) {
  const requests: string[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume();
    request.on("end", () => {
      requests.push(String(request.headers["x-event-type"]));
      setTimeout(() => response.writeHead(200).end(), delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("the composition root", () => {
  let database: TestDatabase;
  let config: Config;

  before(async () => {
    database = await createTestDatabase();
    config = {
      ...loadConfig({}),
      databaseUrl: database.url,
      sweepIntervalMs: 50,
      webhookPollIntervalMs: 50,
      webhookAllowHttp: true,
      webhookAllowedTargets: ["127.0.0.1/32"],
    };
  });
  after(() => database.drop());

  /** A tenant with a funded wallet, through the use cases. */
  async function fundedWallet(runtime: Runtime, name: string) {
    const { services } = runtime;
    const tenant = await services.credentials.createTenant(name);
    await services.wallets.create(tenant.tenantId, "Player", "player");
    const lookup = { by: "external_id" as const, value: "player" };
    await services.deposits.report({
      tenantId: tenant.tenantId,
      lookup,
      currency: "LTC",
      amount: "5",
      txHash: `${name}-funding`,
      confirmations: 100,
    });
    return { tenantId: tenant.tenantId, lookup };
  }

  it("builds the store and the use cases, without workers until started (the command line's way)", async () => {
    const runtime = await createRuntime(config);
    try {
      assert.equal(runtime.started, false);
      assert.equal("store" in runtime.services, false, "the use cases do not hand out the store");
      const { tenantId, lookup } = await fundedWallet(runtime, "Unstarted Casino");
      const placed = await runtime.services.holds.place({ tenantId, lookup, currency: "LTC", amount: "1", timeoutSeconds: 1 });
      await sleep(1_200);
      // Nothing sweeps in a runtime that was never started: the hold is still stored as pending.
      assert.equal((await runtime.services.holds.get(tenantId, placed.value.hold.id)).status, "pending");
      assert.equal((await runtime.services.verify()).ok, true);
    } finally {
      await runtime.close();
    }
  });

  it("runs the sweeper and the webhook dispatcher once started, and tells the hooks each delivery", async () => {
    const runtime = await createRuntime(config);
    const receiver = await startReceiver(0);
    const attempts: DeliveryOutcome[] = [];
    try {
      const { tenantId, lookup } = await fundedWallet(runtime, "Started Casino");
      await runtime.services.webhooks.create(tenantId, receiver.url);
      const placed = await runtime.services.holds.place({ tenantId, lookup, currency: "LTC", amount: "1", timeoutSeconds: 1 });
      runtime.start({ log: recordingLog().log, onDeliveryAttempt: (outcome) => attempts.push(outcome) });
      assert.equal(runtime.started, true);
      await waitUntil(async () => (await runtime.services.holds.get(tenantId, placed.value.hold.id)).status === "expired");
      await waitUntil(() => receiver.requests.includes("hold.expired"));
      await waitUntil(() => attempts.filter((outcome) => outcome.status === "delivered").length >= 2);
    } finally {
      await runtime.close();
      await receiver.close();
    }
  });

  it("closes once, waiting for deliveries in flight before the store closes", async () => {
    const runtime = await createRuntime(config);
    const receiver = await startReceiver(300);
    const attempts: DeliveryOutcome[] = [];
    const { tenantId } = await fundedWallet(runtime, "Closing Casino");
    await runtime.services.webhooks.create(tenantId, receiver.url);
    await runtime.services.wallets.create(tenantId, "Second Player", "second");
    runtime.start({ log: recordingLog().log, onDeliveryAttempt: (outcome) => attempts.push(outcome) });
    await runtime.services.deposits.report({
      tenantId,
      lookup: { by: "external_id", value: "second" },
      currency: "LTC",
      amount: "1",
      txHash: "closing-1",
      confirmations: 100,
    });
    await waitUntil(() => receiver.requests.length > 0);
    const closing = runtime.close();
    assert.equal(runtime.close(), closing, "a second close is the first one");
    await closing;
    assert.equal(attempts.at(-1)?.status, "delivered", "the delivery in flight finished before the store closed");
    assert.equal(runtime.started, false);
    await assert.rejects(runtime.services.operator.listTenants(), "the store is closed");
    runtime.start({ log: recordingLog().log });
    assert.equal(runtime.started, false, "a closed runtime does not start again");
    await receiver.close();

    // The delivery was recorded as delivered: the next process finds nothing left to send.
    const next = await createRuntime(config);
    try {
      const deliveries = await next.services.webhooks.deliveries(tenantId, "pending", 10, 0);
      assert.deepEqual(deliveries, []);
    } finally {
      await next.close();
    }
  });

  it("stops on a broken invariant in a worker, and logs and retries any other failure", async () => {
    const broken: InvariantError[] = [];
    const runtime = await createRuntime(config, { onInvariantBroken: (error) => broken.push(error) });
    const { log, lines } = recordingLog();
    let failure: Error = new Error("the database hiccuped");
    runtime.services.sweep = async () => {
      throw failure;
    };
    try {
      runtime.start({ log });
      await waitUntil(() => lines.some((line) => line.level === "error" && /sweep failed/.test(line.message)));
      assert.equal(broken.length, 0, "an ordinary failure is logged, and the next sweep retries");
      failure = new InvariantError("invariant broken: a test says so");
      await waitUntil(() => broken.length > 0);
      assert.equal(broken[0]?.message, "invariant broken: a test says so");
    } finally {
      await runtime.close();
    }
  });

  it("refuses a database it does not know, leaving nothing open", async () => {
    await assert.rejects(createRuntime({ ...config, databaseUrl: "mysql://localhost/wallet" }), /unsupported DATABASE_URL/);
  });
});
