import type { HoldRecord } from "../store.js";
import { HOLDS } from "../tables.js";
import type { Statement } from "../write-behind.js";
import { type Queryable, query } from "./query.js";

/** Holds: the reads of the hold routes and the expiry sweeper, and the write transaction's statements. */

const HOLD_COLUMNS = HOLDS.select("h");

/** The tenant's hold; `lock` is " FOR UPDATE" when a write transaction is about to change it. */
export const selectHold = (tenantId: string, id: string, lock: "" | " FOR UPDATE"): Statement => ({
  name: `hold${lock}`,
  text: `SELECT ${HOLD_COLUMNS} FROM holds h WHERE h.tenant_id = $1 AND h.id = $2${lock}`,
  values: [tenantId, id],
});

export async function findHold(db: Queryable, tenantId: string, id: string): Promise<HoldRecord | undefined> {
  const [row] = await query(db, selectHold(tenantId, id, ""));
  return row && HOLDS.fromRow(row);
}

export async function listExpiredHolds(db: Queryable, now: string, limit: number): Promise<{ tenantId: string; id: string }[]> {
  const found = await query(db, {
    name: "expired-holds",
    text: "SELECT tenant_id, id FROM holds WHERE status = 'pending' AND expires_at <= $1 ORDER BY expires_at LIMIT $2",
    values: [now, limit],
  });
  return found.map((row) => ({ tenantId: row.tenant_id as string, id: row.id as string }));
}

export const upsertHold = (hold: HoldRecord): Statement => ({ name: "upsert-holds", text: UPSERT_HOLD, values: HOLDS.values(hold) });

const UPSERT_HOLD = HOLDS.upsertSql("postgres");
