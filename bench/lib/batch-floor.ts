import { randomUUID } from "node:crypto";
import Database from "better-sqlite3";
import pg from "pg";
import { copyRows } from "../../src/store/postgres/copy.js";
import { EVENTS, TRANSFERS } from "../../src/store/tables.js";
import type { BenchDatabase } from "./database.js";
import { median, round, waitForQuiet } from "./load.js";
import { log } from "./report.js";

/**
 * The storage floor of a batch: what writing its rows costs with nothing of the service in the
 * way (no HTTP, no JSON, no ledger checks, no event building). It takes the last `size`
 * transfers and events the batches just wrote through the API, and writes copies of them (new
 * ids and sequence numbers, same contents) into the same database, with the account updates, in
 * one durable transaction per round: the same rows and indexes, and the same database size, as
 * a batch request. The rows are written in the tables' column order (src/store/tables.ts): one
 * prepared INSERT per row on SQLite, COPY on PostgreSQL, as the service's bulk path does.
 */

export interface StorageFloor {
  size: number;
  secondsEach: number[];
  medianMovementsPerSecond: number;
}

export async function storageFloor(database: BenchDatabase, size: number, rounds: number): Promise<StorageFloor> {
  await waitForQuiet();
  log(`storage floor: ${rounds} rounds of ${size} transfers and events`);
  const secondsEach =
    database.kind === "sqlite" ? sqliteRounds(database.name, size, rounds) : await postgresRounds(database.url, size, rounds);
  return {
    size,
    secondsEach: secondsEach.map((seconds) => round(seconds)),
    medianMovementsPerSecond: round(size / median(secondsEach), 0),
  };
}

function sqliteRounds(file: string, size: number, rounds: number): number[] {
  const db = new Database(file);
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("foreign_keys = ON");
    const transfers = db
      .prepare(`SELECT ${TRANSFERS.columns.join(", ")} FROM transfers ORDER BY seq DESC LIMIT ?`)
      .raw()
      .all(size) as (string | null)[][];
    // A uuid16 column is a BLOB that the insert takes back as text (hex; its dashes are optional).
    const eventColumns = EVENTS.columns.map((column) => (EVENTS.uuid16Columns.includes(column) ? `lower(hex(${column}))` : column));
    const events = db
      .prepare(`SELECT ${eventColumns.join(", ")} FROM events ORDER BY seq DESC LIMIT ?`)
      .raw()
      .all(size) as (string | number | null)[][];
    const accounts = db.prepare("SELECT id, credits_posted, debits_posted, version FROM accounts WHERE version > 0").raw().all() as [
      string,
      string,
      string,
      number,
    ][];
    const insertTransfer = db.prepare(TRANSFERS.insertSql("sqlite"));
    const insertEvent = db.prepare(EVENTS.insertSql("sqlite"));
    const updateAccount = db.prepare("UPDATE accounts SET credits_posted = ?, debits_posted = ?, version = ? WHERE id = ?");
    let nextSeq = (db.prepare("SELECT max(seq) AS seq FROM events").get() as { seq: number }).seq;
    const secondsEach: number[] = [];
    for (let index = 0; index < rounds; index += 1) {
      const started = performance.now();
      db.transaction(() => {
        for (const row of transfers) insertTransfer.run(randomUUID(), ...row.slice(1));
        for (const row of events) {
          nextSeq += 1;
          insertEvent.run(row[0], nextSeq, randomUUID(), ...row.slice(3));
        }
        for (const [id, credits, debits, version] of accounts) updateAccount.run(credits, debits, version + 1, id);
      }).immediate();
      secondsEach.push((performance.now() - started) / 1000);
    }
    return secondsEach;
  } finally {
    db.close();
  }
}

async function postgresRounds(url: string, size: number, rounds: number): Promise<number[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const text = (columns: readonly string[]) => columns.map((column) => `${column}::text`).join(", ");
    const transfers = (
      await client.query({
        text: `SELECT ${text(TRANSFERS.columns)} FROM transfers ORDER BY seq DESC LIMIT $1`,
        values: [size],
        rowMode: "array",
      })
    ).rows as (string | null)[][];
    const events = (
      await client.query({
        text: `SELECT ${text(EVENTS.columns)} FROM events ORDER BY seq DESC LIMIT $1`,
        values: [size],
        rowMode: "array",
      })
    ).rows as (string | null)[][];
    const accounts = (await client.query("SELECT id, credits_posted::text, debits_posted::text, version FROM accounts WHERE version > 0"))
      .rows;
    let nextSeq = Number((await client.query("SELECT max(seq) AS seq FROM events")).rows[0].seq);
    const secondsEach: number[] = [];
    for (let index = 0; index < rounds; index += 1) {
      const started = performance.now();
      await client.query("BEGIN");
      await copyRows(
        client,
        TRANSFERS.name,
        TRANSFERS.columns,
        transfers.map((row) => [randomUUID(), ...row.slice(1)]),
      );
      await copyRows(
        client,
        EVENTS.name,
        EVENTS.columns,
        events.map((row) => {
          nextSeq += 1;
          return [row[0] ?? null, String(nextSeq), randomUUID(), ...row.slice(3)];
        }),
      );
      await client.query({
        text: `UPDATE accounts a SET credits_posted = v.credits_posted, debits_posted = v.debits_posted, version = v.version + 1
               FROM unnest($1::uuid[], $2::numeric[], $3::numeric[], $4::bigint[]) AS v(id, credits_posted, debits_posted, version)
               WHERE a.id = v.id`,
        values: [
          accounts.map((row) => row.id),
          accounts.map((row) => row.credits_posted),
          accounts.map((row) => row.debits_posted),
          accounts.map((row) => row.version),
        ],
      });
      await client.query("COMMIT");
      secondsEach.push((performance.now() - started) / 1000);
    }
    return secondsEach;
  } finally {
    await client.end();
  }
}
