import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { assertError, balances, type CallResult, call, createWallet, fundMaster, startApp, type Tenant, type TestApp } from "../helpers.js";

/**
 * Every error row of DESIGN 1.1 that the first release can produce, through the real HTTP
 * stack. Each answer must have the status of the table and exactly the body
 * `{"error": {"code", "message", "details"}}`.
 */

const WALLET_ID_THAT_DOES_NOT_EXIST = "w_0000000000000000";

describe("400 invalid_request", () => {
  let test: TestApp;
  let walletId: string;

  before(async () => {
    test = await startApp();
    walletId = (await createWallet(test, "player-invalid")).wallet_id;
    // A funded master: a lax amount parser would let the bad amounts below through.
    await fundMaster(test, "USDTTRC20", "1000", "fund-invalid-1");
    await fundMaster(test, "BTC", "10", "fund-invalid-2");
  });
  after(() => test.close());

  const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    call(test.app, "POST", url, { key: test.tenant.apiKey, body, headers });

  it("refuses malformed JSON", async () => {
    assertError(await post("/wallets/balances/", '{"wallet_id": '), 400, "invalid_request");
    assertError(await post("/wallets/balances/", "{wallet_id: 'x'}"), 400, "invalid_request");
    assertError(await post("/wallets/", '{"name": "a", "external_id": "b",}'), 400, "invalid_request");
  });

  it("refuses wrong types and names the field", async () => {
    const details = assertError(await post("/wallets/balances/", { wallet_id: 5 }), 400, "invalid_request");
    assert.match(JSON.stringify(details), /wallet_id/);
    assertError(await post("/wallets/balances/", { external_id: ["player-invalid"] }), 400, "invalid_request");
    assertError(await post("/wallets/", { name: 12, external_id: "typed" }), 400, "invalid_request");
    assertError(await post("/wallets/balances/", ["player-invalid"]), 400, "invalid_request");
    assertError(await post("/wallets/balances/", "null"), 400, "invalid_request");
    assertError(await post("/wallets/transfer-to-user/", { wallet_id: walletId, currency: 5, amount: "1" }), 400, "invalid_request");
    assertError(await post("/wallets/transfer-to-user/", { wallet_id: walletId, currency: "BTC", amount: true }), 400, "invalid_request");
  });

  it("refuses unknown fields and names the field", async () => {
    const details = assertError(await post("/wallets/balances/", { wallet_id: walletId, surprise: 1 }), 400, "invalid_request");
    assert.match(JSON.stringify(details), /surprise/);
    assertError(await post("/wallets/", { name: "n", external_id: "unknown-field", admin: true }), 400, "invalid_request");
    assertError(
      await post("/wallets/transfer-to-user/", { wallet_id: walletId, currency: "BTC", amount: "1", fee: "0" }),
      400,
      "invalid_request",
    );
  });

  it("refuses a balance query that names neither wallet_id nor external_id", async () => {
    const details = assertError(await post("/wallets/balances/", {}), 400, "invalid_request");
    assert.match(JSON.stringify(details), /wallet_id/);
    assert.match(JSON.stringify(details), /external_id/);
    assertError(await post("/wallets/balances", {}), 400, "invalid_request");
  });

  it("refuses missing ids on transfers and history too", async () => {
    assertError(await post("/wallets/transfer-to-user/", { currency: "BTC", amount: "1" }), 400, "invalid_request");
    assertError(await post("/wallets/withdraw-to-master/", { currency: "BTC", amount: "1" }), 400, "invalid_request");
    assertError(await post("/wallets/transfer-history/", {}), 400, "invalid_request");
  });

  const badAmounts: [string, unknown, string][] = [
    ["an exponent", "1e3", "USDTTRC20"],
    ["an exponent as a JSON number", "__raw__1e3", "USDTTRC20"],
    ["a negative amount", "-5", "USDTTRC20"],
    ["a negative JSON number", -5, "USDTTRC20"],
    ["zero", "0", "USDTTRC20"],
    ["zero with decimals", "0.000000", "USDTTRC20"],
    ["too many decimals for USDTTRC20 (6)", "1.1234567", "USDTTRC20"],
    ["too many decimals for BTC (8)", "0.123456789", "BTC"],
    ["not a number", "ten", "USDTTRC20"],
    ["an empty string", "", "USDTTRC20"],
    ["a leading plus", "+5", "USDTTRC20"],
    ["an unknown currency", "1", "NOTACOIN"],
  ];
  for (const [label, amount, currency] of badAmounts) {
    it(`refuses ${label} on POST /wallets/transfer-to-user/`, async () => {
      const body =
        typeof amount === "string" && amount.startsWith("__raw__")
          ? `{"wallet_id": "${walletId}", "currency": "${currency}", "amount": ${amount.slice("__raw__".length)}}`
          : { wallet_id: walletId, currency, amount };
      assertError(await post("/wallets/transfer-to-user/", body), 400, "invalid_request");
    });
  }

  it("refuses a bad amount on withdraw-to-master too", async () => {
    assertError(
      await post("/wallets/withdraw-to-master/", { wallet_id: walletId, currency: "USDTTRC20", amount: "-1" }),
      400,
      "invalid_request",
    );
  });

  it("left no trace of the refused movements", async () => {
    const wallet = await balances(test, { wallet_id: walletId });
    assert.equal(wallet.status, 200);
    assert.deepEqual(wallet.body.balances, []);
    const master = await call(test.app, "GET", "/master/balances/", { key: test.tenant.apiKey });
    assert.equal(master.status, 200);
    assert.deepEqual(master.body.balances, [
      { currency: "USDTTRC20", amount: "1000.00", pending_amount: "0.00", available_balance: "1000.00" },
      { currency: "BTC", amount: "10.00", pending_amount: "0.00", available_balance: "10.00" },
    ]);
  });

  it("accepts the same movement with a valid amount (the refusals above were about the amount)", async () => {
    const response = await post("/wallets/transfer-to-user/", { wallet_id: walletId, currency: "usdttrc20", amount: "1.123456" });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.transfer.amount, "1.123456");
  });

  it("refuses an empty body sent as application/json", async () => {
    assertError(await post("/wallets/balances/", ""), 400, "invalid_request");
    assertError(await post("/wallets/balances/", "   "), 400, "invalid_request");
  });

  it("refuses a body that is not JSON (text/plain) with 400, not 415", async () => {
    const response = await post("/wallets/balances/", JSON.stringify({ wallet_id: walletId }), { "content-type": "text/plain" });
    assertError(response, 400, "invalid_request");
    const xml = await post("/wallets/balances/", `<wallet_id>${walletId}</wallet_id>`, { "content-type": "application/xml" });
    assertError(xml, 400, "invalid_request");
  });

  it("refuses a form-encoded body on JSON routes (only POST /o/token/ takes forms, DESIGN 1.1 and 1.4)", async () => {
    const form = { "content-type": "application/x-www-form-urlencoded" };
    assertError(await post("/wallets/balances/", `wallet_id=${walletId}`, form), 400, "invalid_request");
    assertError(await post("/wallets/", "name=Form&external_id=form-wallet", form), 400, "invalid_request");
  });

  it("refuses a bad query string on GET /wallets/", async () => {
    assertError(await call(test.app, "GET", "/wallets/?limit=abc", { key: test.tenant.apiKey }), 400, "invalid_request");
    assertError(await call(test.app, "GET", "/wallets/?limit=1000", { key: test.tenant.apiKey }), 400, "invalid_request");
    assertError(await call(test.app, "GET", "/wallets/?offset=-1", { key: test.tenant.apiKey }), 400, "invalid_request");
  });
});

describe("400 duplicate_external_id", () => {
  let test: TestApp;

  before(async () => {
    test = await startApp();
  });
  after(() => test.close());

  it("refuses a second wallet with the same external_id for the same tenant", async () => {
    const body = { name: "First", external_id: "player-dup" };
    const first = await call(test.app, "POST", "/wallets/", { key: test.tenant.apiKey, body });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const second = await call(test.app, "POST", "/wallets/", { key: test.tenant.apiKey, body: { ...body, name: "Second" } });
    assertError(second, 400, "duplicate_external_id");
    const list = await call(test.app, "GET", "/wallets/", { key: test.tenant.apiKey });
    assert.equal(list.status, 200);
    assert.equal(list.body.total, 1);
    assert.equal(list.body.accounts[0].name, "First");
  });

  it("lets another tenant reuse the same external_id", async () => {
    const other = await test.newTenant("Other Casino");
    const response = await call(test.app, "POST", "/wallets/", { key: other.apiKey, body: { name: "Other", external_id: "player-dup" } });
    assert.equal(response.status, 201, JSON.stringify(response.body));
    assert.equal(response.body.external_id, "player-dup");
  });
});

describe("400 insufficient_funds", () => {
  let test: TestApp;

  before(async () => {
    test = await startApp();
  });
  after(() => test.close());

  const masterBalances = async (key = test.tenant.apiKey) => {
    const response = await call(test.app, "GET", "/master/balances/", { key });
    assert.equal(response.status, 200);
    return response.body.balances;
  };

  it("refuses transfer-to-user from an empty master account and changes nothing", async () => {
    const tenant = await test.newTenant("Empty Casino");
    const wallet = await createWallet(test, "player-empty", "Empty", tenant.apiKey);
    const beforeWallet = (await balances(test, { wallet_id: wallet.wallet_id }, tenant.apiKey)).body;
    const beforeMaster = await masterBalances(tenant.apiKey);
    const response = await call(test.app, "POST", "/wallets/transfer-to-user/", {
      key: tenant.apiKey,
      body: { wallet_id: wallet.wallet_id, currency: "USDTTRC20", amount: "5" },
    });
    const details = assertError(response, 400, "insufficient_funds");
    assert.equal(details.available_balance, "0.00");
    assert.deepEqual((await balances(test, { wallet_id: wallet.wallet_id }, tenant.apiKey)).body, beforeWallet);
    assert.deepEqual(await masterBalances(tenant.apiKey), beforeMaster);
  });

  it("refuses withdraw-to-master of more than the wallet holds and changes nothing", async () => {
    const wallet = await createWallet(test, "player-poor");
    await fundMaster(test, "USDTTRC20", "100", "fund-poor");
    const moved = await call(test.app, "POST", "/wallets/transfer-to-user/", {
      key: test.tenant.apiKey,
      body: { external_id: "player-poor", currency: "USDTTRC20", amount: "30.5" },
    });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    const beforeWallet = (await balances(test, { wallet_id: wallet.wallet_id })).body;
    assert.deepEqual(beforeWallet.balances, [
      { currency: "USDTTRC20", amount: "30.50", pending_amount: "0.00", available_balance: "30.50" },
    ]);
    const beforeMaster = await masterBalances();
    assert.deepEqual(beforeMaster, [{ currency: "USDTTRC20", amount: "69.50", pending_amount: "0.00", available_balance: "69.50" }]);

    const response = await call(test.app, "POST", "/wallets/withdraw-to-master/", {
      key: test.tenant.apiKey,
      body: { wallet_id: wallet.wallet_id, currency: "USDTTRC20", amount: "30.500001" },
    });
    const details = assertError(response, 400, "insufficient_funds");
    assert.equal(details.available_balance, "30.50");
    assert.equal(typeof details.available_balance, "string");

    assert.deepEqual((await balances(test, { wallet_id: wallet.wallet_id })).body, beforeWallet);
    assert.deepEqual(await masterBalances(), beforeMaster);

    // Exactly what it holds is fine: the refusal above was about the amount, not the route.
    const all = await call(test.app, "POST", "/wallets/withdraw-to-master/", {
      key: test.tenant.apiKey,
      body: { wallet_id: wallet.wallet_id, currency: "USDTTRC20", amount: "30.5" },
    });
    assert.equal(all.status, 200, JSON.stringify(all.body));
  });

  it("refuses transfer-to-user of more than the master holds, naming its available balance", async () => {
    const wallet = await createWallet(test, "player-greedy");
    await fundMaster(test, "BTC", "0.025", "fund-greedy");
    const response = await call(test.app, "POST", "/wallets/transfer-to-user/", {
      key: test.tenant.apiKey,
      body: { wallet_id: wallet.wallet_id, currency: "BTC", amount: "0.02500001" },
    });
    const details = assertError(response, 400, "insufficient_funds");
    assert.equal(details.available_balance, "0.025");
    const after = await balances(test, { wallet_id: wallet.wallet_id });
    assert.deepEqual(after.body.balances, []);
  });
});

describe("400 limit_exceeded", () => {
  let test: TestApp;
  let walletId: string;

  before(async () => {
    test = await startApp();
    await fundMaster(test, "USDTTRC20", "1000", "fund-limited");
    walletId = (await createWallet(test, "player-limited")).wallet_id;
    const set = await call(test.app, "PUT", `/wallets/${walletId}/limits/USDTTRC20/`, {
      key: test.tenant.apiKey,
      body: { deposit_day: "100", max_stake: "5" },
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));
  });
  after(() => test.close());

  const transfer = (amount: string) =>
    call(test.app, "POST", "/wallets/transfer-to-user/", {
      key: test.tenant.apiKey,
      body: { wallet_id: walletId, currency: "USDTTRC20", amount },
    });

  it("refuses a transfer to the wallet above its deposit limit, naming the limit and its use, and changes nothing", async () => {
    assert.equal((await transfer("60")).status, 200);
    const before = (await balances(test, { wallet_id: walletId })).body;
    const details = assertError(await transfer("40.01"), 400, "limit_exceeded");
    assert.deepEqual(Object.keys(details), ["currency", "limit", "window", "amount", "used", "remaining", "resets_at"]);
    assert.deepEqual(
      { ...details, resets_at: typeof details.resets_at },
      { currency: "USDTTRC20", limit: "deposit", window: "day", amount: "100.00", used: "60.00", remaining: "40.00", resets_at: "string" },
    );
    assert.deepEqual((await balances(test, { wallet_id: walletId })).body, before);
    assert.equal((await transfer("40")).status, 200, "exactly the room left is fine");
  });

  it("refuses a stake above max_stake (no window, no use)", async () => {
    const bet = (amount: string, transaction_id: string) =>
      call(test.app, "POST", "/games/bets/", {
        key: test.tenant.apiKey,
        body: { wallet_id: walletId, currency: "USDTTRC20", amount, transaction_id, round_id: "limited-round" },
      });
    const details = assertError(await bet("5.01", "limited-bet-1"), 400, "limit_exceeded");
    assert.deepEqual(details, {
      currency: "USDTTRC20",
      limit: "max_stake",
      window: null,
      amount: "5.00",
      used: null,
      remaining: null,
      resets_at: null,
    });
    assert.equal((await bet("5", "limited-bet-2")).status, 200);
  });
});

describe("400 player_excluded", () => {
  let test: TestApp;

  before(async () => {
    test = await startApp();
  });
  after(() => test.close());

  it("refuses bets, holds and transfers to an excluded wallet, naming the exclusion; withdrawals still work", async () => {
    await fundMaster(test, "USDTTRC20", "1000", "fund-excluded");
    const { wallet_id: walletId } = await createWallet(test, "player-excluded");
    const key = test.tenant.apiKey;
    const post = (url: string, body: object) =>
      call(test.app, "POST", url, { key, body: { wallet_id: walletId, currency: "USDTTRC20", ...body } });
    assert.equal((await post("/wallets/transfer-to-user/", { amount: "50" })).status, 200);
    const excluded = await call(test.app, "POST", `/wallets/${walletId}/exclusions/`, {
      key,
      body: { kind: "self_exclusion", duration_days: 183 },
    });
    assert.equal(excluded.status, 201, JSON.stringify(excluded.body));
    const before = (await balances(test, { wallet_id: walletId })).body;
    for (const [url, body] of [
      ["/games/bets/", { amount: "1", transaction_id: "excluded-bet", round_id: "excluded-round" }],
      ["/holds/", { amount: "1" }],
      ["/wallets/transfer-to-user/", { amount: "1" }],
    ] as const) {
      const details = assertError(await post(url, body), 400, "player_excluded");
      assert.deepEqual(details, excluded.body, url);
    }
    assert.deepEqual((await balances(test, { wallet_id: walletId })).body, before);
    const withdrawal = await post("/withdrawals/", { amount: "10", address: "TExcludedPayout1" });
    assert.equal(withdrawal.status, 201, JSON.stringify(withdrawal.body));
  });
});

describe("401 unauthorized", () => {
  let test: TestApp;
  let walletId: string;

  before(async () => {
    test = await startApp();
    walletId = (await createWallet(test, "player-401")).wallet_id;
  });
  after(() => test.close());

  const ask = (headers: Record<string, string>) => call(test.app, "POST", "/wallets/balances/", { body: { wallet_id: walletId }, headers });

  it("refuses a request without any credential", async () => {
    assertError(await ask({}), 401, "unauthorized");
    assertError(await call(test.app, "GET", "/wallets/"), 401, "unauthorized");
    assertError(await call(test.app, "GET", "/master/balances/"), 401, "unauthorized");
  });

  it("refuses an unknown API key", async () => {
    assertError(await ask({ "x-api-key": "wk_not-a-real-key" }), 401, "unauthorized");
    assertError(await ask({ "x-api-key": `${test.tenant.apiKey}x` }), 401, "unauthorized");
  });

  it("refuses a malformed Authorization header", async () => {
    for (const authorization of ["Bearer", "Bearer ", "Token abc", `Basic ${Buffer.from("a:b").toString("base64")}`, "Bearer a b"]) {
      assertError(await ask({ authorization }), 401, "unauthorized");
    }
  });

  it("refuses a bearer token that is not a JWT", async () => {
    assertError(await ask({ authorization: "Bearer not.a.jwt" }), 401, "unauthorized");
    assertError(await ask({ authorization: `Bearer ${test.tenant.apiKey}` }), 401, "unauthorized");
  });

  it("answers 200 with the right key (the refusals above were about the credential)", async () => {
    assert.equal((await ask({ "x-api-key": test.tenant.apiKey })).status, 200);
  });
});

describe("403 forbidden", () => {
  let test: TestApp;
  let readOnlyKey: string;
  let walletId: string;

  before(async () => {
    test = await startApp();
    walletId = (await createWallet(test, "player-403")).wallet_id;
    readOnlyKey = (await test.services.credentials.createApiKey(test.tenant.tenantId, ["read"])).apiKey;
  });
  after(() => test.close());

  it("refuses POST /wallets/balances/ to a read-only key (it needs read and write)", async () => {
    const details = assertError(await balances(test, { wallet_id: walletId }, readOnlyKey), 403, "forbidden");
    assert.match(JSON.stringify(details), /write/);
  });

  it("lets the same read-only key list wallets and read one", async () => {
    const list = await call(test.app, "GET", "/wallets/", { key: readOnlyKey });
    assert.equal(list.status, 200, JSON.stringify(list.body));
    assert.equal(list.body.total, 1);
    const one = await call(test.app, "GET", `/wallets/${walletId}/`, { key: readOnlyKey });
    assert.equal(one.status, 200);
  });

  it("refuses movements and wallet creation to a read-only key", async () => {
    assertError(await call(test.app, "POST", "/wallets/", { key: readOnlyKey, body: { name: "n", external_id: "ro" } }), 403, "forbidden");
    assertError(
      await call(test.app, "POST", "/wallets/transfer-to-user/", {
        key: readOnlyKey,
        body: { wallet_id: walletId, currency: "BTC", amount: "1" },
      }),
      403,
      "forbidden",
    );
  });

  it("refuses a write-only key on read routes", async () => {
    const writeOnly = (await test.services.credentials.createApiKey(test.tenant.tenantId, ["write"])).apiKey;
    assertError(await call(test.app, "GET", "/wallets/", { key: writeOnly }), 403, "forbidden");
    assertError(await balances(test, { wallet_id: walletId }, writeOnly), 403, "forbidden");
  });

  it("refuses a tenant key on POST /deposits/ (a tenant can never mint money)", async () => {
    const body = {
      tenant_id: test.tenant.tenantId,
      wallet_id: walletId,
      currency: "BTC",
      amount: "1",
      tx_hash: "tenant-mint",
      confirmations: 100,
    };
    assertError(await call(test.app, "POST", "/deposits/", { key: test.tenant.apiKey, body }), 403, "forbidden");
    const after = await balances(test, { wallet_id: walletId });
    assert.deepEqual(after.body.balances, []);
    // The same body from the system key is accepted: the refusal was about the credential.
    const system = await call(test.app, "POST", "/deposits/", { key: test.systemKey, body: { ...body, tx_hash: "system-mint" } });
    assert.equal(system.status, 200, JSON.stringify(system.body));
  });

  it("refuses a system key on tenant routes", async () => {
    assertError(await balances(test, { wallet_id: walletId }, test.systemKey), 403, "forbidden");
    assertError(await call(test.app, "GET", "/wallets/", { key: test.systemKey }), 403, "forbidden");
    assertError(await call(test.app, "GET", "/master/balances/", { key: test.systemKey }), 403, "forbidden");
    assertError(
      await call(test.app, "POST", "/wallets/", { key: test.systemKey, body: { name: "s", external_id: "system-wallet" } }),
      403,
      "forbidden",
    );
  });
});

describe("404 not_found", () => {
  let test: TestApp;
  let owner: Tenant;
  let intruder: Tenant;
  let wallet: { id: string; wallet_id: string; external_id: string; name: string };

  before(async () => {
    test = await startApp();
    owner = test.tenant;
    intruder = await test.newTenant("Intruder Casino");
    wallet = await createWallet(test, "victim-7", "Victim Seven Secret Name");
    await fundMaster(test, "USDTTRC20", "50", "victim-fund");
    const moved = await call(test.app, "POST", "/wallets/transfer-to-user/", {
      key: owner.apiKey,
      body: { wallet_id: wallet.wallet_id, currency: "USDTTRC20", amount: "20" },
    });
    assert.equal(moved.status, 200);
    // The intruder has money of its own, so a leaky lookup would let its transfers succeed.
    const funded = await call(test.app, "POST", "/deposits/", {
      key: test.systemKey,
      body: {
        tenant_id: intruder.tenantId,
        master: true,
        currency: "USDTTRC20",
        amount: "50",
        tx_hash: "intruder-fund",
        confirmations: 100,
      },
    });
    assert.equal(funded.status, 200, JSON.stringify(funded.body));
  });
  after(() => test.close());

  /** The answer carries nothing of the wallet beyond what the intruder sent itself. */
  const assertNoLeak = (response: CallResult) => {
    const text = JSON.stringify(response.body);
    for (const secret of [wallet.name, "20.00", "USDTTRC20"]) {
      assert.ok(!text.includes(secret), `answer leaks ${JSON.stringify(secret)}: ${text}`);
    }
  };

  it("answers 404 for an unknown wallet_id and an unknown external_id", async () => {
    assertError(await balances(test, { wallet_id: WALLET_ID_THAT_DOES_NOT_EXIST }), 404, "not_found");
    assertError(await balances(test, { external_id: "nobody" }), 404, "not_found");
    assertError(await call(test.app, "GET", `/wallets/${WALLET_ID_THAT_DOES_NOT_EXIST}/`, { key: owner.apiKey }), 404, "not_found");
    assertError(await call(test.app, "GET", "/wallets/00000000-0000-4000-8000-000000000000/", { key: owner.apiKey }), 404, "not_found");
    assertError(await call(test.app, "GET", "/wallets/not-an-id/", { key: owner.apiKey }), 404, "not_found");
  });

  it("hides another tenant's wallet from POST /wallets/balances/ (by wallet_id and external_id)", async () => {
    for (const ids of [{ wallet_id: wallet.wallet_id }, { external_id: wallet.external_id }]) {
      const response = await balances(test, ids, intruder.apiKey);
      assertError(response, 404, "not_found");
      assertNoLeak(response);
    }
  });

  it("hides another tenant's wallet from GET /wallets/{wallet_id}/ and /wallets/{id}/", async () => {
    for (const id of [wallet.wallet_id, wallet.id]) {
      const response = await call(test.app, "GET", `/wallets/${id}/`, { key: intruder.apiKey });
      assertError(response, 404, "not_found");
      assertNoLeak(response);
    }
    const list = await call(test.app, "GET", "/wallets/", { key: intruder.apiKey });
    assert.equal(list.status, 200);
    assert.equal(list.body.total, 0);
  });

  it("hides another tenant's wallet from transfer-history", async () => {
    for (const ids of [{ wallet_id: wallet.wallet_id }, { external_id: wallet.external_id }]) {
      const response = await call(test.app, "POST", "/wallets/transfer-history/", { key: intruder.apiKey, body: ids });
      assertError(response, 404, "not_found");
      assertNoLeak(response);
    }
  });

  it("refuses transfers into and out of another tenant's wallet with 404 and moves nothing", async () => {
    for (const route of ["/wallets/transfer-to-user/", "/wallets/withdraw-to-master/"]) {
      for (const ids of [{ wallet_id: wallet.wallet_id }, { external_id: wallet.external_id }]) {
        const response = await call(test.app, "POST", route, {
          key: intruder.apiKey,
          body: { ...ids, currency: "USDTTRC20", amount: "1" },
        });
        assertError(response, 404, "not_found");
        assertNoLeak(response);
      }
    }
    const victim = await balances(test, { wallet_id: wallet.wallet_id }, owner.apiKey);
    assert.deepEqual(victim.body.balances, [
      { currency: "USDTTRC20", amount: "20.00", pending_amount: "0.00", available_balance: "20.00" },
    ]);
    const intruderMaster = await call(test.app, "GET", "/master/balances/", { key: intruder.apiKey });
    assert.deepEqual(intruderMaster.body.balances, [
      { currency: "USDTTRC20", amount: "50.00", pending_amount: "0.00", available_balance: "50.00" },
    ]);
  });

  it("the owner still sees its wallet (the 404s above were about the tenant)", async () => {
    const response = await balances(test, { external_id: wallet.external_id }, owner.apiKey);
    assert.equal(response.status, 200);
    assert.equal(response.body.account.wallet_id, wallet.wallet_id);
  });

  it("answers an unknown route with the error body", async () => {
    for (const [method, url] of [
      ["GET", "/nowhere/"],
      ["POST", "/wallets/balances/extra/"],
      ["GET", "/"],
    ] as const) {
      assertError(await call(test.app, method, url, { key: owner.apiKey }), 404, "not_found");
    }
    assertError(await call(test.app, "GET", "/nowhere/"), 404, "not_found");
  });

  it("answers a wrong method on an existing path with the error body", async () => {
    for (const [method, url] of [
      ["PUT", "/wallets/balances/"],
      ["DELETE", "/wallets/"],
      ["GET", "/o/token/"],
      ["PATCH", "/wallets/transfer-to-user"],
    ] as const) {
      const response = await call(test.app, method, url, { key: owner.apiKey });
      assertError(response, 404, "not_found");
    }
  });
});

describe("413 payload_too_large", () => {
  let test: TestApp;
  let small: TestApp;

  before(async () => {
    test = await startApp();
    small = await startApp({ bodyLimitBytes: 1024 });
  });
  after(async () => {
    await test.close();
    await small.close();
  });

  it("refuses a body over the default 64 KiB limit", async () => {
    const body = { name: "x".repeat(70 * 1024), external_id: "big" };
    assertError(await call(test.app, "POST", "/wallets/", { key: test.tenant.apiKey, body }), 413, "payload_too_large");
  });

  it("refuses a body over a configured limit, even without credentials", async () => {
    const body = { external_id: "y".repeat(2000) };
    assertError(await call(small.app, "POST", "/wallets/balances/", { key: small.tenant.apiKey, body }), 413, "payload_too_large");
    assertError(await call(small.app, "POST", "/wallets/balances/", { body }), 413, "payload_too_large");
    assertError(
      await call(small.app, "POST", "/wallets/balances/", {
        key: small.tenant.apiKey,
        body: JSON.stringify(body),
        headers: { "content-type": "text/plain" },
      }),
      413,
      "payload_too_large",
    );
  });

  it("accepts a body under the configured limit", async () => {
    const response = await call(small.app, "POST", "/wallets/balances/", {
      key: small.tenant.apiKey,
      body: { external_id: "z".repeat(100) },
    });
    assertError(response, 404, "not_found");
  });
});

describe("429 rate_limited", () => {
  let test: TestApp;

  before(async () => {
    test = await startApp({ rateLimitPerMinute: 3 });
  });
  after(() => test.close());

  it("refuses requests over the limit with a Retry-After header", async () => {
    for (let i = 0; i < 3; i += 1) {
      const response = await call(test.app, "GET", "/wallets/", { key: test.tenant.apiKey });
      assert.equal(response.status, 200, `request ${i + 1} is within the limit`);
    }
    const response = await call(test.app, "GET", "/wallets/", { key: test.tenant.apiKey });
    assertError(response, 429, "rate_limited");
    const retryAfter = response.headers["retry-after"];
    assert.ok(retryAfter !== undefined, "Retry-After is present");
    assert.match(String(retryAfter), /^\d+$/);
    assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 60, `Retry-After ${retryAfter} is within the window`);
    // Other routes of the same key are limited too.
    assertError(await balances(test, { external_id: "anyone" }), 429, "rate_limited");
  });
});

describe("500 server_error", () => {
  let test: TestApp;
  let walletId: string;

  before(async () => {
    test = await startApp();
    walletId = (await createWallet(test, "player-500")).wallet_id;
    test.store.findWalletWithAccounts = async () => {
      throw new Error("SELECT secret FROM x: driver boom");
    };
    test.store.readBalances = async () => {
      throw new Error("SELECT secret FROM x: driver boom");
    };
  });
  after(() => test.close());

  it("answers an unexpected failure with a bare server_error and no internals", async () => {
    for (const [method, url, body] of [
      ["POST", "/wallets/balances/", { wallet_id: walletId }],
      ["POST", "/wallets/balances", { external_id: "player-500" }],
      ["GET", `/wallets/${walletId}/`, undefined],
    ] as const) {
      const response = await test.app.inject({
        method,
        url,
        headers: { "x-api-key": test.tenant.apiKey, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
      assert.equal(response.statusCode, 500);
      assert.deepEqual(JSON.parse(response.body), { error: { code: "server_error", message: "Internal server error", details: {} } });
      for (const forbidden of ["SELECT", "boom", "secret", "driver", "Error:", "    at ", ".ts:"]) {
        assert.ok(!response.body.includes(forbidden), `the answer must not contain ${JSON.stringify(forbidden)}: ${response.body}`);
      }
    }
  });

  it("keeps serving the routes that do not fail", async () => {
    const response = await call(test.app, "GET", "/wallets/", { key: test.tenant.apiKey });
    assert.equal(response.status, 200);
  });
});

describe("trailing slash", () => {
  let test: TestApp;
  let walletId: string;

  before(async () => {
    test = await startApp();
    walletId = (await createWallet(test, "player-slash")).wallet_id;
  });
  after(() => test.close());

  it("answers POST /wallets/balances and /wallets/balances/ the same", async () => {
    const withSlash = await call(test.app, "POST", "/wallets/balances/", { key: test.tenant.apiKey, body: { wallet_id: walletId } });
    const without = await call(test.app, "POST", "/wallets/balances", { key: test.tenant.apiKey, body: { wallet_id: walletId } });
    assert.equal(withSlash.status, 200);
    assert.equal(without.status, 200);
    assert.deepEqual(without.body, withSlash.body);
  });

  it("serves the other routes without the slash too", async () => {
    const created = await call(test.app, "POST", "/wallets", { key: test.tenant.apiKey, body: { name: "n", external_id: "no-slash" } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await call(test.app, "GET", "/wallets", { key: test.tenant.apiKey })).status, 200);
    assert.equal((await call(test.app, "GET", `/wallets/${walletId}`, { key: test.tenant.apiKey })).status, 200);
    assert.equal((await call(test.app, "GET", "/master/balances", { key: test.tenant.apiKey })).status, 200);
    const history = await call(test.app, "POST", "/wallets/transfer-history", { key: test.tenant.apiKey, body: { wallet_id: walletId } });
    assert.equal(history.status, 200);
  });

  it("answers errors without the slash in the same format", async () => {
    assertError(await call(test.app, "POST", "/wallets/balances", { body: { wallet_id: walletId } }), 401, "unauthorized");
    assertError(await call(test.app, "POST", "/wallets/balances", { key: test.tenant.apiKey, body: {} }), 400, "invalid_request");
    assertError(
      await call(test.app, "POST", "/wallets/balances", { key: test.tenant.apiKey, body: { wallet_id: WALLET_ID_THAT_DOES_NOT_EXIST } }),
      404,
      "not_found",
    );
  });
});
