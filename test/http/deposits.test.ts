import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { balances, call, createWallet, deposit, startApp, type TestApp } from "../helpers.js";

describe("POST /deposits/ (system key, scope deposits)", () => {
  let test: TestApp;

  before(async () => {
    test = await startApp();
    await createWallet(test, "depositor");
  });
  after(() => test.close());

  const usdt = (body: { balances: Record<string, string>[] }) => body.balances.find((entry) => entry.currency === "USDTTRC20");

  it("keeps a deposit pending below the required confirmations and posts it at the requirement", async () => {
    const first = await deposit(test, { externalId: "depositor", currency: "USDTTRC20", amount: "100", txHash: "tx-1", confirmations: 1 });
    assert.equal(first.status, 200);
    assert.deepEqual(
      { ...first.body.deposit, id: "", created_at: "" },
      {
        id: "",
        created_at: "",
        status: "pending",
        confirmations: 1,
        required_confirmations: 19,
        currency: "USDTTRC20",
        amount: "100.00",
        tx_hash: "tx-1",
      },
    );
    const progress = await deposit(test, {
      externalId: "depositor",
      currency: "USDTTRC20",
      amount: "100",
      txHash: "tx-1",
      confirmations: 10,
    });
    assert.equal(progress.body.deposit.status, "pending");
    assert.equal(progress.body.deposit.id, first.body.deposit.id);
    const pendingBalance = await balances(test, { external_id: "depositor" });
    assert.deepEqual(usdt(pendingBalance.body), {
      currency: "USDTTRC20",
      amount: "100.00",
      pending_amount: "100.00",
      available_balance: "0.00",
    });
    const done = await deposit(test, { externalId: "depositor", currency: "USDTTRC20", amount: "100", txHash: "tx-1", confirmations: 19 });
    assert.equal(done.body.deposit.status, "confirmed");
    const confirmedBalance = await balances(test, { external_id: "depositor" });
    assert.deepEqual(usdt(confirmedBalance.body), {
      currency: "USDTTRC20",
      amount: "100.00",
      pending_amount: "0.00",
      available_balance: "100.00",
    });
  });

  it("lists a wallet's deposits with their confirmations, for the dashboard", async () => {
    const wallet = await call(test.app, "GET", "/wallets/?search=DEPOSIT", { key: test.tenant.apiKey });
    assert.equal(wallet.body.total, 1);
    const walletId = wallet.body.accounts[0].wallet_id;
    await deposit(test, { externalId: "depositor", currency: "BTC", amount: "0.5", txHash: "btc-confirming", confirmations: 1 });
    const pending = await call(test.app, "GET", `/wallets/${walletId}/deposits/?status=pending`, { key: test.tenant.apiKey });
    assert.equal(pending.status, 200);
    assert.deepEqual(
      pending.body.deposits.map((entry: { tx_hash: string; confirmations: number; required_confirmations: number }) => [
        entry.tx_hash,
        entry.confirmations,
        entry.required_confirmations,
      ]),
      [["btc-confirming", 1, 2]],
    );
    const other = await test.newTenant("Nosy Casino");
    assert.equal((await call(test.app, "GET", `/wallets/${walletId}/deposits/`, { key: other.apiKey })).status, 404);
    assert.equal((await call(test.app, "GET", "/wallets/?search=nobody", { key: test.tenant.apiKey })).body.total, 0);
    assert.equal((await call(test.app, "GET", "/wallets/?search=%25", { key: test.tenant.apiKey })).body.total, 0);
  });

  it("never credits the same transaction twice", async () => {
    for (let report = 0; report < 3; report += 1) {
      const response = await deposit(test, {
        externalId: "depositor",
        currency: "USDTTRC20",
        amount: "100",
        txHash: "tx-1",
        confirmations: 30 + report,
      });
      assert.equal(response.body.deposit.status, "confirmed");
    }
    const concurrent = await Promise.all(
      Array.from({ length: 10 }, () =>
        deposit(test, { externalId: "depositor", currency: "USDTTRC20", amount: "5", txHash: "tx-burst", confirmations: 40 }),
      ),
    );
    assert.ok(concurrent.every((response) => response.status === 200));
    assert.equal(new Set(concurrent.map((response) => response.body.deposit.id)).size, 1);
    const response = await balances(test, { external_id: "depositor" });
    assert.equal(usdt(response.body)?.available_balance, "105.00");
  });

  it("voids a dropped pending deposit, and credits it again if the chain brings it back", async () => {
    await deposit(test, { externalId: "depositor", currency: "USDTTRC20", amount: "7", txHash: "tx-reorg", confirmations: 2 });
    const dropped = await deposit(test, {
      externalId: "depositor",
      currency: "USDTTRC20",
      amount: "7",
      txHash: "tx-reorg",
      confirmations: 2,
      status: "dropped",
    });
    assert.equal(dropped.body.deposit.status, "dropped");
    const afterDrop = await balances(test, { external_id: "depositor" });
    assert.deepEqual(usdt(afterDrop.body), {
      currency: "USDTTRC20",
      amount: "105.00",
      pending_amount: "0.00",
      available_balance: "105.00",
    });
    const history = await call(test.app, "POST", "/wallets/transfer-history/", {
      key: test.tenant.apiKey,
      body: { external_id: "depositor", status: "voided" },
    });
    assert.equal(history.body.transfers.length, 1);
    assert.equal(history.body.transfers[0].amount, "7.00");
    const back = await deposit(test, {
      externalId: "depositor",
      currency: "USDTTRC20",
      amount: "7",
      txHash: "tx-reorg",
      confirmations: 25,
    });
    assert.equal(back.body.deposit.status, "confirmed");
    assert.equal(usdt((await balances(test, { external_id: "depositor" })).body)?.available_balance, "112.00");
  });

  it("refuses to drop a confirmed deposit, and a report that disagrees with the first", async () => {
    const drop = await deposit(test, {
      externalId: "depositor",
      currency: "USDTTRC20",
      amount: "100",
      txHash: "tx-1",
      confirmations: 40,
      status: "dropped",
    });
    assert.equal(drop.status, 409);
    assert.equal(drop.body.error.code, "conflict");
    const otherAmount = await deposit(test, {
      externalId: "depositor",
      currency: "USDTTRC20",
      amount: "101",
      txHash: "tx-1",
      confirmations: 40,
    });
    assert.equal(otherAmount.status, 409);
    assert.equal(usdt((await balances(test, { external_id: "depositor" })).body)?.available_balance, "112.00");
  });

  it("credits the master account when asked, and takes the watcher's word for finality", async () => {
    const response = await deposit(test, {
      master: true,
      currency: "BTC",
      amount: "1.5",
      txHash: "btc-master",
      confirmations: 0,
      status: "confirmed",
    });
    assert.equal(response.body.deposit.status, "confirmed");
    const master = await call(test.app, "GET", "/master/balances/", { key: test.tenant.apiKey });
    assert.deepEqual(master.body.balances, [{ currency: "BTC", amount: "1.50", pending_amount: "0.00", available_balance: "1.50" }]);
  });

  it("refuses unknown tenants, foreign wallets and ambiguous targets", async () => {
    const unknownTenant = await deposit(test, {
      tenantId: "00000000-0000-4000-8000-000000000000",
      master: true,
      currency: "BTC",
      amount: "1",
      txHash: "x1",
      confirmations: 9,
    });
    assert.equal(unknownTenant.status, 404);
    const other = await test.newTenant("Other Casino");
    const foreign = await deposit(test, {
      tenantId: other.tenantId,
      externalId: "depositor",
      currency: "BTC",
      amount: "1",
      txHash: "x2",
      confirmations: 9,
    });
    assert.equal(foreign.status, 404);
    const both = await deposit(test, {
      master: true,
      externalId: "depositor",
      currency: "BTC",
      amount: "1",
      txHash: "x3",
      confirmations: 9,
    });
    assert.equal(both.status, 400);
    const neither = await deposit(test, { currency: "BTC", amount: "1", txHash: "x4", confirmations: 9 });
    assert.equal(neither.status, 400);
  });

  it("leaves a ledger that verifies", async () => {
    const report = await test.services.verify();
    assert.equal(report.ok, true, JSON.stringify(report.problems));
  });
});
