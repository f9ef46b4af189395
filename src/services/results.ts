import type { AccountRecord, GameTransactionRecord, TransferRecord } from "../store/store.js";
import type { ErrorCode } from "./errors.js";

/**
 * What the movement use cases answer, as records. They live apart from the use cases so that
 * the views, which every use case uses to write its events, never import a use case back.
 */

/** What a game call answers; stored with the transaction and replayed on a repeat. */
export interface GameResult {
  transaction: Pick<
    GameTransactionRecord,
    "transactionId" | "kind" | "status" | "currency" | "amount" | "roundId" | "referenceId" | "createdAt"
  >;
  /** The wallet's account in that currency after the call; null if it has never been opened. */
  account: AccountRecord | null;
  /** Set when a rollback named an unknown bet and the tenant's policy is to answer 404. */
  betNotFound: boolean;
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
