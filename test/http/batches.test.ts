import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { balances, type CallResult, call, createWallet, deposit, startApp, type Tenant, type TestApp } from "../helpers.js";

const CURRENCY = "USDTTRC20";
const MAX_MOVEMENTS = 8190;

const balance = (amount: string, pending = "0.00", available = amount) => ({
  currency: CURRENCY,
  amount,
  pending_amount: pending,
  available_balance: available,
});

interface Movement {
  type: "transfer_to_user" | "withdraw_to_master" | "bet" | "win";
  wallet_id?: string;
  external_id?: string;
  currency: string;
  amount: string | number;
  transaction_id?: string;
  round_id?: string;
  bet_transaction_id?: string;
  group?: string;
}

interface MovementResult {
  index: number;
  status: "ok" | "failed" | "skipped";
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers.
  transfer?: any;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers.
  game?: any;
  error?: { code: string; message: string; details: Record<string, unknown> };
}

describe("POST /batches/ (bulk settlement)", () => {
  let test: TestApp;
  let tenantCounter = 0;

  before(async () => {
    test = await startApp();
  });
  after(() => test.close());

  /** A tenant of its own, its master account funded with `master`, so every balance is exact. */
  async function freshTenant(master: string): Promise<Tenant> {
    tenantCounter += 1;
    const tenant = await test.newTenant(`Batch Casino ${tenantCounter}`);
    const funded = await deposit(test, {
      tenantId: tenant.tenantId,
      master: true,
      currency: CURRENCY,
      amount: master,
      txHash: `batch-master-${tenantCounter}`,
      confirmations: 1_000,
    });
    assert.equal(funded.status, 200, JSON.stringify(funded.body));
    return tenant;
  }

  const batch = (tenant: Tenant, movements: Movement[], headers?: Record<string, string>) =>
    call(test.app, "POST", "/batches/", { key: tenant.apiKey, body: { movements }, ...(headers ? { headers } : {}) });
  const results = (response: CallResult): MovementResult[] => {
    assert.equal(response.status, 200, JSON.stringify(response.body).slice(0, 2_000));
    return response.body.results;
  };
  const walletBalance = async (tenant: Tenant, externalId: string) => {
    const response = await balances(test, { external_id: externalId }, tenant.apiKey);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return response.body.balances.find((entry: { currency: string }) => entry.currency === CURRENCY) ?? null;
  };
  const masterBalance = async (tenant: Tenant) => {
    const response = await call(test.app, "GET", "/master/balances/", { key: tenant.apiKey });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return response.body.balances.find((entry: { currency: string }) => entry.currency === CURRENCY);
  };
  const historyTotal = async (tenant: Tenant, externalId: string) => {
    const response = await call(test.app, "POST", "/wallets/transfer-history/", { key: tenant.apiKey, body: { external_id: externalId } });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return response.body.pagination.total as number;
  };
  const give = (externalId: string, amount: string, extra: Partial<Movement> = {}): Movement => ({
    type: "transfer_to_user",
    external_id: externalId,
    currency: CURRENCY,
    amount,
    ...extra,
  });
  const take = (externalId: string, amount: string, extra: Partial<Movement> = {}): Movement => ({
    type: "withdraw_to_master",
    external_id: externalId,
    currency: CURRENCY,
    amount,
    ...extra,
  });

  it("answers one result per movement, in order, for a mix of movement types", async () => {
    const tenant = await freshTenant("1000");
    const a = await createWallet(test, "mix-a", undefined, tenant.apiKey);
    await createWallet(test, "mix-b", undefined, tenant.apiKey);
    const response = await batch(tenant, [
      give("mix-a", "100"),
      { type: "withdraw_to_master", wallet_id: a.wallet_id, currency: "usdttrc20", amount: 30 },
      { type: "bet", external_id: "mix-a", currency: CURRENCY, amount: "10", transaction_id: "mix-bet-1", round_id: "mix-round-1" },
      {
        type: "win",
        external_id: "mix-a",
        currency: CURRENCY,
        amount: "25",
        transaction_id: "mix-win-1",
        round_id: "mix-round-1",
        bet_transaction_id: "mix-bet-1",
      },
      give("mix-b", "5.5"),
    ]);
    const list = results(response);
    assert.equal(response.body.succeeded, 5);
    assert.equal(response.body.failed, 0);
    assert.deepEqual(
      list.map((result) => [result.index, result.status]),
      [
        [0, "ok"],
        [1, "ok"],
        [2, "ok"],
        [3, "ok"],
        [4, "ok"],
      ],
    );
    assert.deepEqual(
      { ...list[0]?.transfer, id: "", created_at: "" },
      {
        id: "",
        transfer_type: "to_sub",
        currency: CURRENCY,
        amount: "100.00",
        status: "posted",
        created_at: "",
        transaction_id: null,
        round_id: null,
        tx_hash: null,
        hold_id: null,
        withdrawal_id: null,
      },
    );
    assert.equal(list[1]?.transfer.transfer_type, "to_master");
    assert.equal(list[1]?.transfer.amount, "30.00");
    assert.equal(list[2]?.game.transaction.type, "bet");
    assert.equal(list[2]?.game.transaction.transaction_id, "mix-bet-1");
    assert.deepEqual(list[2]?.game.balance, balance("60.00"));
    assert.equal(list[3]?.game.transaction.type, "win");
    assert.equal(list[3]?.game.transaction.bet_transaction_id, "mix-bet-1");
    assert.deepEqual(list[3]?.game.balance, balance("85.00"));
    assert.equal(list[4]?.transfer.amount, "5.50");
    assert.equal(list[4]?.transfer.transfer_type, "to_sub");
    assert.deepEqual(await walletBalance(tenant, "mix-a"), balance("85.00"));
    assert.deepEqual(await walletBalance(tenant, "mix-b"), balance("5.50"));
    assert.deepEqual(await masterBalance(tenant), balance("909.50"));
  });

  it("fails a movement alone (insufficient funds, unknown wallet) while the others commit", async () => {
    const tenant = await freshTenant("100");
    await createWallet(test, "lone", undefined, tenant.apiKey);
    assert.equal(results(await batch(tenant, [give("lone", "10")]))[0]?.status, "ok");
    const response = await batch(tenant, [
      give("lone", "5"),
      take("lone", "100"),
      give("ghost", "1"),
      { type: "bet", external_id: "lone", currency: CURRENCY, amount: "3", transaction_id: "lone-bet-1", round_id: "lone-round" },
      take("lone", "12"),
      { type: "bet", external_id: "lone", currency: CURRENCY, amount: "0.01", transaction_id: "lone-bet-2", round_id: "lone-round" },
      give("lone", "1", { currency: "NOSUCHCOIN" }),
      give("lone", "2"),
    ]);
    const list = results(response);
    assert.deepEqual(
      list.map((result) => [result.index, result.status, result.error?.code]),
      [
        [0, "ok", undefined],
        [1, "failed", "insufficient_funds"],
        [2, "failed", "not_found"],
        [3, "ok", undefined],
        [4, "ok", undefined],
        [5, "failed", "insufficient_funds"],
        [6, "failed", "invalid_request"],
        [7, "ok", undefined],
      ],
    );
    assert.equal(response.body.succeeded, 4);
    assert.equal(response.body.failed, 4);
    // Each movement sees the ones before it in the batch.
    assert.equal(list[1]?.error?.details.available_balance, "15.00");
    assert.equal(list[5]?.error?.details.available_balance, "0.00");
    assert.deepEqual(await walletBalance(tenant, "lone"), balance("2.00"));
    assert.deepEqual(await masterBalance(tenant), balance("98.00"));
    // 1 earlier transfer + 4 committed movements; the failed ones left no trace.
    assert.equal(await historyTotal(tenant, "lone"), 5);
    // The failed bet's transaction_id was never recorded: it can be placed now.
    const retry = results(
      await batch(tenant, [
        give("lone", "1"),
        { type: "bet", external_id: "lone", currency: CURRENCY, amount: "0.5", transaction_id: "lone-bet-2", round_id: "lone-round" },
      ]),
    );
    assert.deepEqual(
      retry.map((result) => result.status),
      ["ok", "ok"],
    );
    assert.deepEqual(await walletBalance(tenant, "lone"), balance("2.50"));
  });

  it("fails a linked group as one while the movements around it commit", async () => {
    const tenant = await freshTenant("100");
    await createWallet(test, "group-a", undefined, tenant.apiKey);
    await createWallet(test, "group-b", undefined, tenant.apiKey);
    assert.equal(results(await batch(tenant, [give("group-a", "20")]))[0]?.status, "ok");
    const response = await batch(tenant, [
      give("group-b", "1"),
      take("group-a", "5", { group: "payout" }),
      give("group-b", "5", { group: "payout" }),
      {
        type: "bet",
        external_id: "group-a",
        currency: CURRENCY,
        amount: "1",
        transaction_id: "group-bet",
        round_id: "group-round",
        group: "payout",
      },
      take("group-a", "100", { group: "payout" }),
      give("group-b", "2", { group: "payout" }),
      give("group-b", "3", { group: "other" }),
      give("group-b", "4", { group: "other" }),
    ]);
    const list = results(response);
    assert.deepEqual(
      list.map((result) => [result.index, result.status]),
      [
        [0, "ok"],
        [1, "skipped"],
        [2, "skipped"],
        [3, "skipped"],
        [4, "failed"],
        [5, "skipped"],
        [6, "ok"],
        [7, "ok"],
      ],
    );
    assert.equal(response.body.succeeded, 3);
    assert.equal(response.body.failed, 5);
    assert.equal(list[4]?.error?.code, "insufficient_funds");
    // Inside the group the earlier members had applied before the failure: 20 - 5 - 1.
    assert.equal(list[4]?.error?.details.available_balance, "14.00");
    for (const index of [1, 2, 3, 5]) {
      assert.equal(list[index]?.transfer, undefined);
      assert.equal(list[index]?.game, undefined);
      assert.equal(list[index]?.error?.code, "invalid_request");
      assert.deepEqual(list[index]?.error?.details, { group: "payout", failed_index: 4 });
    }
    assert.deepEqual(await walletBalance(tenant, "group-a"), balance("20.00"));
    assert.deepEqual(await walletBalance(tenant, "group-b"), balance("8.00"));
    assert.deepEqual(await masterBalance(tenant), balance("72.00"));
    assert.equal(await historyTotal(tenant, "group-a"), 1);
    assert.equal(await historyTotal(tenant, "group-b"), 3);
    // The group's bet was undone with it: its transaction_id is free, even with other content.
    const later = results(
      await batch(tenant, [
        { type: "bet", external_id: "group-a", currency: CURRENCY, amount: "2", transaction_id: "group-bet", round_id: "group-round" },
      ]),
    );
    assert.equal(later[0]?.status, "ok", JSON.stringify(later[0]));
    assert.deepEqual(await walletBalance(tenant, "group-a"), balance("18.00"));
  });

  // Each movement writes a transfer and an event row. PostgreSQL writes them in the background
  // every 2 048 rows while the batch goes on, so here a flush happens inside the group: its
  // savepoint then rolls back rows already written, the singles' rows among them, which must be
  // written again at commit.
  it("fails a large linked group after part of it was written, keeping the movements before it", { timeout: 120_000 }, async () => {
    const tenant = await freshTenant("1000");
    await createWallet(test, "large-a", undefined, tenant.apiKey);
    await createWallet(test, "large-b", undefined, tenant.apiKey);
    const singles = Array.from({ length: 1_000 }, (_, index) => give(index % 2 === 0 ? "large-a" : "large-b", "0.01"));
    const group = [
      ...Array.from({ length: 1_200 }, () => give("large-a", "0.01", { group: "late" })),
      take("large-a", "1000", { group: "late" }),
    ];
    const list = results(await batch(tenant, [...singles, ...group]));
    assert.equal(list.filter((result) => result.status === "ok").length, 1_000);
    assert.equal(list.filter((result) => result.status === "skipped").length, 1_200);
    assert.equal(list[2_200]?.status, "failed");
    assert.equal(list[2_200]?.error?.details.available_balance, "17.00");
    assert.deepEqual(await walletBalance(tenant, "large-a"), balance("5.00"));
    assert.deepEqual(await walletBalance(tenant, "large-b"), balance("5.00"));
    assert.deepEqual(await masterBalance(tenant), balance("990.00"));
    assert.equal(await historyTotal(tenant, "large-a"), 500);
    assert.equal((await test.services.verify()).ok, true);
  });

  it("commits a linked group whose members all succeed", async () => {
    const tenant = await freshTenant("50");
    await createWallet(test, "linked-a", undefined, tenant.apiKey);
    await createWallet(test, "linked-b", undefined, tenant.apiKey);
    const response = await batch(tenant, [
      give("linked-a", "10", { group: "g" }),
      take("linked-a", "4", { group: "g" }),
      give("linked-b", "4", { group: "g" }),
    ]);
    assert.deepEqual(
      results(response).map((result) => result.status),
      ["ok", "ok", "ok"],
    );
    assert.deepEqual(await walletBalance(tenant, "linked-a"), balance("6.00"));
    assert.deepEqual(await walletBalance(tenant, "linked-b"), balance("4.00"));
    assert.deepEqual(await masterBalance(tenant), balance("40.00"));
  });

  it("refuses a batch that reuses a group name non-consecutively, applying nothing", async () => {
    const tenant = await freshTenant("100");
    await createWallet(test, "split", undefined, tenant.apiKey);
    for (const groups of [
      ["x", undefined, "x"],
      ["x", "y", "x"],
      ["x", "x", "y", "y", "x"],
    ]) {
      const response = await batch(
        tenant,
        groups.map((group) => give("split", "1", group === undefined ? {} : { group })),
      );
      assert.equal(response.status, 400, `${JSON.stringify(groups)}: ${JSON.stringify(response.body)}`);
      assert.equal(response.body.error.code, "invalid_request");
      assert.equal(response.body.error.details.group, "x");
    }
    assert.equal(await walletBalance(tenant, "split"), null);
    assert.deepEqual(await masterBalance(tenant), balance("100.00"));
  });

  // Speed is the benchmark's business; the timeout only turns a hang into a failure.
  it(`commits ${MAX_MOVEMENTS} movements in one request and refuses ${MAX_MOVEMENTS + 1}`, { timeout: 120_000 }, async () => {
    const tenant = await freshTenant("100");
    const payees = Array.from({ length: 10 }, (_, index) => `payee-${index}`);
    for (const payee of payees) await createWallet(test, payee, undefined, tenant.apiKey);
    const payouts = (count: number) => Array.from({ length: count }, (_, index) => give(payees[index % payees.length] as string, "0.01"));

    const tooMany = await batch(tenant, payouts(MAX_MOVEMENTS + 1));
    assert.equal(tooMany.status, 400, JSON.stringify(tooMany.body));
    assert.equal(tooMany.body.error.code, "invalid_request");
    assert.deepEqual(await masterBalance(tenant), balance("100.00"));

    const response = await batch(tenant, payouts(MAX_MOVEMENTS));
    assert.equal(response.status, 200);
    const list = results(response);
    assert.equal(list.length, MAX_MOVEMENTS);
    assert.equal(response.body.succeeded, MAX_MOVEMENTS);
    assert.equal(response.body.failed, 0);
    list.forEach((result, index) => {
      assert.equal(result.index, index);
      assert.equal(result.status, "ok");
    });
    assert.equal(new Set(list.map((result) => result.transfer.id)).size, MAX_MOVEMENTS);
    // 8190 / 10 = 819 payouts of 0.01 each.
    for (const payee of payees) assert.deepEqual(await walletBalance(tenant, payee), balance("8.19"), payee);
    assert.deepEqual(await masterBalance(tenant), balance("18.10"));
  });

  // 8 190 wins name 16 380 game transaction ids; PostgreSQL's lock table could not hold one
  // advisory lock per id (out of shared memory), so ids are locked by bucket.
  it(`settles ${MAX_MOVEMENTS} bets with ${MAX_MOVEMENTS} wins, one batch each`, { timeout: 120_000 }, async () => {
    const tenant = await freshTenant("2000");
    const players = Array.from({ length: 10 }, (_, index) => `settle-${index}`);
    for (const player of players) await createWallet(test, player, undefined, tenant.apiKey);
    results(
      await batch(
        tenant,
        players.map((player) => give(player, "100")),
      ),
    );
    const game = (type: "bet" | "win", index: number, amount: string): Movement => ({
      type,
      external_id: players[index % players.length] as string,
      currency: CURRENCY,
      amount,
      transaction_id: `${type}-${index}`,
      round_id: `round-${index}`,
      ...(type === "win" ? { bet_transaction_id: `bet-${index}` } : {}),
    });
    const bets = await batch(
      tenant,
      Array.from({ length: MAX_MOVEMENTS }, (_, index) => game("bet", index, "0.01")),
    );
    assert.equal(
      bets.body.succeeded,
      MAX_MOVEMENTS,
      JSON.stringify(bets.body.results.find((result: MovementResult) => result.status !== "ok")),
    );
    const wins = await batch(
      tenant,
      Array.from({ length: MAX_MOVEMENTS }, (_, index) => game("win", index, "0.03")),
    );
    assert.equal(
      wins.body.succeeded,
      MAX_MOVEMENTS,
      JSON.stringify(wins.body.results.find((result: MovementResult) => result.status !== "ok")),
    );
    // Each player: 100 + 819 rounds of (-0.01 + 0.03); the master pays the wins.
    for (const player of players) assert.deepEqual(await walletBalance(tenant, player), balance("116.38"), player);
    assert.equal((await test.services.verify()).ok, true);
  });

  it("refuses control characters in a transaction_id or round_id with 400, changing nothing", async () => {
    const tenant = await freshTenant("10");
    await createWallet(test, "printable", undefined, tenant.apiKey);
    for (const field of ["transaction_id", "round_id"]) {
      const response = await batch(tenant, [
        {
          type: "bet",
          external_id: "printable",
          currency: CURRENCY,
          amount: "1",
          transaction_id: "t",
          round_id: "r",
          [field]: "bad\u0000id",
        },
      ]);
      assert.equal(response.status, 400, JSON.stringify(response.body));
      assert.equal(response.body.error.code, "invalid_request");
    }
    assert.equal(await walletBalance(tenant, "printable"), null);
  });

  it("answers a game sent again, in a batch or alone, with the bytes of its first answer", async () => {
    const tenant = await freshTenant("100");
    await createWallet(test, "again", undefined, tenant.apiKey);
    await batch(tenant, [give("again", "20")]);
    const games: Movement[] = [
      { type: "bet", external_id: "again", currency: CURRENCY, amount: "2", transaction_id: "again-bet", round_id: "again-round" },
      {
        type: "win",
        external_id: "again",
        currency: CURRENCY,
        amount: "0",
        transaction_id: "again-win",
        round_id: "again-round",
        bet_transaction_id: "again-bet",
      },
      { type: "bet", external_id: "again", currency: CURRENCY, amount: "1.5", transaction_id: "again-bet-2", round_id: "again-round-2" },
      {
        type: "win",
        external_id: "again",
        currency: CURRENCY,
        amount: "4",
        transaction_id: "again-win-2",
        round_id: "again-round-2",
        bet_transaction_id: "again-bet-2",
      },
    ];
    const gameJson = (response: CallResult) => results(response).map((result) => JSON.stringify(result.game));
    const first = gameJson(await batch(tenant, games));
    // Later, in a batch of its own, each in the same batch as itself, and with a movement between.
    assert.deepEqual(gameJson(await batch(tenant, games)), first);
    assert.deepEqual(gameJson(await batch(tenant, [...games, ...games])), [...first, ...first]);
    const alone = await call(test.app, "POST", "/games/wins/", {
      key: tenant.apiKey,
      body: { ...games[3], type: undefined },
    });
    assert.equal(alone.text, first[3]);
    assert.deepEqual(await walletBalance(tenant, "again"), balance("20.50"));
  });

  it("replays a batch sent again with the same Idempotency-Key", async () => {
    const tenant = await freshTenant("100");
    await createWallet(test, "replayed", undefined, tenant.apiKey);
    const movements = [give("replayed", "10"), take("replayed", "50"), take("replayed", "2.5")];
    const first = await batch(tenant, movements, { "idempotency-key": "settle-match-42" });
    const firstResults = results(first);
    assert.deepEqual(
      firstResults.map((result) => result.status),
      ["ok", "failed", "ok"],
    );
    assert.equal(first.headers["idempotency-replayed"], undefined);
    const second = await batch(tenant, movements, { "idempotency-key": "settle-match-42" });
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.equal(second.headers["idempotency-replayed"], "true");
    assert.deepEqual(second.body, first.body);
    assert.equal(second.text, first.text, "byte for byte");
    assert.deepEqual(await walletBalance(tenant, "replayed"), balance("7.50"));
    assert.equal(await historyTotal(tenant, "replayed"), 2);

    const changed = await batch(tenant, [give("replayed", "11")], { "idempotency-key": "settle-match-42" });
    assert.equal(changed.status, 409, JSON.stringify(changed.body));
    assert.equal(changed.body.error.code, "conflict");
    // Without the key the same batch runs again.
    const again = results(await batch(tenant, movements));
    assert.deepEqual(
      again.map((result) => result.status),
      ["ok", "failed", "ok"],
    );
    assert.deepEqual(await walletBalance(tenant, "replayed"), balance("15.00"));
  });

  it("leaves a ledger that verifies", async () => {
    const report = await test.services.verify();
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    assert.ok(report.transfers > 25, `only ${report.transfers} transfers`);
  });
});
