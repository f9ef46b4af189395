import { gamesLockSql } from "../lean-rows.js";
import { GAME_TRANSACTIONS } from "../tables.js";
import { statement } from "./statements.js";

/** Game transactions: only write transactions read and write them. */

/**
 * One id: its row, or the transfer that keeps it (lean-rows.ts). In a write transaction this
 * locks the id too, used or not: SQLite has one writer.
 */
export const selectGameTransaction = statement<[{ tenantId: string; transactionId: string }]>("game-transaction", gamesLockSql("sqlite"));

/** A game transaction's row is written once; later only its status changes (a bet settled or rolled back). */
export const upsertGameTransaction = statement(
  "upsert-game-transaction",
  `${GAME_TRANSACTIONS.insertSql("sqlite")} ON CONFLICT (tenant_id, transaction_id) DO UPDATE SET status = excluded.status`,
);
