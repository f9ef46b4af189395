import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { balances, type CallResult, call, createWallet, deposit, fundMaster, startApp, type Tenant, type TestApp } from "../helpers.js";

const CURRENCY = "USDTTRC20";

/** The four-field balance object every game answer carries (DESIGN 1.3). */
const balance = (amount: string, pending = "0.00", available = amount) => ({
  currency: CURRENCY,
  amount,
  pending_amount: pending,
  available_balance: available,
});

/** Minor units (6 decimals) of a wire amount, to compare master balances by difference. */
function micros(text: string): bigint {
  const [whole = "0", fraction = ""] = text.split(".");
  return BigInt(whole) * 1_000_000n + BigInt(fraction.padEnd(6, "0"));
}

describe("bets, wins and rollbacks", () => {
  let test: TestApp;
  let other: Tenant;

  before(async () => {
    test = await startApp();
    await fundMaster(test, CURRENCY, "100000", "games-master");
    await fundMaster(test, "ETH", "10", "games-master-eth");
    other = await test.newTenant("Other Casino");
    const funded = await deposit(test, {
      tenantId: other.tenantId,
      master: true,
      currency: CURRENCY,
      amount: "1000",
      txHash: "other-master",
      confirmations: 1_000,
    });
    assert.equal(funded.status, 200);
  });
  after(() => test.close());

  const game = (kind: "bets" | "wins" | "rollbacks", body: object, key = test.tenant.apiKey) =>
    call(test.app, "POST", `/games/${kind}/`, { key, body });

  /** A new wallet of the tenant given `amount` from the master account. */
  async function player(externalId: string, amount: string, key = test.tenant.apiKey) {
    const wallet = await createWallet(test, externalId, `Player ${externalId}`, key);
    const given = await call(test.app, "POST", "/wallets/transfer-to-user/", {
      key,
      body: { external_id: externalId, currency: CURRENCY, amount },
    });
    assert.equal(given.status, 200, JSON.stringify(given.body));
    return wallet;
  }

  async function walletBalance(externalId: string, key = test.tenant.apiKey) {
    const response = await balances(test, { external_id: externalId }, key);
    assert.equal(response.status, 200);
    return response.body.balances.find((entry: { currency: string }) => entry.currency === CURRENCY);
  }

  async function masterAvailable(key = test.tenant.apiKey): Promise<bigint> {
    const response = await call(test.app, "GET", "/master/balances/", { key });
    assert.equal(response.status, 200);
    const entry = response.body.balances.find((item: { currency: string }) => item.currency === CURRENCY);
    return micros(entry.available_balance);
  }

  function assertError(response: CallResult, status: number, code: string) {
    assert.equal(response.status, status, JSON.stringify(response.body));
    assert.equal(response.body.error.code, code, JSON.stringify(response.body));
  }

  it("debits a bet atomically, answers the new balance, refuses one over the available balance", async () => {
    const wallet = await player("bettor", "50");
    const masterBefore = await masterAvailable();
    const bet = await game("bets", {
      wallet_id: wallet.wallet_id,
      currency: "usdttrc20",
      amount: "20.5",
      transaction_id: "bet-1",
      round_id: "round-1",
    });
    assert.equal(bet.status, 200, JSON.stringify(bet.body));
    assert.ok(!Number.isNaN(Date.parse(bet.body.transaction.created_at)));
    assert.deepEqual(bet.body, {
      transaction: {
        transaction_id: "bet-1",
        type: "bet",
        round_id: "round-1",
        bet_transaction_id: null,
        currency: CURRENCY,
        amount: "20.50",
        status: "completed",
        created_at: bet.body.transaction.created_at,
      },
      balance: balance("29.50"),
    });
    assert.deepEqual(await walletBalance("bettor"), balance("29.50"));
    assert.equal(await masterAvailable(), masterBefore + micros("20.50"));

    const over = await game("bets", {
      external_id: "bettor",
      currency: CURRENCY,
      amount: "29.500001",
      transaction_id: "bet-2",
      round_id: "round-2",
    });
    assertError(over, 400, "insufficient_funds");
    assert.equal(over.body.error.details.available_balance, "29.50");
    assert.deepEqual(await walletBalance("bettor"), balance("29.50"));
    assert.equal(await masterAvailable(), masterBefore + micros("20.50"));

    // The refused bet left no record: its transaction_id is still free once funds arrive.
    const exact = await game("bets", {
      external_id: "bettor",
      currency: CURRENCY,
      amount: "29.5",
      transaction_id: "bet-3",
      round_id: "round-3",
    });
    assert.equal(exact.status, 200, JSON.stringify(exact.body));
    assert.deepEqual(exact.body.balance, balance("0.00"));
    await call(test.app, "POST", "/wallets/transfer-to-user/", {
      key: test.tenant.apiKey,
      body: { external_id: "bettor", currency: CURRENCY, amount: "30" },
    });
    const retried = await game("bets", {
      external_id: "bettor",
      currency: CURRENCY,
      amount: "29.500001",
      transaction_id: "bet-2",
      round_id: "round-2",
    });
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    assert.deepEqual(retried.body.balance, balance("0.499999"));
    assert.deepEqual(await walletBalance("bettor"), balance("0.499999"));
  });

  it("lets exactly the fundable bets through when 100 race", async () => {
    await player("racer", "100");
    const masterBefore = await masterAvailable();
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, index) =>
        game("bets", {
          external_id: "racer",
          currency: CURRENCY,
          amount: "3",
          transaction_id: `race-${index}`,
          round_id: `race-round-${index}`,
        }),
      ),
    );
    const succeeded = results.filter((result) => result.status === 200);
    assert.equal(succeeded.length, 33);
    for (const result of results) {
      if (result.status !== 200) assertError(result, 400, "insufficient_funds");
    }
    // Each accepted bet saw its own balance: 97, 94, ... 1, each exactly once.
    const seen = succeeded.map((result) => result.body.balance.available_balance).sort((a: string, b: string) => Number(a) - Number(b));
    const expected = Array.from({ length: 33 }, (_, index) => `${1 + 3 * index}.00`);
    assert.deepEqual(seen, expected);
    assert.deepEqual(await walletBalance("racer"), balance("1.00"));
    assert.equal(await masterAvailable(), masterBefore + micros("99"));
  });

  it("replays a repeated transaction_id and refuses one reused with other content", async () => {
    const wallet = await player("repeater", "10");
    const second = await player("repeater-2", "10");
    const body = { wallet_id: wallet.wallet_id, currency: CURRENCY, amount: "4", transaction_id: "dup-bet", round_id: "dup-round" };
    const first = await game("bets", body);
    assert.equal(first.status, 200);
    assert.deepEqual(first.body.balance, balance("6.00"));
    const later = await game("bets", { ...body, amount: "1", transaction_id: "dup-other" });
    assert.deepEqual(later.body.balance, balance("5.00"));

    const repeat = await game("bets", body);
    assert.equal(repeat.status, 200);
    assert.deepEqual(repeat.body, first.body);
    assert.equal(repeat.text, first.text, "a replay repeats the first answer byte for byte");
    // Same content spelled differently (external_id, "4.00", lower case) is still the same bet.
    const respelled = await game("bets", { ...body, wallet_id: undefined, external_id: "repeater", amount: "4.00", currency: "usdttrc20" });
    assert.equal(respelled.status, 200);
    assert.deepEqual(respelled.body, first.body);
    assert.equal(respelled.text, first.text);
    assert.deepEqual(await walletBalance("repeater"), balance("5.00"));

    const masterBefore = await masterAvailable();
    assertError(await game("bets", { ...body, amount: "4.01" }), 409, "conflict");
    assertError(await game("bets", { ...body, round_id: "another-round" }), 409, "conflict");
    assertError(await game("bets", { ...body, wallet_id: second.wallet_id }), 409, "conflict");
    assert.deepEqual(await walletBalance("repeater"), balance("5.00"));
    assert.deepEqual(await walletBalance("repeater-2"), balance("10.00"));
    assert.equal(await masterAvailable(), masterBefore);

    // Transaction ids are per tenant: another tenant may use the same one.
    await player("other-repeater", "10", other.apiKey);
    const theirs = await game(
      "bets",
      { external_id: "other-repeater", currency: CURRENCY, amount: "4", transaction_id: "dup-bet", round_id: "dup-round" },
      other.apiKey,
    );
    assert.equal(theirs.status, 200, JSON.stringify(theirs.body));
    assert.deepEqual(theirs.body.balance, balance("6.00"));
    assert.deepEqual(await walletBalance("other-repeater", other.apiKey), balance("6.00"));
    assert.deepEqual(await walletBalance("repeater"), balance("5.00"));
  });

  it("debits once when the same bet arrives 20 times at once", async () => {
    await player("twin", "10");
    const masterBefore = await masterAvailable();
    const body = { external_id: "twin", currency: CURRENCY, amount: "4", transaction_id: "t-bet", round_id: "t-round" };
    const repeats = await Promise.all(Array.from({ length: 20 }, () => game("bets", body)));
    for (const repeat of repeats) {
      assert.equal(repeat.status, 200, JSON.stringify(repeat.body));
      assert.deepEqual(repeat.body, repeats[0]?.body);
      assert.equal(repeat.text, repeats[0]?.text);
    }
    assert.deepEqual(repeats[0]?.body.balance, balance("6.00"));
    assert.deepEqual(await walletBalance("twin"), balance("6.00"));
    assert.equal(await masterAvailable(), masterBefore + micros("4"));
  });

  it("credits once when the same win arrives 20 times at once", async () => {
    await player("twin-win", "10");
    await game("bets", { external_id: "twin-win", currency: CURRENCY, amount: "4", transaction_id: "tw-bet", round_id: "tw-round" });
    const masterBefore = await masterAvailable();
    const body = {
      external_id: "twin-win",
      currency: CURRENCY,
      amount: "5",
      transaction_id: "tw-win",
      round_id: "tw-round",
      bet_transaction_id: "tw-bet",
    };
    const repeats = await Promise.all(Array.from({ length: 20 }, () => game("wins", body)));
    for (const repeat of repeats) {
      assert.equal(repeat.status, 200, JSON.stringify(repeat.body));
      assert.deepEqual(repeat.body, repeats[0]?.body);
      assert.equal(repeat.text, repeats[0]?.text);
    }
    assert.deepEqual(repeats[0]?.body.balance, balance("11.00"));
    assert.deepEqual(await walletBalance("twin-win"), balance("11.00"));
    assert.equal(await masterAvailable(), masterBefore - micros("5"));
  });

  it("lets exactly one of a win and a rollback racing for the same bet through", async () => {
    await player("duel", "10");
    await game("bets", { external_id: "duel", currency: CURRENCY, amount: "4", transaction_id: "d-bet", round_id: "d-round" });
    const [win, rollback] = await Promise.all([
      game("wins", {
        external_id: "duel",
        currency: CURRENCY,
        amount: "5",
        transaction_id: "d-win",
        round_id: "d-round",
        bet_transaction_id: "d-bet",
      }),
      game("rollbacks", {
        external_id: "duel",
        currency: CURRENCY,
        transaction_id: "d-rb",
        round_id: "d-round",
        bet_transaction_id: "d-bet",
      }),
    ]);
    assert.ok(win && rollback);
    assert.deepEqual([win.status, rollback.status].sort(), [200, 409], JSON.stringify([win.body, rollback.body]));
    assert.deepEqual(await walletBalance("duel"), win.status === 200 ? balance("11.00") : balance("10.00"));
  });

  it("never keeps a bet that races its own early rollback", async () => {
    await player("racing-early", "40");
    const masterBefore = await masterAvailable();
    const pairs = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        Promise.all([
          game("bets", {
            external_id: "racing-early",
            currency: CURRENCY,
            amount: "4",
            transaction_id: `re-bet-${index}`,
            round_id: "re-round",
          }),
          game("rollbacks", {
            external_id: "racing-early",
            transaction_id: `re-rb-${index}`,
            round_id: "re-round",
            bet_transaction_id: `re-bet-${index}`,
            currency: CURRENCY,
          }),
        ]),
      ),
    );
    for (const [bet, rollback] of pairs) {
      const seen = JSON.stringify({ bet: bet.body, rollback: rollback.body });
      assert.equal(rollback.status, 200, seen);
      // Either order is fine: the bet placed then reversed, or the tombstone first and the bet refused.
      if (bet.status === 200) assert.equal(rollback.body.transaction.amount, "4.00", seen);
      else assertError(bet, 409, "conflict");
    }
    assert.deepEqual(await walletBalance("racing-early"), balance("40.00"));
    assert.equal(await masterAvailable(), masterBefore);
  });

  it("credits a win, refuses one for an unknown bet or another currency, accepts a zero win", async () => {
    await player("winner", "10");
    const masterBefore = await masterAvailable();
    const bet = await game("bets", {
      external_id: "winner",
      currency: CURRENCY,
      amount: "4",
      transaction_id: "w-bet",
      round_id: "w-round",
    });
    assert.deepEqual(bet.body.balance, balance("6.00"));
    const win = await game("wins", {
      external_id: "winner",
      currency: CURRENCY,
      amount: "7.25",
      transaction_id: "w-win",
      round_id: "w-round",
      bet_transaction_id: "w-bet",
    });
    assert.equal(win.status, 200, JSON.stringify(win.body));
    assert.deepEqual(win.body, {
      transaction: {
        transaction_id: "w-win",
        type: "win",
        round_id: "w-round",
        bet_transaction_id: "w-bet",
        currency: CURRENCY,
        amount: "7.25",
        status: "completed",
        created_at: win.body.transaction.created_at,
      },
      balance: balance("13.25"),
    });
    assert.deepEqual(await walletBalance("winner"), balance("13.25"));
    assert.equal(await masterAvailable(), masterBefore + micros("4") - micros("7.25"));
    const repeatedWin = await game("wins", {
      external_id: "winner",
      currency: CURRENCY,
      amount: "7.25",
      transaction_id: "w-win",
      round_id: "w-round",
      bet_transaction_id: "w-bet",
    });
    assert.equal(repeatedWin.status, 200);
    assert.deepEqual(repeatedWin.body, win.body);
    assert.equal(repeatedWin.text, win.text);
    assert.deepEqual(await walletBalance("winner"), balance("13.25"));

    const unknown = await game("wins", {
      external_id: "winner",
      currency: CURRENCY,
      amount: "1",
      transaction_id: "w-win-unknown",
      round_id: "w-round",
      bet_transaction_id: "no-such-bet",
    });
    assertError(unknown, 404, "not_found");
    const otherCurrency = await game("wins", {
      external_id: "winner",
      currency: "ETH",
      amount: "1",
      transaction_id: "w-win-eth",
      round_id: "w-round",
      bet_transaction_id: "w-bet",
    });
    assertError(otherCurrency, 400, "invalid_request");
    assert.deepEqual(await walletBalance("winner"), balance("13.25"));
    const eth = await balances(test, { external_id: "winner" });
    assert.deepEqual(
      eth.body.balances.map((entry: { currency: string }) => entry.currency),
      [CURRENCY],
    );

    const lost = await game("bets", {
      external_id: "winner",
      currency: CURRENCY,
      amount: "2",
      transaction_id: "w-bet-2",
      round_id: "w-round-2",
    });
    assert.deepEqual(lost.body.balance, balance("11.25"));
    const zero = await game("wins", {
      external_id: "winner",
      currency: CURRENCY,
      amount: "0",
      transaction_id: "w-win-2",
      round_id: "w-round-2",
      bet_transaction_id: "w-bet-2",
    });
    assert.equal(zero.status, 200, JSON.stringify(zero.body));
    assert.equal(zero.body.transaction.amount, "0.00");
    assert.equal(zero.body.transaction.type, "win");
    assert.deepEqual(zero.body.balance, balance("11.25"));
    assert.deepEqual(await walletBalance("winner"), balance("11.25"));
    assert.equal(await masterAvailable(), masterBefore + micros("6") - micros("7.25"));
    // The zero win, which moved nothing, settled its bet all the same: no rollback after it.
    const late = { external_id: "winner", currency: CURRENCY, round_id: "w-round-2", bet_transaction_id: "w-bet-2" };
    assertError(await game("rollbacks", { ...late, transaction_id: "w-rb-2" }), 409, "conflict");
    const again = await game("wins", { ...late, amount: "0", transaction_id: "w-win-2" });
    assert.equal(again.text, zero.text, "a zero win is replayed byte for byte");
  });

  it("keeps several bets of one round independent", async () => {
    await player("multi", "20");
    const first = await game("bets", {
      external_id: "multi",
      currency: CURRENCY,
      amount: "3",
      transaction_id: "m-bet-1",
      round_id: "m-round",
    });
    const second = await game("bets", {
      external_id: "multi",
      currency: CURRENCY,
      amount: "5",
      transaction_id: "m-bet-2",
      round_id: "m-round",
    });
    assert.deepEqual(first.body.balance, balance("17.00"));
    assert.deepEqual(second.body.balance, balance("12.00"));
    const rollback = await game("rollbacks", {
      external_id: "multi",
      currency: CURRENCY,
      transaction_id: "m-rb-1",
      round_id: "m-round",
      bet_transaction_id: "m-bet-1",
    });
    assert.equal(rollback.status, 200, JSON.stringify(rollback.body));
    assert.equal(rollback.body.transaction.amount, "3.00");
    assert.deepEqual(rollback.body.balance, balance("15.00"));
    // The other bet of the round still stands: it can be won, the rolled-back one cannot.
    const win = await game("wins", {
      external_id: "multi",
      currency: CURRENCY,
      amount: "10",
      transaction_id: "m-win-2",
      round_id: "m-round",
      bet_transaction_id: "m-bet-2",
    });
    assert.equal(win.status, 200, JSON.stringify(win.body));
    assert.deepEqual(win.body.balance, balance("25.00"));
    assert.deepEqual(await walletBalance("multi"), balance("25.00"));
  });

  it("reverses a bet exactly once", async () => {
    await player("reverser", "10");
    const masterBefore = await masterAvailable();
    const bet = await game("bets", {
      external_id: "reverser",
      currency: CURRENCY,
      amount: "6",
      transaction_id: "r-bet",
      round_id: "r-round",
    });
    assert.deepEqual(bet.body.balance, balance("4.00"));
    const body = {
      external_id: "reverser",
      currency: CURRENCY,
      transaction_id: "r-rb-1",
      round_id: "r-round",
      bet_transaction_id: "r-bet",
    };
    const rollback = await game("rollbacks", body);
    assert.equal(rollback.status, 200, JSON.stringify(rollback.body));
    assert.deepEqual(rollback.body, {
      transaction: {
        transaction_id: "r-rb-1",
        type: "rollback",
        round_id: "r-round",
        bet_transaction_id: "r-bet",
        currency: CURRENCY,
        amount: "6.00",
        status: "completed",
        created_at: rollback.body.transaction.created_at,
      },
      balance: balance("10.00"),
    });
    const repeat = await game("rollbacks", body);
    assert.equal(repeat.status, 200);
    assert.deepEqual(repeat.body, rollback.body);
    assert.equal(repeat.text, rollback.text);
    const again = await game("rollbacks", { ...body, transaction_id: "r-rb-2" });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.deepEqual(again.body.balance, balance("10.00"));
    assert.deepEqual(await walletBalance("reverser"), balance("10.00"));
    assert.equal(await masterAvailable(), masterBefore);
  });

  it("tombstones an unknown bet on rollback so the late bet is refused", async () => {
    await player("early", "10");
    const masterBefore = await masterAvailable();
    const rollback = await game("rollbacks", {
      external_id: "early",
      transaction_id: "e-rb",
      round_id: "e-round",
      bet_transaction_id: "e-bet",
      currency: CURRENCY,
      amount: "4",
    });
    assert.equal(rollback.status, 200, JSON.stringify(rollback.body));
    assert.equal(rollback.body.transaction.type, "rollback");
    assert.equal(rollback.body.transaction.bet_transaction_id, "e-bet");
    assert.deepEqual(rollback.body.balance, balance("10.00"));
    const late = await game("bets", {
      external_id: "early",
      currency: CURRENCY,
      amount: "4",
      transaction_id: "e-bet",
      round_id: "e-round",
    });
    assertError(late, 409, "conflict");
    assert.deepEqual(await walletBalance("early"), balance("10.00"));
    assert.equal(await masterAvailable(), masterBefore);
  });

  it("answers 404 for an unknown bet's rollback under the not_found policy, and still tombstones it", async () => {
    const strict = await test.newTenant("Strict Casino");
    await test.services.operator.setUnknownRollbackPolicy(strict.tenantId, "not_found");
    const funded = await deposit(test, {
      tenantId: strict.tenantId,
      master: true,
      currency: CURRENCY,
      amount: "100",
      txHash: "strict-master",
      confirmations: 1_000,
    });
    assert.equal(funded.status, 200);
    await player("strict-player", "10", strict.apiKey);
    const body = {
      external_id: "strict-player",
      transaction_id: "s-rb",
      round_id: "s-round",
      bet_transaction_id: "s-bet",
      currency: CURRENCY,
    };
    assertError(await game("rollbacks", body, strict.apiKey), 404, "not_found");
    assertError(await game("rollbacks", body, strict.apiKey), 404, "not_found");
    const late = await game(
      "bets",
      { external_id: "strict-player", currency: CURRENCY, amount: "4", transaction_id: "s-bet", round_id: "s-round" },
      strict.apiKey,
    );
    assertError(late, 409, "conflict");
    assert.deepEqual(await walletBalance("strict-player", strict.apiKey), balance("10.00"));
    assert.equal(await masterAvailable(strict.apiKey), micros("90"));

    // A known bet is still rolled back normally under that policy.
    const bet = await game(
      "bets",
      { external_id: "strict-player", currency: CURRENCY, amount: "4", transaction_id: "s-bet-2", round_id: "s-round-2" },
      strict.apiKey,
    );
    assert.deepEqual(bet.body.balance, balance("6.00"));
    const known = await game(
      "rollbacks",
      { ...body, transaction_id: "s-rb-2", round_id: "s-round-2", bet_transaction_id: "s-bet-2" },
      strict.apiKey,
    );
    assert.equal(known.status, 200, JSON.stringify(known.body));
    assert.deepEqual(known.body.balance, balance("10.00"));
  });

  it("refuses a win after its bet was rolled back, and a rollback after its bet was won", async () => {
    await player("settler", "10");
    await game("bets", { external_id: "settler", currency: CURRENCY, amount: "3", transaction_id: "x-bet-1", round_id: "x-round-1" });
    await game("rollbacks", {
      external_id: "settler",
      currency: CURRENCY,
      transaction_id: "x-rb-1",
      round_id: "x-round-1",
      bet_transaction_id: "x-bet-1",
    });
    assert.deepEqual(await walletBalance("settler"), balance("10.00"));
    const masterBefore = await masterAvailable();
    const lateWin = await game("wins", {
      external_id: "settler",
      currency: CURRENCY,
      amount: "5",
      transaction_id: "x-win-1",
      round_id: "x-round-1",
      bet_transaction_id: "x-bet-1",
    });
    assertError(lateWin, 409, "conflict");
    assert.deepEqual(await walletBalance("settler"), balance("10.00"));
    assert.equal(await masterAvailable(), masterBefore);

    await game("bets", { external_id: "settler", currency: CURRENCY, amount: "2", transaction_id: "x-bet-2", round_id: "x-round-2" });
    const win = await game("wins", {
      external_id: "settler",
      currency: CURRENCY,
      amount: "1",
      transaction_id: "x-win-2",
      round_id: "x-round-2",
      bet_transaction_id: "x-bet-2",
    });
    assert.deepEqual(win.body.balance, balance("9.00"));
    const lateRollback = await game("rollbacks", {
      external_id: "settler",
      currency: CURRENCY,
      transaction_id: "x-rb-2",
      round_id: "x-round-2",
      bet_transaction_id: "x-bet-2",
    });
    assertError(lateRollback, 409, "conflict");
    assert.deepEqual(await walletBalance("settler"), balance("9.00"));
    assert.equal(await masterAvailable(), masterBefore + micros("1"));
  });

  it("names the wallet by wallet_id or external_id, and never another tenant's", async () => {
    const wallet = await player("named", "10");
    const bet = await game("bets", {
      wallet_id: wallet.wallet_id,
      currency: CURRENCY,
      amount: "2",
      transaction_id: "n-bet",
      round_id: "n-round",
    });
    assert.deepEqual(bet.body.balance, balance("8.00"));
    const win = await game("wins", {
      external_id: "named",
      currency: CURRENCY,
      amount: "3",
      transaction_id: "n-win",
      round_id: "n-round",
      bet_transaction_id: "n-bet",
    });
    assert.deepEqual(win.body.balance, balance("11.00"));
    const bet2 = await game("bets", {
      external_id: "named",
      currency: CURRENCY,
      amount: "1",
      transaction_id: "n-bet-2",
      round_id: "n-round-2",
    });
    assert.deepEqual(bet2.body.balance, balance("10.00"));
    const rollback = await game("rollbacks", {
      wallet_id: wallet.wallet_id,
      currency: CURRENCY,
      transaction_id: "n-rb-2",
      round_id: "n-round-2",
      bet_transaction_id: "n-bet-2",
    });
    assert.deepEqual(rollback.body.balance, balance("11.00"));

    const foreign = other.apiKey;
    const theirMaster = await masterAvailable(foreign);
    for (const ids of [{ wallet_id: wallet.wallet_id }, { external_id: "named" }]) {
      assertError(
        await game("bets", { ...ids, currency: CURRENCY, amount: "1", transaction_id: "f-bet", round_id: "f-round" }, foreign),
        404,
        "not_found",
      );
      assertError(
        await game(
          "wins",
          { ...ids, currency: CURRENCY, amount: "1", transaction_id: "f-win", round_id: "n-round", bet_transaction_id: "n-bet" },
          foreign,
        ),
        404,
        "not_found",
      );
      assertError(
        await game(
          "rollbacks",
          { ...ids, currency: CURRENCY, transaction_id: "f-rb", round_id: "n-round", bet_transaction_id: "n-bet" },
          foreign,
        ),
        404,
        "not_found",
      );
    }
    assert.deepEqual(await walletBalance("named"), balance("11.00"));
    assert.equal(await masterAvailable(foreign), theirMaster);
    // The foreign attempts left no tombstone or record in either tenant.
    const mine = await game("bets", {
      external_id: "named",
      currency: CURRENCY,
      amount: "1",
      transaction_id: "f-bet",
      round_id: "f-round",
    });
    assert.equal(mine.status, 200, JSON.stringify(mine.body));
    assert.deepEqual(mine.body.balance, balance("10.00"));
  });

  it("leaves a ledger that verifies", async () => {
    const report = await test.services.verify();
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    assert.ok(report.transfers > 50);
  });
});
