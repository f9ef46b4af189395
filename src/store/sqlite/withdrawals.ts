import type { WithdrawalStatus } from "../store.js";
import { WITHDRAWALS } from "../tables.js";
import { type PreparedStatements, statement } from "./statements.js";

/** Withdrawals: the reads of the withdrawal routes, and the write transaction's statements. */

/**
 * A tenant of null finds any tenant's (system keys). In a write transaction this locks the
 * withdrawal too: SQLite has one writer, so what it reads stays true until commit.
 */
export const selectWithdrawal = statement<[{ tenantId: string | null; id: string }]>(
  "withdrawal",
  "SELECT * FROM withdrawals WHERE (@tenantId IS NULL OR tenant_id = @tenantId) AND id = @id",
);
export const upsertWithdrawal = statement("upsert-withdrawal", WITHDRAWALS.upsertSql("sqlite"));
const selectByStatus = statement<[status: WithdrawalStatus, limit: number, offset: number]>(
  "withdrawals-by-status",
  "SELECT * FROM withdrawals WHERE status = ? ORDER BY created_at LIMIT ? OFFSET ?",
);

export const findWithdrawal = (reader: PreparedStatements, tenantId: string | null, id: string) =>
  reader.one(WITHDRAWALS, selectWithdrawal({ tenantId, id }));

export const listWithdrawals = (reader: PreparedStatements, status: WithdrawalStatus, limit: number, offset: number) =>
  reader.many(WITHDRAWALS, selectByStatus(status, limit, offset));
