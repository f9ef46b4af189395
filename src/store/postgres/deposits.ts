import type { DepositRecord, DepositStatus } from "../store.js";
import { DEPOSITS } from "../tables.js";
import type { Statement } from "../write-behind.js";
import { type Queryable, query } from "./query.js";

/** Deposits: the wallet's deposit list, and the write transaction's statements. */

const DEPOSIT_COLUMNS = DEPOSITS.select("d");

export async function listDeposits(
  db: Queryable,
  tenantId: string,
  walletUuid: string,
  status: DepositStatus | undefined,
  limit: number,
): Promise<DepositRecord[]> {
  const found = await query(db, {
    name: "wallet-deposits",
    text: `SELECT ${DEPOSIT_COLUMNS} FROM deposits d
           WHERE d.tenant_id = $1 AND d.wallet_uuid = $2 AND ($3::text IS NULL OR d.status = $3) ORDER BY d.created_at DESC LIMIT $4`,
    values: [tenantId, walletUuid, status ?? null, limit],
  });
  return found.map(DEPOSITS.fromRow);
}

/**
 * SELECT ... FOR UPDATE locks nothing while a row does not exist yet, so two first reports of
 * one deposit could both act. A transaction-scoped advisory lock on the natural key serialises
 * them: the second waits, then sees the first one's committed row.
 */
export const lockDepositKey = (currency: string, txHash: string): Statement => ({
  name: "advisory-lock",
  text: "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
  values: [`deposit:${currency}:${txHash}`],
});

/** FOR UPDATE: two reports of one transaction at once must not both credit it. */
export const selectDepositForUpdate = (currency: string, txHash: string): Statement => ({
  name: "deposit",
  text: `SELECT ${DEPOSIT_COLUMNS} FROM deposits d WHERE d.currency = $1 AND d.tx_hash = $2 FOR UPDATE`,
  values: [currency, txHash],
});

/** A deposit's first report inserts it; later reports change only how far it has come. */
export const upsertDeposit = (deposit: DepositRecord): Statement => ({
  name: "save-deposit",
  text: UPSERT_DEPOSIT,
  values: DEPOSITS.values(deposit),
});

const UPSERT_DEPOSIT = `${DEPOSITS.insertSql("postgres")}
  ON CONFLICT (id) DO UPDATE SET confirmations = excluded.confirmations, status = excluded.status,
    transfer_id = excluded.transfer_id, updated_at = excluded.updated_at`;
