/**
 * A table descriptor: the one place that says how a record is stored. From it come the row type,
 * both mappers (record to values, row to record), the column list, the order of positional
 * values and the PostgreSQL casts, so adding a column means adding one line here (the record's
 * type forces it) and one migration per dialect.
 *
 * Values are encoded the same way for both stores: money as decimal text (SQLite keeps TEXT,
 * PostgreSQL casts to numeric), flags as 1/0 (PostgreSQL reads '1'/'0' as booleans), lists as
 * comma-separated text, times as ISO 8601 text.
 */

export type ColumnType = "uuid" | "text" | "time" | "amount" | "integer" | "bigint" | "flag" | "list";

/** The column types a record field of type V may be stored as. */
type ColumnTypeFor<V> = [V] extends [bigint | null]
  ? "amount"
  : [V] extends [number | null]
    ? "integer" | "bigint"
    : [V] extends [boolean]
      ? "flag"
      : [V] extends [readonly string[]]
        ? "list"
        : [V] extends [string | null]
          ? "uuid" | "text" | "time"
          : never;

/** For every field of the record: its column's name and type. */
export type ColumnSpec<R> = { readonly [F in keyof R]-?: readonly [column: string, type: ColumnTypeFor<R[F]>] };

/** What a row read from either store looks like before it is decoded. */
export type Row = Record<string, unknown>;

const POSTGRES_TYPES: Record<ColumnType, string> = {
  uuid: "uuid",
  text: "text",
  time: "timestamptz",
  amount: "numeric",
  integer: "integer",
  bigint: "bigint",
  flag: "boolean",
  list: "text",
};

interface Column {
  field: string;
  name: string;
  type: ColumnType;
}

export class Table<R> {
  /** Column names in the order `values` gives them. */
  readonly columns: readonly string[];
  readonly #columns: readonly Column[];

  constructor(
    readonly name: string,
    /** The columns of the primary or unique key an upsert conflicts on. */
    readonly key: readonly string[],
    spec: ColumnSpec<R>,
  ) {
    this.#columns = Object.entries(spec as Record<string, readonly [string, ColumnType]>).map(([field, [column, type]]) => ({
      field,
      name: column,
      type,
    }));
    this.columns = this.#columns.map((column) => column.name);
    for (const column of key) if (!this.columns.includes(column)) throw new Error(`${name}: key column ${column} is not a column`);
  }

  /** The record's values in `columns` order, encoded for either store. */
  values(record: R): unknown[] {
    const values: unknown[] = new Array(this.#columns.length);
    for (let index = 0; index < this.#columns.length; index += 1) {
      const column = this.#columns[index] as Column;
      values[index] = encode(column.type, (record as Record<string, unknown>)[column.field]);
    }
    return values;
  }

  /** The record as an object keyed by column name: SQLite's named parameters, PostgreSQL's JSON rows. */
  row(record: R): Row {
    const row: Row = {};
    for (const column of this.#columns) row[column.name] = encode(column.type, (record as Record<string, unknown>)[column.field]);
    return row;
  }

  /** Decodes a row selected with `select` (or SQLite's `*`). */
  fromRow = (row: Row): R => {
    const record: Record<string, unknown> = {};
    for (const column of this.#columns) record[column.field] = decode(column.type, row[column.name]);
    return record as R;
  };

  /**
   * The select list for this table under `alias`, with the casts PostgreSQL needs to hand back
   * values the way SQLite does (numeric as exact text, not a float).
   */
  select(alias = this.name): string {
    return this.#columns
      .map((column) => (column.type === "amount" ? `${alias}.${column.name}::text AS ${column.name}` : `${alias}.${column.name}`))
      .join(", ");
  }

  /** `column type` pairs for PostgreSQL's json_to_recordset, which unpacks bulk rows. */
  get postgresTypes(): string {
    return this.#columns.map((column) => `${column.name} ${POSTGRES_TYPES[column.type]}`).join(", ");
  }

  /**
   * An INSERT of one row that replaces the stored one on a key conflict (only where `onlyWhere`
   * holds, when given), in either placeholder dialect: better-sqlite3's positional `?`,
   * PostgreSQL's `$n`. Both take `values(record)`.
   */
  upsertSql(dialect: "sqlite" | "postgres", onlyWhere = ""): string {
    const updates = this.columns.filter((column) => !this.key.includes(column)).map((column) => `${column} = excluded.${column}`);
    return `${this.insertSql(dialect)} ON CONFLICT (${this.key.join(", ")}) DO UPDATE SET ${updates.join(", ")}${
      onlyWhere ? ` WHERE ${onlyWhere}` : ""
    }`;
  }

  insertSql(dialect: "sqlite" | "postgres"): string {
    const placeholders = this.columns.map((_, index) => (dialect === "sqlite" ? "?" : `$${index + 1}`));
    return `INSERT INTO ${this.name} (${this.columns.join(", ")}) VALUES (${placeholders.join(", ")})`;
  }
}

function encode(type: ColumnType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case "amount":
      return (value as bigint).toString();
    case "flag":
      return value ? 1 : 0;
    case "list":
      return (value as readonly string[]).join(",");
    default:
      return value;
  }
}

function decode(type: ColumnType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case "amount":
      return BigInt(value as string);
    case "integer":
    case "bigint":
      return Number(value);
    case "flag":
      return value === 1 || value === true || value === 1n;
    case "list":
      return (value as string).split(",");
    case "time":
      return value instanceof Date ? value.toISOString() : value;
    default:
      return value;
  }
}

/** Declares a table; the type parameter is the record, whose every field the spec must map. */
export const table = <R>(name: string, key: readonly string[], spec: ColumnSpec<R>): Table<R> => new Table<R>(name, key, spec);
