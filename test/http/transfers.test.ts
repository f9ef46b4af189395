import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { balances, call, createWallet, deposit, fundMaster, startApp, type TestApp } from "../helpers.js";

describe("transfers between the master account and wallets", () => {
  let test: TestApp;

  before(async () => {
    test = await startApp();
    await fundMaster(test, "USDTTRC20", "1000", "master-funding");
    await fundMaster(test, "ETH", "5", "master-eth");
  });
  after(() => test.close());

  const move = (path: string, body: object) => call(test.app, "POST", `/wallets/${path}/`, { key: test.tenant.apiKey, body });

  it("credits a wallet from the master account and back", async () => {
    const wallet = await createWallet(test, "mover");
    const toUser = await move("transfer-to-user", { external_id: "mover", currency: "usdttrc20", amount: "250.5" });
    assert.equal(toUser.status, 200);
    assert.deepEqual(
      { ...toUser.body.transfer, id: "", created_at: "" },
      {
        id: "",
        transfer_type: "to_sub",
        currency: "USDTTRC20",
        amount: "250.50",
        status: "posted",
        created_at: "",
        transaction_id: null,
        round_id: null,
        tx_hash: null,
        hold_id: null,
        withdrawal_id: null,
      },
    );
    const toMaster = await move("withdraw-to-master", { wallet_id: wallet.wallet_id, currency: "USDTTRC20", amount: 50 });
    assert.equal(toMaster.status, 200);
    assert.equal(toMaster.body.transfer.transfer_type, "to_master");
    const response = await balances(test, { wallet_id: wallet.wallet_id });
    assert.deepEqual(response.body.balances, [
      { currency: "USDTTRC20", amount: "200.50", pending_amount: "0.00", available_balance: "200.50" },
    ]);
    const master = await call(test.app, "GET", "/master/balances/", { key: test.tenant.apiKey });
    assert.deepEqual(master.body.balances[0], {
      currency: "USDTTRC20",
      amount: "799.50",
      pending_amount: "0.00",
      available_balance: "799.50",
    });
  });

  it("keeps 18-decimal amounts exact, as strings and as JSON numbers with many digits", async () => {
    await createWallet(test, "eth-player");
    const body = '{"external_id":"eth-player","currency":"ETH","amount":1.123456789012345678}';
    const asNumber = await call(test.app, "POST", "/wallets/transfer-to-user/", { key: test.tenant.apiKey, body });
    assert.equal(asNumber.status, 200);
    assert.equal(asNumber.body.transfer.amount, "1.123456789012345678");
    await move("transfer-to-user", { external_id: "eth-player", currency: "ETH", amount: "0.000000000000000001" });
    const response = await balances(test, { external_id: "eth-player" });
    assert.equal(response.body.balances[0].available_balance, "1.123456789012345679");
  });

  it("refuses an overdraft and changes nothing", async () => {
    await createWallet(test, "poor");
    await move("transfer-to-user", { external_id: "poor", currency: "USDTTRC20", amount: "10" });
    const refused = await move("withdraw-to-master", { external_id: "poor", currency: "USDTTRC20", amount: "10.000001" });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.code, "insufficient_funds");
    assert.equal(refused.body.error.details.available_balance, "10.00");
    const history = await move("transfer-history", { external_id: "poor" });
    assert.equal(history.body.pagination.total, 1);
    assert.equal((await balances(test, { external_id: "poor" })).body.balances[0].available_balance, "10.00");
  });

  it("lets exactly the fundable withdrawals through when they race", async () => {
    await createWallet(test, "racer");
    await move("transfer-to-user", { external_id: "racer", currency: "USDTTRC20", amount: "100" });
    const attempts = Array.from({ length: 40 }, () =>
      move("withdraw-to-master", { external_id: "racer", currency: "USDTTRC20", amount: "7" }),
    );
    const results = await Promise.all(attempts);
    const succeeded = results.filter((result) => result.status === 200).length;
    assert.equal(succeeded, 14);
    assert.ok(results.every((result) => result.status === 200 || result.body.error.code === "insufficient_funds"));
    const response = await balances(test, { external_id: "racer" });
    assert.equal(response.body.balances[0].available_balance, "2.00");
  });

  it("lists a wallet's history newest first, filtered and paginated", async () => {
    await createWallet(test, "historian");
    for (const amount of ["1", "2", "3"]) await move("transfer-to-user", { external_id: "historian", currency: "USDTTRC20", amount });
    await move("withdraw-to-master", { external_id: "historian", currency: "USDTTRC20", amount: "1.5" });
    const all = await move("transfer-history", { external_id: "historian", limit: 2 });
    assert.equal(all.status, 200);
    assert.equal(all.body.account.external_id, "historian");
    assert.deepEqual(all.body.pagination, { total: 4, limit: 2, offset: 0 });
    assert.deepEqual(
      all.body.transfers.map((transfer: { amount: string }) => transfer.amount),
      ["1.50", "3.00"],
    );
    const toSub = await move("transfer-history", { external_id: "historian", transfer_type: "to_sub", offset: 1 });
    assert.deepEqual(
      toSub.body.transfers.map((transfer: { amount: string }) => transfer.amount),
      ["2.00", "1.00"],
    );
    const tooLarge = await move("transfer-history", { external_id: "historian", limit: 101 });
    assert.equal(tooLarge.status, 400);
  });

  it("lists the references a casino reconciles by, and filters by a time range", async () => {
    const wallet = await createWallet(test, "reconciler");
    const key = test.tenant.apiKey;
    const deposited = await deposit(test, {
      externalId: "reconciler",
      currency: "USDTTRC20",
      amount: "100",
      txHash: "tx-reconcile",
      confirmations: 100,
    });
    assert.equal(deposited.status, 200);
    const gameBody = { wallet_id: wallet.wallet_id, currency: "USDTTRC20", round_id: "round-9" };
    assert.equal(
      (await call(test.app, "POST", "/games/bets/", { key, body: { ...gameBody, amount: "5", transaction_id: "bet-9" } })).status,
      200,
    );
    const middle = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const hold = await call(test.app, "POST", "/holds/", {
      key,
      body: { wallet_id: wallet.wallet_id, currency: "USDTTRC20", amount: "3" },
    });
    const body = { wallet_id: wallet.wallet_id, currency: "USDTTRC20", amount: "2", address: "TReconcileAddress" };
    const withdrawal = await call(test.app, "POST", "/withdrawals/", { key, body });
    const history = async (filter: object = {}) => {
      const response = await call(test.app, "POST", "/wallets/transfer-history/", {
        key,
        body: { wallet_id: wallet.wallet_id, ...filter },
      });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      return response.body.transfers as Record<string, unknown>[];
    };
    const references = (await history()).map(({ transfer_type, transaction_id, round_id, tx_hash, hold_id, withdrawal_id }) => ({
      transfer_type,
      transaction_id,
      round_id,
      tx_hash,
      hold_id,
      withdrawal_id,
    }));
    const none = { transaction_id: null, round_id: null, tx_hash: null, hold_id: null, withdrawal_id: null };
    assert.deepEqual(references, [
      { ...none, transfer_type: "withdrawal", withdrawal_id: withdrawal.body.withdrawal.id },
      { ...none, transfer_type: "hold", hold_id: hold.body.hold.id },
      { ...none, transfer_type: "bet", transaction_id: "bet-9", round_id: "round-9" },
      { ...none, transfer_type: "deposit", tx_hash: "tx-reconcile" },
    ]);
    assert.deepEqual(
      (await history({ from: middle })).map((entry) => entry.transfer_type),
      ["withdrawal", "hold"],
    );
    assert.deepEqual(
      (await history({ to: middle })).map((entry) => entry.transfer_type),
      ["bet", "deposit"],
    );
    // The same instant written as a local time two hours east of UTC.
    const eastern = new Date(Date.parse(middle) + 2 * 3_600_000).toISOString().replace("Z", "+02:00");
    assert.deepEqual(
      (await history({ from: eastern })).map((entry) => entry.transfer_type),
      ["withdrawal", "hold"],
      "an offset names the same instant",
    );
    const refused = await call(test.app, "POST", "/wallets/transfer-history/", {
      key,
      body: { wallet_id: wallet.wallet_id, from: "yesterday" },
    });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.details.fields[0].field, "from");
  });

  it("leaves a ledger that verifies", async () => {
    const report = await test.services.verify();
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    assert.ok(report.transfers > 20);
  });
});
