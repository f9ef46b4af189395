import type Database from "better-sqlite3";
import { assert } from "../../ledger/assert.js";
import type { Row, Table } from "../table.js";
import type { Statement, StatementResult } from "../write-behind.js";

/**
 * The statements of one SQL text, built from their values. The name is what the text is
 * prepared under, once per connection; `V` names the values in the order the text takes them.
 */
export const statement =
  <V extends unknown[] = unknown[]>(name: string, text: string) =>
  (...values: V): Statement => ({ name, text, values });

/**
 * A connection's prepared statements, by name. better-sqlite3 compiles SQL when it prepares it,
 * which costs more than running the statement, so each is prepared once per connection and kept.
 */
export class PreparedStatements {
  readonly #statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  get(name: string, text: string): Database.Statement {
    let prepared = this.#statements.get(name);
    if (!prepared) {
      prepared = this.db.prepare(text);
      this.#statements.set(name, prepared);
    }
    assert(prepared.source === text, `two statements are named ${name}`);
    return prepared;
  }

  /** Runs the statement: a query (or a change with RETURNING) answers its rows, a change how many rows it changed. */
  execute(statement: Statement): StatementResult {
    const prepared = this.get(statement.name, statement.text);
    if (prepared.reader) {
      const rows = prepared.all(...statement.values) as Row[];
      return { rows, rowCount: rows.length };
    }
    return { rows: [], rowCount: prepared.run(...statement.values).changes };
  }

  /** The statement's first row as the table's record. */
  one<R>(table: Table<R>, statement: Statement): R | undefined {
    const [row] = this.execute(statement).rows;
    return row && table.fromRow(row);
  }

  /** The statement's rows as the table's records. */
  many<R>(table: Table<R>, statement: Statement): R[] {
    return this.execute(statement).rows.map(table.fromRow);
  }
}

/** Runs statements on the writer connection through the group committer (see SqliteRunner.direct). */
export type Direct = <T>(statement: (writer: PreparedStatements) => T) => Promise<T>;

/**
 * The table's columns under `alias`, each renamed with `prefix` when given (a join of two tables
 * whose column names overlap). SQLite hands every column back as stored, so unlike PostgreSQL's
 * select list this one needs no casts.
 */
export const columnsOf = <R>(table: Table<R>, alias: string, prefix = ""): string =>
  table.columns.map((column) => (prefix ? `${alias}.${column} AS ${prefix}${column}` : `${alias}.${column}`)).join(", ");

/** A row selected with `columnsOf(table, alias, prefix)`, with the prefix taken off its column names. */
export function unprefixed(row: Row, prefix: string): Row {
  const unprefixedRow: Row = {};
  for (const [column, value] of Object.entries(row)) if (column.startsWith(prefix)) unprefixedRow[column.slice(prefix.length)] = value;
  return unprefixedRow;
}
