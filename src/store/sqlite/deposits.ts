import type { DepositStatus } from "../store.js";
import { DEPOSITS } from "../tables.js";
import { type PreparedStatements, statement } from "./statements.js";

/** Deposits: the wallet's deposit listing, and the write transaction's statements. */

/** In a write transaction this locks the deposit too: SQLite has one writer, so what it reads stays true until commit. */
export const selectDeposit = statement<[currency: string, txHash: string]>(
  "deposit",
  "SELECT * FROM deposits WHERE currency = ? AND tx_hash = ?",
);
/** A deposit seen again moves on (confirmations, status, its transfer); what was observed first stays. */
export const upsertDeposit = statement(
  "upsert-deposit",
  `${DEPOSITS.insertSql("sqlite")} ON CONFLICT (id) DO UPDATE SET confirmations = excluded.confirmations, status = excluded.status,
     transfer_id = excluded.transfer_id, updated_at = excluded.updated_at`,
);
const selectWalletDeposits = statement<[{ tenantId: string; walletUuid: string; status: DepositStatus | null; limit: number }]>(
  "wallet-deposits",
  `SELECT * FROM deposits WHERE tenant_id = @tenantId AND wallet_uuid = @walletUuid
   AND (@status IS NULL OR status = @status) ORDER BY created_at DESC LIMIT @limit`,
);

export const listDeposits = (
  reader: PreparedStatements,
  tenantId: string,
  walletUuid: string,
  status: DepositStatus | undefined,
  limit: number,
) => reader.many(DEPOSITS, selectWalletDeposits({ tenantId, walletUuid, status: status ?? null, limit }));
