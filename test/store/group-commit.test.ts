import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { verifyLedger } from "../../src/services/verify.js";
import { balances, call, createWallet, fundMaster, startApp, type TestApp } from "../helpers.js";

describe("group commit", () => {
  let test: TestApp;

  before(async () => {
    test = await startApp();
    await fundMaster(test, "USDTTRC20", "150", "funding");
    for (let index = 0; index < 10; index += 1) await createWallet(test, `batch-${index}`);
  });
  after(() => test.close());

  it("commits movements that arrive together in shared transactions, each with its own result", async () => {
    const before = { ...test.services.store.commitStats };
    const requests = Array.from({ length: 300 }, (_, index) =>
      call(test.app, "POST", "/wallets/transfer-to-user/", {
        key: test.tenant.apiKey,
        body: { external_id: `batch-${index % 10}`, currency: "USDTTRC20", amount: "1" },
      }),
    );
    const results = await Promise.all(requests);
    const batches = test.services.store.commitStats.batches - before.batches;
    const items = test.services.store.commitStats.items - before.items;
    assert.equal(items, 300);
    assert.ok(batches <= 60, `300 movements took ${batches} transactions`);

    // The master held 150: exactly 150 succeed, the rest fail on their own, in the same batches.
    assert.equal(results.filter((result) => result.status === 200).length, 150);
    assert.ok(results.filter((result) => result.status !== 200).every((result) => result.body.error.code === "insufficient_funds"));
    const ids = new Set(results.filter((result) => result.status === 200).map((result) => result.body.transfer.id));
    assert.equal(ids.size, 150);
    let credited = 0;
    for (let index = 0; index < 10; index += 1) {
      const response = await balances(test, { external_id: `batch-${index}` });
      credited += Number(response.body.balances[0]?.available_balance ?? "0");
    }
    assert.equal(credited, 150);
    assert.equal((await verifyLedger(test.services.store)).ok, true);
  });
});
