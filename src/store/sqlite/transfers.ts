import type { ReplayAccount, ReplayTransfer } from "../../ledger/replay.js";
import { HISTORY_FROM, HISTORY_VISIBLE, historyEntryFromRow } from "../sql.js";
import type { TransferFilter, TransferStatus } from "../store.js";
import type { Row } from "../table.js";
import { ACCOUNTS, TRANSFERS } from "../tables.js";
import { ACCOUNT_COLUMNS } from "./accounts.js";
import { openConnection } from "./connection.js";
import { type PreparedStatements, statement } from "./statements.js";

/** Transfers: wallets' histories, the whole ledger for verification, and the write transaction's statements. */

export const selectTransfer = statement<[id: string]>("transfer", "SELECT * FROM transfers WHERE id = ?");
export const updateTransferStatus = statement<[status: TransferStatus, id: string]>(
  "set-transfer-status",
  "UPDATE transfers SET status = ? WHERE id = ?",
);

export function listTransfers(reader: PreparedStatements, filter: TransferFilter) {
  const where = ["t.tenant_id = @tenantId", "t.wallet_uuid = @walletUuid", HISTORY_VISIBLE];
  if (filter.status) where.push("t.status = @status");
  if (filter.transferType) where.push("t.transfer_type = @transferType");
  if (filter.currency) where.push("t.currency = @currency");
  // created_at is toISOString text, so the same form compares in time order.
  if (filter.createdFrom) where.push("t.created_at >= @createdFrom");
  if (filter.createdBefore) where.push("t.created_at < @createdBefore");
  const clause = where.join(" AND ");
  const parameters = {
    ...filter,
    status: filter.status ?? null,
    transferType: filter.transferType ?? null,
    currency: filter.currency ?? null,
    createdFrom: filter.createdFrom ?? null,
    createdBefore: filter.createdBefore ?? null,
  };
  // Named by their WHERE clause: each combination of filters is prepared once.
  const page = reader.execute({
    name: `history-page ${clause}`,
    text: `SELECT t.*, r.amount AS posted_part FROM ${HISTORY_FROM} WHERE ${clause} ORDER BY t.seq DESC LIMIT @limit OFFSET @offset`,
    values: [parameters],
  });
  const [count] = reader.execute({
    name: `history-count ${clause}`,
    text: `SELECT count(*) AS n FROM transfers t WHERE ${clause}`,
    values: [parameters],
  }).rows;
  return { transfers: page.rows.map(historyEntryFromRow), total: (count?.n as number | undefined) ?? 0 };
}

export async function withLedgerSnapshot<T>(
  file: string,
  visit: (accounts: ReplayAccount[], transfers: AsyncIterable<ReplayTransfer>) => Promise<T>,
): Promise<T> {
  // A connection of its own: its read transaction pins one snapshot for the whole visit
  // without making the shared reader serve stale data meanwhile.
  const db = openConnection(file);
  try {
    db.exec("BEGIN");
    const accounts = (db.prepare(`SELECT ${ACCOUNT_COLUMNS} FROM accounts a ORDER BY a.seq`).all() as Row[]).map(
      (row): ReplayAccount => ({ ...ACCOUNTS.fromRow(row), ledgerKey: `${row.tenant_id}/${row.currency}` }),
    );
    const statement = db.prepare("SELECT * FROM transfers ORDER BY seq");
    async function* transfers(): AsyncIterable<ReplayTransfer> {
      for (const row of statement.iterate() as IterableIterator<Row>) yield TRANSFERS.fromRow(row);
    }
    return await visit(accounts, transfers());
  } finally {
    db.close();
  }
}
