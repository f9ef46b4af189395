import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { loadConfig } from "../../src/config.js";
import { buildApp } from "../../src/http/app.js";
import { createRuntime } from "../../src/runtime.js";
import {
  balances,
  type CallResult,
  call,
  createTestDatabase,
  createWallet,
  deposit,
  startApp,
  type Tenant,
  type TestApp,
} from "../helpers.js";

const CURRENCY = "USDTTRC20";

const balance = (amount: string, pending: string, available: string) => ({
  currency: CURRENCY,
  amount,
  pending_amount: pending,
  available_balance: available,
});

describe("holds (two-phase transfers)", () => {
  let test: TestApp;
  let other: Tenant;
  let txCounter = 0;

  before(async () => {
    test = await startApp({ sweepIntervalMs: 200 });
    await test.app.ready();
    other = await test.newTenant("Other Casino");
  });
  after(() => test.close());

  /** A fresh tenant with one wallet holding `amount` confirmed, so master balances start at zero. */
  async function fundedWallet(externalId: string, amount: string): Promise<{ tenant: Tenant; walletId: string }> {
    const tenant = await test.newTenant(`Casino ${externalId}`);
    const wallet = await createWallet(test, externalId, undefined, tenant.apiKey);
    txCounter += 1;
    const funded = await deposit(test, {
      tenantId: tenant.tenantId,
      externalId,
      currency: CURRENCY,
      amount,
      txHash: `hold-funding-${txCounter}`,
      confirmations: 1_000,
    });
    assert.equal(funded.status, 200, JSON.stringify(funded.body));
    return { tenant, walletId: wallet.wallet_id };
  }

  const place = (tenant: Tenant, body: object, headers?: Record<string, string>) =>
    call(test.app, "POST", "/holds/", { key: tenant.apiKey, body, ...(headers ? { headers } : {}) });
  const capture = (tenant: Tenant, id: string, body: object = {}) =>
    call(test.app, "POST", `/holds/${id}/capture/`, { key: tenant.apiKey, body });
  const voidHold = (tenant: Tenant, id: string) => call(test.app, "POST", `/holds/${id}/void/`, { key: tenant.apiKey });
  const getHold = (tenant: Tenant, id: string) => call(test.app, "GET", `/holds/${id}/`, { key: tenant.apiKey });
  const walletBalance = async (tenant: Tenant, externalId: string) => {
    const response = await balances(test, { external_id: externalId }, tenant.apiKey);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return response.body.balances.find((entry: { currency: string }) => entry.currency === CURRENCY);
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
  const expectError = (response: CallResult, status: number, code: string) => {
    assert.equal(response.status, status, JSON.stringify(response.body));
    assert.equal(response.body.error.code, code, JSON.stringify(response.body));
  };

  it("moves the held funds from available into pending_amount", async () => {
    const { tenant, walletId } = await fundedWallet("holder", "100");
    const placed = await place(tenant, { wallet_id: walletId, currency: "usdttrc20", amount: "30", reference: "order-1" });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    const { hold } = placed.body;
    assert.deepEqual(
      { ...hold, id: "", expires_at: "", created_at: "", updated_at: "" },
      {
        id: "",
        status: "pending",
        currency: CURRENCY,
        amount: "30.00",
        captured_amount: "0.00",
        reference: "order-1",
        expires_at: "",
        created_at: "",
        updated_at: "",
      },
    );
    assert.match(hold.id, /^[0-9a-f-]{36}$/);
    // The default timeout is one hour.
    assert.equal(Date.parse(hold.expires_at) - Date.parse(hold.created_at), 3600 * 1000);
    assert.deepEqual(placed.body.balance, balance("100.00", "30.00", "70.00"));
    assert.deepEqual(await walletBalance(tenant, "holder"), balance("100.00", "30.00", "70.00"));
    // The master account sees the incoming side as pending credit, not yet available.
    assert.deepEqual(await masterBalance(tenant), balance("30.00", "30.00", "0.00"));
    const read = await getHold(tenant, hold.id);
    assert.equal(read.status, 200);
    assert.deepEqual(read.body.hold, hold);
  });

  it("refuses a hold over the available balance and changes nothing", async () => {
    const { tenant } = await fundedWallet("short", "10");
    const first = await place(tenant, { external_id: "short", currency: CURRENCY, amount: "6" });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const before = await historyTotal(tenant, "short");
    const refused = await place(tenant, { external_id: "short", currency: CURRENCY, amount: "4.000001" });
    expectError(refused, 400, "insufficient_funds");
    assert.equal(refused.body.error.details.available_balance, "4.00");
    assert.deepEqual(await walletBalance(tenant, "short"), balance("10.00", "6.00", "4.00"));
    assert.equal(await historyTotal(tenant, "short"), before);
    // Exactly the available balance still fits.
    const exact = await place(tenant, { external_id: "short", currency: CURRENCY, amount: "4" });
    assert.equal(exact.status, 201, JSON.stringify(exact.body));
    assert.deepEqual(exact.body.balance, balance("10.00", "10.00", "0.00"));
  });

  it("captures a hold in full", async () => {
    const { tenant } = await fundedWallet("full", "100");
    const placed = await place(tenant, { external_id: "full", currency: CURRENCY, amount: "40" });
    assert.equal(placed.status, 201);
    const captured = await capture(tenant, placed.body.hold.id);
    assert.equal(captured.status, 200, JSON.stringify(captured.body));
    assert.equal(captured.body.hold.status, "posted");
    assert.equal(captured.body.hold.captured_amount, "40.00");
    assert.equal(captured.body.hold.amount, "40.00");
    assert.deepEqual(captured.body.balance, balance("60.00", "0.00", "60.00"));
    assert.deepEqual(await walletBalance(tenant, "full"), balance("60.00", "0.00", "60.00"));
    assert.deepEqual(await masterBalance(tenant), balance("40.00", "0.00", "40.00"));
    const read = await getHold(tenant, placed.body.hold.id);
    assert.equal(read.body.hold.status, "posted");
    assert.equal(read.body.hold.captured_amount, "40.00");
  });

  it("captures part of a hold: the part goes to the master, the rest back to available", async () => {
    const { tenant } = await fundedWallet("partial", "100");
    const placed = await place(tenant, { external_id: "partial", currency: CURRENCY, amount: "50" });
    assert.equal(placed.status, 201);
    assert.deepEqual(placed.body.balance, balance("100.00", "50.00", "50.00"));
    const captured = await capture(tenant, placed.body.hold.id, { amount: "20" });
    assert.equal(captured.status, 200, JSON.stringify(captured.body));
    assert.equal(captured.body.hold.status, "posted");
    assert.equal(captured.body.hold.amount, "50.00");
    assert.equal(captured.body.hold.captured_amount, "20.00");
    assert.deepEqual(captured.body.balance, balance("80.00", "0.00", "80.00"));
    assert.deepEqual(await walletBalance(tenant, "partial"), balance("80.00", "0.00", "80.00"));
    assert.deepEqual(await masterBalance(tenant), balance("20.00", "0.00", "20.00"));
  });

  it("shows a partial capture truthfully: 10 of 30 posted and 20 voided, in history and in the hold.captured event", async () => {
    const { tenant } = await fundedWallet("truthful", "100");
    const placed = await place(tenant, { external_id: "truthful", currency: CURRENCY, amount: "30" });
    const history = async () => {
      const response = await call(test.app, "POST", "/wallets/transfer-history/", {
        key: tenant.apiKey,
        body: { external_id: "truthful" },
      });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      return (response.body.transfers as { transfer_type: string; amount: string; status: string }[]).map(
        ({ transfer_type, amount, status }) => `${transfer_type} ${amount} ${status}`,
      );
    };
    assert.deepEqual(await history(), ["hold 30.00 pending", "deposit 100.00 posted"]);
    const captured = await capture(tenant, placed.body.hold.id, { amount: "10" });
    assert.equal(captured.status, 200, JSON.stringify(captured.body));
    assert.deepEqual(captured.body.balance, balance("90.00", "0.00", "90.00"));
    assert.deepEqual(await history(), ["hold 10.00 posted", "hold 20.00 voided", "deposit 100.00 posted"]);
    const events = await test.services.events.after(tenant.tenantId, 0, undefined);
    const event = JSON.parse(events.find((entry) => entry.type === "hold.captured")?.payload ?? "null");
    assert.equal(event.transfer.transfer_type, "hold");
    assert.equal(event.transfer.amount, "10.00");
    assert.equal(event.transfer.status, "posted");
    assert.equal(event.released_transfer.amount, "20.00");
    assert.equal(event.released_transfer.status, "voided");
    assert.equal(event.balance.available_balance, "90.00");
    const filtered = await call(test.app, "POST", "/wallets/transfer-history/", {
      key: tenant.apiKey,
      body: { external_id: "truthful", transfer_type: "hold", status: "posted" },
    });
    assert.deepEqual(
      filtered.body.transfers.map((entry: { amount: string }) => entry.amount),
      ["10.00"],
    );
  });

  it("shows a full capture once as posted and a void once as voided", async () => {
    const { tenant } = await fundedWallet("whole", "100");
    const full = await place(tenant, { external_id: "whole", currency: CURRENCY, amount: "30" });
    const voided = await place(tenant, { external_id: "whole", currency: CURRENCY, amount: "5" });
    assert.equal((await capture(tenant, full.body.hold.id)).status, 200);
    assert.equal((await voidHold(tenant, voided.body.hold.id)).status, 200);
    const response = await call(test.app, "POST", "/wallets/transfer-history/", { key: tenant.apiKey, body: { external_id: "whole" } });
    const rows = response.body.transfers.map((entry: { amount: string; status: string }) => `${entry.amount} ${entry.status}`);
    assert.deepEqual(rows, ["30.00 posted", "5.00 voided", "100.00 posted"]);
  });

  it("refuses to capture more than the hold and leaves it pending", async () => {
    const { tenant } = await fundedWallet("greedy", "100");
    const placed = await place(tenant, { external_id: "greedy", currency: CURRENCY, amount: "50" });
    const refused = await capture(tenant, placed.body.hold.id, { amount: "50.000001" });
    expectError(refused, 400, "invalid_request");
    const zero = await capture(tenant, placed.body.hold.id, { amount: "0" });
    expectError(zero, 400, "invalid_request");
    assert.equal((await getHold(tenant, placed.body.hold.id)).body.hold.status, "pending");
    assert.deepEqual(await walletBalance(tenant, "greedy"), balance("100.00", "50.00", "50.00"));
    // Capturing exactly the hold still works afterwards.
    const exact = await capture(tenant, placed.body.hold.id, { amount: "50" });
    assert.equal(exact.status, 200, JSON.stringify(exact.body));
    assert.deepEqual(exact.body.balance, balance("50.00", "0.00", "50.00"));
  });

  it("voids a hold and restores the available balance", async () => {
    const { tenant } = await fundedWallet("voider", "100");
    const placed = await place(tenant, { external_id: "voider", currency: CURRENCY, amount: "25.5" });
    assert.deepEqual(placed.body.balance, balance("100.00", "25.50", "74.50"));
    const voided = await voidHold(tenant, placed.body.hold.id);
    assert.equal(voided.status, 200, JSON.stringify(voided.body));
    assert.equal(voided.body.hold.status, "voided");
    assert.equal(voided.body.hold.captured_amount, "0.00");
    assert.deepEqual(voided.body.balance, balance("100.00", "0.00", "100.00"));
    assert.deepEqual(await walletBalance(tenant, "voider"), balance("100.00", "0.00", "100.00"));
    assert.deepEqual(await masterBalance(tenant), balance("0.00", "0.00", "0.00"));
  });

  it("answers 409 to capturing or voiding a finished hold, and changes nothing", async () => {
    const { tenant } = await fundedWallet("finished", "100");
    const captured = await place(tenant, { external_id: "finished", currency: CURRENCY, amount: "10" });
    assert.equal((await capture(tenant, captured.body.hold.id)).status, 200);
    const voided = await place(tenant, { external_id: "finished", currency: CURRENCY, amount: "20" });
    assert.equal((await voidHold(tenant, voided.body.hold.id)).status, 200);
    const settled = balance("90.00", "0.00", "90.00");
    assert.deepEqual(await walletBalance(tenant, "finished"), settled);

    const captureAgain = await capture(tenant, captured.body.hold.id);
    expectError(captureAgain, 409, "conflict");
    assert.equal(captureAgain.body.error.details.status, "posted");
    expectError(await voidHold(tenant, captured.body.hold.id), 409, "conflict");
    const voidAgain = await voidHold(tenant, voided.body.hold.id);
    expectError(voidAgain, 409, "conflict");
    assert.equal(voidAgain.body.error.details.status, "voided");
    expectError(await capture(tenant, voided.body.hold.id, { amount: "1" }), 409, "conflict");

    assert.deepEqual(await walletBalance(tenant, "finished"), settled);
    assert.equal((await getHold(tenant, captured.body.hold.id)).body.hold.status, "posted");
    assert.equal((await getHold(tenant, voided.body.hold.id)).body.hold.status, "voided");
  });

  it("answers 404 for another tenant's hold and for an unknown hold", async () => {
    const { tenant } = await fundedWallet("private", "100");
    const placed = await place(tenant, { external_id: "private", currency: CURRENCY, amount: "10" });
    const id = placed.body.hold.id;
    expectError(await getHold(other, id), 404, "not_found");
    expectError(await capture(other, id), 404, "not_found");
    expectError(await voidHold(other, id), 404, "not_found");
    expectError(await getHold(tenant, "00000000-0000-4000-8000-000000000000"), 404, "not_found");
    expectError(await capture(tenant, "00000000-0000-4000-8000-000000000000"), 404, "not_found");
    expectError(await voidHold(tenant, "not-a-uuid"), 404, "not_found");
    // Another tenant cannot place a hold on this wallet either.
    expectError(await place(other, { external_id: "private", currency: CURRENCY, amount: "1" }), 404, "not_found");
    assert.equal((await getHold(tenant, id)).body.hold.status, "pending");
    assert.deepEqual(await walletBalance(tenant, "private"), balance("100.00", "10.00", "90.00"));
  });

  it("replays a hold placed again with the same Idempotency-Key", async () => {
    const { tenant } = await fundedWallet("repeat", "100");
    const body = { external_id: "repeat", currency: CURRENCY, amount: "15" };
    const first = await place(tenant, body, { "idempotency-key": "hold-once" });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const second = await place(tenant, body, { "idempotency-key": "hold-once" });
    assert.equal(second.status, 201, JSON.stringify(second.body));
    assert.equal(second.headers["idempotency-replayed"], "true");
    assert.equal(second.body.hold.id, first.body.hold.id);
    assert.deepEqual(await walletBalance(tenant, "repeat"), balance("100.00", "15.00", "85.00"));
  });

  it("expires a hold by itself when its timeout passes, with the sweeper running", async () => {
    const { tenant } = await fundedWallet("expiring", "100");
    const placed = await place(tenant, { external_id: "expiring", currency: CURRENCY, amount: "35", timeout_seconds: 1 });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    const { hold } = placed.body;
    assert.equal(Date.parse(hold.expires_at) - Date.parse(hold.created_at), 1000);
    assert.deepEqual(placed.body.balance, balance("100.00", "35.00", "65.00"));
    const status = await pollHoldStatus((id) => getHold(tenant, id), hold.id, "expired", 3_000);
    assert.equal(status, "expired");
    assert.deepEqual(await walletBalance(tenant, "expiring"), balance("100.00", "0.00", "100.00"));
    assert.deepEqual(await masterBalance(tenant), balance("0.00", "0.00", "0.00"));
    const late = await capture(tenant, hold.id);
    expectError(late, 409, "conflict");
    assert.equal(late.body.error.details.status, "expired");
    expectError(await voidHold(tenant, hold.id), 409, "conflict");
  });

  it("refuses timeouts outside the allowed range", async () => {
    const { tenant } = await fundedWallet("bounds", "100");
    expectError(
      await place(tenant, { external_id: "bounds", currency: CURRENCY, amount: "1", timeout_seconds: 0 }),
      400,
      "invalid_request",
    );
    expectError(
      await place(tenant, { external_id: "bounds", currency: CURRENCY, amount: "1", timeout_seconds: 30 * 24 * 3600 + 1 }),
      400,
      "invalid_request",
    );
    assert.deepEqual(await walletBalance(tenant, "bounds"), balance("100.00", "0.00", "100.00"));
  });

  it("leaves a ledger that verifies", async () => {
    const report = await test.services.verify();
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    assert.ok(report.transfers > 20, `only ${report.transfers} transfers`);
  });
});

/** Polls GET /holds/{id}/ until the hold has `wanted` status or the deadline passes; the last status. */
async function pollHoldStatus(read: (id: string) => Promise<CallResult>, id: string, wanted: string, withinMs: number): Promise<string> {
  const deadline = Date.now() + withinMs;
  let status = "";
  for (;;) {
    const response = await read(id);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    status = response.body.hold.status;
    if (status === wanted || Date.now() > deadline) return status;
    await sleep(50);
  }
}

describe("hold expiry across a restart", () => {
  /** An app of our own on a given database, so it can be closed and reopened on the same data. */
  async function openApp(databaseUrl: string, sweepIntervalMs: number) {
    const config = { ...loadConfig({}), databaseUrl, sweepIntervalMs };
    const runtime = await createRuntime(config);
    const app = await buildApp({ services: runtime.services, config });
    return {
      app,
      services: runtime.services,
      /** Starts the background workers, the sweeper among them, as the server does once it listens. */
      start: () => runtime.start({ log: app.log }),
      async close() {
        await app.close();
        await runtime.close();
      },
    };
  }

  it("expires a hold whose timeout passed while no process was running", async () => {
    const database = await createTestDatabase();
    let running: Awaited<ReturnType<typeof openApp>> | undefined;
    try {
      // First process: its sweeper would only run after a minute, so it never sees the expiry.
      const first = await openApp(database.url, 60_000);
      running = first;
      first.start();
      const tenant = await first.services.credentials.createTenant("Restarting Casino");
      const systemKey = (await first.services.credentials.createSystemKey(["deposits"])).apiKey;
      const created = await call(first.app, "POST", "/wallets/", { key: tenant.apiKey, body: { name: "Sleeper", external_id: "sleeper" } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const funded = await call(first.app, "POST", "/deposits/", {
        key: systemKey,
        body: {
          tenant_id: tenant.tenantId,
          external_id: "sleeper",
          currency: CURRENCY,
          amount: "100",
          tx_hash: "restart-funding",
          confirmations: 1_000,
        },
      });
      assert.equal(funded.status, 200, JSON.stringify(funded.body));
      const placed = await call(first.app, "POST", "/holds/", {
        key: tenant.apiKey,
        body: { external_id: "sleeper", currency: CURRENCY, amount: "60", timeout_seconds: 1 },
      });
      assert.equal(placed.status, 201, JSON.stringify(placed.body));
      assert.deepEqual(placed.body.balance, balance("100.00", "60.00", "40.00"));
      const holdId: string = placed.body.hold.id;
      await first.close();
      running = undefined;

      await sleep(1_300);

      const second = await openApp(database.url, 200);
      running = second;
      const read = (id: string) => call(second.app, "GET", `/holds/${id}/`, { key: tenant.apiKey });
      const readBalance = async () =>
        (await call(second.app, "POST", "/wallets/balances/", { key: tenant.apiKey, body: { external_id: "sleeper" } })).body.balances[0];
      // Before the new process is ready nothing has swept: the hold is still stored as pending,
      // though it can no longer be captured.
      assert.equal((await read(holdId)).body.hold.status, "pending");
      assert.deepEqual(await readBalance(), balance("100.00", "60.00", "40.00"));
      const late = await call(second.app, "POST", `/holds/${holdId}/capture/`, { key: tenant.apiKey, body: {} });
      assert.equal(late.status, 409, JSON.stringify(late.body));
      assert.equal(late.body.error.details.status, "expired");

      second.start();
      const status = await pollHoldStatus(read, holdId, "expired", 3_000);
      assert.equal(status, "expired");
      assert.deepEqual(await readBalance(), balance("100.00", "0.00", "100.00"));
      const report = await second.services.verify();
      assert.equal(report.ok, true, JSON.stringify(report.problems));
      assert.ok(report.transfers >= 3, `only ${report.transfers} transfers`);
    } finally {
      await running?.close();
      await database.drop();
    }
  });
});
