import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { call, createWallet, deposit, fundMaster, startApp, type TestApp } from "../helpers.js";
import { openStream } from "../sse.js";

/** The live balance stream, over real HTTP. */
describe("GET /wallets/events/ (Server-Sent Events)", () => {
  let test: TestApp;
  let base = "";

  before(async () => {
    test = await startApp();
    await test.app.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(test.app.server.address() as AddressInfo).port}`;
    await createWallet(test, "streamer");
    await createWallet(test, "bystander");
    await fundMaster(test, "USDTTRC20", "1000", "stream-funding");
  });
  after(() => test.close());

  const headers = () => ({ "x-api-key": test.tenant.apiKey });

  it("shows a deposit go pending then confirmed, in order, within 100 ms of the commit", async () => {
    const stream = await openStream(`${base}/wallets/events/?external_id=streamer`, headers());
    // The app runs in this process, so the store tells the test the moment each commit lands.
    const commits: number[] = [];
    const unsubscribe = await test.store.onEventsCommitted(() => commits.push(Date.now()));
    try {
      await deposit(test, { externalId: "streamer", currency: "USDTTRC20", amount: "100", txHash: "stream-1", confirmations: 3 });
      const [pending] = await stream.waitFor(1);
      await deposit(test, { externalId: "streamer", currency: "USDTTRC20", amount: "100", txHash: "stream-1", confirmations: 19 });
      const [, confirmed] = await stream.waitFor(2);
      assert.ok(pending && confirmed);
      assert.equal(pending.type, "deposit.pending");
      assert.equal(confirmed.type, "deposit.confirmed");
      assert.deepEqual(pending.data.balance, {
        currency: "USDTTRC20",
        amount: "100.00",
        pending_amount: "100.00",
        available_balance: "0.00",
      });
      assert.deepEqual(confirmed.data.balance, {
        currency: "USDTTRC20",
        amount: "100.00",
        pending_amount: "0.00",
        available_balance: "100.00",
      });
      assert.equal(pending.data.deposit.confirmations, 3);
      assert.equal(pending.data.wallet.external_id, "streamer");
      assert.ok(confirmed.data.account_version > pending.data.account_version);
      assert.ok(Number(confirmed.id) > Number(pending.id));
      const [pendingCommit = 0, confirmedCommit = 0] = commits;
      assert.equal(commits.length, 2);
      assert.ok(pending.receivedAt - pendingCommit < 100, `pending arrived ${pending.receivedAt - pendingCommit} ms after its commit`);
      assert.ok(
        confirmed.receivedAt - confirmedCommit < 100,
        `confirmed arrived ${confirmed.receivedAt - confirmedCommit} ms after its commit`,
      );
    } finally {
      unsubscribe();
      stream.close();
    }
  });

  it("follows one wallet without the tenant's other wallets, and the tenant stream sees both", async () => {
    const one = await openStream(`${base}/wallets/events/?external_id=streamer`, headers());
    const all = await openStream(`${base}/wallets/events/`, headers());
    try {
      const move = (externalId: string) =>
        call(test.app, "POST", "/wallets/transfer-to-user/", {
          key: test.tenant.apiKey,
          body: { external_id: externalId, currency: "USDTTRC20", amount: "1" },
        });
      await move("bystander");
      await move("streamer");
      const [tenantFirst, tenantSecond] = await all.waitFor(2);
      assert.deepEqual([tenantFirst?.data.wallet.external_id, tenantSecond?.data.wallet.external_id], ["bystander", "streamer"]);
      const [walletOnly] = await one.waitFor(1);
      assert.equal(walletOnly?.data.wallet.external_id, "streamer");
      assert.equal(walletOnly?.type, "transfer.posted");
      await new Promise((resolve) => setTimeout(resolve, 150));
      assert.equal(one.events.length, 1);
    } finally {
      one.close();
      all.close();
    }
  });

  it("resumes after Last-Event-ID without missing an event", async () => {
    const first = await openStream(`${base}/wallets/events/?external_id=streamer`, headers());
    const move = (amount: string) =>
      call(test.app, "POST", "/wallets/transfer-to-user/", {
        key: test.tenant.apiKey,
        body: { external_id: "streamer", currency: "USDTTRC20", amount },
      });
    await move("2");
    const [seen] = await first.waitFor(1);
    first.close();
    assert.ok(seen);
    for (const amount of ["3", "4", "5"]) await move(amount);
    const resumed = await openStream(`${base}/wallets/events/?external_id=streamer`, { ...headers(), "last-event-id": seen.id });
    try {
      const missed = await resumed.waitFor(3);
      assert.deepEqual(
        missed.map((event) => event.data.transfer.amount),
        ["3.00", "4.00", "5.00"],
      );
      const ids = missed.map((event) => Number(event.id));
      assert.deepEqual(
        ids,
        [...ids].sort((left, right) => left - right),
      );
      assert.ok((ids[0] ?? 0) > Number(seen.id));
    } finally {
      resumed.close();
    }
  });

  it("refuses a stream of another tenant's wallet, and a bad Last-Event-ID", async () => {
    const other = await test.newTenant("Other Casino");
    const foreign = await fetch(`${base}/wallets/events/?external_id=streamer`, { headers: { "x-api-key": other.apiKey } });
    assert.equal(foreign.status, 404);
    const bad = await fetch(`${base}/wallets/events/`, { headers: { ...headers(), "last-event-id": "abc" } });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, "invalid_request");
    assert.equal((await fetch(`${base}/wallets/events/`)).status, 401);
  });
});

describe("shutdown with open streams", () => {
  it("ends open streams so that closing the server does not wait for clients", { timeout: 10_000 }, async () => {
    const test = await startApp();
    await test.app.listen({ port: 0, host: "127.0.0.1" });
    const base = `http://127.0.0.1:${(test.app.server.address() as AddressInfo).port}`;
    const stream = await openStream(`${base}/wallets/events/`, { "x-api-key": test.tenant.apiKey });
    const started = Date.now();
    await test.close();
    assert.ok(Date.now() - started < 3000, `closing took ${Date.now() - started} ms`);
    stream.close();
  });
});
