import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { assertError, balances, type CallResult, call, createWallet, deposit, fundMaster, startApp, type TestApp } from "../helpers.js";

/**
 * The input rules of DESIGN 1.1, one describe per rule of issue 9, through the real HTTP stack
 * on both stores: text is taken exactly as sent or refused, types are strict, body-less routes
 * refuse bodies, every answer is in the envelope, validation details have one shape.
 */

const CURRENCY = "USDTTRC20";

/** Sends a raw payload (a string with JSON escapes kept as written, or bytes) as JSON. */
async function raw(test: TestApp, method: string, url: string, payload: string | Buffer, key = test.tenant.apiKey): Promise<CallResult> {
  const response = await test.app.inject({
    method: method as "POST",
    url,
    payload,
    headers: { "content-type": "application/json", "x-api-key": key },
  });
  return { status: response.statusCode, body: response.body === "" ? undefined : JSON.parse(response.body), headers: response.headers };
}

/** Writes bytes to a real socket of the listening app and reads the whole answer. */
function rawHttp(port: number, request: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const [head = "", body = ""] = text.split("\r\n\r\n");
      resolve({ status: Number(head.split(" ")[1]), body });
    });
  });
}

/** The validation details' one shape, naming this field. */
function assertField(response: CallResult, field: string): string {
  const details = assertError(response, 400, "invalid_request");
  const fields = details.fields as { field: string; problem: string }[];
  assert.ok(Array.isArray(fields), `details.fields is a list: ${JSON.stringify(details)}`);
  assert.deepEqual(Object.keys(details), ["fields"], JSON.stringify(details));
  for (const entry of fields) {
    assert.deepEqual(Object.keys(entry).sort(), ["field", "problem"]);
    assert.equal(typeof entry.problem, "string");
  }
  assert.equal(new Set(fields.map((entry) => entry.field)).size, fields.length, "one problem per field");
  const named = fields.find((entry) => entry.field === field);
  assert.ok(named, `details name ${field}: ${JSON.stringify(fields)}`);
  return named.problem;
}

describe("input rules at the edge", () => {
  let test: TestApp;
  let walletId: string;

  before(async () => {
    test = await startApp();
    await test.app.ready();
    walletId = (await createWallet(test, "rules-player")).wallet_id;
    await fundMaster(test, CURRENCY, "1000", "rules-master");
    const funded = await deposit(test, {
      externalId: "rules-player",
      currency: CURRENCY,
      amount: "100",
      txHash: "rules-1",
      confirmations: 100,
    });
    assert.equal(funded.status, 200);
  });
  after(() => test.close());

  const bet = (fields: string) =>
    `{"external_id":"rules-player","currency":"${CURRENCY}","amount":"1","transaction_id":"t-1","round_id":"r-1"${fields}}`;

  describe("1. strings are text, exactly as sent", () => {
    it("refuses a NUL byte in wallet_id on every route that names a wallet, on both stores", async () => {
      const nul = { wallet_id: "w_abc\u0000def" };
      const money = { currency: CURRENCY, amount: "1" };
      const game = { ...money, transaction_id: "nul-t", round_id: "nul-r" };
      const routes: [string, object][] = [
        ["/wallets/balances/", nul],
        ["/wallets/transfer-to-user/", { ...nul, ...money }],
        ["/wallets/withdraw-to-master/", { ...nul, ...money }],
        ["/wallets/transfer-history/", nul],
        ["/games/bets/", { ...nul, ...game }],
        ["/games/wins/", { ...nul, ...game, bet_transaction_id: "b" }],
        ["/games/rollbacks/", { ...nul, ...game, bet_transaction_id: "b" }],
        ["/holds/", { ...nul, ...money }],
        ["/withdrawals/", { ...nul, ...money, address: "TXabc" }],
      ];
      for (const [url, body] of routes) {
        const problem = assertField(await call(test.app, "POST", url, { key: test.tenant.apiKey, body }), "wallet_id");
        assert.match(problem, /control character/);
      }
      const batch = { movements: [{ type: "bet", ...nul, ...game }] };
      assertField(await call(test.app, "POST", "/batches/", { key: test.tenant.apiKey, body: batch }), "movements.0.wallet_id");
    });

    it("refuses NUL in a query parameter, a path parameter and the token request's client_id", async () => {
      assertField(await call(test.app, "GET", "/wallets/?search=%00", { key: test.tenant.apiKey }), "search");
      assertField(await call(test.app, "GET", "/wallets/events/?wallet_id=%00", { key: test.tenant.apiKey }), "wallet_id");
      assertField(await call(test.app, "GET", "/holds/%00/", { key: test.tenant.apiKey }), "id");
      const token = await test.app.inject({
        method: "POST",
        url: "/o/token/",
        payload: "grant_type=client_credentials&client_id=cl_%00&client_secret=x",
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      assert.equal(token.statusCode, 400, token.body);
      assert.equal(JSON.parse(token.body).error, "invalid_request");
    });

    it("refuses malformed or non-text Basic credentials on the token route with an RFC 6749 400", async () => {
      for (const credentials of [Buffer.from("cl_%zz:secret"), Buffer.from("cl_%00:secret"), Buffer.from([0x63, 0xff, 0x3a, 0x78])]) {
        const token = await test.app.inject({
          method: "POST",
          url: "/o/token/",
          payload: "grant_type=client_credentials",
          headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${credentials.toString("base64")}` },
        });
        assert.equal(token.statusCode, 400, token.body);
        assert.deepEqual(Object.keys(JSON.parse(token.body)).sort(), ["error", "error_description"]);
      }
    });

    it("refuses lone surrogates: two different ids never become one wallet", async () => {
      const created = await raw(test, "POST", "/wallets/", '{"name":"Lone","external_id":"lone-7027\\ud800"}');
      assertField(created, "external_id");
      assertField(await raw(test, "POST", "/wallets/balances/", '{"external_id":"lone-7027\\udfff"}'), "external_id");
      assertField(
        await raw(test, "POST", "/games/bets/", bet(',"extra":"x"').replace('"r-1"', '"r-\\ud800"').replace(',"extra":"x"', "")),
        "round_id",
      );
      assertField(await raw(test, "POST", "/games/bets/", bet("").replace('"t-1"', '"t-\\udfff"')), "transaction_id");
    });

    it("refuses a body that is not valid UTF-8 instead of repairing it", async () => {
      const bytes = Buffer.concat([Buffer.from('{"name":"Bad","external_id":"utf8-'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
      assertField(await raw(test, "POST", "/wallets/", bytes), "body");
      const truncated = Buffer.concat([Buffer.from('{"external_id":"x'), Buffer.from([0xe2, 0x82]), Buffer.from('"}')]);
      assertField(await raw(test, "POST", "/wallets/balances/", truncated), "body");
      assert.equal((await call(test.app, "GET", "/wallets/?search=utf8", { key: test.tenant.apiKey })).body.total, 0);
    });

    it("refuses control characters in names and references, and keeps other Unicode exactly", async () => {
      assertField(
        await call(test.app, "POST", "/wallets/", { key: test.tenant.apiKey, body: { name: "Tab\there", external_id: "ctl-1" } }),
        "name",
      );
      assertField(
        await call(test.app, "POST", "/wallets/", { key: test.tenant.apiKey, body: { name: "C1\u0085", external_id: "ctl-2" } }),
        "name",
      );
      const wallet = await createWallet(test, "unicode-😀-ü", "Jörg 🎰");
      assert.equal(wallet.external_id, "unicode-😀-ü");
      const found = await balances(test, { external_id: "unicode-😀-ü" });
      assert.equal(found.status, 200);
      assert.equal(found.body.account.name, "Jörg 🎰");
    });
  });

  describe("2. types are strict", () => {
    it("refuses ids and names sent as numbers, whatever their size", async () => {
      assertField(await raw(test, "POST", "/wallets/", '{"name": 1e400, "external_id": "n-1"}'), "name");
      assertField(await raw(test, "POST", "/wallets/", '{"name": 123, "external_id": "n-2"}'), "name");
      assertField(await raw(test, "POST", "/wallets/balances/", '{"external_id": 1e999999}'), "external_id");
      assertField(await raw(test, "POST", "/games/bets/", bet("").replace('"t-1"', "12345678901234567890")), "transaction_id");
      assert.equal((await call(test.app, "GET", "/wallets/?search=n-", { key: test.tenant.apiKey })).body.total, 0);
    });

    it("refuses integers that are not exact integers", async () => {
      const history = (limit: string) => raw(test, "POST", "/wallets/transfer-history/", `{"external_id":"rules-player","limit":${limit}}`);
      assertField(await history("5.5"), "limit");
      assertField(await history("5.0"), "limit");
      assertField(await history("12345678901234567890"), "limit");
      assertField(await history('"5"'), "limit");
      assert.equal((await history("5")).status, 200);
    });

    it("keeps amounts exact: a JSON number with more digits than a double holds is read as written", async () => {
      await createWallet(test, "eth-player");
      await fundMaster(test, "ETH", "10", "eth-master");
      const moved = await raw(
        test,
        "POST",
        "/wallets/transfer-to-user/",
        '{"external_id":"eth-player","currency":"ETH","amount":0.123456789012345678}',
      );
      assert.equal(moved.status, 200, JSON.stringify(moved.body));
      assert.equal(moved.body.transfer.amount, "0.123456789012345678");
      assertField(
        await raw(test, "POST", "/wallets/transfer-to-user/", '{"external_id":"eth-player","currency":"ETH","amount":1e400}'),
        "amount",
      );
    });
  });

  describe("3. routes that take no body refuse one", () => {
    it("refuses an amount on void and leaves the hold pending; accepts no body and {}", async () => {
      const place = () =>
        call(test.app, "POST", "/holds/", {
          key: test.tenant.apiKey,
          body: { external_id: "rules-player", currency: CURRENCY, amount: "2" },
        });
      const hold = (await place()).body.hold;
      assertField(await call(test.app, "POST", `/holds/${hold.id}/void/`, { key: test.tenant.apiKey, body: { amount: "1" } }), "body");
      assert.equal((await call(test.app, "GET", `/holds/${hold.id}/`, { key: test.tenant.apiKey })).body.hold.status, "pending");
      assert.equal((await call(test.app, "POST", `/holds/${hold.id}/void/`, { key: test.tenant.apiKey })).status, 200);
      const second = (await place()).body.hold;
      assert.equal((await call(test.app, "POST", `/holds/${second.id}/void/`, { key: test.tenant.apiKey, body: {} })).status, 200);
    });

    it("refuses a body on DELETE and on GET", async () => {
      const hooks = await call(test.app, "GET", "/webhooks/", { key: test.tenant.apiKey });
      assert.equal(hooks.status, 200);
      const id = "00000000-0000-4000-8000-000000000000";
      assertField(await call(test.app, "DELETE", `/webhooks/${id}/`, { key: test.tenant.apiKey, body: { dry_run: true } }), "body");
      assertField(await call(test.app, "GET", "/wallets/", { key: test.tenant.apiKey, body: { limit: 1 } }), "body");
      assertField(
        await call(test.app, "GET", "/master/balances/", { key: test.tenant.apiKey, body: "x", headers: { "content-type": "text/plain" } }),
        "body",
      );
    });

    it("keeps refusing unknown fields, at the top and nested", async () => {
      assert.equal(assertField(await raw(test, "POST", "/games/bets/", bet(',"bonus":"1"')), "bonus"), "is not a known field");
      const batch = {
        movements: [
          { type: "bet", external_id: "rules-player", currency: CURRENCY, amount: "1", transaction_id: "u", round_id: "u", x: 1 },
        ],
      };
      assertField(await call(test.app, "POST", "/batches/", { key: test.tenant.apiKey, body: batch }), "movements.0.x");
    });
  });

  describe("5. every answer is in the envelope", () => {
    it("answers malformed path encoding and over-long parameters with 400 invalid_request", async () => {
      for (const path of ["/holds/%ff/", "/holds/%E0%A4/", "/holds/%zz/", "/wallets/%c0%80/"]) {
        assertError(await call(test.app, "GET", path, { key: test.tenant.apiKey }), 400, "invalid_request");
      }
      assertError(await call(test.app, "GET", `/holds/${"a".repeat(129)}/`, { key: test.tenant.apiKey }), 400, "invalid_request");
      assertError(await call(test.app, "GET", `/holds/${"a".repeat(100)}/`, { key: test.tenant.apiKey }), 400, "invalid_request");
    });

    it("answers a fixed path asked with another method as the wrong method, not as a wallet id", async () => {
      const details = assertError(await call(test.app, "GET", "/wallets/balances/", { key: test.tenant.apiKey }), 404, "not_found");
      assert.deepEqual(details.allowed_methods, ["POST"]);
      const history = assertError(await call(test.app, "GET", "/wallets/transfer-history", { key: test.tenant.apiKey }), 404, "not_found");
      assert.deepEqual(history.allowed_methods, ["POST"]);
      assert.equal((await call(test.app, "GET", `/wallets/${walletId}/`, { key: test.tenant.apiKey })).status, 200);
    });

    it("answers requests Node's parser refuses in the envelope too", async () => {
      await test.app.listen({ port: 0, host: "127.0.0.1" });
      const { port } = test.app.server.address() as { port: number };
      const cases: [string, number, string][] = [
        ["G@T /wallets/ HTTP/1.1\r\nHost: x\r\n\r\n", 400, "invalid_request"],
        [`GET /wallets/ HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`, 413, "payload_too_large"],
        ["GET /wallets/ HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n", 400, "invalid_request"],
      ];
      for (const [request, status, code] of cases) {
        const answer = await rawHttp(port, request);
        assert.equal(answer.status, status, answer.body);
        assert.deepEqual(JSON.parse(answer.body).error.code, code);
        assert.deepEqual(Object.keys(JSON.parse(answer.body).error).sort(), ["code", "details", "message"]);
      }
      const alive = await fetch(`http://127.0.0.1:${port}/wallets/balances/`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": test.tenant.apiKey },
        body: JSON.stringify({ wallet_id: walletId }),
      });
      assert.equal(alive.status, 200);
    });

    it("refuses malformed query encoding and repeated query parameters", async () => {
      assertField(await call(test.app, "GET", "/wallets/?search=%ff", { key: test.tenant.apiKey }), "search");
      assertField(await call(test.app, "GET", "/wallets/?limit=1&limit=2", { key: test.tenant.apiKey }), "limit");
    });
  });

  describe("6. one shape for validation details", () => {
    it("names one problem per field, the most useful one", async () => {
      const long = { external_id: "rules-player", currency: CURRENCY, amount: "1".repeat(41) };
      const response = await call(test.app, "POST", "/wallets/transfer-to-user/", { key: test.tenant.apiKey, body: long });
      assert.equal(assertField(response, "amount"), "must NOT have more than 40 characters");
      assert.equal(response.body.error.details.fields.length, 1);
      const wrongType = { ...long, amount: true };
      assert.equal(
        assertField(await call(test.app, "POST", "/wallets/transfer-to-user/", { key: test.tenant.apiKey, body: wrongType }), "amount"),
        "must be string or number",
      );
      assertField(await call(test.app, "POST", "/wallets/balances/", { key: test.tenant.apiKey, body: {} }), "wallet_id");
      assertField(
        await call(test.app, "POST", "/wallets/transfer-to-user/", { key: test.tenant.apiKey, body: { ...long, amount: "-1" } }),
        "amount",
      );
      assertField(
        await call(test.app, "POST", "/wallets/transfer-to-user/", {
          key: test.tenant.apiKey,
          body: { ...long, amount: "1", currency: "NOPE" },
        }),
        "currency",
      );
      const missing = await call(test.app, "POST", "/wallets/", { key: test.tenant.apiKey, body: { name: "x" } });
      assert.equal(assertField(missing, "external_id"), "is required");
      assertField(await deposit(test, { currency: CURRENCY, amount: "1", txHash: "nowhere", confirmations: 1 }), "master");
    });
  });

  describe("8. a rollback names its currency and always answers a balance", () => {
    it("refuses a rollback without currency", async () => {
      const body = { external_id: "rules-player", transaction_id: "rb-none", round_id: "r", bet_transaction_id: "never-placed" };
      assertField(await call(test.app, "POST", "/games/rollbacks/", { key: test.tenant.apiKey, body }), "currency");
    });

    it("answers the balance object for a rollback of an unknown bet", async () => {
      const body = {
        external_id: "rules-player",
        currency: CURRENCY,
        transaction_id: "rb-unknown",
        round_id: "r",
        bet_transaction_id: "never-placed",
      };
      const response = await call(test.app, "POST", "/games/rollbacks/", { key: test.tenant.apiKey, body });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.equal(response.body.balance.currency, CURRENCY);
      assert.equal(typeof response.body.balance.available_balance, "string");
      const fresh = await createWallet(test, "rules-empty");
      const empty = await call(test.app, "POST", "/games/rollbacks/", {
        key: test.tenant.apiKey,
        body: { wallet_id: fresh.wallet_id, currency: "BTC", transaction_id: "rb-empty", round_id: "r", bet_transaction_id: "nothing" },
      });
      assert.equal(empty.status, 200, JSON.stringify(empty.body));
      assert.deepEqual(empty.body.balance, { currency: "BTC", amount: "0.00", pending_amount: "0.00", available_balance: "0.00" });
    });
  });
});
