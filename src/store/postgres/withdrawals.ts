import type { WithdrawalRecord, WithdrawalStatus } from "../store.js";
import { WITHDRAWALS } from "../tables.js";
import type { Statement } from "../write-behind.js";
import { type Queryable, query } from "./query.js";

/** Withdrawals: the reads of the withdrawal routes, and the write transaction's statements. */

const WITHDRAWAL_COLUMNS = WITHDRAWALS.select("w");

/**
 * The withdrawal, of the tenant or (tenantId null, system keys) of any tenant; `lock` is
 * " FOR UPDATE" when a write transaction is about to change it.
 */
export const selectWithdrawal = (tenantId: string | null, id: string, lock: "" | " FOR UPDATE"): Statement => ({
  name: `withdrawal${lock}`,
  text: `SELECT ${WITHDRAWAL_COLUMNS} FROM withdrawals w WHERE ($1::uuid IS NULL OR w.tenant_id = $1) AND w.id = $2${lock}`,
  values: [tenantId, id],
});

export async function findWithdrawal(db: Queryable, tenantId: string | null, id: string): Promise<WithdrawalRecord | undefined> {
  const [row] = await query(db, selectWithdrawal(tenantId, id, ""));
  return row && WITHDRAWALS.fromRow(row);
}

export async function listWithdrawals(db: Queryable, status: WithdrawalStatus, limit: number, offset: number): Promise<WithdrawalRecord[]> {
  const found = await query(db, {
    name: "withdrawals-by-status",
    text: `SELECT ${WITHDRAWAL_COLUMNS} FROM withdrawals w WHERE w.status = $1 ORDER BY w.created_at LIMIT $2 OFFSET $3`,
    values: [status, limit, offset],
  });
  return found.map(WITHDRAWALS.fromRow);
}

export const upsertWithdrawal = (withdrawal: WithdrawalRecord): Statement => ({
  name: "upsert-withdrawals",
  text: UPSERT_WITHDRAWAL,
  values: WITHDRAWALS.values(withdrawal),
});

const UPSERT_WITHDRAWAL = WITHDRAWALS.upsertSql("postgres");
