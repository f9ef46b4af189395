import { HOLDS } from "../tables.js";
import { type PreparedStatements, statement } from "./statements.js";

/** Holds: the reads of the hold routes and the expiry sweeper, and the write transaction's statements. */

/** In a write transaction this locks the hold too: SQLite has one writer, so what it reads stays true until commit. */
export const selectHold = statement<[tenantId: string, id: string]>("hold", "SELECT * FROM holds WHERE tenant_id = ? AND id = ?");
export const upsertHold = statement("upsert-hold", HOLDS.upsertSql("sqlite"));
const selectExpired = statement<[now: string, limit: number]>(
  "expired-holds",
  "SELECT tenant_id, id FROM holds WHERE status = 'pending' AND expires_at <= ? ORDER BY expires_at LIMIT ?",
);

export const findHold = (reader: PreparedStatements, tenantId: string, id: string) => reader.one(HOLDS, selectHold(tenantId, id));

export const listExpiredHolds = (reader: PreparedStatements, now: string, limit: number) =>
  reader.execute(selectExpired(now, limit)).rows.map((row) => ({ tenantId: row.tenant_id as string, id: row.id as string }));
