import { balanceOf } from "../ledger/accounts.js";
import type { AccountRecord, BalanceSnapshot, GameTransactionRecord, TransferRecord } from "../store/store.js";
import type { ErrorCode } from "./errors.js";

/**
 * What the movement use cases answer, as records. They live apart from the use cases so that
 * the views, which every use case uses to write its events, never import a use case back.
 */

/** What a game call answers; given back from its game transaction on a repeat. */
export interface GameResult {
  transaction: Pick<
    GameTransactionRecord,
    "transactionId" | "kind" | "status" | "currency" | "amount" | "roundId" | "referenceId" | "createdAt"
  >;
  /** The wallet's balance in that currency after the call; null if its account has never been opened. */
  balance: BalanceSnapshot | null;
  /** Set when a rollback named an unknown bet and the tenant's policy is to answer 404. */
  betNotFound: boolean;
}

/**
 * The balance a game answered. Answers stored before issue 13 (the JSON of a game transaction's
 * row, an Idempotency-Key's record of a batch) carry the account instead of its balance.
 */
export function answeredBalance(result: GameResult): BalanceSnapshot | null {
  if ("balance" in result) return result.balance;
  const { account } = result as { account?: AccountRecord | null };
  if (!account) return null;
  const { amount, pendingAmount } = balanceOf(account);
  return { amount, pendingAmount };
}

/** A movement's error as plain data: outcomes are stored for Idempotency-Key replays. */
export interface MovementError {
  code: ErrorCode;
  message: string;
  details: Record<string, unknown>;
}

/** One movement of a batch: its result, or why it failed or was skipped. */
export type BatchOutcome =
  | { status: "ok"; value: { kind: "transfer"; transfer: TransferRecord } | { kind: "game"; game: GameResult } }
  | { status: "failed" | "skipped"; error: MovementError };
