/**
 * The deposit state machine, pure. A chain watcher reports the same (currency, tx_hash) many
 * times as confirmations grow; each report moves the deposit at most one step and never credits
 * a deposit twice.
 *
 *   (new) ---below required---> pending ---at or above required---> confirmed
 *     |                            |
 *     +--at or above--> confirmed  +--dropped--> dropped ---seen again---> pending or confirmed
 *
 * A drop of a confirmed deposit is refused: it was already spendable, so reversing it is a
 * deliberate correction, not a chain event to apply silently.
 */
export type DepositStatus = "pending" | "confirmed" | "dropped";

export interface DepositReport {
  /** Confirmations reached the currency's requirement, or the watcher asserted finality. */
  final: boolean;
  dropped: boolean;
}

export type DepositStep =
  | "credit_pending"
  | "credit_posted"
  | "post_pending"
  | "void_pending"
  | "record_dropped"
  | "refuse_drop"
  | "update_only";

export function depositStep(current: DepositStatus | undefined, report: DepositReport): DepositStep {
  if (current === undefined || current === "dropped") {
    if (report.dropped) return current === undefined ? "record_dropped" : "update_only";
    return report.final ? "credit_posted" : "credit_pending";
  }
  if (current === "pending") {
    if (report.dropped) return "void_pending";
    return report.final ? "post_pending" : "update_only";
  }
  return report.dropped ? "refuse_drop" : "update_only";
}

export function statusAfter(step: DepositStep, current: DepositStatus | undefined): DepositStatus {
  switch (step) {
    case "credit_pending":
      return "pending";
    case "credit_posted":
    case "post_pending":
      return "confirmed";
    case "void_pending":
    case "record_dropped":
      return "dropped";
    default:
      return current ?? "pending";
  }
}
