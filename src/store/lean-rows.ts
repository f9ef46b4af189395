/**
 * The reads of the lean rows of issue 13, the same in both stores but for how a `uuid16` id is
 * joined. An event keeps ids and what no other row keeps (EventRecord); a game transaction that
 * moved money is kept by its transfer. These joins give back the rows they name, and the
 * decoders make the records the services render answers from.
 */
import { assert } from "../ledger/assert.js";
import type { GameTransactionRecord, GameTransactionRow, ListedEvent } from "./records.js";
import { type Row, sqliteUuidText, table } from "./table.js";
import { DEPOSITS, EVENTS, GAME_TRANSACTION_COLUMNS, GAME_TRANSACTIONS, TRANSFERS, WALLETS } from "./tables.js";

type Dialect = "sqlite" | "postgres";

/** A `uuid16` column compared with a TEXT id (SQLite) or a uuid (PostgreSQL). */
const idOf = (dialect: Dialect, column: string) => (dialect === "sqlite" ? sqliteUuidText(column) : column);

/**
 * An event with what its JSON shows: the wallet, the transfer (and the balance after it), the
 * pending transfer that transfer resolved (a void shows it; a partial capture shows the part it
 * gave back), the deposit. Each join is one lookup in a unique index. The columns and the joins
 * on the event `e` apart, for a query that starts from another table (a webhook delivery's).
 */
export const eventsColumns = (dialect: Dialect) =>
  `${EVENTS.selectPrefixed("e", "e_", dialect)}, ${WALLETS.selectPrefixed("ew", "w_", dialect)},
     ${TRANSFERS.selectPrefixed("et", "t_", dialect)}, ${TRANSFERS.selectPrefixed("ep", "p_", dialect)},
     ${DEPOSITS.selectPrefixed("ed", "d_", dialect)}`;

export const eventsJoins = (dialect: Dialect) =>
  `LEFT JOIN wallets ew ON ew.id = ${idOf(dialect, "e.wallet_uuid")}
     LEFT JOIN transfers et ON et.id = ${idOf(dialect, "e.transfer_id")}
     LEFT JOIN transfers ep ON ep.id = et.pending_id
     LEFT JOIN deposits ed ON ed.id = ${idOf(dialect, "e.deposit_id")}`;

export const eventsSelect = (dialect: Dialect) => `SELECT ${eventsColumns(dialect)} FROM events e ${eventsJoins(dialect)}`;

export function listedEventFromRow(row: Row): ListedEvent {
  const { balanceAmount, balancePending, accountVersion, createdAt, ...event } = EVENTS.fromPrefixedRow(row, "e_");
  const transfer = TRANSFERS.fromPrefixedRow(row, "t_", "id");
  const amount = balanceAmount ?? transfer?.balanceAmount;
  const pendingAmount = balancePending ?? transfer?.balancePending;
  const version = accountVersion ?? transfer?.accountVersion;
  const time = createdAt ?? transfer?.createdAt;
  assert(time !== undefined, `event ${event.tenantId}/${event.seq} has its time or its transfer's`);
  // An event kept with its JSON is sent as it is: its numbers may be missing, and are not used.
  const complete = amount != null && pendingAmount != null && version != null;
  assert(complete || event.payload !== null, `event ${event.tenantId}/${event.seq} has its balance and version, or its transfer's`);
  return {
    ...event,
    createdAt: time,
    balance: complete ? { amount, pendingAmount } : { amount: 0n, pendingAmount: 0n },
    accountVersion: complete ? version : 0,
    wallet: WALLETS.fromPrefixedRow(row, "w_", "id"),
    transfer,
    pending: TRANSFERS.fromPrefixedRow(row, "p_", "id"),
    deposit: DEPOSITS.fromPrefixedRow(row, "d_", "id"),
  };
}

const GAME_TYPES = "('bet', 'win', 'rollback')";

/**
 * Locks and reads game transactions by id: those with a row of their own (locked), and those kept
 * by their transfer. A bet kept by its transfer is `rolled_back` once a rollback refers to it and
 * `settled` once a win does. A row that refers to such a bet is a zero win, or a rollback that
 * came after the bet was rolled back: the first test tells those apart, and the second needs no
 * kind, so SQLite answers it from game_transactions_bet alone. Parameters: the tenant and the
 * ids (PostgreSQL: an array, `$1` and `$2`; SQLite: one id, `@tenantId` and `@transactionId`).
 * The partial indexes transfers_game, transfers_bet and game_transactions_bet serve the lookups.
 */
export function gamesLockSql(dialect: Dialect): string {
  const [tenant, ids] = dialect === "postgres" ? ["$1", "= ANY($2)"] : ["@tenantId", "= @transactionId"];
  const text = (column: string) => (dialect === "postgres" ? `${column}::text` : column);
  const referring = (kind: string) =>
    `EXISTS (SELECT 1 FROM transfers r WHERE r.bet_transaction_id = t.reference AND r.tenant_id = t.tenant_id AND r.transfer_type = '${kind}')`;
  return `WITH kept AS (
      SELECT ${GAME_TRANSACTIONS.selectPrefixed("g", "", dialect)} FROM game_transactions g WHERE g.tenant_id = ${tenant} AND g.transaction_id ${ids}
      ${dialect === "postgres" ? "FOR UPDATE" : ""})
    SELECT 'row' AS kept_by, k.tenant_id, k.transaction_id, k.kind, k.status, k.wallet_uuid, k.currency, k.amount, k.round_id,
      k.reference_id, k.created_at, ${dialect === "postgres" ? "NULL::uuid" : "NULL"} AS transfer_id, k.balance_amount,
      k.balance_pending, k.bet_not_found, k.result
    FROM kept k
    UNION ALL
    SELECT 'transfer', t.tenant_id, t.reference, t.transfer_type,
      CASE WHEN t.transfer_type <> 'bet' THEN 'completed'
        WHEN ${referring("rollback")} THEN 'rolled_back'
        WHEN ${referring("win")} OR EXISTS (SELECT 1 FROM game_transactions z
          WHERE z.tenant_id = t.tenant_id AND z.reference_id = t.reference AND z.reference_id IS NOT NULL) THEN 'settled'
        ELSE 'completed' END,
      t.wallet_uuid, t.currency, ${text("t.amount")}, t.round_id, t.bet_transaction_id, t.created_at, t.id, ${text("t.balance_amount")},
      ${text("t.balance_pending")}, ${dialect === "postgres" ? "false" : "0"}, NULL
    FROM transfers t
    WHERE t.reference ${ids} AND t.tenant_id = ${tenant} AND t.transfer_type IN ${GAME_TYPES}
      AND NOT EXISTS (SELECT 1 FROM game_transactions o WHERE o.tenant_id = t.tenant_id AND o.transaction_id = t.reference)`;
}

/** A row of `gamesLockSql`, decoded as the columns of a game transaction's row and the transfer that keeps it. */
const LOCKED_GAME = table<GameTransactionRow & { transferId: string | null }>("(locked game)", [], {
  ...GAME_TRANSACTION_COLUMNS,
  transferId: ["transfer_id", "uuid"],
});

export function gameFromRow(row: Row): GameTransactionRecord {
  const { balanceAmount, balancePending, ...game } = LOCKED_GAME.fromRow(row);
  assert((row.kept_by === "transfer") === (game.transferId !== null), `game ${game.transactionId} is kept by a transfer or a row`);
  const balance = balanceAmount !== null && balancePending !== null ? { amount: balanceAmount, pendingAmount: balancePending } : null;
  return { ...game, balance };
}

/** The row of a game transaction that keeps one (those kept by their transfer have none). */
export function gameRowOf(game: GameTransactionRecord): GameTransactionRow {
  assert(game.transferId === null, `game ${game.transactionId} kept by its transfer has no row`);
  const { transferId: _kept, balance, ...row } = game;
  return { ...row, balanceAmount: balance?.amount ?? null, balancePending: balance?.pendingAmount ?? null };
}
