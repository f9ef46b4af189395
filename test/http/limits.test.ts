import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { assertError, call, createWallet, fundMaster, startApp, type Tenant, type TestApp } from "../helpers.js";

/**
 * Safer-gambling limits and exclusions through HTTP (issue 14): PUT /wallets/{id}/limits/{currency}/,
 * GET /wallets/{id}/limits/, POST /wallets/{id}/exclusions/, and the exclusion on GET /wallets/{id}/.
 * The limits count by an injected clock (Config.limitsClock), so a test rolls a window or a
 * cooling-off without waiting.
 */

const CURRENCY = "USDTTRC20";
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const iso = (ms: number) => new Date(ms).toISOString();

/** An app whose limits count by a clock the test moves. */
async function startClocked(): Promise<{ test: TestApp; clock: { now: number } }> {
  const clock = { now: Date.now() };
  const test = await startApp({ limitsClock: () => clock.now });
  return { test, clock };
}

/** A wallet of `tenant` holding `amount` moved from a funded master account. */
async function fundedWallet(test: TestApp, externalId: string, amount: string, tenant: Tenant = test.tenant) {
  const wallet = await createWallet(test, externalId, undefined, tenant.apiKey);
  const moved = await call(test.app, "POST", "/wallets/transfer-to-user/", {
    key: tenant.apiKey,
    body: { wallet_id: wallet.wallet_id, currency: CURRENCY, amount },
  });
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
  return wallet;
}

const limitsPath = (walletId: string, currency = CURRENCY) => `/wallets/${walletId}/limits/${currency}/`;

describe("limits: set, show with their use, cooling-off", () => {
  let test: TestApp;
  let clock: { now: number };
  let bets = 0;

  before(async () => {
    ({ test, clock } = await startClocked());
    await fundMaster(test, CURRENCY, "10000", "limits-master");
  });
  after(() => test.close());

  const put = (walletId: string, body: unknown, headers?: Record<string, string>) =>
    call(test.app, "PUT", limitsPath(walletId), { key: test.tenant.apiKey, body, ...(headers ? { headers } : {}) });
  const show = async (walletId: string) => {
    const answer = await call(test.app, "GET", `/wallets/${walletId}/limits/`, { key: test.tenant.apiKey });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return answer.body;
  };
  const bet = (walletId: string, amount: string) => {
    bets += 1;
    return call(test.app, "POST", "/games/bets/", {
      key: test.tenant.apiKey,
      body: { wallet_id: walletId, currency: CURRENCY, amount, transaction_id: `limits-bet-${bets}`, round_id: `limits-round-${bets}` },
    });
  };

  it("sets limits at once, counts bets against them, and shows used, remaining and resets_at", async () => {
    const wallet = await fundedWallet(test, "limits-player", "500");
    const t0 = clock.now;
    const set = await put(wallet.wallet_id, { loss_day: "50", max_stake: "20" });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.deepEqual(set.body, {
      currency: CURRENCY,
      limits: [
        { limit: "loss", window: "day", amount: "50.00", used: "0.00", remaining: "50.00", resets_at: null },
        { limit: "max_stake", window: null, amount: "20.00", used: null, remaining: null, resets_at: null },
      ],
      pending_changes: [],
      held_amount: "0.00",
    });

    assert.equal((await bet(wallet.wallet_id, "15")).status, 200);
    const shown = await show(wallet.wallet_id);
    assert.deepEqual(Object.keys(shown), ["wallet_id", "exclusion", "limit_cooling_off_seconds", "currencies"]);
    assert.equal(shown.wallet_id, wallet.wallet_id);
    assert.equal(shown.exclusion, null);
    assert.equal(shown.limit_cooling_off_seconds, 86_400);
    // The day window counts by the hour: the bet leaves it when its hour has ended 24 hours ago.
    const resetsAt = iso(t0 - (t0 % HOUR_MS) + HOUR_MS + DAY_MS);
    assert.deepEqual(shown.currencies, [
      {
        currency: CURRENCY,
        limits: [
          { limit: "loss", window: "day", amount: "50.00", used: "15.00", remaining: "35.00", resets_at: resetsAt },
          { limit: "max_stake", window: null, amount: "20.00", used: null, remaining: null, resets_at: null },
        ],
        pending_changes: [],
        held_amount: "0.00",
      },
    ]);
    // The same wallet by its id.
    assert.deepEqual(await show(wallet.id), shown);

    // A stake above max_stake, or one that would cross the loss limit, is refused and changes nothing.
    assert.equal((await bet(wallet.wallet_id, "20")).status, 200, "15 + 20 is within 50, and 20 is the stake cap");
    const capped = assertError(await bet(wallet.wallet_id, "20.01"), 400, "limit_exceeded");
    assert.deepEqual(capped, {
      currency: CURRENCY,
      limit: "max_stake",
      window: null,
      amount: "20.00",
      used: null,
      remaining: null,
      resets_at: null,
    });
    const details = assertError(await bet(wallet.wallet_id, "16"), 400, "limit_exceeded");
    assert.deepEqual(details, {
      currency: CURRENCY,
      limit: "loss",
      window: "day",
      amount: "50.00",
      used: "35.00",
      remaining: "15.00",
      resets_at: resetsAt,
    });
    assert.equal((await show(wallet.wallet_id)).currencies[0].limits[0].used, "35.00");
  });

  it("schedules an increase and a removal for after the cooling-off, applies a decrease at once", async () => {
    const wallet = await fundedWallet(test, "limits-cooling", "100");
    const t0 = clock.now;
    assert.equal((await put(wallet.wallet_id, { loss_day: "50", max_stake: "20" })).status, 200);

    const raised = await put(wallet.wallet_id, { loss_day: "80.5" });
    assert.equal(raised.status, 200, JSON.stringify(raised.body));
    assert.equal(raised.body.limits[0].amount, "50.00", "a raise waits");
    assert.deepEqual(raised.body.pending_changes, [{ limit: "loss", window: "day", amount: "80.50", effective_at: iso(t0 + DAY_MS) }]);

    const removed = await put(wallet.wallet_id, { max_stake: null });
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    assert.deepEqual(
      removed.body.limits.map((limit: { limit: string }) => limit.limit),
      ["loss", "max_stake"],
      "a removal waits",
    );
    assert.deepEqual(removed.body.pending_changes, [
      { limit: "loss", window: "day", amount: "80.50", effective_at: iso(t0 + DAY_MS) },
      { limit: "max_stake", window: null, amount: null, effective_at: iso(t0 + DAY_MS) },
    ]);
    assert.deepEqual((await show(wallet.wallet_id)).currencies[0].pending_changes, removed.body.pending_changes);

    // A decrease applies at once, and replaces the raise that was waiting.
    const lowered = await put(wallet.wallet_id, { loss_day: "40" });
    assert.equal(lowered.status, 200, JSON.stringify(lowered.body));
    assert.equal(lowered.body.limits[0].amount, "40.00");
    assert.deepEqual(lowered.body.pending_changes, [{ limit: "max_stake", window: null, amount: null, effective_at: iso(t0 + DAY_MS) }]);
    assertError(await bet(wallet.wallet_id, "41"), 400, "limit_exceeded");

    // Once the cooling-off has passed, the removal has applied.
    clock.now = t0 + DAY_MS + 1000;
    const later = (await show(wallet.wallet_id)).currencies[0];
    assert.deepEqual(later.limits, [{ limit: "loss", window: "day", amount: "40.00", used: "0.00", remaining: "40.00", resets_at: null }]);
    assert.deepEqual(later.pending_changes, []);
    assert.equal((await bet(wallet.wallet_id, "25")).status, 200, "no stake cap any more");
  });

  it("replays a limit change sent again with its Idempotency-Key", async () => {
    const wallet = await fundedWallet(test, "limits-replay", "10");
    const headers = { "idempotency-key": "limits-replay-1" };
    const first = await put(wallet.wallet_id, { wager_week: "100" }, headers);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const again = await put(wallet.wallet_id, { wager_week: "100" }, headers);
    assert.equal(again.status, 200);
    assert.equal(again.headers["idempotency-replayed"], "true");
    assert.equal(again.text, first.text);
    assertError(await put(wallet.wallet_id, { wager_week: "90" }, headers), 409, "conflict");
  });
});

describe("exclusions: time-outs and self-exclusions", () => {
  let test: TestApp;
  let clock: { now: number };

  before(async () => {
    ({ test, clock } = await startClocked());
    await fundMaster(test, CURRENCY, "1000", "exclusions-master");
  });
  after(() => test.close());

  const exclude = (walletId: string, body: unknown, headers?: Record<string, string>) =>
    call(test.app, "POST", `/wallets/${walletId}/exclusions/`, { key: test.tenant.apiKey, body, ...(headers ? { headers } : {}) });
  const wallet = (walletId: string) => call(test.app, "GET", `/wallets/${walletId}/`, { key: test.tenant.apiKey });
  const limits = (walletId: string) => call(test.app, "GET", `/wallets/${walletId}/limits/`, { key: test.tenant.apiKey });

  it("starts an exclusion (201), shown on the wallet and in its limits; a bet is then refused", async () => {
    const player = await fundedWallet(test, "excluded-player", "50");
    assert.equal((await wallet(player.wallet_id)).body.exclusion, null);
    const t0 = clock.now;
    const started = await exclude(player.wallet_id, { kind: "timeout", duration_days: 7 });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    assert.deepEqual(started.body, { kind: "timeout", started_at: iso(t0), ends_at: iso(t0 + 7 * DAY_MS) });

    const shown = await wallet(player.wallet_id);
    assert.equal(shown.status, 200);
    assert.deepEqual(shown.body.exclusion, started.body);
    assert.deepEqual(
      Object.keys(shown.body),
      ["id", "name", "external_id", "wallet_id", "created", "updated", "balances", "exclusion"],
      "the existing fields keep their order",
    );
    assert.deepEqual((await limits(player.id)).body.exclusion, started.body);

    const details = assertError(
      await call(test.app, "POST", "/games/bets/", {
        key: test.tenant.apiKey,
        body: { wallet_id: player.wallet_id, currency: CURRENCY, amount: "1", transaction_id: "excluded-bet", round_id: "excluded-round" },
      }),
      400,
      "player_excluded",
    );
    assert.deepEqual(details, started.body);
  });

  it("cannot be shortened (409, nothing changes), but can be lengthened into a self-exclusion", async () => {
    const player = await fundedWallet(test, "excluded-longer", "5");
    const t0 = clock.now;
    const first = await exclude(player.wallet_id, { kind: "timeout", duration_days: 14 });
    assert.equal(first.status, 201, JSON.stringify(first.body));

    const shorter = await exclude(player.wallet_id, { kind: "timeout", duration_days: 1 });
    assertError(shorter, 409, "conflict");
    assert.deepEqual((await wallet(player.wallet_id)).body.exclusion, first.body);
    assert.deepEqual((await limits(player.wallet_id)).body.exclusion, first.body);

    clock.now = t0 + HOUR_MS;
    const longer = await exclude(player.wallet_id, { kind: "self_exclusion", duration_days: 183 });
    assert.equal(longer.status, 201, JSON.stringify(longer.body));
    assert.deepEqual(longer.body, { kind: "self_exclusion", started_at: iso(t0), ends_at: iso(t0 + HOUR_MS + 183 * DAY_MS) });
    assert.deepEqual((await wallet(player.wallet_id)).body.exclusion, longer.body);
    // A time-out never turns a self-exclusion back into a time-out, and never shortens it.
    assertError(await exclude(player.wallet_id, { kind: "timeout", duration_days: 42 }), 409, "conflict");
  });

  it("replays an exclusion sent again with its Idempotency-Key (201 again)", async () => {
    const player = await createWallet(test, "excluded-replay");
    const headers = { "idempotency-key": "exclusion-replay-1" };
    const first = await exclude(player.wallet_id, { kind: "timeout", duration_days: 2 }, headers);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const again = await exclude(player.wallet_id, { kind: "timeout", duration_days: 2 }, headers);
    assert.equal(again.status, 201);
    assert.equal(again.headers["idempotency-replayed"], "true");
    assert.equal(again.text, first.text);
  });
});

describe("limits: refused requests", () => {
  let test: TestApp;
  let walletId: string;

  before(async () => {
    test = await startApp();
    walletId = (await createWallet(test, "limits-refused")).wallet_id;
  });
  after(() => test.close());

  const put = (body: unknown, path = limitsPath(walletId)) => call(test.app, "PUT", path, { key: test.tenant.apiKey, body });
  const exclude = (body: unknown, id = walletId) => call(test.app, "POST", `/wallets/${id}/exclusions/`, { key: test.tenant.apiKey, body });
  /** Nothing was set: the wallet shows no limits and no exclusion. */
  const assertUntouched = async () => {
    const shown = await call(test.app, "GET", `/wallets/${walletId}/limits/`, { key: test.tenant.apiKey });
    assert.equal(shown.status, 200);
    assert.deepEqual([shown.body.exclusion, shown.body.currencies], [null, []]);
  };
  const fieldsOf = (details: Record<string, unknown>) => (details.fields as { field: string }[]).map((entry) => entry.field);

  it("refuses a bad amount, naming the limit", async () => {
    for (const amount of ["abc", "-5", "1e3", "", " 5", "5.", "0", "0.00", "1.1234567", 5, true, {}, "9".repeat(41)]) {
      const details = assertError(await put({ loss_day: amount }), 400, "invalid_request");
      assert.deepEqual(fieldsOf(details), ["loss_day"], JSON.stringify(amount));
    }
    await assertUntouched();
  });

  it("refuses an unknown limit name, an empty body and no body", async () => {
    const unknown = assertError(await put({ loss_year: "5" }), 400, "invalid_request");
    assert.match(JSON.stringify(unknown), /loss_year/);
    assertError(await put({ loss_day: "5", surprise: "5" }), 400, "invalid_request");
    assertError(await put({}), 400, "invalid_request");
    assertError(await put(undefined), 400, "invalid_request");
    assertError(await put([]), 400, "invalid_request");
    await assertUntouched();
  });

  it("refuses an unknown currency with 400, not as an unknown wallet", async () => {
    for (const currency of ["XYZ", "usd-t", "BTC1"]) {
      const details = assertError(await put({ loss_day: "5" }, limitsPath(walletId, currency)), 400, "invalid_request");
      assert.match(JSON.stringify(details), /currency/, currency);
    }
    assertError(await put({ loss_day: "5" }, limitsPath(walletId, "A".repeat(17))), 400, "invalid_request");
    // Codes are matched in any case.
    const lower = await put({ loss_day: "5" }, limitsPath(walletId, "usdttrc20"));
    assert.equal(lower.status, 200, JSON.stringify(lower.body));
    assert.equal(lower.body.currency, CURRENCY);
  });

  it("refuses an exclusion of an unknown kind or a duration out of its kind's range", async () => {
    for (const body of [
      { kind: "timeout", duration_days: 0 },
      { kind: "timeout", duration_days: 43 },
      { kind: "self_exclusion", duration_days: 182 },
      { kind: "self_exclusion", duration_days: 1827 },
      { kind: "timeout", duration_days: 1.5 },
      { kind: "timeout", duration_days: "7" },
      { kind: "forever", duration_days: 7 },
      { kind: "timeout" },
      { duration_days: 7 },
      { kind: "timeout", duration_days: 7, reason: "tilt" },
    ]) {
      const details = assertError(await exclude(body), 400, "invalid_request");
      assert.ok(Array.isArray(details.fields), JSON.stringify(body));
    }
    const wallet = await call(test.app, "GET", `/wallets/${walletId}/`, { key: test.tenant.apiKey });
    assert.equal(wallet.body.exclusion, null);
  });

  it("answers an unknown wallet with 404 on every route", async () => {
    for (const id of ["w_0000000000000000", "00000000-0000-4000-8000-000000000000"]) {
      assertError(await put({ loss_day: "5" }, limitsPath(id)), 404, "not_found");
      assertError(await call(test.app, "GET", `/wallets/${id}/limits/`, { key: test.tenant.apiKey }), 404, "not_found");
      assertError(await exclude({ kind: "timeout", duration_days: 1 }, id), 404, "not_found");
    }
  });
});

describe("limits: credentials and tenants", () => {
  let test: TestApp;
  let other: Tenant;
  let readKey: string;
  let walletId: string;

  before(async () => {
    test = await startApp();
    other = await test.newTenant("Other Casino");
    readKey = (await test.services.credentials.createApiKey(test.tenant.tenantId, ["read"])).apiKey;
    walletId = (await createWallet(test, "limits-guarded")).wallet_id;
  });
  after(() => test.close());

  const routes = () => [
    { method: "PUT", url: limitsPath(walletId), body: { loss_day: "5" } },
    { method: "GET", url: `/wallets/${walletId}/limits/` },
    { method: "POST", url: `/wallets/${walletId}/exclusions/`, body: { kind: "timeout", duration_days: 1 } },
  ];
  const send = (route: { method: string; url: string; body?: unknown }, key?: string) =>
    call(test.app, route.method, route.url, { ...(key === undefined ? {} : { key }), ...(route.body ? { body: route.body } : {}) });
  const assertUntouched = async () => {
    const shown = await call(test.app, "GET", `/wallets/${walletId}/limits/`, { key: test.tenant.apiKey });
    assert.deepEqual([shown.body.exclusion, shown.body.currencies], [null, []]);
    assert.equal((await call(test.app, "GET", `/wallets/${walletId}/`, { key: test.tenant.apiKey })).body.exclusion, null);
  };

  it("refuses a request without a credential, or with an unknown one (401)", async () => {
    for (const route of routes()) {
      assertError(await send(route), 401, "unauthorized");
      assertError(await send(route, "wk_not-a-real-key"), 401, "unauthorized");
    }
    await assertUntouched();
  });

  it("lets a read-only key read the limits but not change them (403)", async () => {
    const [change, read, exclusion] = routes() as [Parameters<typeof send>[0], Parameters<typeof send>[0], Parameters<typeof send>[0]];
    assertError(await send(change, readKey), 403, "forbidden");
    assertError(await send(exclusion, readKey), 403, "forbidden");
    assert.equal((await send(read, readKey)).status, 200);
    await assertUntouched();
  });

  it("answers another tenant's wallet as unknown (404, never 403) and changes nothing", async () => {
    for (const route of routes()) {
      const answer = await send(route, other.apiKey);
      assertError(answer, 404, "not_found");
      assert.equal(answer.body.error.message, "Wallet not found");
    }
    await assertUntouched();
  });
});
