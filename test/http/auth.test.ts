import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { SignJWT } from "jose";
import pg from "pg";
import { balances, type CallResult, call, createWallet, startApp, type Tenant, type TestApp } from "../helpers.js";

/**
 * Credentials through the real HTTP stack (DESIGN 1.4): the OAuth 2.0 client credentials grant
 * and its RFC 6749 errors, bearer tokens and their tampering, API key revocation, hashed storage
 * and tenant isolation.
 */

const FORM = "application/x-www-form-urlencoded";
const TOKEN_SECRET = "known-test-secret-0123456789abcdef";
const ISSUER = "casino-wallet";

const basic = (clientId: string, clientSecret: string) => `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`;
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

function requestToken(test: TestApp, body: string | Record<string, string>, headers: Record<string, string> = {}) {
  const isForm = typeof body === "string";
  return call(test.app, "POST", "/o/token/", {
    body: isForm ? body : JSON.stringify(body),
    headers: { "content-type": isForm ? FORM : "application/json", ...headers },
  });
}

async function tokenFor(test: TestApp, tenant: Tenant, scope?: string): Promise<string> {
  const fields: Record<string, string> = {
    grant_type: "client_credentials",
    client_id: tenant.clientId,
    client_secret: tenant.clientSecret,
  };
  if (scope !== undefined) fields.scope = scope;
  const response = await requestToken(test, form(fields));
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body.access_token;
}

function assertToken(response: CallResult, scope: string, expiresIn = 3600): string {
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.deepEqual(Object.keys(response.body).sort(), ["access_token", "expires_in", "scope", "token_type"]);
  assert.equal(response.body.token_type, "Bearer");
  assert.equal(response.body.expires_in, expiresIn);
  assert.equal(response.body.scope, scope);
  assert.equal(typeof response.body.access_token, "string");
  assert.match(response.body.access_token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  assert.match(String(response.headers["cache-control"]), /no-store/);
  return response.body.access_token;
}

function assertOAuthError(response: CallResult, status: number, error: string): void {
  assert.equal(response.status, status, `expected ${status} ${error}, got ${response.status} ${JSON.stringify(response.body)}`);
  assert.deepEqual(Object.keys(response.body).sort(), ["error", "error_description"]);
  assert.equal(response.body.error, error);
  assert.equal(typeof response.body.error_description, "string");
  assert.ok(response.body.error_description.length > 0);
  assert.match(String(response.headers["cache-control"]), /no-store/);
  assert.equal(response.body.access_token, undefined);
}

function assertUnauthorized(response: CallResult): void {
  assert.equal(response.status, 401, JSON.stringify(response.body));
  assert.equal(response.body.error.code, "unauthorized");
  assert.equal(typeof response.body.error.message, "string");
  assert.deepEqual(typeof response.body.error.details, "object");
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const decodePart = (part: string | undefined) => JSON.parse(Buffer.from(part ?? "", "base64url").toString("utf8"));

/** Every row of every table, read behind the service's back (read-only for SQLite). */
async function readTables(databaseUrl: string): Promise<Map<string, unknown[]>> {
  const tables = new Map<string, unknown[]>();
  if (databaseUrl.startsWith("sqlite:")) {
    const db = new Database(databaseUrl.slice("sqlite:".length), { readonly: true, fileMustExist: true });
    try {
      const names = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
      for (const { name } of names) tables.set(name, db.prepare(`SELECT * FROM "${name}"`).all());
    } finally {
      db.close();
    }
    return tables;
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const names = await client.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
    );
    for (const { table_name } of names.rows) tables.set(table_name, (await client.query(`SELECT * FROM "${table_name}"`)).rows);
  } finally {
    await client.end();
  }
  return tables;
}

describe("POST /o/token/ (client credentials grant)", () => {
  let test: TestApp;
  let walletId: string;
  let expected: unknown;

  before(async () => {
    test = await startApp();
    walletId = (await createWallet(test, "player-oauth", "OAuth Player")).wallet_id;
    const byKey = await balances(test, { wallet_id: walletId });
    assert.equal(byKey.status, 200);
    expected = byKey.body;
  });
  after(() => test.close());

  const clientId = () => test.tenant.clientId;
  const clientSecret = () => test.tenant.clientSecret;

  const useToken = (token: string) => call(test.app, "POST", "/wallets/balances/", { token, body: { wallet_id: walletId } });

  it("issues a token for a form body with the client in the body, usable on POST /wallets/balances/", async () => {
    const response = await requestToken(
      test,
      form({ grant_type: "client_credentials", client_id: clientId(), client_secret: clientSecret() }),
    );
    const token = assertToken(response, "read write");
    const used = await useToken(token);
    assert.equal(used.status, 200, JSON.stringify(used.body));
    assert.deepEqual(used.body, expected);
  });

  it("issues a token for a JSON body with the client in the body", async () => {
    const response = await requestToken(test, { grant_type: "client_credentials", client_id: clientId(), client_secret: clientSecret() });
    const token = assertToken(response, "read write");
    assert.deepEqual((await useToken(token)).body, expected);
  });

  it("issues a token for a form body with HTTP Basic client authentication", async () => {
    const response = await requestToken(test, form({ grant_type: "client_credentials" }), {
      authorization: basic(clientId(), clientSecret()),
    });
    const token = assertToken(response, "read write");
    assert.deepEqual((await useToken(token)).body, expected);
  });

  it("issues a token for a JSON body with HTTP Basic client authentication", async () => {
    const response = await requestToken(test, { grant_type: "client_credentials" }, { authorization: basic(clientId(), clientSecret()) });
    assertToken(response, "read write");
  });

  it("answers the token route without the trailing slash too", async () => {
    const response = await call(test.app, "POST", "/o/token", {
      body: form({ grant_type: "client_credentials", client_id: clientId(), client_secret: clientSecret() }),
      headers: { "content-type": FORM },
    });
    assertToken(response, "read write");
  });

  it("binds the token to the tenant and the client", async () => {
    const token = await tokenFor(test, test.tenant);
    const [header, payload] = token.split(".");
    assert.equal(decodePart(header).alg, "HS256");
    const claims = decodePart(payload);
    assert.equal(claims.tid, test.tenant.tenantId);
    assert.equal(claims.iss, ISSUER);
    assert.equal(claims.scope, "read write");
    assert.equal(claims.exp - claims.iat, 3600);
  });

  it("answers invalid_client (401) for a wrong secret, by body or by Basic", async () => {
    const wrong = `${clientSecret()}x`;
    assertOAuthError(
      await requestToken(test, form({ grant_type: "client_credentials", client_id: clientId(), client_secret: wrong })),
      401,
      "invalid_client",
    );
    assertOAuthError(
      await requestToken(test, { grant_type: "client_credentials", client_id: clientId(), client_secret: wrong }),
      401,
      "invalid_client",
    );
    const byBasic = await requestToken(test, form({ grant_type: "client_credentials" }), { authorization: basic(clientId(), wrong) });
    assertOAuthError(byBasic, 401, "invalid_client");
    assert.ok(byBasic.headers["www-authenticate"] !== undefined, "a 401 to Basic authentication names the scheme (RFC 6749 5.2)");
  });

  it("answers invalid_client (401) for an unknown client and for no client at all", async () => {
    assertOAuthError(
      await requestToken(test, form({ grant_type: "client_credentials", client_id: "cl_nobody", client_secret: clientSecret() })),
      401,
      "invalid_client",
    );
    assertOAuthError(await requestToken(test, form({ grant_type: "client_credentials" })), 401, "invalid_client");
    // Another tenant's client id with this tenant's secret.
    const other = await test.newTenant("Other");
    assertOAuthError(
      await requestToken(test, form({ grant_type: "client_credentials", client_id: other.clientId, client_secret: clientSecret() })),
      401,
      "invalid_client",
    );
  });

  it("answers unsupported_grant_type (400) for grant_type=password", async () => {
    const response = await requestToken(
      test,
      form({ grant_type: "password", client_id: clientId(), client_secret: clientSecret(), username: "u", password: "p" }),
    );
    assertOAuthError(response, 400, "unsupported_grant_type");
    assertOAuthError(
      await requestToken(test, { grant_type: "authorization_code", client_id: clientId(), client_secret: clientSecret() }),
      400,
      "unsupported_grant_type",
    );
  });

  it("answers invalid_request (400) when grant_type is missing", async () => {
    assertOAuthError(await requestToken(test, form({ client_id: clientId(), client_secret: clientSecret() })), 400, "invalid_request");
    assertOAuthError(await requestToken(test, { client_id: clientId(), client_secret: clientSecret() }), 400, "invalid_request");
  });

  it("answers invalid_request (400) for a malformed JSON body, in the RFC's format", async () => {
    const response = await call(test.app, "POST", "/o/token/", { body: "{grant_type", headers: { "content-type": "application/json" } });
    assertOAuthError(response, 400, "invalid_request");
  });

  it("answers invalid_scope (400) for a scope the client does not hold", async () => {
    for (const scope of ["deposits", "admin", "read admin", "read deposits"]) {
      const response = await requestToken(
        test,
        form({ grant_type: "client_credentials", client_id: clientId(), client_secret: clientSecret(), scope }),
      );
      assertOAuthError(response, 400, "invalid_scope");
    }
  });

  it("narrows a token to scope read: 403 on POST /wallets/balances/, 200 on GET /wallets/", async () => {
    const response = await requestToken(
      test,
      form({ grant_type: "client_credentials", client_id: clientId(), client_secret: clientSecret(), scope: "read" }),
    );
    const token = assertToken(response, "read");
    const refused = await useToken(token);
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, "forbidden");
    const list = await call(test.app, "GET", "/wallets/", { token });
    assert.equal(list.status, 200, JSON.stringify(list.body));
    assert.equal(list.body.total, 1);
    assert.equal(list.body.accounts[0].wallet_id, walletId);
    const created = await call(test.app, "POST", "/wallets/", { token, body: { name: "n", external_id: "read-only-token" } });
    assert.equal(created.status, 403);
  });
});

describe("bearer token tampering", () => {
  let test: TestApp;
  let walletId: string;
  let token: string;

  before(async () => {
    test = await startApp({ tokenSecret: TOKEN_SECRET });
    walletId = (await createWallet(test, "player-tamper")).wallet_id;
    token = await tokenFor(test, test.tenant);
  });
  after(() => test.close());

  const useToken = (value: string) => call(test.app, "POST", "/wallets/balances/", { token: value, body: { wallet_id: walletId } });
  const claims = () => decodePart(token.split(".")[1]);

  const sign = (payload: Record<string, unknown>, secret: string, configure: (jwt: SignJWT) => SignJWT = (jwt) => jwt) =>
    configure(new SignJWT(payload).setProtectedHeader({ alg: "HS256", typ: "JWT" })).sign(new TextEncoder().encode(secret));

  it("accepts the genuine token and one signed here with the real secret (the refusals below are about tampering)", async () => {
    assert.equal((await useToken(token)).status, 200);
    const selfSigned = await sign({ scope: "read write", tid: test.tenant.tenantId }, TOKEN_SECRET, (jwt) =>
      jwt.setIssuer(ISSUER).setIssuedAt().setExpirationTime("5m"),
    );
    const response = await useToken(selfSigned);
    assert.equal(response.status, 200, JSON.stringify(response.body));
  });

  it('refuses a token with alg "none" and no signature', async () => {
    const unsigned = `${b64url({ alg: "none", typ: "JWT" })}.${token.split(".")[1]}.`;
    assertUnauthorized(await useToken(unsigned));
    const noneUpper = `${b64url({ alg: "None", typ: "JWT" })}.${token.split(".")[1]}.`;
    assertUnauthorized(await useToken(noneUpper));
  });

  it("refuses a token signed with another secret", async () => {
    const forged = await sign(claims(), "another-secret-that-is-long-enough-0123");
    assertUnauthorized(await useToken(forged));
  });

  it("refuses a token whose payload was changed after signing", async () => {
    const [header, , signature] = token.split(".");
    const other = await test.newTenant("Victim");
    const changed = `${header}.${b64url({ ...claims(), tid: other.tenantId })}.${signature}`;
    assertUnauthorized(await useToken(changed));
    const widened = `${header}.${b64url({ ...claims(), scope: "read write deposits" })}.${signature}`;
    assertUnauthorized(await useToken(widened));
  });

  it("refuses an expired token", async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await sign({ scope: "read write", tid: test.tenant.tenantId }, TOKEN_SECRET, (jwt) =>
      jwt
        .setIssuer(ISSUER)
        .setIssuedAt(now - 7200)
        .setExpirationTime(now - 60),
    );
    assertUnauthorized(await useToken(expired));
  });

  it("refuses a token from another issuer or without the tenant claim", async () => {
    const foreign = await sign({ scope: "read write", tid: test.tenant.tenantId }, TOKEN_SECRET, (jwt) =>
      jwt.setIssuer("someone-else").setIssuedAt().setExpirationTime("5m"),
    );
    assertUnauthorized(await useToken(foreign));
    const noTenant = await sign({ scope: "read write" }, TOKEN_SECRET, (jwt) =>
      jwt.setIssuer(ISSUER).setIssuedAt().setExpirationTime("5m"),
    );
    assertUnauthorized(await useToken(noTenant));
  });

  it("refuses a truncated token and a token with the signature stripped", async () => {
    assertUnauthorized(await useToken(token.slice(0, -4)));
    const [header, payload] = token.split(".");
    assertUnauthorized(await useToken(`${header}.${payload}.`));
  });
});

describe("token expiry in real time", () => {
  let test: TestApp;

  // JWT times are whole seconds (iat is the issuing second, exp = iat + TTL), so a token lives
  // between TTL - 1 and TTL seconds: with 1 s it could expire before its first use (seen in CI).
  before(async () => {
    test = await startApp({ tokenTtlSeconds: 2 });
  });
  after(() => test.close());

  it("a token with a 2 s lifetime works at once and is refused after it expires", async () => {
    const response = await requestToken(
      test,
      form({ grant_type: "client_credentials", client_id: test.tenant.clientId, client_secret: test.tenant.clientSecret }),
    );
    const token = assertToken(response, "read write", 2);
    assert.equal((await call(test.app, "GET", "/wallets/", { token })).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 3100));
    assertUnauthorized(await call(test.app, "GET", "/wallets/", { token }));
  });
});

describe("API keys", () => {
  let test: TestApp;

  before(async () => {
    test = await startApp();
    await createWallet(test, "player-keys");
  });
  after(() => test.close());

  it("a revoked key gets 401 while the tenant's other key still works", async () => {
    const extra = await test.services.credentials.createApiKey(test.tenant.tenantId, ["read", "write"]);
    assert.notEqual(extra.apiKey, test.tenant.apiKey);
    assert.equal((await balances(test, { external_id: "player-keys" }, extra.apiKey)).status, 200);
    const revoked = await test.services.credentials.revokeApiKey(extra.id);
    assert.deepEqual(revoked, { id: extra.id, revoked: true });
    assertUnauthorized(await balances(test, { external_id: "player-keys" }, extra.apiKey));
    assertUnauthorized(await call(test.app, "GET", "/wallets/", { key: extra.apiKey }));
    assert.equal((await balances(test, { external_id: "player-keys" })).status, 200);
    assert.equal((await call(test.app, "GET", "/wallets/", { key: test.tenant.apiKey })).status, 200);
  });

  it("a revoked system key can no longer report deposits", async () => {
    const system = await test.services.credentials.createSystemKey(["deposits"]);
    await test.services.credentials.revokeApiKey(system.id);
    const response = await call(test.app, "POST", "/deposits/", {
      key: system.apiKey,
      body: { tenant_id: test.tenant.tenantId, master: true, currency: "BTC", amount: "1", tx_hash: "revoked-system", confirmations: 100 },
    });
    assertUnauthorized(response);
  });

  it("keys and client secrets are high-entropy and distinct", async () => {
    const other = await test.newTenant("Entropy");
    for (const value of [test.tenant.apiKey, test.tenant.clientSecret, other.apiKey, other.clientSecret]) assert.ok(value.length >= 32);
    assert.notEqual(other.apiKey, test.tenant.apiKey);
    assert.notEqual(other.clientSecret, test.tenant.clientSecret);
  });

  it("stores keys and client secrets only as hashes", async () => {
    const readKey = await test.services.credentials.createApiKey(test.tenant.tenantId, ["read"]);
    const other = await test.newTenant("Hash Check");
    const plain = [test.tenant.apiKey, test.tenant.clientSecret, test.systemKey, readKey.apiKey, other.apiKey, other.clientSecret];
    // The random part of each secret, without its readable prefix (wk_, wsk_, cs_).
    const randomParts = plain.map((value) => value.slice(value.indexOf("_") + 1));
    for (const part of randomParts) assert.ok(part.length >= 32);

    const tables = await readTables(test.databaseUrl);
    const keys = tables.get("api_keys") ?? [];
    const clients = tables.get("oauth_clients") ?? [];
    // The tenant keys of three tenants, the system keys and the extra read key; one client per tenant.
    assert.ok(keys.length >= 5, `api_keys holds the keys created (${keys.length})`);
    assert.ok(clients.length >= 3, `oauth_clients holds the clients created (${clients.length})`);
    const credentialRows = JSON.stringify([...keys, ...clients]);
    for (const part of randomParts)
      assert.ok(!credentialRows.includes(part), "a plain key or secret is stored in api_keys or oauth_clients");
    // Nor anywhere else in the database.
    const everything = JSON.stringify([...tables.values()]);
    for (const part of randomParts) assert.ok(!everything.includes(part), "a plain key or secret is stored in the database");

    if (test.databaseUrl.startsWith("sqlite:")) {
      const path = test.databaseUrl.slice("sqlite:".length);
      for (const file of [path, `${path}-wal`]) {
        if (!existsSync(file)) continue;
        const bytes = readFileSync(file).toString("latin1");
        for (const part of randomParts) assert.ok(!bytes.includes(part), `a plain key or secret is in ${file}`);
      }
    }
  });
});

describe("tenant isolation for tokens", () => {
  let test: TestApp;
  let tenantB: Tenant;
  let wallet: { id: string; wallet_id: string; external_id: string; name: string };

  before(async () => {
    test = await startApp();
    tenantB = await test.newTenant("Tenant B");
    wallet = await createWallet(test, "a-player", "Tenant A Player");
  });
  after(() => test.close());

  it("tenant B's token cannot read tenant A's wallet (404, no data)", async () => {
    const tokenB = await tokenFor(test, tenantB);
    for (const ids of [{ wallet_id: wallet.wallet_id }, { external_id: wallet.external_id }]) {
      const response = await call(test.app, "POST", "/wallets/balances/", { token: tokenB, body: ids });
      assert.equal(response.status, 404, JSON.stringify(response.body));
      assert.equal(response.body.error.code, "not_found");
      assert.ok(!JSON.stringify(response.body).includes(wallet.name));
    }
    for (const id of [wallet.wallet_id, wallet.id]) {
      const response = await call(test.app, "GET", `/wallets/${id}/`, { token: tokenB });
      assert.equal(response.status, 404);
      assert.equal(response.body.error.code, "not_found");
    }
    const history = await call(test.app, "POST", "/wallets/transfer-history/", { token: tokenB, body: { wallet_id: wallet.wallet_id } });
    assert.equal(history.status, 404);
    const list = await call(test.app, "GET", "/wallets/", { token: tokenB });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.accounts, []);
    assert.equal(list.body.total, 0);
  });

  it("tenant A's token reads it (the 404s above were about the tenant)", async () => {
    const tokenA = await tokenFor(test, test.tenant);
    const response = await call(test.app, "POST", "/wallets/balances/", { token: tokenA, body: { wallet_id: wallet.wallet_id } });
    assert.equal(response.status, 200);
    assert.equal(response.body.account.id, wallet.id);
  });
});
