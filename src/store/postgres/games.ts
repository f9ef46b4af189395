import { gameRowOf, gamesLockSql } from "../lean-rows.js";
import type { GameTransactionRecord } from "../store.js";
import { GAME_TRANSACTIONS } from "../tables.js";
import type { Statement } from "../write-behind.js";

/** Game transactions (bets, wins, rollbacks): the write transaction's locks and bulk upsert. */

/** A power of two: game transaction ids are locked by bucket, at most this many per tenant. */
const GAME_LOCK_BUCKETS = 1024;

/**
 * SELECT ... FOR UPDATE locks nothing while a row does not exist yet, so two first reports of
 * one game transaction could both act. A transaction-scoped advisory lock serialises them: the
 * second waits, then sees the first one's committed row. The lock is on one of
 * GAME_LOCK_BUCKETS buckets of the tenant's ids, not on the id itself: PostgreSQL's lock table
 * is small (max_locks_per_transaction, 64 per connection by default), and a batch of 8 190
 * wins names 16 380 ids. Buckets are taken in ascending order (PostgreSQL evaluates the
 * volatile lock function after the sort).
 */
export const lockGameIds = (tenantId: string, transactionIds: string[]): Statement => ({
  name: "lock-game-ids",
  text: `SELECT pg_advisory_xact_lock(hashtextextended('game:' || $1 || ':' || bucket, 0))
         FROM (SELECT DISTINCT hashtextextended(id, 0) & $3 AS bucket FROM unnest($2::text[]) AS id) AS buckets
         ORDER BY bucket`,
  values: [tenantId, transactionIds, GAME_LOCK_BUCKETS - 1],
});

/** The ids' rows (locked), or the transfers that keep them (lean-rows.ts): decode with `gameFromRow`. */
export const lockGameTransactions = (tenantId: string, transactionIds: string[]): Statement => ({
  name: "lock-game-transactions",
  text: LOCK_GAME_TRANSACTIONS,
  values: [tenantId, transactionIds],
});

const LOCK_GAME_TRANSACTIONS = gamesLockSql("postgres");

/**
 * Inserts many game transactions' rows in one statement (only those that keep a row: the others
 * are kept by their transfers); a row is written once, and later only its status changes (a
 * bet settled or rolled back). Bulk rows travel as one JSON parameter that PostgreSQL unpacks
 * (json_to_recordset): one round trip, and no per-element array escaping, which cost node-pg
 * more than the insert itself.
 */
export const upsertGameTransactions = (games: GameTransactionRecord[]): Statement => ({
  name: "insert-game_transactions",
  text: UPSERT_GAME_TRANSACTIONS,
  values: [JSON.stringify(games.map((game) => GAME_TRANSACTIONS.row(gameRowOf(game))))],
});

const GAME_COLUMNS = GAME_TRANSACTIONS.columns.join(", ");
const UPSERT_GAME_TRANSACTIONS = `INSERT INTO game_transactions (${GAME_COLUMNS})
  SELECT ${GAME_COLUMNS} FROM json_to_recordset($1::json) AS r(${GAME_TRANSACTIONS.postgresTypes})
  ON CONFLICT (${GAME_TRANSACTIONS.key.join(", ")}) DO UPDATE SET status = excluded.status`;
