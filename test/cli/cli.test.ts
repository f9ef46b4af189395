import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { balances, call, createWallet, deposit, fundMaster, rawQuery, startApp, type TestApp } from "../helpers.js";

const run = promisify(execFile);

interface CliResult {
  exitCode: number;
  // biome-ignore lint/suspicious/noExplicitAny: the CLI prints arbitrary JSON.
  output: any;
  stdout: string;
}

/** Runs the CLI exactly as the README documents it, and insists stdout is one JSON object. */
async function cli(databaseUrl: string, ...args: string[]): Promise<CliResult> {
  const options = { cwd: process.cwd(), env: { ...process.env, DATABASE_URL: databaseUrl } };
  const { stdout, exitCode } = await run("npm", ["run", "-s", "cli", "--", ...args], options).then(
    (result) => ({ stdout: result.stdout, exitCode: 0 }),
    (error: { stdout: string; code: number }) => ({ stdout: error.stdout, exitCode: error.code }),
  );
  const lines = stdout.trim().split("\n");
  assert.equal(lines.length, 1, `expected one line of JSON, got: ${stdout}`);
  return { exitCode, output: JSON.parse(lines[0] ?? ""), stdout };
}

describe("command line", () => {
  let test: TestApp;

  before(async () => {
    test = await startApp();
    await fundMaster(test, "USDTTRC20", "1000", "funding");
    await createWallet(test, "cli-player");
    await call(test.app, "POST", "/wallets/transfer-to-user/", {
      key: test.tenant.apiKey,
      body: { external_id: "cli-player", currency: "USDTTRC20", amount: "25" },
    });
    await deposit(test, { externalId: "cli-player", currency: "USDTTRC20", amount: "3", txHash: "pending-one", confirmations: 1 });
  });
  after(() => test.close());

  it("creates a tenant whose key and client work over HTTP", async () => {
    const { exitCode, output } = await cli(test.databaseUrl, "tenants", "create", "--name", "CLI Casino");
    assert.equal(exitCode, 0);
    assert.deepEqual(Object.keys(output).sort(), ["api_key", "client_id", "client_secret", "tenant_id"]);
    const created = await call(test.app, "POST", "/wallets/", {
      key: output.api_key,
      body: { name: "Someone", external_id: "cli-player" },
    });
    assert.equal(created.status, 201);
    const token = await call(test.app, "POST", "/o/token/", {
      body: { grant_type: "client_credentials", client_id: output.client_id, client_secret: output.client_secret },
    });
    assert.equal(token.status, 200);
  });

  it("creates scoped keys, and revokes them", async () => {
    const readOnly = await cli(test.databaseUrl, "api-keys", "create", "--tenant", test.tenant.tenantId, "--scopes", "read");
    assert.deepEqual(Object.keys(readOnly.output).sort(), ["api_key", "id"]);
    assert.equal((await balances(test, { external_id: "cli-player" }, readOnly.output.api_key)).status, 403);
    assert.equal((await call(test.app, "GET", "/wallets/", { key: readOnly.output.api_key })).status, 200);
    const revoked = await cli(test.databaseUrl, "api-keys", "revoke", "--id", readOnly.output.id);
    assert.deepEqual(revoked.output, { id: readOnly.output.id, revoked: true });
    assert.equal((await call(test.app, "GET", "/wallets/", { key: readOnly.output.api_key })).status, 401);
  });

  it("creates system keys that report deposits", async () => {
    const { output } = await cli(test.databaseUrl, "system-keys", "create", "--scopes", "deposits");
    assert.deepEqual(Object.keys(output).sort(), ["api_key", "id"]);
    const response = await call(test.app, "POST", "/deposits/", {
      key: output.api_key,
      body: { tenant_id: test.tenant.tenantId, master: true, currency: "BTC", amount: "0.1", tx_hash: "cli-btc", confirmations: 3 },
    });
    assert.equal(response.status, 200);
  });

  it("answers a bad command with a JSON error and a non-zero exit", async () => {
    const unknown = await cli(test.databaseUrl, "tenants", "destroy");
    assert.equal(unknown.exitCode, 2);
    assert.equal(unknown.output.error.code, "invalid_request");
    const badScope = await cli(test.databaseUrl, "api-keys", "create", "--tenant", test.tenant.tenantId, "--scopes", "deposits");
    assert.equal(badScope.exitCode, 2);
  });

  it("verifies an honest ledger, then catches tampered counters and tampered transfers", async () => {
    const honest = await cli(test.databaseUrl, "verify");
    assert.equal(honest.exitCode, 0);
    assert.equal(honest.output.ok, true);
    assert.ok(honest.output.transfers >= 3);

    const sql = (text: string, ...parameters: unknown[]) => rawQuery(test.databaseUrl, text, parameters);
    const [row] = await sql("SELECT id, credits_posted FROM accounts WHERE owner_kind = 'wallet' ORDER BY seq LIMIT 1");
    assert.ok(row);
    const original = String(row.credits_posted);
    await sql("UPDATE accounts SET credits_posted = $1 WHERE id = $2", (BigInt(original) + 1_000_000n).toString(), row.id);
    const tampered = await cli(test.databaseUrl, "verify");
    assert.equal(tampered.exitCode, 1);
    assert.equal(tampered.output.ok, false);
    assert.ok(tampered.output.problems.some((problem: { kind: string }) => problem.kind === "counter_mismatch"));
    assert.ok(tampered.output.problems.some((problem: { kind: string }) => problem.kind === "non_zero_sum"));
    await sql("UPDATE accounts SET credits_posted = $1 WHERE id = $2", original, row.id);
    assert.equal((await cli(test.databaseUrl, "verify")).exitCode, 0);

    const [last] = await sql("SELECT seq, amount FROM transfers WHERE flag = 'posted' ORDER BY seq DESC LIMIT 1");
    assert.ok(last);
    await sql("UPDATE transfers SET amount = 1 WHERE seq = $1", last.seq);
    const rewritten = await cli(test.databaseUrl, "verify");
    assert.equal(rewritten.exitCode, 1);
    assert.equal(rewritten.output.ok, false);
    await sql("UPDATE transfers SET amount = $1 WHERE seq = $2", String(last.amount), last.seq);

    // The counters and the replay stay right; only what a client reads in a wallet's history is wrong.
    const [visible] = await sql("SELECT seq FROM transfers WHERE flag = 'posted' AND wallet_uuid IS NOT NULL ORDER BY seq DESC LIMIT 1");
    assert.ok(visible);
    await sql("UPDATE transfers SET status = 'voided' WHERE seq = $1", visible.seq);
    const relabelled = await cli(test.databaseUrl, "verify");
    assert.equal(relabelled.exitCode, 1);
    assert.deepEqual(
      relabelled.output.problems.map((problem: { kind: string }) => problem.kind),
      ["history_mismatch"],
    );
    await sql("UPDATE transfers SET status = 'posted' WHERE seq = $1", visible.seq);
    assert.equal((await cli(test.databaseUrl, "verify")).exitCode, 0);
  });
});
