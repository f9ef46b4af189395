import assert from "node:assert/strict";
import { get as httpGet, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { Config } from "../../src/config.js";
import type { Store } from "../../src/store/store.js";
import { assertError, type CallResult, call, createWallet, fundMaster, startApp, type Tenant, type TestApp } from "../helpers.js";
import { openStream } from "../sse.js";

/**
 * Bounded live streams (issue 10, item 3), over real HTTP on 127.0.0.1: the per-tenant and
 * global caps, slow consumers disconnected and resuming without a gap, one outbox read per commit
 * shared by a tenant's streams, and nothing left behind once streams close.
 */

const CURRENCY = "USDTTRC20";

async function listening(overrides: Partial<Config>): Promise<{ test: TestApp; base: string }> {
  const test = await startApp(overrides);
  await test.app.listen({ port: 0, host: "127.0.0.1" });
  return { test, base: `http://127.0.0.1:${(test.app.server.address() as AddressInfo).port}` };
}

/** A stream request whose answer is kept open (a 200) or read whole (anything else). */
async function request(base: string, apiKey: string, query = "", headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const response = await fetch(`${base}/wallets/events/${query}`, {
    headers: { "x-api-key": apiKey, ...headers },
    signal: controller.signal,
  });
  const result: CallResult = { status: response.status, body: undefined, headers: Object.fromEntries(response.headers) };
  if (response.status !== 200) result.body = await response.json();
  return { ...result, close: () => controller.abort() };
}

async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function assertRefused(response: CallResult, scope: "tenant" | "process", limit: number): void {
  const details = assertError(response, 429, "rate_limited");
  assert.deepEqual(details, { scope, limit, retry_after_seconds: 5 });
  assert.equal(response.headers["retry-after"], "5");
}

describe("stream caps", () => {
  let test: TestApp;
  let base = "";
  let other: Tenant;

  before(async () => {
    ({ test, base } = await listening({ streamsPerTenant: 3, streamsMax: 5 }));
    other = await test.newTenant("Other Casino");
  });
  after(() => test.close());

  const stats = () => test.services.events.streams.stats();

  it("counts exactly under concurrency: of 10 simultaneous requests, 3 open and 7 get 429 with Retry-After", async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, () => request(base, test.tenant.apiKey)));
    try {
      const opened = answers.filter((answer) => answer.status === 200);
      const refusedOnes = answers.filter((answer) => answer.status !== 200);
      assert.equal(opened.length, 3);
      assert.equal(refusedOnes.length, 7);
      for (const answer of refusedOnes) assertRefused(answer, "tenant", 3);
      assert.equal(stats().streams, 3);
      assert.equal(stats().hubs, 1);
    } finally {
      for (const answer of answers) answer.close();
    }
    await until("the closed streams to give their slots back", () => stats().streams === 0);
    assert.equal(stats().hubs, 0);
  });

  it("frees a tenant's slot when one of its streams closes", async () => {
    const streams = [
      await request(base, test.tenant.apiKey),
      await request(base, test.tenant.apiKey),
      await request(base, test.tenant.apiKey),
    ];
    try {
      assert.deepEqual(
        streams.map((stream) => stream.status),
        [200, 200, 200],
      );
      assertRefused(await request(base, test.tenant.apiKey), "tenant", 3);
      // Another tenant has its own cap.
      const foreign = await request(base, other.apiKey);
      assert.equal(foreign.status, 200);
      foreign.close();
      streams[0]?.close();
      await until("the slot to be freed", () => stats().streams === 2);
      const again = await request(base, test.tenant.apiKey);
      assert.equal(again.status, 200);
      streams.push(again);
    } finally {
      for (const stream of streams) stream.close();
    }
    await until("every stream to close", () => stats().streams === 0);
  });

  it("caps the whole process across tenants, and frees the slot when a stream closes", async () => {
    const mine = [
      await request(base, test.tenant.apiKey),
      await request(base, test.tenant.apiKey),
      await request(base, test.tenant.apiKey),
    ];
    const theirs = [await request(base, other.apiKey), await request(base, other.apiKey)];
    try {
      assert.ok([...mine, ...theirs].every((stream) => stream.status === 200));
      assertRefused(await request(base, other.apiKey), "process", 5);
      mine[0]?.close();
      await until("the slot to be freed", () => stats().streams === 4);
      const again = await request(base, other.apiKey);
      assert.equal(again.status, 200);
      theirs.push(again);
      assert.equal(stats().refused.process, 1);
    } finally {
      for (const stream of [...mine, ...theirs]) stream.close();
    }
    await until("every stream to close", () => stats().streams === 0 && stats().hubs === 0);
  });

  it("gives the slot back when the request is refused after taking it (unknown wallet)", async () => {
    const missing = await request(base, test.tenant.apiKey, "?external_id=nobody");
    assertError(missing, 404, "not_found");
    const bad = await request(base, test.tenant.apiKey, "", { "last-event-id": "x" });
    assertError(bad, 400, "invalid_request");
    await until("the slots to be given back", () => stats().streams === 0 && stats().hubs === 0);
  });
});

/** A client that connects and then never reads, until told to. */
interface PausedClient {
  /** Reads what the server sent before it dropped the connection, to the end. */
  drain(): Promise<string>;
  close(): void;
}

function openPaused(url: string, headers: Record<string, string>): Promise<PausedClient> {
  return new Promise((resolve, reject) => {
    const request = httpGet(url, { headers, agent: false });
    request.on("error", () => undefined);
    request.once("response", (response: IncomingMessage) => {
      if (response.statusCode !== 200) {
        reject(new Error(`stream answered ${response.statusCode}`));
        return;
      }
      response.pause();
      const chunks: Buffer[] = [];
      response.on("error", () => undefined);
      const closed = new Promise<void>((done) => response.once("close", () => done()));
      resolve({
        async drain() {
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.resume();
          await closed;
          return Buffer.concat(chunks).toString("utf8");
        },
        close: () => request.destroy(),
      });
    });
  });
}

/** Sequence numbers of the complete events in SSE text (a frame cut off at the end is left out). */
function completeIds(text: string): number[] {
  const blocks = text.split("\n\n");
  blocks.pop(); // after the last "\n\n": nothing, or a frame cut off
  return blocks
    .map((block) => /^id: (\d+)$/m.exec(block)?.[1])
    .filter((id): id is string => id !== undefined)
    .map(Number);
}

describe("slow consumers", () => {
  /**
   * A client connects and never reads while batches of events commit, until the server drops it
   * (the kernel first absorbs a few MB, so this takes thousands of events); it then reads what
   * it was sent and resumes with Last-Event-ID: every event after its start arrives exactly once.
   */
  async function scenario(overrides: Partial<Config>, reason: "lagging" | "stalled") {
    const { test, base } = await listening({ streamsPerTenant: 10, ...overrides });
    try {
      const externalIds = ["slow-1", "slow-2", "slow-3"];
      for (const externalId of externalIds) await createWallet(test, externalId);
      await fundMaster(test, CURRENCY, "1000000", "slow-funding");
      const headers = { "x-api-key": test.tenant.apiKey };
      const start = await test.services.events.lastSeq(test.tenant.tenantId);
      const paused = await openPaused(`${base}/wallets/events/`, headers);
      // A reading stream of the same tenant keeps up throughout and is not disconnected.
      const reader = await openStream(`${base}/wallets/events/`, headers);
      const stats = () => test.services.events.streams.stats();
      let batches = 0;
      while (stats().disconnected[reason] === 0) {
        assert.ok(batches < 20, `still connected after ${batches} batches of 1 000 events: ${JSON.stringify(stats())}`);
        const movements = Array.from({ length: 1000 }, (_, index) => ({
          type: "transfer_to_user",
          external_id: externalIds[index % externalIds.length],
          currency: CURRENCY,
          amount: "0.01",
        }));
        const answer = await call(test.app, "POST", "/batches/", { key: test.tenant.apiKey, body: { movements } });
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        batches += 1;
        // At the server's pace: the reading stream has everything so far (or the paused one is gone).
        await until(
          "the reading stream to keep up",
          () => reader.events.length >= batches * 1000 || stats().disconnected[reason] > 0,
          30_000,
        );
        if (reason === "stalled") await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const last = await test.services.events.lastSeq(test.tenant.tenantId);
      const expected = Array.from({ length: last - start }, (_, index) => start + 1 + index);
      assert.equal(stats().disconnected.lagging + stats().disconnected.stalled, 1, "only the paused stream is disconnected");
      assert.equal(stats().streams, 1);

      const firstIds = completeIds(await paused.drain());
      assert.ok(firstIds.length > 0, "the paused client was sent events before it was dropped");
      assert.ok(firstIds.length < expected.length, "the paused client was dropped before the end");
      assert.deepEqual(firstIds, expected.slice(0, firstIds.length), "what it got is gap-free from its start");
      const lastSeen = firstIds[firstIds.length - 1] as number;
      const resumed = await openStream(`${base}/wallets/events/`, { ...headers, "last-event-id": String(lastSeen) });
      try {
        // Waits by polling: the sse helper's own timeout timer would keep the process alive after the tests.
        await until("the resumed stream to catch up", () => resumed.events.length >= expected.length - firstIds.length, 60_000);
        const rest = resumed.events.slice(0, expected.length - firstIds.length);
        assert.deepEqual([...firstIds, ...rest.map((event) => Number(event.id))], expected, "every event exactly once, in order");
        assert.ok(stats().catchUpReads > 0, "the resumed stream caught up with reads of its own");
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.equal(resumed.events.length, expected.length - firstIds.length, "nothing more, nothing twice");
        await until("the reading stream to get everything", () => reader.events.length >= expected.length, 60_000);
        const all = reader.events;
        assert.deepEqual(
          all.map((event) => Number(event.id)),
          expected,
        );
      } finally {
        resumed.close();
        reader.close();
        paused.close();
      }
      await until("every stream to close", () => stats().streams === 0 && stats().hubs === 0);
    } finally {
      await test.close();
    }
  }

  it("disconnects a client that never reads once it is more than STREAM_MAX_LAG_EVENTS behind; it resumes without a gap", async () => {
    await scenario({ streamMaxLagEvents: 3000, streamMaxStallMs: 600_000 }, "lagging");
  });

  it("disconnects a client whose connection stays blocked for STREAM_MAX_STALL_MS; it resumes without a gap", async () => {
    await scenario({ streamMaxLagEvents: 1_000_000, streamMaxStallMs: 300 }, "stalled");
  });
});

describe("fan-out", () => {
  let test: TestApp;
  let base = "";
  let reads = { tenantWide: 0, filtered: 0 };
  let subscriptions = 0;

  before(async () => {
    ({ test, base } = await listening({ streamsPerTenant: 20, streamMaxLagEvents: 50 }));
    // Count every outbox read and commit subscription the streams make, behind the service's back.
    const store: Store = test.store;
    const listEvents = store.listEvents.bind(store);
    store.listEvents = (tenantId, afterSeq, walletUuid, limit) => {
      if (walletUuid === undefined) reads.tenantWide += 1;
      else reads.filtered += 1;
      return listEvents(tenantId, afterSeq, walletUuid, limit);
    };
    const onEventsCommitted = store.onEventsCommitted.bind(store);
    store.onEventsCommitted = async (listener) => {
      const unsubscribe = await onEventsCommitted(listener);
      subscriptions += 1;
      let done = false;
      return () => {
        if (!done) subscriptions -= 1;
        done = true;
        unsubscribe();
      };
    };
    await createWallet(test, "fan-a");
    await createWallet(test, "fan-b");
    await fundMaster(test, CURRENCY, "100000", "fan-funding");
  });
  after(() => test.close());

  const headers = () => ({ "x-api-key": test.tenant.apiKey });
  const move = (externalId: string, amount: string) =>
    call(test.app, "POST", "/wallets/transfer-to-user/", {
      key: test.tenant.apiKey,
      body: { external_id: externalId, currency: CURRENCY, amount },
    });

  it("serves several streams of one tenant with one outbox read per commit, and leaves nothing behind", async () => {
    const baseline = subscriptions;
    const tenantWide = await Promise.all(Array.from({ length: 6 }, () => openStream(`${base}/wallets/events/`, headers())));
    const walletA = await Promise.all(Array.from({ length: 3 }, () => openStream(`${base}/wallets/events/?external_id=fan-a`, headers())));
    const walletB = await openStream(`${base}/wallets/events/?external_id=fan-b`, headers());
    const stats = () => test.services.events.streams.stats();
    assert.equal(stats().hubs, 1);
    assert.equal(subscriptions, baseline + 1, "one commit subscription for the tenant's 10 streams");
    reads = { tenantWide: 0, filtered: 0 };
    const before = stats();
    const started = Date.now();
    const commits = 8;
    try {
      for (let index = 0; index < commits; index += 1) {
        assert.equal((await move(index % 2 === 0 ? "fan-a" : "fan-b", "1")).status, 200);
        await Promise.all(tenantWide.map((stream) => stream.waitFor(index + 1)));
      }
      await Promise.all(walletA.map((stream) => stream.waitFor(commits / 2)));
      await walletB.waitFor(commits / 2);
      const elapsedSeconds = (Date.now() - started) / 1000;
      const hubReads = stats().hubReads - before.hubReads;
      // One read per commit, plus at most one poll per second without commits.
      assert.ok(hubReads >= commits && hubReads <= commits + Math.ceil(elapsedSeconds) + 1, `${hubReads} reads for ${commits} commits`);
      assert.equal(reads.tenantWide, hubReads, "every tenant-wide read is the hub's");
      assert.equal(reads.filtered, 0, "no stream reads on its own");
      assert.equal(stats().catchUpReads, before.catchUpReads);
      for (const stream of walletA) assert.ok(stream.events.every((event) => event.data.wallet.external_id === "fan-a"));
      assert.ok(walletB.events.every((event) => event.data.wallet.external_id === "fan-b"));
      for (const stream of tenantWide)
        assert.deepEqual(
          stream.events.map((event) => event.id),
          tenantWide[0]?.events.map((event) => event.id),
        );
    } finally {
      for (const stream of [...tenantWide, ...walletA, walletB]) stream.close();
    }
    await until("every stream to close", () => stats().streams === 0);
    assert.equal(stats().hubs, 0, "the tenant's hub is dropped with its last stream");
    assert.equal(subscriptions, baseline, "the commit subscription is gone");
  });

  it("lets a stream resumed from far behind catch up with its own reads, then join the shared reads", async () => {
    const stats = () => test.services.events.streams.stats();
    const live = await openStream(`${base}/wallets/events/`, headers());
    const from = await test.services.events.lastSeq(test.tenant.tenantId);
    const movements = Array.from({ length: 400 }, (_, index) => ({
      type: "transfer_to_user",
      external_id: index % 2 === 0 ? "fan-a" : "fan-b",
      currency: CURRENCY,
      amount: "0.01",
    }));
    assert.equal((await call(test.app, "POST", "/batches/", { key: test.tenant.apiKey, body: { movements } })).status, 200);
    await live.waitFor(400);
    const before = stats();
    const resumed = await openStream(`${base}/wallets/events/?external_id=fan-a`, { ...headers(), "last-event-id": String(from) });
    try {
      const caughtUp = await resumed.waitFor(200);
      assert.ok(caughtUp.every((event) => event.data.wallet.external_id === "fan-a"));
      const ids = caughtUp.map((event) => Number(event.id));
      assert.deepEqual(
        ids,
        [...ids].sort((left, right) => left - right),
      );
      assert.equal(new Set(ids).size, 200);
      // Pages of 100: two full ones, then an empty one that tells it nothing else is behind.
      await until("the resumed stream to finish catching up", () => stats().catchUpReads - before.catchUpReads >= 3);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(stats().catchUpReads - before.catchUpReads, 3);
      // Joined: the next commits reach it through the shared reads only.
      const joined = stats();
      for (let index = 0; index < 3; index += 1) {
        assert.equal((await move("fan-a", "1")).status, 200);
        await resumed.waitFor(201 + index);
      }
      assert.equal(stats().catchUpReads, joined.catchUpReads);
      await live.waitFor(403);
    } finally {
      resumed.close();
      live.close();
    }
    await until("every stream to close", () => stats().streams === 0 && stats().hubs === 0);
  });
});
