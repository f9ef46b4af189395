import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { balances, call, createWallet, deposit, startApp, type TestApp } from "../helpers.js";

/** The specification's example, reproduced end to end through HTTP. */
describe("POST /wallets/balances/ (the specification's example)", () => {
  let test: TestApp;
  let walletId: string;

  before(async () => {
    test = await startApp();
    const wallet = await createWallet(test, "player-12345", "Player 12345");
    walletId = wallet.wallet_id;
    assert.match(walletId, /^w_[a-z0-9]{12,}$/);
    const reports = [
      { externalId: "player-12345", currency: "USDTTRC20", amount: "400", txHash: "tron-confirmed", confirmations: 19 },
      { externalId: "player-12345", currency: "USDTTRC20", amount: "100", txHash: "tron-pending", confirmations: 3 },
      { externalId: "player-12345", currency: "BTC", amount: "0.025", txHash: "btc-confirmed", confirmations: 2 },
    ];
    for (const report of reports) assert.equal((await deposit(test, report)).status, 200);
  });
  after(() => test.close());

  const expected = (id: string) => ({
    account: { id, name: "Player 12345", external_id: "player-12345", wallet_id: walletId },
    balances: [
      { currency: "USDTTRC20", amount: "500.00", pending_amount: "100.00", available_balance: "400.00" },
      { currency: "BTC", amount: "0.025", pending_amount: "0.00", available_balance: "0.025" },
    ],
  });

  it("answers by wallet_id exactly as specified, in account opening order", async () => {
    const response = await balances(test, { wallet_id: walletId });
    assert.equal(response.status, 200);
    assert.match(response.body.account.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.deepEqual(response.body, expected(response.body.account.id));
    assert.deepEqual(Object.keys(response.body), ["account", "balances"]);
  });

  it("answers by external_id with the same body", async () => {
    const byWalletId = await balances(test, { wallet_id: walletId });
    const byExternalId = await balances(test, { external_id: "player-12345" });
    assert.equal(byExternalId.status, 200);
    assert.deepEqual(byExternalId.body, byWalletId.body);
  });

  it("lets wallet_id win when both are given", async () => {
    const other = await createWallet(test, "player-67890", "Player 67890");
    const both = await balances(test, { wallet_id: other.wallet_id, external_id: "player-12345" });
    assert.equal(both.status, 200);
    assert.equal(both.body.account.external_id, "player-67890");
    assert.deepEqual(both.body.balances, []);
    const wrongWalletId = await balances(test, { wallet_id: "w_doesnotexist0000", external_id: "player-12345" });
    assert.equal(wrongWalletId.status, 404);
    assert.deepEqual(wrongWalletId.body, { error: { code: "not_found", message: "Wallet not found", details: {} } });
  });

  it("moves the pending deposit into the available balance once it is confirmed", async () => {
    const confirmed = await deposit(test, {
      externalId: "player-12345",
      currency: "USDTTRC20",
      amount: "100",
      txHash: "tron-pending",
      confirmations: 19,
    });
    assert.equal(confirmed.body.deposit.status, "confirmed");
    const response = await balances(test, { external_id: "player-12345" });
    assert.deepEqual(response.body.balances[0], {
      currency: "USDTTRC20",
      amount: "500.00",
      pending_amount: "0.00",
      available_balance: "500.00",
    });
  });

  it("accepts OAuth bearer tokens as well as API keys", async () => {
    const form = `grant_type=client_credentials&client_id=${test.tenant.clientId}&client_secret=${test.tenant.clientSecret}`;
    const token = await call(test.app, "POST", "/o/token/", {
      body: form,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    assert.equal(token.status, 200);
    const response = await call(test.app, "POST", "/wallets/balances/", { token: token.body.access_token, body: { wallet_id: walletId } });
    assert.equal(response.status, 200);
    assert.equal(response.body.account.wallet_id, walletId);
  });
});
