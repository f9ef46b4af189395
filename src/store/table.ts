import { assert } from "../ledger/assert.js";
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

/**
 * `uuid16` is a UUID kept in its 16 bytes in both stores (PostgreSQL's uuid, a BLOB in SQLite,
 * where `uuid` columns hold the 36 characters of its text): the lean tables of issue 13 (events,
 * game transactions) repeat ids on every row and in their indexes.
 */
export type ColumnType = "uuid" | "uuid16" | "text" | "time" | "amount" | "integer" | "bigint" | "flag" | "list";

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
          ? "uuid" | "uuid16" | "text" | "time"
          : never;

/** For every field of the record: its column's name and type. */
export type ColumnSpec<R> = { readonly [F in keyof R]-?: readonly [column: string, type: ColumnTypeFor<R[F]>] };

/** What a row read from either store looks like before it is decoded. */
export type Row = Record<string, unknown>;

const POSTGRES_TYPES: Record<ColumnType, string> = {
  uuid: "uuid",
  uuid16: "uuid",
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
  /** The `uuid16` columns: SQLite hands them back as BLOBs, and `insertSql` takes them as text. */
  readonly uuid16Columns: readonly string[];
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
    this.uuid16Columns = this.#columns.filter((column) => column.type === "uuid16").map((column) => column.name);
    for (const column of key) assert(this.columns.includes(column), `${name}: key column ${column} is not a column`);
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
  fromRow = (row: Row): R => this.fromPrefixedRow(row, "");

  /**
   * Decodes the columns selected with `select(alias, prefix)`, or null when the row has none of
   * them: a LEFT JOIN that found nothing (`probe`, a column never null in the table, tells).
   */
  fromPrefixedRow(row: Row, prefix: string): R;
  fromPrefixedRow(row: Row, prefix: string, probe: string): R | null;
  fromPrefixedRow(row: Row, prefix: string, probe?: string): R | null {
    if (probe !== undefined && (row[`${prefix}${probe}`] ?? null) === null) return null;
    const record: Record<string, unknown> = {};
    for (const column of this.#columns) record[column.field] = decode(column.type, row[`${prefix}${column.name}`]);
    return record as R;
  }

  /**
   * The select list for this table under `alias`, with the casts PostgreSQL needs to hand back
   * values the way SQLite does (numeric as exact text, not a float).
   */
  select(alias = this.name): string {
    return this.#columns
      .map((column) => (column.type === "amount" ? `${alias}.${column.name}::text AS ${column.name}` : `${alias}.${column.name}`))
      .join(", ");
  }

  /**
   * The select list with every output column named `prefix` + its name, so that several tables
   * of one join can be decoded apart (`fromPrefixedRow`). PostgreSQL's casts as in `select`;
   * `dialect` "sqlite" leaves amounts as they are (TEXT).
   */
  selectPrefixed(alias: string, prefix: string, dialect: "sqlite" | "postgres"): string {
    return this.#columns
      .map((column) => {
        const value = column.type === "amount" && dialect === "postgres" ? `${alias}.${column.name}::text` : `${alias}.${column.name}`;
        return `${value} AS ${prefix}${column.name}`;
      })
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

  /** SQLite: a `uuid16` value travels as text and is packed into its BLOB by the statement (`sqliteUuidBlob`). */
  insertSql(dialect: "sqlite" | "postgres"): string {
    const placeholders = this.#columns.map((column, index) =>
      dialect === "postgres" ? `$${index + 1}` : column.type === "uuid16" ? sqliteUuidBlob("?") : "?",
    );
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

/** SQLite: the 16-byte BLOB of a UUID given as text (a parameter or a TEXT column), for a `uuid16` column. */
export const sqliteUuidBlob = (text: string) => `unhex(replace(${text}, '-', ''))`;

/**
 * SQLite: the text of a UUID kept as a `uuid16` BLOB, lower case with its dashes as every TEXT id
 * is stored, so that a join on a TEXT id column can use that column's index.
 */
export const sqliteUuidText = (blob: string) =>
  `lower(substr(hex(${blob}), 1, 8) || '-' || substr(hex(${blob}), 9, 4) || '-' || substr(hex(${blob}), 13, 4) || '-' || ` +
  `substr(hex(${blob}), 17, 4) || '-' || substr(hex(${blob}), 21))`;

/** A UUID's text from its 16 bytes (SQLite hands `uuid16` BLOBs back as Buffers). */
function uuidFromBytes(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function decode(type: ColumnType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case "uuid16":
      return value instanceof Uint8Array ? uuidFromBytes(value) : value;
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
