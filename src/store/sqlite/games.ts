import { GAME_TRANSACTIONS } from "../tables.js";
import { statement } from "./statements.js";

/** Game transactions: only write transactions read and write them. */

/** In a write transaction this locks the id too, used or not: SQLite has one writer. */
export const selectGameTransaction = statement<[tenantId: string, transactionId: string]>(
  "game-transaction",
  "SELECT * FROM game_transactions WHERE tenant_id = ? AND transaction_id = ?",
);
export const upsertGameTransaction = statement("upsert-game-transaction", GAME_TRANSACTIONS.upsertSql("sqlite"));
