import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { createWalletClient, type paths, requestToken, type Schemas, type WalletClient } from "../../sdk/client.js";
import { Contract } from "../contract.js";
import { startApp, type TestApp } from "../helpers.js";

/**
 * The README's walk-through, step by step, through the typed client of sdk/ (openapi-fetch over
 * the generated types) against the service listening on 127.0.0.1 on a fresh database: create
 * a wallet, deposits from the chain watcher's system key, the specification's two balance
 * requests, an OAuth token, master funding and transfers, the history, the master balances,
 * and a bet, a win and a rollback.
 */
describe("the README walk-through through the typed client", () => {
  let test: TestApp;
  let baseUrl = "";

  before(async () => {
    test = await startApp();
    await test.app.listen({ port: 0, host: "127.0.0.1" });
    baseUrl = `http://127.0.0.1:${(test.app.server.address() as AddressInfo).port}`;
  });
  after(() => test.close());

  /** Every answer the client receives is checked against the OpenAPI document too. */
  const offContract: string[] = [];
  const checked = (client: WalletClient): WalletClient => {
    client.use({
      async onResponse({ request, response }) {
        const url = new URL(request.url);
        const problem = Contract.of(test.app).problem({
          method: request.method,
          url: `${url.pathname}${url.search}`,
          status: response.status,
          contentType: response.headers.get("content-type") ?? undefined,
          body: await response.clone().text(),
        });
        if (problem) offContract.push(problem);
      },
    });
    return client;
  };

  it("runs from a new wallet to a settled game round", async () => {
    const { tenantId, apiKey, clientId, clientSecret } = test.tenant;
    const wallet = checked(createWalletClient({ baseUrl, apiKey }));
    const chainWatcher = checked(createWalletClient({ baseUrl, apiKey: test.systemKey }));

    // Create a player wallet.
    const created = await wallet.POST("/wallets/", { body: { name: "Player 12345", external_id: "player-12345" } });
    assert.equal(created.response.status, 201, JSON.stringify(created.error));
    assert.ok(created.data);
    assert.equal(created.data.name, "Player 12345");
    assert.equal(created.data.external_id, "player-12345");
    assert.match(created.data.wallet_id, /^w_[a-z0-9]{12,}$/);
    assert.deepEqual(created.data.balances, []);
    const walletId = created.data.wallet_id;

    // Deposits from the chain watcher: below the required confirmations a deposit is pending.
    const deposit = async (body: Omit<DepositBody, "tenant_id">) => {
      const answer = await chainWatcher.POST("/deposits/", { body: { tenant_id: tenantId, ...body } });
      assert.equal(answer.response.status, 200, JSON.stringify(answer.error));
      assert.ok(answer.data);
      return answer.data.deposit;
    };
    const usdt = "USDTTRC20";
    assert.equal(
      (await deposit({ external_id: "player-12345", currency: usdt, amount: "400", tx_hash: "t1", confirmations: 19 })).status,
      "confirmed",
    );
    const pending = await deposit({ external_id: "player-12345", currency: usdt, amount: "100", tx_hash: "t2", confirmations: 3 });
    assert.deepEqual([pending.status, pending.confirmations, pending.required_confirmations, pending.amount], ["pending", 3, 19, "100.00"]);
    assert.equal(
      (await deposit({ external_id: "player-12345", currency: "BTC", amount: "0.025", tx_hash: "b1", confirmations: 2 })).status,
      "confirmed",
    );

    // The specification's two example requests answer the same, exactly as the README shows.
    const expected: Schemas["WalletBalances"] = {
      account: { id: created.data.id, name: "Player 12345", external_id: "player-12345", wallet_id: walletId },
      balances: [
        { currency: usdt, amount: "500.00", pending_amount: "100.00", available_balance: "400.00" },
        { currency: "BTC", amount: "0.025", pending_amount: "0.00", available_balance: "0.025" },
      ],
    };
    const byWalletId = await wallet.POST("/wallets/balances/", { body: { wallet_id: walletId } });
    assert.deepEqual(byWalletId.data, expected);
    const byExternalId = await wallet.POST("/wallets/balances/", { body: { external_id: "player-12345" } });
    assert.deepEqual(byExternalId.data, expected);

    // With OAuth 2.0 instead of an API key.
    const token = await requestToken({ baseUrl, clientId, clientSecret });
    assert.equal(token.token_type, "Bearer");
    assert.ok(token.expires_in > 0);
    const oauth = checked(createWalletClient({ baseUrl, token: token.access_token }));
    assert.deepEqual((await oauth.POST("/wallets/balances/", { body: { external_id: "player-12345" } })).data, expected);
    const refreshing = createWalletClient({
      baseUrl,
      token: async () => (await requestToken({ baseUrl, clientId, clientSecret, scope: "read" })).access_token,
    });
    const readOnly = await refreshing.POST("/wallets/balances/", { body: { external_id: "player-12345" } });
    assert.equal(readOnly.response.status, 403);
    assert.equal(readOnly.error?.error.code, "forbidden");

    // Fund the master account, then move funds.
    const master = await deposit({ master: true, currency: usdt, amount: "10000", tx_hash: "m1", confirmations: 19 });
    assert.equal(master.status, "confirmed");
    const toUser = await wallet.POST("/wallets/transfer-to-user/", {
      body: { external_id: "player-12345", currency: usdt, amount: "25.50" },
    });
    assert.deepEqual(
      toUser.data && { type: toUser.data.transfer.transfer_type, amount: toUser.data.transfer.amount, status: toUser.data.transfer.status },
      { type: "to_sub", amount: "25.50", status: "posted" },
    );
    const toMaster = await wallet.POST("/wallets/withdraw-to-master/", {
      body: { external_id: "player-12345", currency: usdt, amount: "10" },
      headers: { "Idempotency-Key": "walkthrough-withdraw-1" },
    });
    assert.equal(toMaster.data?.transfer.transfer_type, "to_master");
    assert.equal(toMaster.data?.transfer.amount, "10.00");
    const replayed = await wallet.POST("/wallets/withdraw-to-master/", {
      body: { external_id: "player-12345", currency: usdt, amount: "10" },
      headers: { "Idempotency-Key": "walkthrough-withdraw-1" },
    });
    assert.equal(replayed.response.headers.get("idempotency-replayed"), "true");
    assert.deepEqual(replayed.data, toMaster.data);

    const history = await wallet.POST("/wallets/transfer-history/", { body: { external_id: "player-12345", limit: 20 } });
    assert.ok(history.data);
    assert.equal(history.data.account.wallet_id, walletId);
    assert.deepEqual(
      history.data.transfers.map((transfer) => [transfer.transfer_type, transfer.currency, transfer.amount, transfer.status]),
      [
        ["to_master", usdt, "10.00", "posted"],
        ["to_sub", usdt, "25.50", "posted"],
        ["deposit", "BTC", "0.025", "posted"],
        ["deposit", usdt, "100.00", "pending"],
        ["deposit", usdt, "400.00", "posted"],
      ],
    );
    assert.deepEqual(history.data.pagination, { total: 5, limit: 20, offset: 0 });

    const masterBalances = await wallet.GET("/master/balances/");
    assert.deepEqual(masterBalances.data, {
      balances: [{ currency: usdt, amount: "9984.50", pending_amount: "0.00", available_balance: "9984.50" }],
    });

    // A bet, its win, and a rollback of another bet (never seen: tombstoned, answered with the balance).
    const bet = await wallet.POST("/games/bets/", {
      body: { external_id: "player-12345", currency: usdt, amount: "10", transaction_id: "bet-1001", round_id: "round-77" },
    });
    assert.ok(bet.data);
    assert.deepEqual(
      { ...bet.data.transaction, created_at: "" },
      {
        transaction_id: "bet-1001",
        type: "bet",
        round_id: "round-77",
        bet_transaction_id: null,
        currency: usdt,
        amount: "10.00",
        status: "completed",
        created_at: "",
      },
    );
    assert.deepEqual(bet.data.balance, { currency: usdt, amount: "505.50", pending_amount: "100.00", available_balance: "405.50" });
    const win = await wallet.POST("/games/wins/", {
      body: {
        external_id: "player-12345",
        currency: usdt,
        amount: "25",
        transaction_id: "win-1001",
        round_id: "round-77",
        bet_transaction_id: "bet-1001",
      },
    });
    assert.equal(win.data?.transaction.type, "win");
    assert.deepEqual(win.data?.balance, { currency: usdt, amount: "530.50", pending_amount: "100.00", available_balance: "430.50" });
    const rollback = await wallet.POST("/games/rollbacks/", {
      body: {
        external_id: "player-12345",
        currency: usdt,
        transaction_id: "rb-1002",
        round_id: "round-78",
        bet_transaction_id: "bet-1002",
      },
    });
    assert.equal(rollback.response.status, 200, JSON.stringify(rollback.error));
    assert.equal(rollback.data?.transaction.type, "rollback");
    assert.deepEqual(rollback.data?.balance, win.data?.balance);

    // An error answers in the envelope, typed as the document says.
    const overdraft = await wallet.POST("/wallets/withdraw-to-master/", {
      body: { external_id: "player-12345", currency: "BTC", amount: "1" },
    });
    assert.equal(overdraft.response.status, 400);
    assert.equal(overdraft.error?.error.code, "insufficient_funds");
    assert.deepEqual(offContract, []);
  });
});

/** The body of POST /deposits/, as the generated types name it. */
type DepositBody = paths["/deposits/"]["post"]["requestBody"]["content"]["application/json"];
