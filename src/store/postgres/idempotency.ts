import { IDEMPOTENCY_INSERT_CONDITION } from "../sql.js";
import type { IdempotencyRecord } from "../store.js";
import { IDEMPOTENCY_KEYS } from "../tables.js";
import type { Statement } from "../write-behind.js";
import { change, type Queryable } from "./query.js";

/** Idempotency-Key records: the write transaction's statements, and the sweeper's cleanup. */

export const selectIdempotencyRecord = (scope: string, key: string): Statement => ({
  name: "idempotency",
  text: `SELECT ${IDEMPOTENCY_KEYS.select("i")} FROM idempotency_keys i WHERE i.scope = $1 AND i.key = $2`,
  values: [scope, key],
});

/** Inserts the record, or replaces an expired one of the same key; changes nothing against a live one. */
export const insertIdempotencyRecord = (record: IdempotencyRecord): Statement => ({
  name: "upsert-idempotency_keys",
  text: UPSERT_IDEMPOTENCY_RECORD,
  values: IDEMPOTENCY_KEYS.values(record),
});

const UPSERT_IDEMPOTENCY_RECORD = IDEMPOTENCY_KEYS.upsertSql("postgres", IDEMPOTENCY_INSERT_CONDITION);

export function deleteExpiredIdempotencyRecords(db: Queryable, now: string, limit: number): Promise<number> {
  return change(db, {
    name: "delete-expired-idempotency",
    text: "DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM idempotency_keys WHERE expires_at <= $1 LIMIT $2)",
    values: [now, limit],
  });
}
