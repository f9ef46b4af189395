import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { verifyLedger } from "../../src/services/verify.js";
import type { WriteTx } from "../../src/store/store.js";
import { balances, call, createWallet, fundMaster, startApp, type TestApp } from "../helpers.js";

describe("group commit", () => {
  let test: TestApp;

  before(async () => {
    // The sweeper and the webhook dispatcher write through the group committer too (SQLite's
    // bookkeeping writes are items): with their default 1 s ticks a slow run counts their items.
    test = await startApp({ sweepIntervalMs: 3_600_000, webhookPollIntervalMs: 3_600_000 });
    await fundMaster(test, "USDTTRC20", "150", "funding");
    for (let index = 0; index < 10; index += 1) await createWallet(test, `player-${index}`);
  });
  after(() => test.close());

  it("commits movements that arrive together in shared transactions, each with its own result", async () => {
    const before = { ...test.store.commitStats };
    const requests = Array.from({ length: 300 }, (_, index) =>
      call(test.app, "POST", "/wallets/transfer-to-user/", {
        key: test.tenant.apiKey,
        body: { external_id: `player-${index % 10}`, currency: "USDTTRC20", amount: "1" },
      }),
    );
    const results = await Promise.all(requests);
    const commits = test.store.commitStats.commits - before.commits;
    const items = test.store.commitStats.items - before.items;
    assert.equal(items, 300);
    assert.ok(commits <= 60, `300 movements took ${commits} transactions`);

    // The master held 150: exactly 150 succeed, the rest fail on their own, in the same commits.
    assert.equal(results.filter((result) => result.status === 200).length, 150);
    assert.ok(results.filter((result) => result.status !== 200).every((result) => result.body.error.code === "insufficient_funds"));
    const ids = new Set(results.filter((result) => result.status === 200).map((result) => result.body.transfer.id));
    assert.equal(ids.size, 150);
    let credited = 0;
    for (let index = 0; index < 10; index += 1) {
      const response = await balances(test, { external_id: `player-${index}` });
      credited += Number(response.body.balances[0]?.available_balance ?? "0");
    }
    assert.equal(credited, 150);
    assert.equal((await test.services.verify()).ok, true);
  });
});

describe("write-behind state across savepoints", () => {
  let test: TestApp;

  before(async () => {
    test = await startApp();
    await fundMaster(test, "USDTTRC20", "100", "funding");
    await createWallet(test, "kept");
    await createWallet(test, "undone");
  });
  after(() => test.close());

  it("keeps an earlier movement that a later, failing movement of the same transaction wrote out", async () => {
    const { store } = test;
    const move = (externalId: string) => (tx: WriteTx) =>
      test.services.transfers.moveIn(
        tx,
        { tenantId: test.tenant.tenantId, lookup: { by: "external_id", value: externalId }, currency: "USDTTRC20", amount: "10" },
        "to_sub",
      );
    // Both are submitted in one event-loop turn, so they run in one transaction, each in its own
    // savepoint. The second writes the first one's buffered rows (a deposit references transfers,
    // so saving one flushes them), then fails: its savepoint undoes those rows in the database,
    // and the first movement must be written again at commit.
    const kept = store.write(move("kept"));
    const undone = store.write(async (tx) => {
      const transfer = await move("undone")(tx);
      const now = new Date().toISOString();
      await tx.saveDeposit({
        id: randomUUID(),
        tenantId: test.tenant.tenantId,
        walletUuid: transfer.walletUuid,
        currency: "USDTTRC20",
        txHash: `flush-${randomUUID()}`,
        amount: 1n,
        confirmations: 0,
        status: "pending",
        transferId: transfer.id,
        createdAt: now,
        updatedAt: now,
      });
      throw new Error("fails after writing");
    });
    const [keptResult, undoneResult] = await Promise.allSettled([kept, undone]);
    assert.equal(keptResult.status, "fulfilled");
    assert.equal(undoneResult.status, "rejected");

    assert.equal((await balances(test, { external_id: "kept" })).body.balances[0]?.available_balance, "10.00");
    assert.deepEqual((await balances(test, { external_id: "undone" })).body.balances, []);
    const keptTransfer = keptResult.status === "fulfilled" ? keptResult.value : undefined;
    const history = await call(test.app, "POST", "/wallets/transfer-history/", { key: test.tenant.apiKey, body: { external_id: "kept" } });
    assert.deepEqual(
      history.body.transfers.map((transfer: { id: string }) => transfer.id),
      [keptTransfer?.id],
    );
    assert.equal((await verifyLedger(store)).ok, true);
  });
});

describe("a transaction that fails as a whole", () => {
  let test: TestApp;

  before(async () => {
    test = await startApp();
    await fundMaster(test, "USDTTRC20", "100", "funding");
    await createWallet(test, "neighbour");
  });
  after(() => test.close());

  it("runs its items again one by one, so a bad row fails only the item that wrote it", async () => {
    const { store } = test;
    const tenantId = test.tenant.tenantId;
    // Both land in one transaction. The second leaves a game transaction in memory whose wallet
    // does not exist: writing it at commit breaks a foreign key and fails the whole transaction.
    const good = store.write((tx) =>
      test.services.transfers.moveIn(
        tx,
        { tenantId, lookup: { by: "external_id", value: "neighbour" }, currency: "USDTTRC20", amount: "10" },
        "to_sub",
      ),
    );
    const bad = store.write(async (tx) => {
      await tx.lockGameTransaction(tenantId, "poison");
      await tx.saveGameTransaction({
        tenantId,
        transactionId: "poison",
        kind: "bet",
        status: "completed",
        walletUuid: randomUUID(),
        currency: "USDTTRC20",
        amount: 1n,
        roundId: "poison-round",
        referenceId: null,
        createdAt: new Date().toISOString(),
        transferId: null,
        balance: null,
        betNotFound: false,
        result: null,
      });
    });
    const [goodResult, badResult] = await Promise.allSettled([good, bad]);
    assert.equal(goodResult.status, "fulfilled");
    assert.equal(badResult.status, "rejected");
    assert.equal((await balances(test, { external_id: "neighbour" })).body.balances[0]?.available_balance, "10.00");
    assert.equal((await verifyLedger(store)).ok, true);
  });
});
