import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { balances, type CallResult, call, createWallet, deposit, fundMaster, startApp, type Tenant, type TestApp } from "../helpers.js";

const CURRENCY = "USDTTRC20";

const balance = (amount: string, pending = "0.00", available = amount) => ({
  currency: CURRENCY,
  amount,
  pending_amount: pending,
  available_balance: available,
});

describe("Idempotency-Key on mutating requests", () => {
  let test: TestApp;
  let other: Tenant;

  before(async () => {
    // Webhooks may target 127.0.0.1 here; nothing listens on the port the tests register.
    test = await startApp({ webhookAllowHttp: true, webhookAllowedTargets: ["127.0.0.1/32"] });
    await fundMaster(test, CURRENCY, "100000", "idem-master");
    other = await test.newTenant("Other Casino");
    const funded = await deposit(test, {
      tenantId: other.tenantId,
      master: true,
      currency: CURRENCY,
      amount: "1000",
      txHash: "idem-other-master",
      confirmations: 1_000,
    });
    assert.equal(funded.status, 200);
  });
  after(() => test.close());

  const post = (url: string, body: object, idempotencyKey: string, key = test.tenant.apiKey) =>
    call(test.app, "POST", url, { key, body, headers: { "idempotency-key": idempotencyKey } });

  function assertError(response: CallResult, status: number, code: string) {
    assert.equal(response.status, status, JSON.stringify(response.body));
    assert.equal(response.body.error.code, code, JSON.stringify(response.body));
  }

  /** The repeat answers exactly what the first did, marked as a replay; the first is not marked. */
  function assertReplay(first: CallResult, repeat: CallResult, status: number) {
    assert.equal(first.status, status, JSON.stringify(first.body));
    assert.equal(first.headers["idempotency-replayed"], undefined);
    assert.equal(repeat.status, status, JSON.stringify(repeat.body));
    assert.equal(repeat.headers["idempotency-replayed"], "true");
    assert.deepEqual(repeat.body, first.body);
    assert.equal(repeat.text, first.text, "byte for byte");
  }

  /** Of requests racing under one key: exactly one original, the others its replay or a conflict. */
  function assertOneEffect(results: CallResult[], status: number): CallResult {
    const originals = results.filter((result) => result.status === status && result.headers["idempotency-replayed"] === undefined);
    assert.equal(originals.length, 1, JSON.stringify(results.map((result) => [result.status, result.body])));
    const original = originals[0] as CallResult;
    for (const result of results) {
      if (result.status === status) assert.deepEqual(result.body, original.body);
      else assertError(result, 409, "conflict");
    }
    // The first is still in flight when the others arrive: they are refused, not run again.
    assert.ok(
      results.some((result) => result.status === 409),
      "no request met the first one in flight",
    );
    return original;
  }

  async function walletBalance(externalId: string, key = test.tenant.apiKey) {
    const response = await balances(test, { external_id: externalId }, key);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return response.body.balances.find((entry: { currency: string }) => entry.currency === CURRENCY);
  }

  async function walletCount(key = test.tenant.apiKey): Promise<number> {
    const response = await call(test.app, "GET", "/wallets/?limit=1", { key });
    assert.equal(response.status, 200);
    return response.body.total;
  }

  async function give(externalId: string, amount: string, key = test.tenant.apiKey) {
    const response = await call(test.app, "POST", "/wallets/transfer-to-user/", {
      key,
      body: { external_id: externalId, currency: CURRENCY, amount },
    });
    assert.equal(response.status, 200, JSON.stringify(response.body));
  }

  it("creates a wallet once per key on POST /wallets/", async () => {
    const before = await walletCount();
    const body = { name: "Idem One", external_id: "idem-w1" };
    const first = await post("/wallets/", body, "wallet-key-1");
    const repeat = await post("/wallets/", body, "wallet-key-1");
    assertReplay(first, repeat, 201);
    assert.equal(repeat.body.id, first.body.id);
    assert.equal(repeat.body.wallet_id, first.body.wallet_id);
    assert.equal(await walletCount(), before + 1);

    assertError(await post("/wallets/", { ...body, name: "Idem Other" }, "wallet-key-1"), 409, "conflict");
    assertError(await post("/wallets/", { name: "Idem One", external_id: "idem-w1-other" }, "wallet-key-1"), 409, "conflict");
    assertError(await balances(test, { external_id: "idem-w1-other" }), 404, "not_found");
    assert.equal(await walletCount(), before + 1);
  });

  it("creates one wallet when 20 requests race with one key", async () => {
    const before = await walletCount();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => post("/wallets/", { name: "Racer", external_id: "idem-w-race" }, "wallet-race-key")),
    );
    const original = assertOneEffect(results, 201);
    assert.equal(await walletCount(), before + 1);
    const found = await balances(test, { external_id: "idem-w-race" });
    assert.equal(found.body.account.wallet_id, original.body.wallet_id);
  });

  it("scopes keys per tenant", async () => {
    const body = { name: "Idem One", external_id: "idem-w1" };
    const mine = await post("/wallets/", body, "wallet-key-1");
    const theirs = await post("/wallets/", body, "wallet-key-1", other.apiKey);
    assert.equal(theirs.status, 201, JSON.stringify(theirs.body));
    assert.equal(theirs.headers["idempotency-replayed"], undefined);
    assert.notEqual(theirs.body.id, mine.body.id);
    assert.notEqual(theirs.body.wallet_id, mine.body.wallet_id);
    assert.equal(await walletCount(other.apiKey), 1);

    // The same for a movement: tenant B's request under A's key moves B's money.
    await createWallet(test, "idem-scope", "Scope", test.tenant.apiKey);
    await createWallet(test, "idem-scope", "Scope", other.apiKey);
    const movement = { external_id: "idem-scope", currency: CURRENCY, amount: "3" };
    const a = await post("/wallets/transfer-to-user/", movement, "scoped-move");
    const b = await post("/wallets/transfer-to-user/", movement, "scoped-move", other.apiKey);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200, JSON.stringify(b.body));
    assert.equal(b.headers["idempotency-replayed"], undefined);
    assert.notEqual(b.body.transfer.id, a.body.transfer.id);
    assert.deepEqual(await walletBalance("idem-scope"), balance("3.00"));
    assert.deepEqual(await walletBalance("idem-scope", other.apiKey), balance("3.00"));
  });

  it("moves funds once per key on POST /wallets/transfer-to-user/", async () => {
    await createWallet(test, "idem-t");
    const body = { external_id: "idem-t", currency: CURRENCY, amount: "10" };
    const first = await post("/wallets/transfer-to-user/", body, "transfer-key-1");
    const repeat = await post("/wallets/transfer-to-user/", body, "transfer-key-1");
    assertReplay(first, repeat, 200);
    assert.equal(repeat.body.transfer.id, first.body.transfer.id);
    assert.deepEqual(await walletBalance("idem-t"), balance("10.00"));

    assertError(await post("/wallets/transfer-to-user/", { ...body, amount: "11" }, "transfer-key-1"), 409, "conflict");
    // The route is part of the request: the same body to another endpoint is another request.
    assertError(await post("/wallets/withdraw-to-master/", body, "transfer-key-1"), 409, "conflict");
    assert.deepEqual(await walletBalance("idem-t"), balance("10.00"));

    const results = await Promise.all(
      Array.from({ length: 20 }, () => post("/wallets/transfer-to-user/", { ...body, amount: "5" }, "transfer-race")),
    );
    assertOneEffect(results, 200);
    assert.deepEqual(await walletBalance("idem-t"), balance("15.00"));
    const history = await call(test.app, "POST", "/wallets/transfer-history/", {
      key: test.tenant.apiKey,
      body: { external_id: "idem-t" },
    });
    assert.equal(history.body.pagination.total, 2);
  });

  it("credits a deposit once per key on POST /deposits/ (system key)", async () => {
    await createWallet(test, "idem-d");
    const body = {
      tenant_id: test.tenant.tenantId,
      external_id: "idem-d",
      currency: CURRENCY,
      amount: "7",
      tx_hash: "idem-d-1",
      confirmations: 1_000,
    };
    const first = await post("/deposits/", body, "deposit-key-1", test.systemKey);
    const repeat = await post("/deposits/", body, "deposit-key-1", test.systemKey);
    assertReplay(first, repeat, 200);
    assert.equal(repeat.body.deposit.id, first.body.deposit.id);
    assert.deepEqual(await walletBalance("idem-d"), balance("7.00"));

    assertError(await post("/deposits/", { ...body, tx_hash: "idem-d-2" }, "deposit-key-1", test.systemKey), 409, "conflict");
    assert.deepEqual(await walletBalance("idem-d"), balance("7.00"));

    const raced = { ...body, amount: "3", tx_hash: "idem-d-3" };
    const results = await Promise.all(Array.from({ length: 20 }, () => post("/deposits/", raced, "deposit-race", test.systemKey)));
    assertOneEffect(results, 200);
    assert.deepEqual(await walletBalance("idem-d"), balance("10.00"));
    // idem-d-2 was never credited: reporting it now (without a key) credits it for the first time.
    const late = await deposit(test, { externalId: "idem-d", currency: CURRENCY, amount: "7", txHash: "idem-d-2", confirmations: 1_000 });
    assert.equal(late.status, 200);
    assert.deepEqual(await walletBalance("idem-d"), balance("17.00"));
  });

  it("places a bet once per key on POST /games/bets/", async () => {
    await createWallet(test, "idem-g");
    await give("idem-g", "10");
    const body = { external_id: "idem-g", currency: CURRENCY, amount: "4", transaction_id: "ig-1", round_id: "ig-round" };
    const first = await post("/games/bets/", body, "bet-key-1");
    const repeat = await post("/games/bets/", body, "bet-key-1");
    assertReplay(first, repeat, 200);
    assert.deepEqual(first.body.balance, balance("6.00"));
    assert.deepEqual(await walletBalance("idem-g"), balance("6.00"));

    assertError(await post("/games/bets/", { ...body, transaction_id: "ig-2" }, "bet-key-1"), 409, "conflict");
    assert.deepEqual(await walletBalance("idem-g"), balance("6.00"));

    const raced = { ...body, amount: "1", transaction_id: "ig-race" };
    const results = await Promise.all(Array.from({ length: 20 }, () => post("/games/bets/", raced, "bet-race")));
    const original = assertOneEffect(results, 200);
    assert.deepEqual(original.body.balance, balance("5.00"));
    assert.deepEqual(await walletBalance("idem-g"), balance("5.00"));
  });

  it("stores nothing for a failed request, so the same key and body succeed later", async () => {
    await createWallet(test, "idem-f");
    await give("idem-f", "10");
    const body = { external_id: "idem-f", currency: CURRENCY, amount: "25", transaction_id: "if-1", round_id: "if-round" };
    const refused = await post("/games/bets/", body, "bet-failing");
    assertError(refused, 400, "insufficient_funds");
    assert.equal(refused.body.error.details.available_balance, "10.00");
    assert.deepEqual(await walletBalance("idem-f"), balance("10.00"));
    await give("idem-f", "20");
    const accepted = await post("/games/bets/", body, "bet-failing");
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    assert.equal(accepted.headers["idempotency-replayed"], undefined);
    assert.deepEqual(accepted.body.balance, balance("5.00"));
    assert.deepEqual(await walletBalance("idem-f"), balance("5.00"));
  });

  it("holds a withdrawal once per key on POST /withdrawals/", async () => {
    await createWallet(test, "idem-x");
    await give("idem-x", "10");
    const body = { external_id: "idem-x", currency: CURRENCY, amount: "3", address: "TXidemAddress123" };
    const first = await post("/withdrawals/", body, "withdrawal-key-1");
    const repeat = await post("/withdrawals/", body, "withdrawal-key-1");
    assertReplay(first, repeat, 201);
    assert.equal(repeat.body.withdrawal.id, first.body.withdrawal.id);
    assert.deepEqual(first.body.balance, balance("10.00", "3.00", "7.00"));
    assert.deepEqual(await walletBalance("idem-x"), balance("10.00", "3.00", "7.00"));

    assertError(await post("/withdrawals/", { ...body, amount: "2" }, "withdrawal-key-1"), 409, "conflict");
    assert.deepEqual(await walletBalance("idem-x"), balance("10.00", "3.00", "7.00"));

    const results = await Promise.all(Array.from({ length: 20 }, () => post("/withdrawals/", { ...body, amount: "2" }, "withdrawal-race")));
    assertOneEffect(results, 201);
    assert.deepEqual(await walletBalance("idem-x"), balance("10.00", "5.00", "5.00"));

    const tooMuch = { ...body, amount: "8" };
    assertError(await post("/withdrawals/", tooMuch, "withdrawal-failing"), 400, "insufficient_funds");
    assert.deepEqual(await walletBalance("idem-x"), balance("10.00", "5.00", "5.00"));
    await give("idem-x", "3");
    const accepted = await post("/withdrawals/", tooMuch, "withdrawal-failing");
    assert.equal(accepted.status, 201, JSON.stringify(accepted.body));
    assert.equal(accepted.headers["idempotency-replayed"], undefined);
    assert.deepEqual(await walletBalance("idem-x"), balance("13.00", "13.00", "0.00"));
  });

  it("refuses an over-long key with 400 and accepts one of 255 characters", async () => {
    const before = await walletCount();
    const long = await post("/wallets/", { name: "Long", external_id: "idem-long" }, "k".repeat(256));
    assertError(long, 400, "invalid_request");
    assertError(await balances(test, { external_id: "idem-long" }), 404, "not_found");
    assert.equal(await walletCount(), before);

    await createWallet(test, "idem-long-move");
    const longMove = await post(
      "/wallets/transfer-to-user/",
      { external_id: "idem-long-move", currency: CURRENCY, amount: "1" },
      "m".repeat(256),
    );
    assertError(longMove, 400, "invalid_request");
    assert.deepEqual((await balances(test, { external_id: "idem-long-move" })).body.balances, []);

    const body = { name: "Longest", external_id: "idem-longest" };
    const first = await post("/wallets/", body, "k".repeat(255));
    const repeat = await post("/wallets/", body, "k".repeat(255));
    assertReplay(first, repeat, 201);
    assert.equal(await walletCount(), before + 2);
  });

  describe("scope: owner, method, concrete path with its ids, parsed body", () => {
    const holdOf = async (externalId: string) => {
      const placed = await call(test.app, "POST", "/holds/", {
        key: test.tenant.apiKey,
        body: { external_id: externalId, currency: CURRENCY, amount: "1" },
      });
      assert.equal(placed.status, 201, JSON.stringify(placed.body));
      return placed.body.hold.id as string;
    };
    const statusOf = async (holdId: string) =>
      (await call(test.app, "GET", `/holds/${holdId}/`, { key: test.tenant.apiKey })).body.hold.status as string;

    before(async () => {
      await createWallet(test, "scope-player");
      await post("/wallets/transfer-to-user/", { external_id: "scope-player", currency: CURRENCY, amount: "50" }, "scope-fund");
    });

    it("refuses the key of a void of hold X on a void of hold Y, and Y stays pending", async () => {
      const [x, y] = [await holdOf("scope-player"), await holdOf("scope-player")];
      const first = await call(test.app, "POST", `/holds/${x}/void/`, {
        key: test.tenant.apiKey,
        headers: { "idempotency-key": "void-k" },
      });
      assert.equal(first.status, 200);
      const reused = await call(test.app, "POST", `/holds/${y}/void/`, {
        key: test.tenant.apiKey,
        headers: { "idempotency-key": "void-k" },
      });
      assertError(reused, 409, "conflict");
      assert.equal(reused.headers["idempotency-replayed"], undefined);
      assert.equal(await statusOf(y), "pending");
      const again = await call(test.app, "POST", `/holds/${x}/void`, { key: test.tenant.apiKey, headers: { "idempotency-key": "void-k" } });
      assertReplay(first, again, 200);
    });

    it("refuses the key of a capture on another hold and on another amount", async () => {
      const [x, y] = [await holdOf("scope-player"), await holdOf("scope-player")];
      const capture = (id: string, body: object) => post(`/holds/${id}/capture/`, body, "capture-k");
      const first = await capture(x, { amount: "0.5" });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assertError(await capture(y, { amount: "0.5" }), 409, "conflict");
      assertError(await capture(x, { amount: "0.4" }), 409, "conflict");
      assert.equal(await statusOf(y), "pending");
    });

    it("compares parsed bodies: key order and whitespace do not matter", async () => {
      const send = (payload: string) =>
        test.app.inject({
          method: "POST",
          url: "/wallets/transfer-to-user/",
          payload,
          headers: { "content-type": "application/json", "x-api-key": test.tenant.apiKey, "idempotency-key": "order-k" },
        });
      const first = await send(`{"external_id":"scope-player","currency":"${CURRENCY}","amount":"2"}`);
      const reordered = await send(`{ "amount" : "2",\n "currency": "${CURRENCY}", "external_id": "scope-player" }`);
      assert.equal(first.statusCode, 200, first.body);
      assert.equal(reordered.statusCode, 200, reordered.body);
      assert.equal(reordered.headers["idempotency-replayed"], "true");
      assert.equal(reordered.body, first.body);
    });

    it("creates and deletes a webhook endpoint once per key, and refuses the key on another endpoint", async () => {
      const create = (url: string) => post("/webhooks/", { url }, `hook-create-${url.length}`);
      const first = await create("http://127.0.0.1:9/a");
      assertReplay(first, await create("http://127.0.0.1:9/a"), 201);
      assertError(
        await post("/webhooks/", { url: "http://127.0.0.1:9/b" }, `hook-create-${"http://127.0.0.1:9/a".length}`),
        409,
        "conflict",
      );
      const other = (await call(test.app, "POST", "/webhooks/", { key: test.tenant.apiKey, body: { url: "http://127.0.0.1:9/c" } })).body;
      const remove = (id: string) =>
        call(test.app, "DELETE", `/webhooks/${id}/`, { key: test.tenant.apiKey, headers: { "idempotency-key": "hook-delete" } });
      const removed = await remove(first.body.id);
      assertReplay(removed, await remove(first.body.id), 200);
      assertError(await remove(other.id), 409, "conflict");
      const listed = (await call(test.app, "GET", "/webhooks/", { key: test.tenant.apiKey })).body.webhooks.map(
        (hook: { id: string }) => hook.id,
      );
      assert.deepEqual(listed, [other.id]);
    });

    it("gives each system key its own keys for withdrawal results", async () => {
      const payoutA = (await test.services.credentials.createSystemKey(["withdrawals"])).apiKey;
      const payoutB = (await test.services.credentials.createSystemKey(["withdrawals"])).apiKey;
      const withdraw = async () => {
        const body = { external_id: "scope-player", currency: CURRENCY, amount: "1", address: "TScopeAddress" };
        const response = await call(test.app, "POST", "/withdrawals/", { key: test.tenant.apiKey, body });
        assert.equal(response.status, 201, JSON.stringify(response.body));
        return response.body.withdrawal.id as string;
      };
      const [first, second, third] = [await withdraw(), await withdraw(), await withdraw()];
      const report = (id: string, key: string) => post(`/system/withdrawals/${id}/result/`, { status: "failed" }, "payout-k", key);
      assert.equal((await report(first, payoutA)).status, 200);
      assertError(await report(second, payoutA), 409, "conflict");
      const read = async (id: string) =>
        (await call(test.app, "GET", `/withdrawals/${id}/`, { key: test.tenant.apiKey })).body.withdrawal.status;
      assert.equal(await read(second), "pending");
      assert.equal((await report(third, payoutB)).status, 200, "another system key has its own key space");
      assert.equal(await read(third), "failed");
    });
  });

  it("leaves a ledger that verifies", async () => {
    const report = await test.services.verify();
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    assert.ok(report.transfers > 10);
  });
});
