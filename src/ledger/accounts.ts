import { assert } from "./assert.js";

/**
 * The ledger core: a pure state machine over account snapshots, modelled on TigerBeetle.
 * Stores load snapshots, call these functions and persist what they return, so the rules
 * (available never below zero, pending transfers posted or voided once, zero sum) are written
 * once for every store.
 */

export interface Counters {
  creditsPosted: bigint;
  debitsPosted: bigint;
  creditsPending: bigint;
  debitsPending: bigint;
}

export interface LedgerAccount extends Counters {
  id: string;
  currency: string;
  /** Set on wallets and master accounts; unset on the chain account that funds deposits. */
  debitsMustNotExceedCredits: boolean;
}

export interface Balance {
  /** posted plus credits still pending: includes deposits being confirmed. */
  amount: bigint;
  /** credits and debits in active (pending) transfers. */
  pendingAmount: bigint;
  /** what can be spent now: posted minus pending debits. */
  available: bigint;
}

export const ZERO_COUNTERS: Readonly<Counters> = {
  creditsPosted: 0n,
  debitsPosted: 0n,
  creditsPending: 0n,
  debitsPending: 0n,
};

export function balanceOf(account: Counters): Balance {
  const posted = account.creditsPosted - account.debitsPosted;
  return {
    amount: posted + account.creditsPending,
    pendingAmount: account.creditsPending + account.debitsPending,
    available: posted - account.debitsPending,
  };
}

export type TransferPhase = "posted" | "pending";

export type Applied<T> = { ok: true; debit: T; credit: T } | { ok: false; error: "insufficient_funds"; available: bigint };

/** Moves `amount` from debit to credit, at once (posted) or held (pending). */
export function applyTransfer<T extends LedgerAccount>(debit: T, credit: T, amount: bigint, phase: TransferPhase): Applied<T> {
  assertPair(debit, credit, amount);
  const available = balanceOf(debit).available;
  if (debit.debitsMustNotExceedCredits && available < amount) {
    return { ok: false, error: "insufficient_funds", available };
  }
  const next =
    phase === "posted"
      ? {
          debit: { ...debit, debitsPosted: debit.debitsPosted + amount },
          credit: { ...credit, creditsPosted: credit.creditsPosted + amount },
        }
      : {
          debit: { ...debit, debitsPending: debit.debitsPending + amount },
          credit: { ...credit, creditsPending: credit.creditsPending + amount },
        };
  return checked(next.debit, next.credit);
}

/**
 * Posts `postAmount` of a pending transfer of `pendingAmount`; the rest returns to the debit
 * account. Posting can only raise the debit's available balance, so it never fails on funds.
 */
export function postPending<T extends LedgerAccount>(debit: T, credit: T, pendingAmount: bigint, postAmount: bigint): Applied<T> {
  assertPair(debit, credit, pendingAmount);
  assert(postAmount > 0n && postAmount <= pendingAmount, "posted amount is within the pending amount");
  return checked(
    {
      ...debit,
      debitsPending: debit.debitsPending - pendingAmount,
      debitsPosted: debit.debitsPosted + postAmount,
    },
    {
      ...credit,
      creditsPending: credit.creditsPending - pendingAmount,
      creditsPosted: credit.creditsPosted + postAmount,
    },
  );
}

/** Voids a pending transfer: both sides return to where they were before it. */
export function voidPending<T extends LedgerAccount>(debit: T, credit: T, pendingAmount: bigint): Applied<T> {
  assertPair(debit, credit, pendingAmount);
  return checked(
    { ...debit, debitsPending: debit.debitsPending - pendingAmount },
    { ...credit, creditsPending: credit.creditsPending - pendingAmount },
  );
}

function assertPair(debit: LedgerAccount, credit: LedgerAccount, amount: bigint): void {
  assert(debit.id !== credit.id, "a transfer moves between two different accounts");
  assert(debit.currency === credit.currency, "both accounts of a transfer hold the same currency");
  assert(amount > 0n, "a transfer amount is positive");
}

function checked<T extends LedgerAccount>(debit: T, credit: T): Applied<T> {
  assertAccount(debit);
  assertAccount(credit);
  return { ok: true, debit, credit };
}

/** Crashes on an account state that the rules above can never produce. */
export function assertAccount(account: LedgerAccount): void {
  assert(
    account.creditsPosted >= 0n && account.debitsPosted >= 0n && account.creditsPending >= 0n && account.debitsPending >= 0n,
    `counters of account ${account.id} are never negative`,
  );
  if (account.debitsMustNotExceedCredits) {
    assert(balanceOf(account).available >= 0n, `available balance of account ${account.id} is never below zero`);
  }
}
