import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { balances, type CallResult, call, createWallet, deposit, startApp, type Tenant, type TestApp } from "../helpers.js";

const CURRENCY = "USDTTRC20";
const ADDRESS = "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE";

const balance = (amount: string, pending: string, available: string) => ({
  currency: CURRENCY,
  amount,
  pending_amount: pending,
  available_balance: available,
});

describe("withdrawals to the blockchain", () => {
  let test: TestApp;
  let payoutKey: string;
  let other: Tenant;
  let txCounter = 0;

  before(async () => {
    test = await startApp();
    payoutKey = (await test.services.credentials.createSystemKey(["withdrawals"])).apiKey;
    other = await test.newTenant("Other Casino");
  });
  after(() => test.close());

  async function fundedWallet(externalId: string, amount: string) {
    const wallet = await createWallet(test, externalId);
    txCounter += 1;
    const funded = await deposit(test, {
      externalId,
      currency: CURRENCY,
      amount,
      txHash: `withdrawal-funding-${txCounter}`,
      confirmations: 1_000,
    });
    assert.equal(funded.status, 200, JSON.stringify(funded.body));
    return wallet;
  }

  const request = (body: object, key = test.tenant.apiKey) => call(test.app, "POST", "/withdrawals/", { key, body });
  const report = (id: string, body: object, key = payoutKey) => call(test.app, "POST", `/system/withdrawals/${id}/result/`, { key, body });
  const read = (id: string, key = test.tenant.apiKey) => call(test.app, "GET", `/withdrawals/${id}/`, { key });
  const statusOf = async (id: string) => {
    const response = await read(id);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return response.body.withdrawal.status as string;
  };
  const listPending = async () => {
    const response = await call(test.app, "GET", "/system/withdrawals/?status=pending", { key: payoutKey });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return response.body.withdrawals as { id: string; status: string; tenant_id: string; amount: string }[];
  };
  const walletBalance = async (externalId: string) => {
    const response = await balances(test, { external_id: externalId });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return response.body.balances.find((entry: { currency: string }) => entry.currency === CURRENCY);
  };
  const expectError = (response: CallResult, status: number, code: string) => {
    assert.equal(response.status, status, JSON.stringify(response.body));
    assert.equal(response.body.error.code, code, JSON.stringify(response.body));
  };

  it("holds the funds at once: pending_amount up, available down", async () => {
    const wallet = await fundedWallet("withdrawer", "100");
    const asked = await request({ wallet_id: wallet.wallet_id, currency: "usdttrc20", amount: "40.5", address: ADDRESS });
    assert.equal(asked.status, 201, JSON.stringify(asked.body));
    const { withdrawal } = asked.body;
    assert.deepEqual(
      { ...withdrawal, id: "", created_at: "", updated_at: "" },
      {
        id: "",
        status: "pending",
        currency: CURRENCY,
        amount: "40.50",
        address: ADDRESS,
        tx_hash: null,
        created_at: "",
        updated_at: "",
      },
    );
    assert.deepEqual(asked.body.balance, balance("100.00", "40.50", "59.50"));
    assert.deepEqual(await walletBalance("withdrawer"), balance("100.00", "40.50", "59.50"));
    // A pending withdrawal also blocks spending the held funds elsewhere.
    const overspend = await call(test.app, "POST", "/wallets/withdraw-to-master/", {
      key: test.tenant.apiKey,
      body: { external_id: "withdrawer", currency: CURRENCY, amount: "59.51" },
    });
    expectError(overspend, 400, "insufficient_funds");
  });

  it("refuses a withdrawal over the available balance and changes nothing", async () => {
    await fundedWallet("overdrawer", "10");
    const refused = await request({ external_id: "overdrawer", currency: CURRENCY, amount: "10.000001", address: ADDRESS });
    expectError(refused, 400, "insufficient_funds");
    assert.equal(refused.body.error.details.available_balance, "10.00");
    assert.deepEqual(await walletBalance("overdrawer"), balance("10.00", "0.00", "10.00"));
    assert.ok(!(await listPending()).some((entry) => entry.amount === "10.000001"));
    const unknown = await request({ external_id: "nobody-here", currency: CURRENCY, amount: "1", address: ADDRESS });
    expectError(unknown, 404, "not_found");
    const badAddress = await request({ external_id: "overdrawer", currency: CURRENCY, amount: "1", address: "not an address!" });
    expectError(badAddress, 400, "invalid_request");
    assert.deepEqual(await walletBalance("overdrawer"), balance("10.00", "0.00", "10.00"));
  });

  it("lets only a system key of scope withdrawals list pending withdrawals and report results", async () => {
    await fundedWallet("guarded", "50");
    const asked = await request({ external_id: "guarded", currency: CURRENCY, amount: "5", address: ADDRESS });
    const id = asked.body.withdrawal.id;
    expectError(await report(id, { status: "completed" }, test.tenant.apiKey), 403, "forbidden");
    expectError(await report(id, { status: "failed" }, test.systemKey), 403, "forbidden");
    expectError(await call(test.app, "GET", "/system/withdrawals/", { key: test.tenant.apiKey }), 403, "forbidden");
    expectError(await call(test.app, "GET", "/system/withdrawals/", { key: test.systemKey }), 403, "forbidden");
    expectError(await report(id, { status: "completed" }, "wsk_not_a_real_key"), 401, "unauthorized");
    // The system key is not a tenant: it cannot ask for withdrawals.
    expectError(await request({ external_id: "guarded", currency: CURRENCY, amount: "1", address: ADDRESS }, payoutKey), 403, "forbidden");
    assert.equal(await statusOf(id), "pending");
    assert.deepEqual(await walletBalance("guarded"), balance("50.00", "5.00", "45.00"));
  });

  it("lists the pending withdrawals of every tenant for the payout system", async () => {
    await fundedWallet("lister", "100");
    const mine = await request({ external_id: "lister", currency: CURRENCY, amount: "7", address: ADDRESS });
    await createWallet(test, "lister-other", "Other player", other.apiKey);
    const otherFunding = await deposit(test, {
      tenantId: other.tenantId,
      externalId: "lister-other",
      currency: CURRENCY,
      amount: "20",
      txHash: "withdrawal-funding-other",
      confirmations: 1_000,
    });
    assert.equal(otherFunding.status, 200, JSON.stringify(otherFunding.body));
    const theirs = await request({ external_id: "lister-other", currency: CURRENCY, amount: "8", address: ADDRESS }, other.apiKey);
    assert.equal(theirs.status, 201, JSON.stringify(theirs.body));
    const done = await request({ external_id: "lister", currency: CURRENCY, amount: "1", address: ADDRESS });
    assert.equal((await report(done.body.withdrawal.id, { status: "completed", tx_hash: "0xlisted" })).status, 200);

    const pending = await listPending();
    assert.ok(pending.every((entry) => entry.status === "pending"));
    const byId = new Map(pending.map((entry) => [entry.id, entry]));
    assert.equal(byId.get(mine.body.withdrawal.id)?.tenant_id, test.tenant.tenantId);
    assert.equal(byId.get(mine.body.withdrawal.id)?.amount, "7.00");
    assert.equal(byId.get(theirs.body.withdrawal.id)?.tenant_id, other.tenantId);
    assert.equal(byId.has(done.body.withdrawal.id), false);
    const completed = await call(test.app, "GET", "/system/withdrawals/?status=completed", { key: payoutKey });
    assert.equal(completed.status, 200);
    assert.ok(completed.body.withdrawals.some((entry: { id: string }) => entry.id === done.body.withdrawal.id));
  });

  it("posts a completed withdrawal: the amount goes down and nothing stays pending", async () => {
    await fundedWallet("completer", "100");
    const asked = await request({ external_id: "completer", currency: CURRENCY, amount: "30", address: ADDRESS });
    const id = asked.body.withdrawal.id;
    const reported = await report(id, { status: "completed", tx_hash: "0xabc123" });
    assert.equal(reported.status, 200, JSON.stringify(reported.body));
    assert.equal(reported.body.withdrawal.status, "completed");
    assert.equal(reported.body.withdrawal.tx_hash, "0xabc123");
    assert.equal(reported.body.withdrawal.amount, "30.00");
    assert.deepEqual(await walletBalance("completer"), balance("70.00", "0.00", "70.00"));
    assert.equal(await statusOf(id), "completed");
    assert.ok(!(await listPending()).some((entry) => entry.id === id));
  });

  it("voids a failed withdrawal and restores the available balance", async () => {
    await fundedWallet("failer", "100");
    const asked = await request({ external_id: "failer", currency: CURRENCY, amount: "30", address: ADDRESS });
    assert.deepEqual(asked.body.balance, balance("100.00", "30.00", "70.00"));
    const reported = await report(asked.body.withdrawal.id, { status: "failed" });
    assert.equal(reported.status, 200, JSON.stringify(reported.body));
    assert.equal(reported.body.withdrawal.status, "failed");
    assert.equal(reported.body.withdrawal.tx_hash, null);
    assert.deepEqual(await walletBalance("failer"), balance("100.00", "0.00", "100.00"));
  });

  it("accepts the same result again and refuses the opposite one with 409", async () => {
    await fundedWallet("repeater", "100");
    const completed = await request({ external_id: "repeater", currency: CURRENCY, amount: "10", address: ADDRESS });
    const failed = await request({ external_id: "repeater", currency: CURRENCY, amount: "20", address: ADDRESS });
    const completedId = completed.body.withdrawal.id;
    const failedId = failed.body.withdrawal.id;
    assert.equal((await report(completedId, { status: "completed", tx_hash: "0xfirst" })).status, 200);
    assert.equal((await report(failedId, { status: "failed" })).status, 200);
    const settled = balance("90.00", "0.00", "90.00");
    assert.deepEqual(await walletBalance("repeater"), settled);

    const again = await report(completedId, { status: "completed", tx_hash: "0xfirst" });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.withdrawal.status, "completed");
    assert.equal(again.body.withdrawal.tx_hash, "0xfirst");
    const failedAgain = await report(failedId, { status: "failed" });
    assert.equal(failedAgain.status, 200, JSON.stringify(failedAgain.body));
    assert.equal(failedAgain.body.withdrawal.status, "failed");
    assert.deepEqual(await walletBalance("repeater"), settled);

    const reversal = await report(completedId, { status: "failed" });
    expectError(reversal, 409, "conflict");
    assert.equal(reversal.body.error.details.status, "completed");
    const revival = await report(failedId, { status: "completed", tx_hash: "0xlate" });
    expectError(revival, 409, "conflict");
    assert.equal(revival.body.error.details.status, "failed");
    assert.deepEqual(await walletBalance("repeater"), settled);
    assert.equal(await statusOf(completedId), "completed");
    assert.equal(await statusOf(failedId), "failed");
    expectError(await report("00000000-0000-4000-8000-000000000000", { status: "completed" }), 404, "not_found");
    expectError(await report("not-a-uuid", { status: "completed" }), 404, "not_found");
    expectError(await report(completedId, { status: "pending" }), 400, "invalid_request");
  });

  it("shows the status to its tenant and 404 to another tenant", async () => {
    await fundedWallet("reader", "100");
    const asked = await request({ external_id: "reader", currency: CURRENCY, amount: "12.25", address: ADDRESS });
    const id = asked.body.withdrawal.id;
    const mine = await read(id);
    assert.equal(mine.status, 200, JSON.stringify(mine.body));
    assert.deepEqual(mine.body.withdrawal, asked.body.withdrawal);
    expectError(await read(id, other.apiKey), 404, "not_found");
    expectError(await read("00000000-0000-4000-8000-000000000000"), 404, "not_found");
    expectError(await read("not-a-uuid"), 404, "not_found");
    // Another tenant cannot withdraw from this wallet either.
    expectError(
      await request({ external_id: "reader", currency: CURRENCY, amount: "1", address: ADDRESS }, other.apiKey),
      404,
      "not_found",
    );
    assert.equal((await report(id, { status: "completed", tx_hash: "0xread" })).status, 200);
    const after = await read(id);
    assert.equal(after.status, 200, JSON.stringify(after.body));
    assert.equal(after.body.withdrawal.status, "completed");
    assert.equal(after.body.withdrawal.tx_hash, "0xread");
  });

  it("leaves a ledger that verifies", async () => {
    const verified = await test.services.verify();
    assert.equal(verified.ok, true, JSON.stringify(verified.problems));
    assert.ok(verified.transfers > 15, `only ${verified.transfers} transfers`);
  });
});
