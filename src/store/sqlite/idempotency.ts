import { IDEMPOTENCY_INSERT_CONDITION } from "../sql.js";
import { IDEMPOTENCY_KEYS } from "../tables.js";
import { type Direct, statement } from "./statements.js";

/** Idempotency records: write transactions read and store them; the sweeper deletes the expired ones. */

export const selectIdempotencyRecord = statement<[scope: string, key: string]>(
  "idempotency-record",
  "SELECT * FROM idempotency_keys WHERE scope = ? AND key = ?",
);
export const insertIdempotencyRecord = statement(
  "insert-idempotency-record",
  IDEMPOTENCY_KEYS.upsertSql("sqlite", IDEMPOTENCY_INSERT_CONDITION),
);
const deleteExpired = statement<[now: string, limit: number]>(
  "delete-expired-idempotency",
  "DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys WHERE expires_at <= ? LIMIT ?)",
);

export const deleteExpiredIdempotencyRecords = (direct: Direct, now: string, limit: number) =>
  direct((writer) => writer.execute(deleteExpired(now, limit)).rowCount);
