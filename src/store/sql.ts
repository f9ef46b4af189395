/**
 * Builds the upsert statements both stores share: one column list, two placeholder dialects
 * (better-sqlite3's named `@column`, PostgreSQL's positional `$n`).
 */
export interface UpsertShape {
  table: string;
  columns: readonly string[];
  key: readonly string[];
}

export function upsertSql(shape: UpsertShape, dialect: "sqlite" | "postgres", onlyWhere = ""): string {
  const placeholders = shape.columns.map((column, index) => (dialect === "sqlite" ? `@${column}` : `$${index + 1}`));
  const updates = shape.columns.filter((column) => !shape.key.includes(column)).map((column) => `${column} = excluded.${column}`);
  return `INSERT INTO ${shape.table} (${shape.columns.join(", ")}) VALUES (${placeholders.join(", ")})
    ON CONFLICT (${shape.key.join(", ")}) DO UPDATE SET ${updates.join(", ")} ${onlyWhere ? `WHERE ${onlyWhere}` : ""}`;
}

/**
 * An idempotency record may only replace an expired one: against a live one the insert changes
 * nothing, atomically, even when two processes race for the same key.
 */
export const IDEMPOTENCY_INSERT_CONDITION = "idempotency_keys.expires_at <= excluded.created_at";

/** Values of a row in the shape's column order, for positional placeholders. */
export const positional = (shape: UpsertShape, row: object): unknown[] =>
  shape.columns.map((column) => (row as Record<string, unknown>)[column]);

/** The columns a new transfer row is written with, in the order bulk writes send them. */
export const TRANSFER_INSERT_COLUMNS = [
  "id",
  "tenant_id",
  "currency",
  "flag",
  "debit_account_id",
  "credit_account_id",
  "amount",
  "pending_id",
  "transfer_type",
  "wallet_uuid",
  "status",
  "created_at",
  "reference",
  "round_id",
] as const;

/**
 * A wallet's transfer history as clients see it: the rule of src/ledger/history.ts
 * (`visibleInHistory`), which `verify` checks, in SQL. A pending row that was voided or partly
 * posted is listed with what it gave back: its amount less the part its resolution posted
 * (`posted_part`, subtracted when the row is read).
 */
export const HISTORY_FROM = "transfers t LEFT JOIN transfers r ON r.pending_id = t.id AND r.flag = 'post_pending'";
export const HISTORY_VISIBLE =
  "t.transfer_type IS NOT NULL AND t.flag <> 'void_pending' AND NOT (t.flag = 'pending' AND t.status = 'posted')";

/** An INSERT of one row with positional parameters, in the columns' order. */
export const positionalInsertSql = (table: string, columns: readonly string[]) =>
  `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`;

/** The columns of an outbox event row, in the order bulk writes send them. */
export const EVENT_INSERT_COLUMNS = ["tenant_id", "seq", "id", "type", "wallet_uuid", "payload", "created_at"] as const;

export const GAME_TRANSACTIONS: UpsertShape = {
  table: "game_transactions",
  columns: [
    "tenant_id",
    "transaction_id",
    "kind",
    "status",
    "wallet_uuid",
    "currency",
    "amount",
    "round_id",
    "reference_id",
    "fingerprint",
    "result",
    "created_at",
  ],
  key: ["tenant_id", "transaction_id"],
};

export const HOLDS: UpsertShape = {
  table: "holds",
  columns: [
    "id",
    "tenant_id",
    "wallet_uuid",
    "currency",
    "amount",
    "captured_amount",
    "status",
    "transfer_id",
    "reference",
    "expires_at",
    "created_at",
    "updated_at",
  ],
  key: ["id"],
};

export const WITHDRAWALS: UpsertShape = {
  table: "withdrawals",
  columns: [
    "id",
    "tenant_id",
    "wallet_uuid",
    "currency",
    "amount",
    "address",
    "status",
    "transfer_id",
    "tx_hash",
    "created_at",
    "updated_at",
  ],
  key: ["id"],
};

export const IDEMPOTENCY_KEYS: UpsertShape = {
  table: "idempotency_keys",
  columns: ["scope", "key", "fingerprint", "result", "expires_at", "created_at"],
  key: ["scope", "key"],
};

/** A LIKE pattern matching `text` anywhere, with the pattern's own wildcards escaped. */
export const containsPattern = (text: string) => `%${text.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
