import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { EVENT_TYPES } from "../../src/wire/events.js";
import { Contract } from "../contract.js";
import { call, createWallet, deposit, fundMaster, startApp, type TestApp } from "../helpers.js";

/**
 * Every event type, made by real movements through the HTTP API, and every payload the outbox
 * holds (what webhooks POST and the stream sends) checked against the OpenAPI document's
 * `webhooks` schema of its type, closed: no property the document does not name, and what the
 * type always carries (a deposit for deposit.*, a released_transfer slot only for hold.captured).
 */
describe("event payloads match the document's webhooks", () => {
  let test: TestApp;
  /** The time safer-gambling limits count by: moved below to end an exclusion and a cooling-off. */
  const clock = { now: Date.now() };

  before(async () => {
    test = await startApp({ sweepIntervalMs: 50, limitsClock: () => clock.now });
  });
  after(() => test.close());

  it("makes every event type and each payload matches its webhooks schema", async () => {
    const key = test.tenant.apiKey;
    const post = async (url: string, body: unknown, credential = key) => {
      const answer = await call(test.app, "POST", url, { key: credential, body });
      assert.ok(answer.status === 200 || answer.status === 201, `${url} answered ${answer.status} ${JSON.stringify(answer.body)}`);
      return answer.body;
    };
    const player = await createWallet(test, "eventful");
    const currency = "USDTTRC20";
    const report = async (txHash: string, confirmations: number, status?: "dropped") => {
      const answer = await deposit(test, {
        externalId: "eventful",
        currency,
        amount: "100",
        txHash,
        confirmations,
        ...(status ? { status } : {}),
      });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
    };
    await report("ev-1", 3); // deposit.pending
    await report("ev-1", 19); // deposit.confirmed
    await report("ev-2", 1); // deposit.pending
    await report("ev-2", 1, "dropped"); // deposit.dropped
    await fundMaster(test, currency, "1000", "ev-master"); // deposit.confirmed of the master account: no wallet
    await post("/wallets/transfer-to-user/", { wallet_id: player.wallet_id, currency, amount: "50" });
    await post("/wallets/withdraw-to-master/", { wallet_id: player.wallet_id, currency, amount: "5" });
    const game = { wallet_id: player.wallet_id, currency };
    await post("/games/bets/", { ...game, amount: "10", transaction_id: "ev-bet-1", round_id: "ev-round-1" });
    await post("/games/wins/", {
      ...game,
      amount: "25",
      transaction_id: "ev-win-1",
      round_id: "ev-round-1",
      bet_transaction_id: "ev-bet-1",
    });
    await post("/games/bets/", { ...game, amount: "3", transaction_id: "ev-bet-2", round_id: "ev-round-2" });
    await post("/games/rollbacks/", { ...game, transaction_id: "ev-rb-2", round_id: "ev-round-2", bet_transaction_id: "ev-bet-2" });
    const hold = async (amount: string, timeout_seconds = 3600) =>
      String((await post("/holds/", { wallet_id: player.wallet_id, currency, amount, timeout_seconds })).hold.id);
    const captured = await hold("30");
    await post(`/holds/${captured}/capture/`, { amount: "10" });
    const voided = await hold("4");
    await post(`/holds/${voided}/void/`, {});
    await hold("2", 1);
    const withdrawalsKey = (await test.services.credentials.createSystemKey(["withdrawals"])).apiKey;
    const withdraw = async (address: string) =>
      String((await post("/withdrawals/", { wallet_id: player.wallet_id, currency, amount: "1", address })).withdrawal.id);
    const paid = await withdraw("TEventPaid1");
    await post(`/system/withdrawals/${paid}/result/`, { status: "completed", tx_hash: "ev-out-1" }, withdrawalsKey);
    const failed = await withdraw("TEventFailed1");
    await post(`/system/withdrawals/${failed}/result/`, { status: "failed" }, withdrawalsKey);

    // Safer-gambling controls, on a wallet of their own.
    const limited = await createWallet(test, "eventful-limited");
    const putLimits = async (body: unknown) => {
      const answer = await call(test.app, "PUT", `/wallets/${limited.wallet_id}/limits/${currency}/`, { key, body });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
    };
    await putLimits({ deposit_day: "30", loss_day: "10" }); // limits.changed
    await putLimits({ loss_day: "20" }); // limits.change_scheduled
    await post("/wallets/transfer-to-user/", { wallet_id: limited.wallet_id, currency, amount: "20" }); // 20 of the 30 deposited
    await post("/games/bets/", {
      wallet_id: limited.wallet_id,
      currency,
      amount: "10",
      transaction_id: "ev-bet-3",
      round_id: "ev-round-3",
    }); // limit.reached
    const held = await deposit(test, { externalId: "eventful-limited", currency, amount: "50", txHash: "ev-3", confirmations: 19 });
    assert.equal(held.status, 200, JSON.stringify(held.body)); // 10 credited, 40 held: limit.reached
    await post(`/wallets/${limited.wallet_id}/exclusions/`, { kind: "timeout", duration_days: 1 }); // exclusion.started
    // Two days on: the exclusion has ended, the raise applied, and the deposit window has room for 30 of the 40 held.
    clock.now += 2 * 24 * 3_600_000;
    await test.services.sweep(new Date(clock.now).toISOString()); // exclusion.ended, limits.changed, deposit.released

    // The hold of one second expires by itself (the sweeper runs every 50 ms here).
    const deadline = Date.now() + 5000;
    const read = async () =>
      (await test.services.events.after(test.tenant.tenantId, 0, undefined)).map((event) => JSON.parse(event.payload));
    let payloads = await read();
    while (!payloads.some((payload) => payload.type === "hold.expired")) {
      assert.ok(Date.now() < deadline, "the one-second hold did not expire within 5 s");
      await new Promise((resolve) => setTimeout(resolve, 100));
      payloads = await read();
    }

    const contract = Contract.of(test.app);
    const problems = payloads.map((payload) => contract.eventProblem(payload)).filter((problem) => problem !== undefined);
    assert.deepEqual(problems, []);
    assert.deepEqual([...new Set(payloads.map((payload) => payload.type))].sort(), [...EVENT_TYPES].sort());
    const master = payloads.find((payload) => payload.type === "deposit.confirmed" && payload.wallet === null);
    assert.ok(master, "the master account's deposit has wallet null");
    const capture = payloads.find((payload) => payload.type === "hold.captured");
    assert.equal(capture?.released_transfer?.amount, "20.00");
    // A held deposit released in part: the part posted, and the part still held (on a new pending transfer).
    const released = payloads.find((payload) => payload.type === "deposit.released");
    assert.deepEqual([released?.transfer?.amount, released?.released_transfer?.amount, released?.deposit], ["30.00", "10.00", null]);
  });

  it("refuses a payload with a property the document does not name, or a type's missing part", () => {
    const contract = Contract.of(test.app);
    const payload = {
      id: "0190a1b2-c3d4-7e5f-8a9b-000000000001",
      type: "transfer.posted",
      created_at: "2024-06-11T10:00:00.000Z",
      tenant_id: "t",
      wallet: { id: "0190a1b2-c3d4-7e5f-8a9b-000000000002", name: "P", external_id: "p", wallet_id: "w_abcdefghijkl" },
      currency: "BTC",
      balance: { currency: "BTC", amount: "1.00", pending_amount: "0.00", available_balance: "1.00" },
      account_version: 2,
      transfer: {
        id: "0190a1b2-c3d4-7e5f-8a9b-000000000003",
        transfer_type: "to_sub",
        currency: "BTC",
        amount: "1.00",
        status: "posted",
        created_at: "2024-06-11T10:00:00.000Z",
        transaction_id: null,
        round_id: null,
        tx_hash: null,
        hold_id: null,
        withdrawal_id: null,
      },
      released_transfer: null,
      deposit: null,
    };
    assert.equal(contract.eventProblem(payload), undefined);
    assert.match(String(contract.eventProblem({ ...payload, bonus: 1 })), /additional/);
    assert.match(String(contract.eventProblem({ ...payload, transfer: null })), /transfer/);
    assert.match(String(contract.eventProblem({ ...payload, type: "transfer.unknown" })), /not under webhooks/);
  });
});
