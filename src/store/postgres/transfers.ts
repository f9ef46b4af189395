import type pg from "pg";
import type { ReplayAccount, ReplayTransfer } from "../../ledger/replay.js";
import { HISTORY_FROM, HISTORY_VISIBLE, historyEntryFromRow } from "../sql.js";
import type { TransferFilter, TransferRecord, TransferStatus } from "../store.js";
import { ACCOUNTS, TRANSFERS } from "../tables.js";
import type { Statement } from "../write-behind.js";
import { ACCOUNT_COLUMNS } from "./accounts.js";

/** Transfers: a wallet's history, the ledger snapshot verification replays, and the write transaction's statements. */

const TRANSFER_COLUMNS = TRANSFERS.select("t");

export async function listTransfers(pool: pg.Pool, filter: TransferFilter): Promise<{ transfers: TransferRecord[]; total: number }> {
  const { clause, values } = historyWhere(filter);
  const page = await pool.query(
    `SELECT ${TRANSFER_COLUMNS}, r.amount::text AS posted_part FROM ${HISTORY_FROM}
     WHERE ${clause} ORDER BY t.seq DESC LIMIT $${values.length + 1} OFFSET $${values.length + 2}`,
    [...values, filter.limit, filter.offset],
  );
  const count = await pool.query(`SELECT count(*)::int AS n FROM transfers t WHERE ${clause}`, values);
  return { transfers: page.rows.map(historyEntryFromRow), total: count.rows[0].n as number };
}

/** The WHERE clause of a history page: the wallet's visible transfers, narrowed by the filter's optional fields. */
function historyWhere(filter: TransferFilter): { clause: string; values: unknown[] } {
  const values: unknown[] = [filter.tenantId, filter.walletUuid];
  const where = ["t.tenant_id = $1", "t.wallet_uuid = $2", HISTORY_VISIBLE];
  const optional = { status: filter.status, transfer_type: filter.transferType, currency: filter.currency };
  for (const [column, value] of Object.entries(optional)) {
    if (value === undefined) continue;
    values.push(value);
    where.push(`t.${column} = $${values.length}`);
  }
  const range = { ">=": filter.createdFrom, "<": filter.createdBefore };
  for (const [operator, value] of Object.entries(range)) {
    if (value === undefined) continue;
    values.push(value);
    where.push(`t.created_at ${operator} $${values.length}`);
  }
  return { clause: where.join(" AND "), values };
}

export async function withLedgerSnapshot<T>(
  pool: pg.Pool,
  visit: (accounts: ReplayAccount[], transfers: AsyncIterable<ReplayTransfer>) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    // One REPEATABLE READ transaction: accounts and transfers come from the same snapshot.
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const accounts = (await client.query(`SELECT ${ACCOUNT_COLUMNS} FROM accounts a ORDER BY a.seq`)).rows.map(
      (row): ReplayAccount => ({ ...ACCOUNTS.fromRow(row), ledgerKey: `${row.tenant_id}/${row.currency}` }),
    );
    await client.query(`DECLARE ledger_transfers NO SCROLL CURSOR FOR SELECT ${TRANSFER_COLUMNS} FROM transfers t ORDER BY t.seq`);
    async function* transfers(): AsyncIterable<ReplayTransfer> {
      for (;;) {
        const chunk = await client.query("FETCH 10000 FROM ledger_transfers");
        if (chunk.rows.length === 0) return;
        for (const row of chunk.rows) yield TRANSFERS.fromRow(row);
      }
    }
    return await visit(accounts, transfers());
  } finally {
    await client.query("ROLLBACK").catch(() => undefined);
    client.release();
  }
}

export const selectTransfer = (id: string): Statement => ({
  name: "transfer",
  text: `SELECT ${TRANSFER_COLUMNS} FROM transfers t WHERE t.id = $1`,
  values: [id],
});

export const updateTransferStatus = (id: string, status: TransferStatus): Statement => ({
  name: "set-transfer-status",
  text: "UPDATE transfers SET status = $2 WHERE id = $1",
  values: [id, status],
});
