import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { call, createWallet, deposit, startApp, type TestApp } from "../helpers.js";

/**
 * GET /wallets/ marks the wallets with a deposit still confirming (`has_pending_deposits`), so
 * the dashboard's list can show them without a request per wallet.
 */
describe("GET /wallets/ has_pending_deposits", () => {
  let test: TestApp;

  before(async () => {
    test = await startApp();
    for (const externalId of ["list-pending", "list-confirmed", "list-held", "list-empty"]) await createWallet(test, externalId);
    const reports = [
      { externalId: "list-pending", currency: "USDTTRC20", amount: "50", txHash: "list-usdt-confirmed", confirmations: 19 },
      { externalId: "list-pending", currency: "BTC", amount: "0.5", txHash: "list-btc-pending", confirmations: 1 },
      { externalId: "list-confirmed", currency: "USDTTRC20", amount: "80", txHash: "list-confirmed-1", confirmations: 19 },
      { externalId: "list-held", currency: "USDTTRC20", amount: "80", txHash: "list-held-1", confirmations: 19 },
    ];
    for (const report of reports) assert.equal((await deposit(test, report)).status, 200);
    // A hold and a withdrawal are pending debits, not deposits: they must not mark the wallet.
    const hold = await call(test.app, "POST", "/holds/", {
      key: test.tenant.apiKey,
      body: { external_id: "list-held", currency: "USDTTRC20", amount: "10" },
    });
    assert.equal(hold.status, 201, JSON.stringify(hold.body));
    const withdrawal = await call(test.app, "POST", "/withdrawals/", {
      key: test.tenant.apiKey,
      body: { external_id: "list-held", currency: "USDTTRC20", amount: "5", address: "TXlistheld" },
    });
    assert.equal(withdrawal.status, 201, JSON.stringify(withdrawal.body));
  });
  after(() => test.close());

  async function marks(query = ""): Promise<Record<string, boolean>> {
    const response = await call(test.app, "GET", `/wallets/?limit=100${query}`, { key: test.tenant.apiKey });
    assert.equal(response.status, 200);
    const entries = response.body.accounts as { external_id: string; has_pending_deposits: boolean }[];
    return Object.fromEntries(entries.map((wallet) => [wallet.external_id, wallet.has_pending_deposits]));
  }

  it("is true only for wallets with a deposit below its confirmations", async () => {
    assert.deepEqual(await marks(), { "list-pending": true, "list-confirmed": false, "list-held": false, "list-empty": false });
    assert.deepEqual(await marks("&search=list-pend"), { "list-pending": true });
  });

  it("clears when the deposit confirms or drops, and not before the last one does", async () => {
    const second = { externalId: "list-pending", currency: "BTC", amount: "0.1", txHash: "list-btc-pending-2", confirmations: 1 };
    assert.equal((await deposit(test, second)).status, 200);
    const confirm = { externalId: "list-pending", currency: "BTC", amount: "0.5", txHash: "list-btc-pending", confirmations: 2 };
    assert.equal((await deposit(test, confirm)).body.deposit.status, "confirmed");
    assert.equal((await marks())["list-pending"], true, "one deposit is still confirming");
    assert.equal((await deposit(test, { ...second, status: "dropped" })).body.deposit.status, "dropped");
    assert.equal((await marks())["list-pending"], false);
  });

  it("marks a wallet whose only account is a confirming deposit's", async () => {
    const report = { externalId: "list-empty", currency: "ETH", amount: "1", txHash: "list-eth-pending", confirmations: 0 };
    assert.equal((await deposit(test, report)).body.deposit.status, "pending");
    assert.equal((await marks())["list-empty"], true);
  });
});
