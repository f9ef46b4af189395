import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { loadConfig } from "../../src/config.js";
import { buildApp } from "../../src/http/app.js";
import { createRuntime, type Runtime } from "../../src/runtime.js";
import type { Services } from "../../src/services/services.js";
import { call, createTestDatabase, type Tenant, type TestDatabase } from "../helpers.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface LogLine {
  reqId?: string;
  tenantId?: string;
  systemKeyId?: string;
  msg: string;
  [field: string]: unknown;
}

describe("request ids", () => {
  let database: TestDatabase;
  let runtime: Runtime;
  let services: Services;
  let app: FastifyInstance;
  let tenant: Tenant;
  const lines: LogLine[] = [];

  before(async () => {
    database = await createTestDatabase();
    const config = { ...loadConfig({}), databaseUrl: database.url };
    runtime = await createRuntime(config);
    services = runtime.services;
    // Every log line the app writes, captured as the JSON pino makes of it.
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const text of chunk.toString("utf8").split("\n")) if (text.trim() !== "") lines.push(JSON.parse(text));
        done();
      },
    });
    app = await buildApp({ services, config, logger: { level: "info", stream } });
    tenant = await services.credentials.createTenant("Logged Casino");
  });
  after(async () => {
    await app.close();
    await runtime.close();
    await database.drop();
  });

  const linesOf = (requestId: string) => lines.filter((line) => line.reqId === requestId);

  it("keeps a valid incoming X-Request-Id and answers it", async () => {
    for (const id of ["casino-42:round.7_b", "a", "A".repeat(128), "0f8fad5b-d9cb-469f-a165-70867728950e"]) {
      const response = await call(app, "GET", "/health/live", { headers: { "x-request-id": id } });
      assert.equal(response.headers["x-request-id"], id);
    }
  });

  it("replaces a missing or invalid one with a fresh UUID", async () => {
    const seen = new Set<string>();
    for (const id of [undefined, "", "has space", "A".repeat(129), "semi;colon", "naïve", "new\u2028line", "<script>"]) {
      const headers: Record<string, string> = id === undefined ? {} : { "x-request-id": id };
      const response = await call(app, "GET", "/health/live", { headers });
      const answered = String(response.headers["x-request-id"]);
      assert.match(answered, UUID, `for ${JSON.stringify(id)}`);
      assert.notEqual(answered, id);
      seen.add(answered);
    }
    assert.equal(seen.size, 8, "every generated id is new");
  });

  it("answers the id on errors, unknown routes and URLs the router refuses", async () => {
    const cases: [string, string, Record<string, string>, string?][] = [
      ["GET", "/no/such/route/", {}],
      ["GET", "/wallets/", {}],
      ["GET", "/wallets/", { "x-api-key": "wk_not_a_key" }],
      ["GET", "/wallets/%ff/", { "x-api-key": tenant.apiKey }],
      ["GET", `/wallets/${"x".repeat(200)}/`, { "x-api-key": tenant.apiKey }],
      ["POST", "/wallets/", { "x-api-key": tenant.apiKey, "content-type": "application/json" }, "{not json"],
      ["GET", "/wallets/balances/", { "x-api-key": tenant.apiKey }],
      ["GET", "/wallets/?bogus=1", { "x-api-key": tenant.apiKey }],
    ];
    for (const [index, [method, url, headers, payload]] of cases.entries()) {
      const id = `error-case-${index}`;
      const response = await app.inject({
        method: method as "GET",
        url,
        headers: { ...headers, "x-request-id": id },
        ...(payload === undefined ? {} : { payload }),
      });
      assert.ok(response.statusCode >= 400, `${method} ${url} answered ${response.statusCode}`);
      assert.equal(response.headers["x-request-id"], id, `${method} ${url} (${response.statusCode})`);
    }
  });

  it("puts the id on every log line of the request, and the tenant once authenticated", async () => {
    const id = "trace-tenant-1";
    const created = await call(app, "POST", "/wallets/", {
      key: tenant.apiKey,
      body: { name: "Logged Player", external_id: "logged-player" },
    });
    assert.equal(created.status, 201);
    const response = await call(app, "POST", "/wallets/balances/", {
      key: tenant.apiKey,
      body: { external_id: "logged-player" },
      headers: { "x-request-id": id },
    });
    assert.equal(response.status, 200);
    const mine = linesOf(id);
    assert.ok(mine.length >= 2, JSON.stringify(mine));
    const incoming = mine.find((line) => line.msg === "incoming request");
    const completed = mine.find((line) => line.msg === "request completed");
    assert.ok(incoming && completed);
    // The first line is written before the credential is read; every later one names the tenant.
    assert.equal(completed.tenantId, tenant.tenantId);
    assert.deepEqual(
      mine.slice(1).map((line) => line.tenantId),
      mine.slice(1).map(() => tenant.tenantId),
    );
    assert.doesNotMatch(JSON.stringify(mine), new RegExp(tenant.apiKey), "the key itself is never logged");
  });

  it("names a system key by its id, and nobody for a refused credential", async () => {
    const system = await services.credentials.createSystemKey(["deposits"]);
    await call(app, "POST", "/deposits/", {
      key: system.apiKey,
      headers: { "x-request-id": "trace-system-1" },
      body: { tenant_id: tenant.tenantId, master: true, currency: "BTC", amount: "1", tx_hash: "logged", confirmations: 1 },
    });
    const completed = linesOf("trace-system-1").find((line) => line.msg === "request completed");
    assert.equal(completed?.systemKeyId, system.id);
    assert.equal(completed?.tenantId, undefined);

    await call(app, "GET", "/wallets/", { key: "wk_forged", headers: { "x-request-id": "trace-refused-1" } });
    const refused = linesOf("trace-refused-1");
    assert.ok(refused.length >= 2);
    assert.ok(refused.every((line) => line.tenantId === undefined && line.systemKeyId === undefined));
  });

  it("carries a generated id on the log lines too, and answers it on an event stream", async () => {
    await app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = app.server.address() as AddressInfo;
    const controller = new AbortController();
    const response = await fetch(`http://127.0.0.1:${port}/wallets/events/`, {
      headers: { "x-api-key": tenant.apiKey, "x-request-id": "trace-stream-1" },
      signal: controller.signal,
    });
    controller.abort();
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("x-request-id"), "trace-stream-1");

    const plain = await fetch(`http://127.0.0.1:${port}/wallets/`, { headers: { "x-api-key": tenant.apiKey } });
    const generated = plain.headers.get("x-request-id") ?? "";
    assert.match(generated, UUID);
    const completed = linesOf(generated).find((line) => line.msg === "request completed");
    assert.equal(completed?.tenantId, tenant.tenantId);
  });
});
