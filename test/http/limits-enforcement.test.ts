import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { assertError, balances, type CallResult, call, createWallet, deposit, fundMaster, startApp, type TestApp } from "../helpers.js";
import { openStream, type StreamEvent } from "../sse.js";

/**
 * Issue 14: safer-gambling limits and exclusions, enforced inside the wallet. Everything goes
 * through the HTTP layer onto the real store; the limits count by an injected clock (real time
 * plus an offset the tests move forward), and the background sweeper is off: the tests sweep
 * when they say so, as of that clock.
 */

const CURRENCY = "USDTTRC20";
const ADDRESS = "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE";
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

const balance = (amount: string, pending = "0.00", available = amount) => ({
  currency: CURRENCY,
  amount,
  pending_amount: pending,
  available_balance: available,
});

const hourStart = (ms: number) => ms - (ms % HOUR_MS);
const dayStart = (ms: number) => ms - (ms % DAY_MS);
const iso = (ms: number) => new Date(ms).toISOString();
/** When a day window lets go of a movement made between `fromMs` and `toMs` (its hour ended 24 h ago): one hour or the next. */
const dayResetsBetween = (fromMs: number, toMs: number) => [...new Set([fromMs, toMs].map((ms) => iso(hourStart(ms) + HOUR_MS + DAY_MS)))];

interface Wallet {
  id: string;
  wallet_id: string;
  external_id: string;
}

describe("safer-gambling limits enforced inside the wallet (issue 14)", () => {
  let test: TestApp;
  let base = "";
  /** How far the limits' clock is ahead of real time. It only grows: every test's wallet lives on the same clock. */
  let offsetMs = 0;
  const clock = () => Date.now() + offsetMs;
  let txCounter = 0;

  before(async () => {
    test = await startApp({ limitsClock: clock, sweepIntervalMs: 0 });
    await test.app.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(test.app.server.address() as AddressInfo).port}`;
    await fundMaster(test, CURRENCY, "1000000", "limits-master");
  });
  after(() => test.close());

  const key = () => test.tenant.apiKey;

  // --- the contract's endpoints -------------------------------------------------------------

  const setLimits = (id: string, limits: Record<string, string | null>, headers?: Record<string, string>, currency = CURRENCY) =>
    call(test.app, "PUT", `/wallets/${id}/limits/${currency}/`, { key: key(), body: limits, ...(headers ? { headers } : {}) });
  const getLimits = (id: string) => call(test.app, "GET", `/wallets/${id}/limits/`, { key: key() });
  const exclude = (id: string, kind: "timeout" | "self_exclusion", durationDays: number) =>
    call(test.app, "POST", `/wallets/${id}/exclusions/`, { key: key(), body: { kind, duration_days: durationDays } });

  async function limitsOf(id: string, currency = CURRENCY) {
    const response = await getLimits(id);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return response.body.currencies.find((entry: { currency: string }) => entry.currency === currency);
  }
  /** One row of the limits view, by limit and window. */
  async function limitRow(id: string, limit: string, window: string | null) {
    const view = await limitsOf(id);
    assert.ok(view, `wallet ${id} has limits in ${CURRENCY}`);
    return view.limits.find((row: { limit: string; window: string | null }) => row.limit === limit && row.window === window);
  }

  // --- movements ----------------------------------------------------------------------------

  const bet = (externalId: string, amount: string, transactionId: string, roundId = `round-${transactionId}`) =>
    call(test.app, "POST", "/games/bets/", {
      key: key(),
      body: { external_id: externalId, currency: CURRENCY, amount, transaction_id: transactionId, round_id: roundId },
    });
  const win = (externalId: string, amount: string, transactionId: string, betId: string) =>
    call(test.app, "POST", "/games/wins/", {
      key: key(),
      body: {
        external_id: externalId,
        currency: CURRENCY,
        amount,
        transaction_id: transactionId,
        round_id: `round-${betId}`,
        bet_transaction_id: betId,
      },
    });
  const rollback = (externalId: string, transactionId: string, betId: string) =>
    call(test.app, "POST", "/games/rollbacks/", {
      key: key(),
      body: {
        external_id: externalId,
        currency: CURRENCY,
        transaction_id: transactionId,
        round_id: `round-${betId}`,
        bet_transaction_id: betId,
      },
    });
  const give = (externalId: string, amount: string) =>
    call(test.app, "POST", "/wallets/transfer-to-user/", { key: key(), body: { external_id: externalId, currency: CURRENCY, amount } });
  const chainDeposit = (externalId: string, amount: string, confirmations = 1_000, txHash = `limits-chain-${++txCounter}`) =>
    deposit(test, { externalId, currency: CURRENCY, amount, txHash, confirmations });
  const withdraw = (externalId: string, amount: string) =>
    call(test.app, "POST", "/withdrawals/", {
      key: key(),
      body: { external_id: externalId, currency: CURRENCY, amount, address: ADDRESS },
    });
  const placeHold = (externalId: string, amount: string) =>
    call(test.app, "POST", "/holds/", { key: key(), body: { external_id: externalId, currency: CURRENCY, amount } });
  const batch = (movements: object[]) => call(test.app, "POST", "/batches/", { key: key(), body: { movements } });

  /** A new wallet of the tenant, given `amount` from the master account before any limit is set. */
  async function player(externalId: string, amount?: string): Promise<Wallet> {
    const wallet = await createWallet(test, externalId);
    if (amount !== undefined) {
      const given = await give(externalId, amount);
      assert.equal(given.status, 200, JSON.stringify(given.body));
    }
    return wallet;
  }

  async function walletBalance(externalId: string) {
    const response = await balances(test, { external_id: externalId });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return response.body.balances.find((entry: { currency: string }) => entry.currency === CURRENCY) ?? null;
  }
  async function historyTotal(externalId: string): Promise<number> {
    const response = await call(test.app, "POST", "/wallets/transfer-history/", { key: key(), body: { external_id: externalId } });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return response.body.pagination.total;
  }

  // --- time, the sweeper, the outbox, the ledger -----------------------------------------------

  const advance = (ms: number) => {
    offsetMs += ms;
  };
  /** One sweep of the service as of the limits' clock: scheduled changes, ended exclusions, held deposits. */
  const sweep = () => test.services.sweep(iso(clock()));

  async function assertVerifies() {
    const report = await test.services.verify();
    assert.equal(report.ok, true, JSON.stringify(report.problems));
  }

  /**
   * The wallet's events from the start of the outbox (the live stream, resumed from 0), once
   * every type of `wanted` has arrived; each is checked against the OpenAPI document on the way.
   */
  async function eventsOf(walletId: string, wanted: string[]): Promise<StreamEvent[]> {
    const stream = await openStream(`${base}/wallets/events/?wallet_id=${walletId}&last_event_id=0`, { "x-api-key": key() });
    try {
      const deadline = Date.now() + 5_000;
      while (!wanted.every((type) => stream.events.some((event) => event.type === type))) {
        await stream.waitFor(stream.events.length + 1, Math.max(1, deadline - Date.now()));
      }
      // Whatever was committed before the call is in the outbox already: let the stream drain it.
      await new Promise((resolve) => setTimeout(resolve, 100));
      return [...stream.events];
    } finally {
      stream.close();
    }
  }
  const ofType = (events: StreamEvent[], type: string) => events.filter((event) => event.type === type);

  function exceeded(response: CallResult) {
    return assertError(response, 400, "limit_exceeded");
  }

  // --- 2. max_stake ---------------------------------------------------------------------------

  it("refuses a stake above max_stake with limit_exceeded and its details, and changes nothing", async () => {
    const wallet = await player("capped", "100");
    const set = await setLimits(wallet.wallet_id, { max_stake: "5" });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.deepEqual(set.body, {
      currency: CURRENCY,
      limits: [{ limit: "max_stake", window: null, amount: "5.00", used: null, remaining: null, resets_at: null }],
      pending_changes: [],
      held_amount: "0.00",
    });

    const historyBefore = await historyTotal("capped");
    const refused = await bet("capped", "5.01", "capped-1");
    assert.deepEqual(exceeded(refused), {
      currency: CURRENCY,
      limit: "max_stake",
      window: null,
      amount: "5.00",
      used: null,
      remaining: null,
      resets_at: null,
    });
    assert.deepEqual(await walletBalance("capped"), balance("100.00"));
    assert.equal(await historyTotal("capped"), historyBefore);

    // The stake at the cap is taken; the refused bet left no record, its transaction_id is free.
    const atCap = await bet("capped", "5", "capped-2");
    assert.equal(atCap.status, 200, JSON.stringify(atCap.body));
    assert.deepEqual(atCap.body.balance, balance("95.00"));
    const again = await bet("capped", "4", "capped-1");
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.deepEqual(await walletBalance("capped"), balance("91.00"));
    assert.equal(await historyTotal("capped"), historyBefore + 2);
    await assertVerifies();
  });

  // --- 8. wins and rollbacks --------------------------------------------------------------------
  // Before any test moves the clock: a rollback finds its bet's stake by the bet's created_at
  // (wall time), while the stake was counted by the limits' clock; both agree only while the
  // clock is real time.

  it("never refuses a win or a rollback, and takes them out of the loss (and the rollback out of the wager)", async () => {
    const wallet = await player("loser", "100");
    assert.equal((await setLimits(wallet.wallet_id, { loss_day: "10", wager_day: "20", max_stake: "7" })).status, 200);
    assert.equal((await bet("loser", "6", "lose-a")).status, 200);
    assert.equal((await bet("loser", "4", "lose-b")).status, 200);
    assert.equal(exceeded(await bet("loser", "1", "lose-c")).limit, "loss");

    const won = await win("loser", "3", "lose-win-a", "lose-a");
    assert.equal(won.status, 200, JSON.stringify(won.body));
    assert.deepEqual(won.body.balance, balance("93.00"));
    assert.equal((await limitRow(wallet.wallet_id, "loss", "day")).used, "7.00");
    const rolled = await rollback("loser", "lose-rb-b", "lose-b");
    assert.equal(rolled.status, 200, JSON.stringify(rolled.body));
    assert.deepEqual(rolled.body.balance, balance("97.00"));
    assert.equal((await limitRow(wallet.wallet_id, "loss", "day")).used, "3.00");
    assert.equal((await limitRow(wallet.wallet_id, "wager", "day")).used, "6.00");

    assert.equal((await bet("loser", "7", "lose-d")).status, 200);
    assert.equal(exceeded(await bet("loser", "0.01", "lose-e")).limit, "loss");
    // A win larger than max_stake, with the loss limit used up, still pays.
    const bigWin = await win("loser", "8", "lose-win-d", "lose-d");
    assert.equal(bigWin.status, 200, JSON.stringify(bigWin.body));
    assert.deepEqual(bigWin.body.balance, balance("98.00"));
    const loss = await limitRow(wallet.wallet_id, "loss", "day");
    assert.equal(loss.used, "2.00");
    assert.equal(loss.remaining, "8.00");
    const wager = await limitRow(wallet.wallet_id, "wager", "day");
    assert.equal(wager.used, "13.00");
    assert.equal(wager.remaining, "7.00");
    // The bets that used the loss limit up announced it, each time; the refused ones did not.
    const events = await eventsOf(wallet.wallet_id, ["limit.reached", "win.credited", "rollback.applied"]);
    assert.deepEqual(
      ofType(events, "limit.reached").map((event) =>
        event.data.limits.map((entry: { limit: string; window: string; amount: string; used: string; remaining: string }) => [
          entry.limit,
          entry.window,
          entry.amount,
          entry.used,
          entry.remaining,
        ]),
      ),
      [[["loss", "day", "10.00", "10.00", "0.00"]], [["loss", "day", "10.00", "10.00", "0.00"]]],
    );
    await assertVerifies();
  });

  // --- 3. rolling windows -----------------------------------------------------------------------

  it("allows bets again once the day window has rolled past a used-up loss limit, while the week still counts", async () => {
    const wallet = await player("roller", "100");
    const set = await setLimits(wallet.wallet_id, { loss_day: "10", loss_week: "15" });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.deepEqual(
      set.body.limits.map((row: { limit: string; window: string; amount: string; used: string }) => [
        row.limit,
        row.window,
        row.amount,
        row.used,
      ]),
      [
        ["loss", "day", "10.00", "0.00"],
        ["loss", "week", "15.00", "0.00"],
      ],
    );

    const firstAt = clock();
    assert.equal((await bet("roller", "4", "roll-1")).status, 200);
    assert.equal((await bet("roller", "6", "roll-2")).status, 200);
    const lastAt = clock();
    // The first bet's hour ends and leaves the day window 24 h later.
    const dayResets = dayResetsBetween(firstAt, lastAt);
    const refused = exceeded(await bet("roller", "0.01", "roll-3"));
    assert.deepEqual(
      { ...refused, resets_at: null },
      {
        currency: CURRENCY,
        limit: "loss",
        window: "day",
        amount: "10.00",
        used: "10.00",
        remaining: "0.00",
        resets_at: null,
      },
    );
    assert.ok(dayResets.includes(refused.resets_at as string), `resets_at ${refused.resets_at} is not one of ${dayResets}`);
    assert.deepEqual(await walletBalance("roller"), balance("90.00"));

    advance(25 * HOUR_MS);
    const rolledAt = clock();
    const allowed = await bet("roller", "5", "roll-4");
    assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
    assert.deepEqual(allowed.body.balance, balance("85.00"));
    // The day has 5 of room left, but the week has counted 15 of 15.
    const weekly = exceeded(await bet("roller", "0.01", "roll-5"));
    assert.deepEqual(weekly, {
      currency: CURRENCY,
      limit: "loss",
      window: "week",
      amount: "15.00",
      used: "15.00",
      remaining: "0.00",
      resets_at: weekly.resets_at,
    });
    // The first bets' UTC day ends, and leaves the week window 7 days later.
    const weekResets = [firstAt, lastAt].map((ms) => iso(dayStart(ms) + DAY_MS + 7 * DAY_MS));
    assert.ok(weekResets.includes(weekly.resets_at as string), `week resets_at ${weekly.resets_at}`);
    const day = await limitRow(wallet.wallet_id, "loss", "day");
    assert.deepEqual(
      { ...day, resets_at: null },
      { limit: "loss", window: "day", amount: "10.00", used: "5.00", remaining: "5.00", resets_at: null },
    );
    assert.ok(dayResetsBetween(rolledAt, clock()).includes(day.resets_at), `day resets_at ${day.resets_at}`);
    assert.deepEqual(await walletBalance("roller"), balance("85.00"));
    await assertVerifies();
  });

  // --- 4. cooling-off ---------------------------------------------------------------------------

  it("makes an increase wait out the cooling-off while a decrease applies at once, with their events", async () => {
    const wallet = await player("cooler", "100");
    assert.equal((await setLimits(wallet.wallet_id, { loss_day: "10", wager_week: "100" })).status, 200);
    assert.equal((await bet("cooler", "10", "cool-1")).status, 200);

    const setAt = clock();
    const changed = await setLimits(wallet.wallet_id, { loss_day: "20", wager_week: "40" });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    const effectiveAt = changed.body.pending_changes[0]?.effective_at;
    assert.deepEqual(changed.body.pending_changes, [{ limit: "loss", window: "day", amount: "20.00", effective_at: effectiveAt }]);
    const delay = Date.parse(effectiveAt) - setAt;
    assert.ok(delay >= 86_400_000 && delay < 86_400_000 + 60_000, `the increase waits 24 h, not ${delay} ms`);
    assert.deepEqual(
      changed.body.limits.map((row: { limit: string; window: string; amount: string; used: string; remaining: string }) => [
        row.limit,
        row.window,
        row.amount,
        row.used,
        row.remaining,
      ]),
      [
        ["loss", "day", "10.00", "10.00", "0.00"],
        ["wager", "week", "40.00", "10.00", "30.00"],
      ],
    );
    const view = await getLimits(wallet.id);
    assert.equal(view.status, 200, JSON.stringify(view.body));
    assert.equal(view.body.wallet_id, wallet.wallet_id);
    assert.equal(view.body.exclusion, null);
    assert.equal(view.body.limit_cooling_off_seconds, 86_400);
    assert.deepEqual(view.body.currencies, [changed.body]);

    // Still the old amount: the increase has not applied.
    const refused = exceeded(await bet("cooler", "1", "cool-2"));
    assert.equal(refused.limit, "loss");
    assert.equal(refused.amount, "10.00");

    advance(Date.parse(effectiveAt) - clock() + 1_000);
    await sweep();
    const after = await limitsOf(wallet.wallet_id);
    assert.deepEqual(after.pending_changes, []);
    assert.deepEqual(
      after.limits.map((row: { limit: string; window: string; amount: string }) => [row.limit, row.window, row.amount]),
      [
        ["loss", "day", "20.00"],
        ["wager", "week", "40.00"],
      ],
    );
    // A stake the old limit refused (10 counted + 10 > 10) fits the new one.
    const allowed = await bet("cooler", "10", "cool-3");
    assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
    // The lowered wager limit counts: 20 staked this week, 21 more would cross 40.
    const wager = exceeded(await bet("cooler", "21", "cool-4"));
    assert.deepEqual(
      { ...wager, resets_at: null },
      {
        currency: CURRENCY,
        limit: "wager",
        window: "week",
        amount: "40.00",
        used: "20.00",
        remaining: "20.00",
        resets_at: null,
      },
    );
    const wagerRow = await limitRow(wallet.wallet_id, "wager", "week");
    assert.equal(wagerRow.used, "20.00");
    assert.equal(wagerRow.remaining, "20.00");

    const events = await eventsOf(wallet.wallet_id, ["limits.changed", "limits.change_scheduled"]);
    const changes = ofType(events, "limits.changed").map((event) => event.data.changes);
    assert.deepEqual(changes[0], [
      { limit: "loss", window: "day", amount: "10.00", effective_at: changes[0]?.[0]?.effective_at },
      { limit: "wager", window: "week", amount: "100.00", effective_at: changes[0]?.[0]?.effective_at },
    ]);
    assert.deepEqual(
      changes
        .slice(1)
        .map((list) =>
          list.map((change: { limit: string; window: string; amount: string }) => [change.limit, change.window, change.amount]),
        ),
      [[["wager", "week", "40.00"]], [["loss", "day", "20.00"]]],
      "the decrease at once, the increase once due, each announced once",
    );
    assert.deepEqual(changes[2], [{ limit: "loss", window: "day", amount: "20.00", effective_at: effectiveAt }]);
    const scheduled = ofType(events, "limits.change_scheduled");
    assert.equal(scheduled.length, 1);
    assert.deepEqual(scheduled[0]?.data.changes, [{ limit: "loss", window: "day", amount: "20.00", effective_at: effectiveAt }]);
    assert.equal(scheduled[0]?.data.wallet.wallet_id, wallet.wallet_id);
    assert.equal(scheduled[0]?.data.currency, CURRENCY);
    await assertVerifies();
  });

  it("makes a removal wait out the cooling-off too, then forgets the currency's controls", async () => {
    const wallet = await player("remover", "100");
    assert.equal((await setLimits(wallet.wallet_id, { max_stake: "5" })).status, 200);
    const removed = await setLimits(wallet.wallet_id, { max_stake: null });
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    const effectiveAt = removed.body.pending_changes[0]?.effective_at;
    assert.deepEqual(removed.body.pending_changes, [{ limit: "max_stake", window: null, amount: null, effective_at: effectiveAt }]);
    assert.equal(removed.body.limits[0]?.amount, "5.00");
    assert.equal(exceeded(await bet("remover", "6", "remove-1")).limit, "max_stake");

    advance(Date.parse(effectiveAt) - clock() + 1_000);
    // No sweep: the bet itself applies the due removal.
    const allowed = await bet("remover", "6", "remove-1");
    assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
    assert.deepEqual((await getLimits(wallet.wallet_id)).body.currencies, []);
    const events = await eventsOf(wallet.wallet_id, ["limits.change_scheduled", "bet.placed"]);
    assert.deepEqual(
      ofType(events, "limits.changed").map((event) => event.data.changes.map((change: { amount: string | null }) => change.amount)),
      [["5.00"], [null]],
    );
    await assertVerifies();
  });

  it("refuses malformed limit changes and changes nothing", async () => {
    const wallet = await player("malformed", "10");
    for (const body of [
      {},
      { loss_day: "0" },
      { loss_day: "0.00" },
      { loss_day: "1.0000001" },
      { loss_day: "-1" },
      { loss_year: "1" },
      { loss_day: 5 },
    ]) {
      assertError(await setLimits(wallet.wallet_id, body as Record<string, string>), 400, "invalid_request");
    }
    assertError(await setLimits(wallet.wallet_id, { loss_day: "1" }, undefined, "NOSUCHCOIN"), 400, "invalid_request");
    assertError(await setLimits("w_0000000000000000", { loss_day: "1" }), 404, "not_found");
    assertError(await exclude(wallet.wallet_id, "timeout", 43), 400, "invalid_request");
    assertError(await exclude(wallet.wallet_id, "self_exclusion", 30), 400, "invalid_request");
    // A lower-case currency names the same one.
    const lower = await setLimits(wallet.wallet_id, { loss_day: "1" }, undefined, CURRENCY.toLowerCase());
    assert.equal(lower.status, 200, JSON.stringify(lower.body));
    assert.equal(lower.body.currency, CURRENCY);
    const view = await getLimits(wallet.wallet_id);
    assert.deepEqual(
      view.body.currencies.map((entry: { currency: string; limits: { amount: string }[] }) => [
        entry.currency,
        entry.limits.map((row) => row.amount),
      ]),
      [[CURRENCY, ["1.00"]]],
    );
    assert.equal(view.body.exclusion, null);
    await assertVerifies();
  });

  it("replays a limits change under the same Idempotency-Key without a second change", async () => {
    const wallet = await player("idem-limits");
    const headers = { "idempotency-key": "limits-idem-1" };
    const first = await setLimits(wallet.wallet_id, { deposit_day: "50" }, headers);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const replay = await setLimits(wallet.wallet_id, { deposit_day: "50" }, headers);
    assert.equal(replay.status, 200);
    assert.equal(replay.text, first.text);
    const events = await eventsOf(wallet.wallet_id, ["limits.changed"]);
    assert.equal(ofType(events, "limits.changed").length, 1);
    await assertVerifies();
  });

  // --- 5. transfers over a deposit limit ------------------------------------------------------

  it("refuses a master-to-wallet transfer over a deposit limit, counting from when the limit was set", async () => {
    const wallet = await player("topped", "500");
    assert.equal((await setLimits(wallet.wallet_id, { deposit_day: "100" })).status, 200);
    // The 500 given before the limit does not count.
    assert.deepEqual(await limitRow(wallet.wallet_id, "deposit", "day"), {
      limit: "deposit",
      window: "day",
      amount: "100.00",
      used: "0.00",
      remaining: "100.00",
      resets_at: null,
    });
    const firstAt = clock();
    assert.equal((await give("topped", "60")).status, 200);
    const givenAt = clock();
    const historyBefore = await historyTotal("topped");
    const refused = exceeded(await give("topped", "40.01"));
    assert.deepEqual(
      { ...refused, resets_at: null },
      { currency: CURRENCY, limit: "deposit", window: "day", amount: "100.00", used: "60.00", remaining: "40.00", resets_at: null },
    );
    assert.ok(dayResetsBetween(firstAt, givenAt).includes(refused.resets_at as string), `resets_at ${refused.resets_at}`);
    assert.deepEqual(await walletBalance("topped"), balance("560.00"));
    assert.equal(await historyTotal("topped"), historyBefore);

    assert.equal((await give("topped", "40")).status, 200);
    assert.deepEqual(await walletBalance("topped"), balance("600.00"));
    const row = await limitRow(wallet.wallet_id, "deposit", "day");
    assert.equal(row.used, "100.00");
    assert.equal(row.remaining, "0.00");
    // Money going back to the master is not a deposit and is not limited.
    const back = await call(test.app, "POST", "/wallets/withdraw-to-master/", {
      key: key(),
      body: { external_id: "topped", currency: CURRENCY, amount: "550" },
    });
    assert.equal(back.status, 200, JSON.stringify(back.body));
    exceeded(await give("topped", "0.01"));
    // Bets are not deposits either.
    assert.equal((await bet("topped", "50", "topped-bet")).status, 200);

    const events = await eventsOf(wallet.wallet_id, ["limit.reached"]);
    const reached = ofType(events, "limit.reached");
    assert.equal(reached.length, 1);
    assert.deepEqual(
      reached[0]?.data.limits.map((entry: { limit: string; window: string; used: string; remaining: string }) => [
        entry.limit,
        entry.window,
        entry.used,
        entry.remaining,
      ]),
      [["deposit", "day", "100.00", "0.00"]],
    );
    assert.deepEqual(reached[0]?.data.balance, balance("600.00"));
    await assertVerifies();
  });

  // --- 6. held chain deposits -----------------------------------------------------------------

  it("holds the part of a chain deposit above the deposit limit, and the sweeper releases it once the window has room", async () => {
    const wallet = await player("chain-held");
    assert.equal((await setLimits(wallet.wallet_id, { deposit_day: "100" })).status, 200);
    const depositedFrom = clock();
    const reported = await chainDeposit("chain-held", "150");
    const depositedTo = clock();
    assert.equal(reported.status, 200, JSON.stringify(reported.body));
    assert.equal(reported.body.deposit.status, "confirmed");
    assert.equal(reported.body.deposit.amount, "150.00");
    assert.deepEqual(await walletBalance("chain-held"), balance("150.00", "50.00", "100.00"));
    const view = await limitsOf(wallet.wallet_id);
    assert.equal(view.held_amount, "50.00");
    assert.deepEqual(view.limits, [
      { limit: "deposit", window: "day", amount: "100.00", used: "100.00", remaining: "0.00", resets_at: view.limits[0]?.resets_at },
    ]);
    assert.ok(dayResetsBetween(depositedFrom, depositedTo).includes(view.limits[0]?.resets_at), `resets_at ${view.limits[0]?.resets_at}`);
    // Held money cannot be spent.
    assertError(await bet("chain-held", "100.01", "held-bet"), 400, "insufficient_funds");

    // Not yet: the window has no room before the deposit's hour leaves it.
    await sweep();
    assert.deepEqual(await walletBalance("chain-held"), balance("150.00", "50.00", "100.00"));

    advance(25 * HOUR_MS);
    await sweep();
    assert.deepEqual(await walletBalance("chain-held"), balance("150.00", "0.00", "150.00"));
    const released = await limitsOf(wallet.wallet_id);
    assert.equal(released.held_amount, "0.00");
    assert.equal(released.limits[0].used, "50.00");
    assert.equal(released.limits[0].remaining, "50.00");
    assert.equal((await bet("chain-held", "150", "held-bet-2")).status, 200);

    const events = await eventsOf(wallet.wallet_id, ["deposit.confirmed", "limit.reached", "deposit.released"]);
    const [release, ...more] = ofType(events, "deposit.released");
    assert.equal(more.length, 0);
    assert.equal(release?.data.transfer.amount, "50.00");
    assert.equal(release?.data.transfer.transfer_type, "deposit");
    assert.equal(release?.data.transfer.status, "posted");
    assert.deepEqual(release?.data.balance, balance("150.00", "0.00", "150.00"));
    const reached = ofType(events, "limit.reached");
    assert.equal(reached.length, 1);
    assert.deepEqual(reached[0]?.data.limits[0].limit, "deposit");
    await assertVerifies();
  });

  it("releases a deposit held beyond a whole window's room in parts, one window after another", async () => {
    const wallet = await player("chain-parts");
    assert.equal((await setLimits(wallet.wallet_id, { deposit_day: "100" })).status, 200);
    assert.equal((await chainDeposit("chain-parts", "250")).status, 200);
    assert.deepEqual(await walletBalance("chain-parts"), balance("250.00", "150.00", "100.00"));

    advance(25 * HOUR_MS);
    await sweep();
    assert.deepEqual(await walletBalance("chain-parts"), balance("250.00", "50.00", "200.00"));
    const view = await limitsOf(wallet.wallet_id);
    assert.equal(view.held_amount, "50.00");
    assert.equal(view.limits[0].used, "100.00");
    // A second sweep in the same window finds no room.
    await sweep();
    assert.deepEqual(await walletBalance("chain-parts"), balance("250.00", "50.00", "200.00"));

    advance(25 * HOUR_MS);
    await sweep();
    assert.deepEqual(await walletBalance("chain-parts"), balance("250.00", "0.00", "250.00"));
    assert.equal((await limitsOf(wallet.wallet_id)).held_amount, "0.00");
    const events = await eventsOf(wallet.wallet_id, ["deposit.released"]);
    assert.deepEqual(
      ofType(events, "deposit.released").map((event) => [event.data.transfer.amount, event.data.balance.available_balance]),
      [
        ["100.00", "200.00"],
        ["50.00", "250.00"],
      ],
    );
    await assertVerifies();
  });

  it("holds the over-limit part of a deposit that confirms after being seen pending", async () => {
    const wallet = await player("chain-slow");
    assert.equal((await setLimits(wallet.wallet_id, { deposit_week: "100" })).status, 200);
    const txHash = "limits-slow-deposit";
    const seen = await chainDeposit("chain-slow", "150", 1, txHash);
    assert.equal(seen.status, 200, JSON.stringify(seen.body));
    assert.equal(seen.body.deposit.status, "pending");
    assert.deepEqual(await walletBalance("chain-slow"), balance("150.00", "150.00", "0.00"));
    const confirmed = await chainDeposit("chain-slow", "150", 1_000, txHash);
    assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
    assert.equal(confirmed.body.deposit.status, "confirmed");
    assert.deepEqual(await walletBalance("chain-slow"), balance("150.00", "50.00", "100.00"));
    assert.equal((await limitsOf(wallet.wallet_id)).held_amount, "50.00");
    // The same report again changes nothing.
    assert.equal((await chainDeposit("chain-slow", "150", 2_000, txHash)).status, 200);
    assert.deepEqual(await walletBalance("chain-slow"), balance("150.00", "50.00", "100.00"));
    await assertVerifies();
  });

  it("lets a withdrawal use held deposits", async () => {
    const wallet = await player("held-withdrawer");
    assert.equal((await setLimits(wallet.wallet_id, { deposit_day: "100" })).status, 200);
    assert.equal((await chainDeposit("held-withdrawer", "300")).status, 200);
    assert.deepEqual(await walletBalance("held-withdrawer"), balance("300.00", "200.00", "100.00"));

    const asked = await withdraw("held-withdrawer", "250");
    assert.equal(asked.status, 201, JSON.stringify(asked.body));
    assert.equal(asked.body.withdrawal.amount, "250.00");
    // 150 of the held 200 released for it; 50 stay held; the 250 wait for the payout.
    assert.deepEqual(asked.body.balance, balance("300.00", "300.00", "0.00"));
    assert.deepEqual(await walletBalance("held-withdrawer"), balance("300.00", "300.00", "0.00"));
    const view = await limitsOf(wallet.wallet_id);
    assert.equal(view.held_amount, "50.00");
    assert.equal(view.limits[0].used, "100.00", "money released to leave is not counted as deposited");
    // More than what is available and held together is refused.
    assertError(await withdraw("held-withdrawer", "50.01"), 400, "insufficient_funds");
    assert.equal((await limitsOf(wallet.wallet_id)).held_amount, "50.00");

    const events = await eventsOf(wallet.wallet_id, ["withdrawal.requested", "deposit.released"]);
    const released = ofType(events, "deposit.released");
    assert.equal(released.length, 1);
    assert.equal(released[0]?.data.transfer.amount, "150.00");
    await assertVerifies();
  });

  // --- 7. exclusions ----------------------------------------------------------------------------

  it("blocks bets, holds and transfers during a time-out, still settles earlier bets, withdraws, holds deposits, and ends", async () => {
    const wallet = await player("excluded", "100");
    assert.equal((await bet("excluded", "10", "ex-bet-1")).status, 200);
    assert.equal((await bet("excluded", "5", "ex-bet-2")).status, 200);

    const startedAt = clock();
    const excluded = await exclude(wallet.wallet_id, "timeout", 2);
    assert.equal(excluded.status, 201, JSON.stringify(excluded.body));
    const exclusion = excluded.body;
    assert.equal(exclusion.kind, "timeout");
    assert.ok(Math.abs(Date.parse(exclusion.started_at) - startedAt) < 60_000);
    assert.equal(Date.parse(exclusion.ends_at) - Date.parse(exclusion.started_at), 2 * DAY_MS);
    assert.deepEqual((await getLimits(wallet.wallet_id)).body.exclusion, exclusion);
    const shown = await call(test.app, "GET", `/wallets/${wallet.wallet_id}/`, { key: key() });
    assert.equal(shown.status, 200, JSON.stringify(shown.body));
    assert.deepEqual(shown.body.exclusion, exclusion);
    // An exclusion cannot be shortened.
    assertError(await exclude(wallet.wallet_id, "timeout", 1), 409, "conflict");

    const historyBefore = await historyTotal("excluded");
    assert.deepEqual(assertError(await bet("excluded", "1", "ex-bet-3"), 400, "player_excluded"), exclusion);
    assert.deepEqual(assertError(await placeHold("excluded", "1"), 400, "player_excluded"), exclusion);
    assert.deepEqual(assertError(await give("excluded", "1"), 400, "player_excluded"), exclusion);
    // The exclusion covers the wallet, in every currency.
    const inEth = await call(test.app, "POST", "/games/bets/", {
      key: key(),
      body: { external_id: "excluded", currency: "ETH", amount: "0.01", transaction_id: "ex-eth", round_id: "ex-eth-round" },
    });
    assert.deepEqual(assertError(inEth, 400, "player_excluded"), exclusion);
    assert.deepEqual(await walletBalance("excluded"), balance("85.00"));
    assert.equal(await historyTotal("excluded"), historyBefore);

    // What was staked before is settled.
    const won = await win("excluded", "30", "ex-win-1", "ex-bet-1");
    assert.equal(won.status, 200, JSON.stringify(won.body));
    assert.deepEqual(won.body.balance, balance("115.00"));
    const rolled = await rollback("excluded", "ex-rb-2", "ex-bet-2");
    assert.equal(rolled.status, 200, JSON.stringify(rolled.body));
    assert.deepEqual(rolled.body.balance, balance("120.00"));
    // The player may take money out.
    const out = await withdraw("excluded", "20");
    assert.equal(out.status, 201, JSON.stringify(out.body));
    assert.deepEqual(out.body.balance, balance("120.00", "20.00", "100.00"));
    // A chain deposit is taken, and held whole until the exclusion ends.
    assert.equal((await chainDeposit("excluded", "40")).status, 200);
    assert.deepEqual(await walletBalance("excluded"), balance("160.00", "60.00", "100.00"));
    assert.equal((await limitsOf(wallet.wallet_id)).held_amount, "40.00");

    // Not over yet.
    advance(DAY_MS);
    await sweep();
    assertError(await bet("excluded", "1", "ex-bet-4"), 400, "player_excluded");
    assert.deepEqual(await walletBalance("excluded"), balance("160.00", "60.00", "100.00"));

    advance(Date.parse(exclusion.ends_at) - clock() + 1_000);
    await sweep();
    assert.equal((await getLimits(wallet.wallet_id)).body.exclusion, null);
    assert.equal((await call(test.app, "GET", `/wallets/${wallet.wallet_id}/`, { key: key() })).body.exclusion, null);
    assert.deepEqual(await walletBalance("excluded"), balance("160.00", "20.00", "140.00"));
    const betAgain = await bet("excluded", "1", "ex-bet-5");
    assert.equal(betAgain.status, 200, JSON.stringify(betAgain.body));
    assert.equal((await placeHold("excluded", "1")).status, 201);
    assert.equal((await give("excluded", "1")).status, 200);

    const events = await eventsOf(wallet.wallet_id, ["exclusion.started", "exclusion.ended", "deposit.released"]);
    const started = ofType(events, "exclusion.started");
    const ended = ofType(events, "exclusion.ended");
    assert.equal(started.length, 1);
    assert.equal(ended.length, 1);
    assert.deepEqual(started[0]?.data.exclusion, exclusion);
    assert.deepEqual(ended[0]?.data.exclusion, exclusion);
    assert.ok(ended[0] && started[0] && Number(ended[0].id) > Number(started[0].id));
    assert.equal(ofType(events, "deposit.released")[0]?.data.transfer.amount, "40.00");
    await assertVerifies();
  });

  it("holds whole a deposit that confirms during an exclusion, lengthens a time-out into a self-exclusion, and releases it at the end", async () => {
    const wallet = await player("excluded-pending");
    const txHash = "limits-excluded-pending";
    assert.equal((await chainDeposit("excluded-pending", "70", 1, txHash)).status, 200);
    assert.deepEqual(await walletBalance("excluded-pending"), balance("70.00", "70.00", "0.00"));
    const timeout = await exclude(wallet.wallet_id, "timeout", 7);
    assert.equal(timeout.status, 201, JSON.stringify(timeout.body));
    const confirmed = await chainDeposit("excluded-pending", "70", 1_000, txHash);
    assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
    assert.equal(confirmed.body.deposit.status, "confirmed");
    assert.deepEqual(await walletBalance("excluded-pending"), balance("70.00", "70.00", "0.00"));
    assert.equal((await limitsOf(wallet.wallet_id)).held_amount, "70.00");

    const longer = await exclude(wallet.wallet_id, "self_exclusion", 183);
    assert.equal(longer.status, 201, JSON.stringify(longer.body));
    assert.equal(longer.body.kind, "self_exclusion");
    assert.equal(longer.body.started_at, timeout.body.started_at);
    assert.equal(Date.parse(longer.body.ends_at) - Date.parse(timeout.body.started_at) >= 183 * DAY_MS, true);
    // Neither kind may be shortened now.
    assertError(await exclude(wallet.wallet_id, "timeout", 42), 409, "conflict");

    advance(8 * DAY_MS);
    await sweep();
    assertError(await bet("excluded-pending", "1", "exp-bet-1"), 400, "player_excluded");
    assert.deepEqual(await walletBalance("excluded-pending"), balance("70.00", "70.00", "0.00"));

    advance(Date.parse(longer.body.ends_at) - clock() + 1_000);
    await sweep();
    assert.deepEqual(await walletBalance("excluded-pending"), balance("70.00", "0.00", "70.00"));
    assert.equal((await bet("excluded-pending", "1", "exp-bet-2")).status, 200);
    const events = await eventsOf(wallet.wallet_id, ["exclusion.ended", "deposit.released"]);
    assert.deepEqual(
      ofType(events, "exclusion.started").map((event) => event.data.exclusion.kind),
      ["timeout", "self_exclusion"],
    );
    assert.deepEqual(ofType(events, "exclusion.ended")[0]?.data.exclusion, longer.body);
    assert.equal(ofType(events, "deposit.released")[0]?.data.transfer.amount, "70.00");
    await assertVerifies();
  });

  // --- 9. batches -------------------------------------------------------------------------------

  it("applies the same rules to the bets and transfers of POST /batches/", async () => {
    const wallet = await player("batcher", "100");
    assert.equal((await setLimits(wallet.wallet_id, { loss_day: "10", max_stake: "5", deposit_day: "20" })).status, 200);
    const betMove = (amount: string, id: string, extra: object = {}) => ({
      type: "bet",
      external_id: "batcher",
      currency: CURRENCY,
      amount,
      transaction_id: id,
      round_id: `round-${id}`,
      ...extra,
    });
    const response = await batch([
      betMove("5", "batch-1"),
      betMove("6", "batch-2"),
      betMove("4", "batch-3"),
      betMove("2", "batch-4"),
      {
        type: "win",
        external_id: "batcher",
        currency: CURRENCY,
        amount: "3",
        transaction_id: "batch-w1",
        round_id: "round-batch-1",
        bet_transaction_id: "batch-1",
      },
      betMove("2", "batch-5"),
      { type: "transfer_to_user", external_id: "batcher", currency: CURRENCY, amount: "15" },
      { type: "transfer_to_user", external_id: "batcher", currency: CURRENCY, amount: "6" },
      betMove("1", "batch-6", { group: "linked" }),
      betMove("5.5", "batch-7", { group: "linked" }),
    ]);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const results = response.body.results as {
      index: number;
      status: string;
      error?: { code: string; details: Record<string, unknown> };
    }[];
    assert.deepEqual(
      results.map((result) => [result.index, result.status, result.error?.code]),
      [
        [0, "ok", undefined],
        [1, "failed", "limit_exceeded"],
        [2, "ok", undefined],
        [3, "failed", "limit_exceeded"],
        [4, "ok", undefined],
        [5, "ok", undefined],
        [6, "ok", undefined],
        [7, "failed", "limit_exceeded"],
        [8, "skipped", "invalid_request"],
        [9, "failed", "limit_exceeded"],
      ],
    );
    assert.deepEqual(results[1]?.error?.details, {
      currency: CURRENCY,
      limit: "max_stake",
      window: null,
      amount: "5.00",
      used: null,
      remaining: null,
      resets_at: null,
    });
    assert.deepEqual(
      { ...results[3]?.error?.details, resets_at: null },
      {
        currency: CURRENCY,
        limit: "loss",
        window: "day",
        amount: "10.00",
        used: "9.00",
        remaining: "1.00",
        resets_at: null,
      },
    );
    assert.deepEqual(
      { ...results[7]?.error?.details, resets_at: null },
      {
        currency: CURRENCY,
        limit: "deposit",
        window: "day",
        amount: "20.00",
        used: "15.00",
        remaining: "5.00",
        resets_at: null,
      },
    );
    assert.equal(results[9]?.error?.details.limit, "max_stake");
    assert.equal(response.body.succeeded, 5);
    assert.equal(response.body.failed, 5);
    // 100 - 5 - 4 + 3 - 2 + 15
    assert.deepEqual(await walletBalance("batcher"), balance("107.00"));
    assert.equal((await limitRow(wallet.wallet_id, "loss", "day")).used, "8.00");
    assert.equal((await limitRow(wallet.wallet_id, "deposit", "day")).used, "15.00");

    // During an exclusion a batch's bet fails with player_excluded, its win pays.
    assert.equal((await exclude(wallet.wallet_id, "timeout", 1)).status, 201);
    const excluded = await batch([
      betMove("1", "batch-8"),
      {
        type: "win",
        external_id: "batcher",
        currency: CURRENCY,
        amount: "2",
        transaction_id: "batch-w3",
        round_id: "round-batch-3",
        bet_transaction_id: "batch-3",
      },
      { type: "transfer_to_user", external_id: "batcher", currency: CURRENCY, amount: "1" },
    ]);
    assert.equal(excluded.status, 200, JSON.stringify(excluded.body));
    assert.deepEqual(
      excluded.body.results.map((result: { status: string; error?: { code: string } }) => [result.status, result.error?.code]),
      [
        ["failed", "player_excluded"],
        ["ok", undefined],
        ["failed", "player_excluded"],
      ],
    );
    assert.deepEqual(await walletBalance("batcher"), balance("109.00"));
    await assertVerifies();
  });

  it("announces a scheduled change once, even when the batch movements that settle it are refused", async () => {
    const wallet = await player("batch-settler", "100");
    assert.equal((await setLimits(wallet.wallet_id, { loss_day: "10" })).status, 200);
    assert.equal((await setLimits(wallet.wallet_id, { loss_day: "300" })).status, 200);
    advance(DAY_MS + 1_000);
    // No sweep: the first movement after the change is due applies it. The first is refused by
    // the new limit, the second by the ledger (within the limit, beyond the balance).
    const settleBet = (amount: string, id: string) => ({
      type: "bet",
      external_id: "batch-settler",
      currency: CURRENCY,
      amount,
      transaction_id: id,
      round_id: "settle-round",
    });
    const response = await batch([settleBet("301", "settle-1"), settleBet("150", "settle-2"), settleBet("30", "settle-3")]);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual(
      response.body.results.map((result: { status: string; error?: { code: string; details: { amount: string } } }) => [
        result.status,
        result.error?.code,
      ]),
      [
        ["failed", "limit_exceeded"],
        ["failed", "insufficient_funds"],
        ["ok", undefined],
      ],
    );
    assert.equal(response.body.results[0].error.details.amount, "300.00");
    assert.deepEqual(await walletBalance("batch-settler"), balance("70.00"));
    const events = await eventsOf(wallet.wallet_id, ["limits.change_scheduled", "bet.placed"]);
    const applied = ofType(events, "limits.changed").filter((event) => event.data.changes[0]?.amount === "300.00");
    assert.equal(applied.length, 1, JSON.stringify(ofType(events, "limits.changed").map((event) => event.data.changes)));
    // Announced with the movement that applied it, after it: the balance it shows is the one after the bet.
    assert.deepEqual(applied[0]?.data.balance, balance("70.00"));
    await assertVerifies();
  });

  it("leaves a ledger that verifies", async () => {
    await assertVerifies();
  });
});
