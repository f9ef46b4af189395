import type { Counters } from "./accounts.js";

/**
 * A wallet's transfer history, as clients see it, must add up to its balance: casinos reconcile
 * from history and webhooks, not from our counters. A client sees every typed transfer except the
 * resolution of a void (the voided pending transfer shows it) and a pending transfer that was
 * fully posted (its resolution shows it). A pending transfer that was voided, or partly posted,
 * shows what it gave back. So `posted` rows sum to the posted balance and `pending` rows to the
 * pending counters; `voided` rows move nothing. The stores list history with the same rule in SQL
 * (HISTORY_VISIBLE in src/store/sql.ts); `verify` runs this check against every wallet account.
 */

export interface HistoryTransfer {
  id: string;
  flag: "posted" | "pending" | "post_pending" | "void_pending";
  transferType: string | null;
  status: "posted" | "pending" | "voided";
  debitAccountId: string;
  creditAccountId: string;
  amount: bigint;
}

export interface HistoryAccount extends Counters {
  id: string;
  /** Set on a wallet's accounts: the ones a client sees a history of. */
  walletUuid: string | null;
}

export function visibleInHistory(transfer: Pick<HistoryTransfer, "flag" | "transferType" | "status">): boolean {
  if (transfer.transferType === null || transfer.flag === "void_pending") return false;
  return !(transfer.flag === "pending" && transfer.status === "posted");
}

interface Sums {
  posted: bigint;
  creditsPending: bigint;
  debitsPending: bigint;
}

export class HistoryCheck {
  readonly #sums = new Map<string, Sums>();

  add(transfer: HistoryTransfer): void {
    if (!visibleInHistory(transfer)) return;
    const debit = this.#of(transfer.debitAccountId);
    const credit = this.#of(transfer.creditAccountId);
    if (transfer.status === "posted") {
      debit.posted -= transfer.amount;
      credit.posted += transfer.amount;
    } else if (transfer.status === "pending") {
      debit.debitsPending += transfer.amount;
      credit.creditsPending += transfer.amount;
    }
  }

  /** The wallet accounts whose visible history does not add up to their counters. */
  mismatches(accounts: Iterable<HistoryAccount>): { accountId: string; detail: string }[] {
    const found: { accountId: string; detail: string }[] = [];
    for (const account of accounts) {
      if (account.walletUuid === null) continue;
      const sums = this.#sums.get(account.id) ?? { posted: 0n, creditsPending: 0n, debitsPending: 0n };
      const posted = account.creditsPosted - account.debitsPosted;
      if (sums.posted !== posted || sums.creditsPending !== account.creditsPending || sums.debitsPending !== account.debitsPending) {
        found.push({
          accountId: account.id,
          detail:
            `history shows posted ${sums.posted}, pending credits ${sums.creditsPending}, pending debits ${sums.debitsPending}; ` +
            `the account has ${posted}, ${account.creditsPending}, ${account.debitsPending}`,
        });
      }
    }
    return found;
  }

  #of(accountId: string): Sums {
    let sums = this.#sums.get(accountId);
    if (!sums) {
      sums = { posted: 0n, creditsPending: 0n, debitsPending: 0n };
      this.#sums.set(accountId, sums);
    }
    return sums;
  }
}
