import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { loadConfig } from "../../src/config.js";
import { buildApp } from "../../src/http/app.js";
import { createRuntime, type Runtime } from "../../src/runtime.js";
import { migrate as migratePostgres, LEAN_ROWS_VERSION as POSTGRES_LEAN_ROWS } from "../../src/store/postgres/migrations.js";
import { openConnection } from "../../src/store/sqlite/connection.js";
import { migrate as migrateSqlite, LEAN_ROWS_VERSION as SQLITE_LEAN_ROWS } from "../../src/store/sqlite/migrations.js";
import { createTestDatabase, rawQuery, TEST_STORE, type TestDatabase } from "../helpers.js";

/**
 * An upgrade over the lean rows of issue 13. test/store/fixtures/pre-lean.json holds a database
 * written through the HTTP API by the code before them (make-pre-lean.ts: every event type, bets,
 * wins, zero wins, rollbacks, a tombstone, replays, Idempotency-Key records of a bet and of a
 * batch, webhook deliveries), with every answer it gave. Its rows are loaded into a database at
 * the schema they were written in; the current code migrates it, and must then answer every
 * repeat byte for byte as it was answered, list every event with the JSON it had, hand the
 * webhook dispatcher the same bodies, and keep the moved rows lean.
 */

interface Fixture {
  tenants: { tenantId: string; apiKey: string }[];
  systemKey: string;
  withdrawalsKey: string;
  calls: {
    method: string;
    url: string;
    key: number | "system" | "withdrawals";
    body?: unknown;
    headers?: Record<string, string>;
    replay: boolean;
    status: number;
    text: string;
  }[];
  listings: { tenant: number; walletUuid: string | null; afterSeq?: number; payloads: [number, string, string][] }[];
  tables: Record<string, { columns: string[]; rows: unknown[][] }>;
}

const fixture = JSON.parse(readFileSync(new URL("./fixtures/pre-lean.json", import.meta.url), "utf8")) as Fixture;

/** In the order their foreign keys accept. */
const TABLES = [
  "tenants",
  "api_keys",
  "oauth_clients",
  "settings",
  "wallets",
  "accounts",
  "transfers",
  "deposits",
  "game_transactions",
  "holds",
  "withdrawals",
  "idempotency_keys",
  "event_counters",
  "events",
  "webhook_endpoints",
  "webhook_deliveries",
];

/** The fixture's rows as they go in: Idempotency-Key records that never expire, so that they are replayed whenever this runs. */
function rowsOf(table: string): { columns: string[]; rows: unknown[][] } {
  const { columns, rows } = fixture.tables[table] ?? { columns: [], rows: [] };
  if (table !== "idempotency_keys") return { columns, rows };
  const expires = columns.indexOf("expires_at");
  return { columns, rows: rows.map((row) => row.map((value, index) => (index === expires ? "2999-01-01T00:00:00.000Z" : value))) };
}

async function loadPreLeanDatabase(database: TestDatabase): Promise<void> {
  if (TEST_STORE === "sqlite") {
    const db = openConnection(database.url.slice("sqlite:".length));
    try {
      migrateSqlite(db, SQLITE_LEAN_ROWS - 1);
      db.transaction(() => {
        for (const table of TABLES) {
          const { columns, rows } = rowsOf(table);
          const insert = db.prepare(`INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`);
          for (const row of rows) insert.run(...row);
        }
      })();
    } finally {
      db.close();
    }
    return;
  }
  const pool = new pg.Pool({ connectionString: database.url, max: 1 });
  try {
    await migratePostgres(pool, POSTGRES_LEAN_ROWS - 1);
    for (const table of TABLES) {
      const { columns, rows } = rowsOf(table);
      // SQLite's flags are 0 and 1: PostgreSQL reads them as booleans from text.
      const sql = `INSERT INTO ${table} (${columns.join(", ")}) OVERRIDING SYSTEM VALUE VALUES (${columns.map((_, index) => `$${index + 1}`).join(", ")})`;
      for (const row of rows)
        await pool.query(
          sql,
          row.map((value) => (value === null ? null : String(value))),
        );
      if (columns.includes("seq") && ["wallets", "accounts", "transfers"].includes(table)) {
        await pool.query(`SELECT setval(pg_get_serial_sequence('${table}', 'seq'), (SELECT max(seq) FROM ${table}))`);
      }
    }
  } finally {
    await pool.end();
  }
}

describe("an upgrade to the lean rows of issue 13", () => {
  let database: TestDatabase;
  let runtime: Runtime;
  let app: Awaited<ReturnType<typeof buildApp>>;
  const keyOf = (key: Fixture["calls"][number]["key"]) =>
    key === "system" ? fixture.systemKey : key === "withdrawals" ? fixture.withdrawalsKey : (fixture.tenants[key]?.apiKey ?? "");
  const send = (call: Pick<Fixture["calls"][number], "method" | "url" | "key" | "body" | "headers">) =>
    app.inject({
      method: call.method as "POST",
      url: call.url,
      headers: {
        "x-api-key": keyOf(call.key),
        ...(call.body === undefined ? {} : { "content-type": "application/json" }),
        ...call.headers,
      },
      ...(call.body === undefined ? {} : { payload: JSON.stringify(call.body) }),
    });

  before(async () => {
    database = await createTestDatabase();
    await loadPreLeanDatabase(database);
    const config = { ...loadConfig({}), databaseUrl: database.url, webhookAllowHttp: true, webhookAllowedTargets: ["127.0.0.1/32"] };
    // The workers are not started: the deliveries stay as they were written.
    runtime = await createRuntime(config);
    app = await buildApp({ services: runtime.services, config });
  });
  after(async () => {
    await app.close();
    await runtime.close();
    await database.drop();
  });

  it("answers every repeat of a game call, a batch and an Idempotency-Key byte for byte as the first time", async () => {
    const replays = fixture.calls.filter((call) => call.replay);
    assert.ok(replays.length >= 20);
    for (const call of replays) {
      const answer = await send(call);
      assert.equal(answer.statusCode, call.status, `${call.method} ${call.url} ${JSON.stringify(call.body)}`);
      assert.equal(answer.body, call.text, `${call.method} ${call.url} ${JSON.stringify(call.body)}`);
    }
  });

  it("lists every event, of a tenant and of a wallet, with the JSON it had", async () => {
    for (const listing of fixture.listings) {
      const tenantId = fixture.tenants[listing.tenant]?.tenantId ?? "";
      const events = await runtime.services.events.after(tenantId, listing.afterSeq ?? 0, listing.walletUuid ?? undefined);
      assert.deepEqual(
        events.map((event) => [event.seq, event.type, event.payload]),
        listing.payloads,
      );
    }
  });

  it("lists the webhook deliveries as before, and hands the dispatcher the same bodies", async () => {
    const listed = fixture.calls.find((call) => call.url.startsWith("/webhooks/deliveries/"));
    assert.ok(listed);
    const answer = await send(listed);
    // Deliveries made at the same millisecond come in no set order (ORDER BY created_at): compared in one.
    const inOrder = (text: string) =>
      (JSON.parse(text).deliveries as { created_at: string; event_id: string }[]).map((delivery) => JSON.stringify(delivery)).sort();
    assert.deepEqual(inOrder(answer.body), inOrder(listed.text));
    const bodies = new Map(fixture.listings[0]?.payloads.map(([, , payload]) => [JSON.parse(payload).id as string, payload]));
    const now = new Date().toISOString();
    const claimed = await runtime.store.claimDueDeliveries(now, new Date(Date.now() + 60_000).toISOString(), 100);
    assert.equal(claimed.length, JSON.parse(listed.text).deliveries.length);
    for (const delivery of claimed) assert.equal(runtime.services.events.render(delivery.event), bodies.get(delivery.eventId));
  });

  it("moves the data: no event keeps its JSON, and a game transaction keeps its answer only past 64-bit counters on SQLite", async () => {
    const [events] = await rawQuery(database.url, "SELECT count(*) AS n FROM events WHERE payload IS NOT NULL");
    assert.equal(Number(events?.n), 0);
    const kept = await rawQuery(
      database.url,
      "SELECT transaction_id FROM game_transactions WHERE result IS NOT NULL ORDER BY transaction_id",
    );
    assert.deepEqual(
      kept.map((row) => row.transaction_id),
      TEST_STORE === "sqlite" ? ["lean-eth-bet", "lean-eth-win"] : [],
    );
    const columns = await rawQuery(
      database.url,
      TEST_STORE === "sqlite"
        ? "SELECT name FROM pragma_table_info('game_transactions')"
        : "SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'game_transactions'",
    );
    assert.ok(!columns.some((column) => column.name === "fingerprint"));
  });

  it("goes on from the moved rows: a rollback of a bet written before, then its refused win, and a conflict on a settled bet", async () => {
    const strict = { key: 1 as const, method: "POST" };
    const wallet = JSON.parse(fixture.calls.find((call) => call.url === "/wallets/" && call.key === 1)?.text ?? "{}").wallet_id;
    const game = { wallet_id: wallet, currency: "USDTTRC20", round_id: "s", bet_transaction_id: "strict-bet" };
    const rollback = await send({ ...strict, url: "/games/rollbacks/", body: { ...game, transaction_id: "strict-rb-2" } });
    assert.equal(rollback.statusCode, 200, rollback.body);
    assert.equal(JSON.parse(rollback.body).transaction.amount, "7.00");
    const win = await send({ ...strict, url: "/games/wins/", body: { ...game, amount: "1", transaction_id: "strict-win-2" } });
    assert.equal(win.statusCode, 409, win.body);
    const lean = fixture.tenants[0];
    const three = JSON.parse(fixture.calls.filter((call) => call.url === "/wallets/" && call.key === 0)[2]?.text ?? "{}").wallet_id;
    const settled = await send({
      key: 0,
      method: "POST",
      url: "/games/rollbacks/",
      body: {
        wallet_id: three,
        currency: "ETH",
        round_id: "lean-eth-round",
        transaction_id: "lean-eth-rb",
        bet_transaction_id: "lean-eth-bet",
      },
    });
    assert.equal(settled.statusCode, 409, settled.body);
    assert.ok(lean);
    assert.equal((await runtime.services.verify()).ok, true);
  });
});
