import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { hashSecret } from "../../src/services/credentials.js";
import { call, createWallet, startApp, type TestApp } from "../helpers.js";

const run = promisify(execFile);

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** `npm run -s cli -- ARGS`, exactly as the README documents it. */
async function cli(databaseUrl: string, ...args: string[]): Promise<Run> {
  const options = { cwd: process.cwd(), env: { ...process.env, DATABASE_URL: databaseUrl } };
  return run("npm", ["run", "-s", "cli", "--", ...args], options).then(
    (result) => ({ exitCode: 0, stdout: result.stdout, stderr: result.stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ exitCode: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

/** Stdout must be exactly one JSON object. */
// biome-ignore lint/suspicious/noExplicitAny: the CLI prints arbitrary JSON.
function json(result: Run): any {
  const lines = result.stdout.trim().split("\n");
  assert.equal(lines.length, 1, `expected one line of JSON, got: ${result.stdout}`);
  const value = JSON.parse(lines[0] ?? "");
  assert.equal(typeof value, "object");
  return value;
}

describe("command line: help and usage errors", () => {
  let test: TestApp;

  before(async () => {
    test = await startApp();
  });
  after(() => test.close());

  it("prints the usage on stderr, nothing on stdout, and exits 0 for help, --help and -h", async () => {
    for (const args of [["help"], ["--help"], ["-h"], ["tenants", "--help"], ["clients", "rotate-secret", "--help"]]) {
      const result = await cli(test.databaseUrl, ...args);
      assert.equal(result.exitCode, 0, `${args.join(" ")}: ${result.stdout} ${result.stderr}`);
      assert.equal(result.stdout, "", `${args.join(" ")} writes nothing on stdout`);
      assert.match(result.stderr, /^usage: npm run -s cli -- COMMAND/m);
      for (const command of ["tenants list", "api-keys list --tenant", "clients rotate-secret --client", "verify"]) {
        assert.ok(result.stderr.includes(command), `the usage names ${command}`);
      }
    }
  });

  it("answers a usage error with one JSON object and exit status 2", async () => {
    for (const args of [
      [],
      ["tenants", "destroy"],
      ["tenants", "list", "--bogus"],
      ["api-keys", "list"],
      ["clients", "rotate-secret"],
      ["tenants", "create", "--name"],
    ]) {
      const result = await cli(test.databaseUrl, ...args);
      assert.equal(result.exitCode, 2, `${args.join(" ")}: ${result.stdout}`);
      const output = json(result);
      assert.equal(output.error.code, "invalid_request", args.join(" "));
      assert.equal(typeof output.error.message, "string");
    }
  });

  it("answers a command that cannot be done with exit status 1", async () => {
    const result = await cli(test.databaseUrl, "api-keys", "list", "--tenant", "00000000-0000-4000-8000-000000000000");
    assert.equal(result.exitCode, 1);
    assert.equal(json(result).error.code, "not_found");
    const client = await cli(test.databaseUrl, "clients", "rotate-secret", "--client", "cl_nobody");
    assert.equal(client.exitCode, 1);
    assert.equal(json(client).error.code, "not_found");
  });
});

describe("command line: listings and secret rotation", () => {
  let test: TestApp;

  before(async () => {
    test = await startApp();
  });
  after(() => test.close());

  it("lists tenants", async () => {
    const other = await test.newTenant("Second Casino");
    const result = await cli(test.databaseUrl, "tenants", "list");
    assert.equal(result.exitCode, 0);
    const { tenants } = json(result);
    assert.deepEqual(
      tenants.map((tenant: { tenant_id: string }) => tenant.tenant_id),
      [test.tenant.tenantId, other.tenantId],
    );
    assert.deepEqual(Object.keys(tenants[1]).sort(), ["created_at", "limit_cooling_off_seconds", "name", "tenant_id", "unknown_rollback"]);
    assert.equal(tenants[1].name, "Second Casino");
    assert.equal(tenants[1].unknown_rollback, "succeed");
    assert.equal(tenants[1].limit_cooling_off_seconds, 86_400);
  });

  it("lists a tenant's API keys and clients, revoked keys included, never a secret or its hash", async () => {
    const extra = await test.services.credentials.createApiKey(test.tenant.tenantId, ["read"]);
    await test.services.credentials.revokeApiKey(extra.id);
    const result = await cli(test.databaseUrl, "api-keys", "list", "--tenant", test.tenant.tenantId);
    assert.equal(result.exitCode, 0);
    const output = json(result);
    assert.equal(output.tenant_id, test.tenant.tenantId);
    assert.equal(output.api_keys.length, 2);
    const [first, second] = output.api_keys;
    assert.deepEqual(Object.keys(first).sort(), ["created_at", "id", "revoked_at", "scopes"]);
    assert.deepEqual(first.scopes, ["read", "write"]);
    assert.equal(first.revoked_at, null);
    assert.equal(second.id, extra.id);
    assert.deepEqual(second.scopes, ["read"]);
    assert.equal(typeof second.revoked_at, "string");

    const clients = await cli(test.databaseUrl, "clients", "list", "--tenant", test.tenant.tenantId);
    assert.equal(clients.exitCode, 0);
    assert.deepEqual(
      json(clients).clients.map((client: { client_id: string }) => client.client_id),
      [test.tenant.clientId],
    );

    for (const secret of [test.tenant.apiKey, extra.apiKey, test.tenant.clientSecret]) {
      for (const text of [result.stdout, clients.stdout]) {
        assert.ok(!text.includes(secret), "a secret is never printed again");
        assert.ok(!text.includes(hashSecret(secret)), "nor its hash");
      }
    }
    assert.doesNotMatch(result.stdout + clients.stdout, /hash|secret/i);
  });

  it("rotates a client's secret: printed once, the old one refused at once", async () => {
    const token = (secret: string) =>
      call(test.app, "POST", "/o/token/", {
        body: { grant_type: "client_credentials", client_id: test.tenant.clientId, client_secret: secret },
      });
    assert.equal((await token(test.tenant.clientSecret)).status, 200);
    const result = await cli(test.databaseUrl, "clients", "rotate-secret", "--client", test.tenant.clientId);
    assert.equal(result.exitCode, 0);
    const output = json(result);
    assert.deepEqual(Object.keys(output).sort(), ["client_id", "client_secret"]);
    assert.equal(output.client_id, test.tenant.clientId);
    assert.match(output.client_secret, /^cs_[A-Za-z0-9_-]{43}$/);
    assert.notEqual(output.client_secret, test.tenant.clientSecret);

    const refused = await token(test.tenant.clientSecret);
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error, "invalid_client");
    const issued = await token(output.client_secret);
    assert.equal(issued.status, 200);
    assert.equal((await call(test.app, "GET", "/wallets/", { token: issued.body.access_token })).status, 200);
  });
});

describe("command line: a tenant's limit cooling-off", () => {
  let test: TestApp;

  before(async () => {
    test = await startApp();
  });
  after(() => test.close());

  const setHours = (tenantId: string, hours: string) =>
    cli(test.databaseUrl, "tenants", "set-limit-cooling-off", "--tenant", tenantId, "--hours", hours);
  const listed = async (tenantId: string) => {
    const { tenants } = json(await cli(test.databaseUrl, "tenants", "list"));
    return tenants.find((tenant: { tenant_id: string }) => tenant.tenant_id === tenantId).limit_cooling_off_seconds;
  };

  it("sets how long a raised or removed limit waits, shown by tenants list and applied by the next change", async () => {
    const other = await test.newTenant("Other Casino");
    const result = await setHours(test.tenant.tenantId, "0");
    assert.equal(result.exitCode, 0, result.stdout);
    assert.deepEqual(json(result), { tenant_id: test.tenant.tenantId, limit_cooling_off_seconds: 0 });
    assert.equal(await listed(test.tenant.tenantId), 0);
    assert.equal(await listed(other.tenantId), 86_400, "another tenant keeps its own");

    // With no cooling-off, a raise does not wait: the answer to it already shows it in force.
    const wallet = await createWallet(test, "cooling-off-player");
    const limits = (body: object) => call(test.app, "PUT", `/wallets/${wallet.wallet_id}/limits/BTC/`, { key: test.tenant.apiKey, body });
    const show = async () => (await call(test.app, "GET", `/wallets/${wallet.wallet_id}/limits/`, { key: test.tenant.apiKey })).body;
    assert.equal((await limits({ deposit_week: "1" })).status, 200);
    const raised = await limits({ deposit_week: "2" });
    assert.equal(raised.status, 200, JSON.stringify(raised.body));
    assert.deepEqual([raised.body.limits[0].amount, raised.body.pending_changes], ["2.00", []]);
    const applied = await show();
    assert.deepEqual([applied.currencies[0].limits[0].amount, applied.currencies[0].pending_changes], ["2.00", []]);

    const longest = await setHours(test.tenant.tenantId, "720");
    assert.deepEqual(json(longest), { tenant_id: test.tenant.tenantId, limit_cooling_off_seconds: 2_592_000 });
    assert.equal((await show()).limit_cooling_off_seconds, 2_592_000);
    const waiting = await limits({ deposit_week: "3" });
    assert.equal(waiting.body.pending_changes.length, 1);
  });

  it("refuses hours outside 0..720 (exit 2) and an unknown tenant (exit 1), changing nothing", async () => {
    const before = await listed(test.tenant.tenantId);
    for (const hours of ["721", "-1", "1.5", "24h", "", "1e2"]) {
      const result = await setHours(test.tenant.tenantId, hours);
      assert.equal(result.exitCode, 2, `${hours}: ${result.stdout}`);
      assert.equal(json(result).error.code, "invalid_request", hours);
    }
    const missing = await cli(test.databaseUrl, "tenants", "set-limit-cooling-off", "--tenant", test.tenant.tenantId);
    assert.equal(missing.exitCode, 2);
    for (const tenantId of ["00000000-0000-4000-8000-000000000000", "not-a-tenant"]) {
      const unknown = await setHours(tenantId, "24");
      assert.equal(unknown.exitCode, 1, unknown.stdout);
      assert.equal(json(unknown).error.code, "not_found");
    }
    assert.equal(await listed(test.tenant.tenantId), before);
  });
});
