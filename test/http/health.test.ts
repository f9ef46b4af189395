import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { loadConfig } from "../../src/config.js";
import { buildApp } from "../../src/http/app.js";
import { createRuntime } from "../../src/runtime.js";
import type { SchemaState } from "../../src/store/operator.js";
import { assertError, call, createTestDatabase, startApp, TEST_STORE, type TestApp } from "../helpers.js";

describe("health and readiness", () => {
  let test: TestApp;

  before(async () => {
    test = await startApp({ rateLimitPerMinute: 1 });
  });
  after(() => test.close());

  /** Replaces the store's ping for one test: a database that fails or lags behind. */
  async function withPing<T>(ping: () => Promise<SchemaState>, work: () => Promise<T>): Promise<T> {
    const operator = test.store.operator;
    const original = operator.ping;
    operator.ping = ping;
    try {
      return await work();
    } finally {
      operator.ping = original;
    }
  }

  it("answers liveness and readiness without a credential, and without counting against any rate limit", async () => {
    for (let index = 0; index < 5; index += 1) {
      const live = await call(test.app, "GET", "/health/live");
      assert.equal(live.status, 200);
      assert.deepEqual(live.body, { status: "live" });
      const ready = await call(test.app, "GET", "/health/ready");
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.body, { status: "ready" });
      assert.equal(ready.headers["x-ratelimit-limit"], undefined);
    }
    // The same paths with a trailing slash, as every route of the service.
    assert.equal((await call(test.app, "GET", "/health/ready/")).status, 200);
  });

  it("answers 503 unavailable in the envelope when the database does not answer", async () => {
    const response = await withPing(
      async () => {
        throw new Error("connect ECONNREFUSED 10.0.0.5:5432 password=hunter2");
      },
      () => call(test.app, "GET", "/health/ready"),
    );
    const details = assertError(response, 503, "unavailable");
    assert.deepEqual(details, { reason: "database_unreachable" });
    assert.doesNotMatch(JSON.stringify(response.body), /hunter2|ECONNREFUSED/, "no driver text reaches the client");
    // Liveness does not depend on the database: the process is up.
    assert.equal((await call(test.app, "GET", "/health/live")).status, 200);
  });

  it("answers 503 when the database answers too slowly", { timeout: 10_000 }, async () => {
    const response = await withPing(
      () => new Promise(() => undefined),
      () => call(test.app, "GET", "/health/ready"),
    );
    assert.deepEqual(assertError(response, 503, "unavailable"), { reason: "database_unreachable" });
  });

  it("answers 503 when the database lacks migrations this build ships", async () => {
    const response = await withPing(
      async () => ({ migrationsApplied: 3, migrationsExpected: 4 }),
      () => call(test.app, "GET", "/health/ready"),
    );
    assert.deepEqual(assertError(response, 503, "unavailable"), { reason: "migrations_pending" });
    assert.match(response.body.error.message, /3 of 4 migrations/);
  });

  it("reports the real schema as complete", async () => {
    const state = await test.services.operator.ping();
    assert.ok(state.migrationsExpected > 0);
    assert.equal(state.migrationsApplied, state.migrationsExpected);
  });
});

describe("readiness of a database that goes away", {
  skip: TEST_STORE !== "postgres" && "PostgreSQL only: an SQLite file cannot become unreachable",
}, () => {
  it("answers 503 once the database is dropped under the running service", async () => {
    const database = await createTestDatabase();
    const config = { ...loadConfig({}), databaseUrl: database.url };
    const runtime = await createRuntime(config);
    const app = await buildApp({ services: runtime.services, config });
    try {
      assert.equal((await call(app, "GET", "/health/ready")).status, 200);
      // DROP DATABASE ... WITH (FORCE) terminates the pool's connections first.
      await database.drop();
      const response = await call(app, "GET", "/health/ready");
      assert.deepEqual(assertError(response, 503, "unavailable"), { reason: "database_unreachable" });
      assert.equal((await call(app, "GET", "/health/live")).status, 200);
    } finally {
      await app.close();
      await runtime.close();
    }
  });
});

describe("readiness during shutdown", () => {
  it("answers 503 to a request that arrives after the shutdown began, while requests in flight finish", async () => {
    const database = await createTestDatabase();
    const config = { ...loadConfig({}), databaseUrl: database.url };
    const runtime = await createRuntime(config);
    const app = await buildApp({ services: runtime.services, config });
    // A request that stays in flight until released: it keeps its connection open through the shutdown.
    let entered!: () => void;
    const inFlight = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    app.get("/test/slow", { config: { rateLimit: false } }, async () => {
      entered();
      await held;
      return { finished: true };
    });
    let closing!: () => void;
    const closingBegan = new Promise<void>((resolve) => {
      closing = resolve;
    });
    app.addHook("preClose", async () => closing());
    await app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = app.server.address() as { port: number };
    try {
      const socket = connect(port, "127.0.0.1");
      let received = "";
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => {
        received += chunk;
      });
      const ended = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      socket.write("GET /test/slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
      await inFlight;

      const closed = app.close();
      await closingBegan;
      // The same connection, so the request reaches the server that no longer accepts new ones.
      socket.write("GET /health/ready HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
      await new Promise((resolve) => setTimeout(resolve, 100));
      release();
      await closed;
      await ended;

      const answers = received.split(/(?=HTTP\/1\.1 )/);
      assert.equal(answers.length, 2, received);
      assert.match(answers[0] ?? "", /^HTTP\/1\.1 200 /);
      assert.match(answers[0] ?? "", /\{"finished":true\}/);
      assert.match(answers[1] ?? "", /^HTTP\/1\.1 503 /);
      const body = JSON.parse((answers[1] ?? "").split("\r\n\r\n")[1] ?? "");
      assert.deepEqual(body, {
        error: { code: "unavailable", message: "The server is shutting down", details: { reason: "shutting_down" } },
      });
    } finally {
      await app.close();
      await runtime.close();
      await database.drop();
    }
  });
});
