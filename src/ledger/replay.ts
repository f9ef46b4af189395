import { applyTransfer, balanceOf, type Counters, type LedgerAccount, postPending, voidPending, ZERO_COUNTERS } from "./accounts.js";
import { InvariantError } from "./assert.js";
import { type HistoryAccount, HistoryCheck, type HistoryTransfer } from "./history.js";

/**
 * Recomputes every account from the transfer log, through the same rules that wrote it, and
 * checks the zero-sum invariant and that every wallet's visible history adds up to its balance.
 * This is what `verify` runs: stored counters that disagree with the replay, a transfer that the
 * rules would have refused, a non-zero sum or a history that does not reconcile all mean the
 * database was changed behind the ledger's back (or a use case wrote history wrongly).
 */

export type TransferFlag = "posted" | "pending" | "post_pending" | "void_pending";

export interface ReplayTransfer extends HistoryTransfer {
  flag: TransferFlag;
  /** For post_pending and void_pending: the pending transfer they resolve. */
  pendingId: string | null;
  /** The balance the transfer keeps of its wallet's account, or the master's, after it (issue 13); null before. */
  balanceAmount?: bigint | null;
  balancePending?: bigint | null;
}

export interface ReplayAccount extends LedgerAccount, HistoryAccount {
  /** The group that must sum to zero: one tenant and one currency. */
  ledgerKey: string;
  /** Whose account it is: a transfer keeps the balance of its wallet's account, else the master's. */
  ownerKind?: "wallet" | "master" | "chain";
}

export interface Problem {
  kind:
    | "counter_mismatch"
    | "rule_violation"
    | "non_zero_sum"
    | "unknown_account"
    | "unknown_pending"
    | "history_mismatch"
    | "kept_balance_mismatch";
  subject: string;
  detail: string;
}

export class Replay {
  readonly #stored = new Map<string, ReplayAccount>();
  readonly #computed = new Map<string, LedgerAccount>();
  readonly #pending = new Map<string, ReplayTransfer>();
  readonly #history = new HistoryCheck();
  readonly problems: Problem[] = [];
  transferCount = 0;

  constructor(accounts: Iterable<ReplayAccount>) {
    for (const account of accounts) {
      this.#stored.set(account.id, account);
      this.#computed.set(account.id, { ...account, ...ZERO_COUNTERS });
    }
  }

  /** Applies one transfer; transfers must arrive in the order they were committed. */
  apply(transfer: ReplayTransfer): void {
    this.transferCount += 1;
    this.#history.add(transfer);
    const debit = this.#computed.get(transfer.debitAccountId);
    const credit = this.#computed.get(transfer.creditAccountId);
    if (!debit || !credit) {
      this.problems.push({ kind: "unknown_account", subject: transfer.id, detail: "transfer names an account that does not exist" });
      return;
    }
    const applied = this.#appliedOrProblem(transfer, debit, credit);
    if (applied === undefined) return;
    if (!applied.ok) {
      this.problems.push({ kind: "rule_violation", subject: transfer.id, detail: "transfer overdraws its debit account" });
      return;
    }
    this.#computed.set(debit.id, applied.debit);
    this.#computed.set(credit.id, applied.credit);
    this.#checkKeptBalance(transfer, applied.debit, applied.credit);
  }

  /**
   * A transfer keeps the balance after it of its wallet's account, or of the master's when no
   * wallet takes part (what its event and a game's answer show): it must be the replayed one.
   */
  #checkKeptBalance(transfer: ReplayTransfer, debit: LedgerAccount, credit: LedgerAccount): void {
    if (transfer.balanceAmount == null || transfer.balancePending == null) return;
    const kind = (account: LedgerAccount) => this.#stored.get(account.id)?.ownerKind;
    const shown = kind(debit) === "wallet" ? debit : kind(credit) === "wallet" || kind(credit) === "master" ? credit : debit;
    const balance = balanceOf(shown);
    if (balance.amount === transfer.balanceAmount && balance.pendingAmount === transfer.balancePending) return;
    this.problems.push({
      kind: "kept_balance_mismatch",
      subject: transfer.id,
      detail: `keeps the balance ${transfer.balanceAmount} (pending ${transfer.balancePending}) of account ${shown.id}, which the transfers give as ${balance.amount} (pending ${balance.pendingAmount})`,
    });
  }

  #appliedOrProblem(transfer: ReplayTransfer, debit: LedgerAccount, credit: LedgerAccount) {
    try {
      return this.#applyFlag(transfer, debit, credit);
    } catch (error) {
      // A tampered row can break the core's own assertions (a zero amount, two currencies);
      // during verification that is a finding to report, not a reason to stop.
      if (!(error instanceof InvariantError)) throw error;
      this.problems.push({ kind: "rule_violation", subject: transfer.id, detail: error.message });
      return undefined;
    }
  }

  #applyFlag(transfer: ReplayTransfer, debit: LedgerAccount, credit: LedgerAccount) {
    if (transfer.flag === "posted" || transfer.flag === "pending") {
      const applied = applyTransfer(debit, credit, transfer.amount, transfer.flag);
      // Only a pending transfer the rules allowed can be resolved later.
      if (applied.ok && transfer.flag === "pending") this.#pending.set(transfer.id, transfer);
      return applied;
    }
    const pending = transfer.pendingId ? this.#pending.get(transfer.pendingId) : undefined;
    if (
      !pending ||
      pending.debitAccountId !== debit.id ||
      pending.creditAccountId !== credit.id ||
      (transfer.flag === "post_pending" && transfer.amount > pending.amount)
    ) {
      this.problems.push({
        kind: "unknown_pending",
        subject: transfer.id,
        detail: "resolves no open pending transfer between these accounts",
      });
      return undefined;
    }
    this.#pending.delete(pending.id);
    return transfer.flag === "post_pending"
      ? postPending(debit, credit, pending.amount, transfer.amount)
      : voidPending(debit, credit, pending.amount);
  }

  /** Compares the replay with the stored counters and checks every group sums to zero. */
  finish(): Problem[] {
    const sums = new Map<string, Counters>();
    for (const stored of this.#stored.values()) {
      const computed = this.#computed.get(stored.id) ?? { ...ZERO_COUNTERS };
      for (const field of COUNTER_FIELDS) {
        if (stored[field] !== computed[field]) {
          this.problems.push({
            kind: "counter_mismatch",
            subject: stored.id,
            detail: `${field} is ${stored[field]} but the transfers give ${computed[field]}`,
          });
        }
      }
      const sum = sums.get(stored.ledgerKey) ?? { ...ZERO_COUNTERS };
      for (const field of COUNTER_FIELDS) sum[field] += stored[field];
      sums.set(stored.ledgerKey, sum);
    }
    for (const { accountId, detail } of this.#history.mismatches(this.#stored.values())) {
      this.problems.push({ kind: "history_mismatch", subject: accountId, detail });
    }
    for (const [ledgerKey, sum] of sums) {
      if (sum.creditsPosted !== sum.debitsPosted || sum.creditsPending !== sum.debitsPending) {
        this.problems.push({ kind: "non_zero_sum", subject: ledgerKey, detail: "credits and debits of this tenant and currency differ" });
      }
    }
    return this.problems;
  }
}

const COUNTER_FIELDS = ["creditsPosted", "debitsPosted", "creditsPending", "debitsPending"] as const;
