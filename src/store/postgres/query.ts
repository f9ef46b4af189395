import type pg from "pg";
import type { Row } from "../table.js";
import type { Statement } from "../write-behind.js";

/** The pool, for a read outside any transaction, or one connection of it. */
export type Queryable = pg.Pool | pg.PoolClient;

/**
 * Runs a named statement and returns its rows: PostgreSQL parses and plans it once per
 * connection, and every later run sends only the values.
 */
export async function query(db: Queryable, statement: Statement): Promise<Row[]> {
  return (await db.query({ name: statement.name, text: statement.text, values: statement.values as unknown[] })).rows;
}

/** Runs a named statement and returns how many rows it changed. */
export async function change(db: Queryable, statement: Statement): Promise<number> {
  return (await db.query({ name: statement.name, text: statement.text, values: statement.values as unknown[] })).rowCount ?? 0;
}
