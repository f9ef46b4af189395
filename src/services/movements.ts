import { uuidv7 } from "../ids.js";
import { masterKey, walletKey } from "../ledger/account-keys.js";
import { applyTransfer, balanceOf, postPending, type TransferPhase, voidPending } from "../ledger/accounts.js";
import { assert } from "../ledger/assert.js";
import type { Currency, CurrencyRegistry } from "../ledger/currencies.js";
import { AmountError, formatAmount, parseAmount } from "../ledger/money.js";
import type {
  AccountKey,
  AccountRecord,
  PrefetchRequest,
  TransferRecord,
  TransferType,
  WalletLookup,
  WalletRecord,
  WriteTx,
} from "../store/store.js";
import { AppError, invalidFields } from "./errors.js";
import type { ControlsHook } from "./limit-rules.js";

/**
 * The two primitives every use case moves money with, inside a store transaction: open a
 * transfer (posted at once or pending) and resolve a pending one. Both go through the ledger
 * core, so its rules hold for every caller.
 */

export interface MoveRequest {
  tenantId: string;
  currency: Currency;
  debit: AccountKey;
  credit: AccountKey;
  amount: bigint;
  phase: TransferPhase;
  transferType: TransferType;
  walletUuid: string | null;
  /** What the casino reconciles this transfer by (TransferRecord.reference); null if nothing. */
  reference: string | null;
  roundId?: string | undefined;
  /** A win's or rollback's bet (its transaction_id). */
  betTransactionId?: string | undefined;
  /** The safer-gambling rule of the movement, applied to the wallet's account once it is locked (limit-rules.ts). */
  controls?: ControlsHook | undefined;
}

/**
 * The accounts of a stake: from the player's wallet to the tenant's master account (bets, holds).
 * The wallet was found under its tenant, so its tenant is the request's.
 */
export const stakeAccounts = (wallet: WalletRecord, currency: Currency) => ({
  tenantId: wallet.tenantId,
  currency,
  debit: walletKey(wallet, currency.code),
  credit: masterKey(wallet.tenantId, currency.code),
  walletUuid: wallet.uuid,
});

export interface Moved {
  transfer: TransferRecord;
  /** Both accounts as they are after the transfer. */
  debit: AccountRecord;
  credit: AccountRecord;
}

export async function move(tx: WriteTx, request: MoveRequest): Promise<Moved> {
  const [opened, credit] = await tx.openAccounts([request.debit, request.credit]);
  assert(opened !== undefined && credit !== undefined, "the store opens every account it is asked for");
  // The rule sees the wallet's side (a stake debits it, anything else credits it) under its lock.
  const controlled = request.controls && (await request.controls(opened.ownerKind === "wallet" ? opened : credit));
  const [debit, creditBefore] =
    controlled === undefined
      ? [opened, credit]
      : opened.ownerKind === "wallet"
        ? [controlled.account, credit]
        : [opened, controlled.account];
  const applied = applyTransfer(debit, creditBefore, request.amount, request.phase);
  if (!applied.ok) {
    throw new AppError("insufficient_funds", "Insufficient funds", {
      currency: request.currency.code,
      available_balance: formatAmount(applied.available, request.currency.decimals),
      requested_amount: formatAmount(request.amount, request.currency.decimals),
    });
  }
  const [debitAfter, creditAfter] = [nextVersion(applied.debit), nextVersion(applied.credit)];
  await tx.saveAccounts([debitAfter, creditAfter]);
  const transfer: TransferRecord = {
    id: uuidv7(),
    tenantId: request.tenantId,
    currency: request.currency.code,
    flag: request.phase,
    debitAccountId: debit.id,
    creditAccountId: credit.id,
    amount: request.amount,
    pendingId: null,
    transferType: request.transferType,
    walletUuid: request.walletUuid,
    status: request.phase,
    createdAt: new Date().toISOString(),
    reference: request.reference,
    roundId: request.roundId ?? null,
    betTransactionId: request.betTransactionId ?? null,
    ...balanceAfter(debitAfter, creditAfter),
  };
  await tx.insertTransfer(transfer);
  await controlled?.after?.(debitAfter.ownerKind === "wallet" ? debitAfter : creditAfter);
  return { transfer, debit: debitAfter, credit: creditAfter };
}

export interface Resolved extends Omit<Moved, "transfer"> {
  /**
   * The row the resolution wrote (post_pending or void_pending): what its event is about. The
   * event shows what moved from it (services/views.ts `eventPayloadView`): the posted part and
   * what a partial post gave back, or the pending transfer a void gave back.
   */
  resolution: TransferRecord;
}

/**
 * Posts a pending transfer (all of it, or `postAmount` of it with the rest released), or voids
 * it. The resolution row carries the pending transfer's type, so transfer history shows what
 * moved: a capture of 10 from a hold of 30 is the hold's 10 posted (the resolution row) and its
 * 20 voided (the pending row, now shown with what it gave back). A fully posted pending row is
 * `posted` and hidden behind its resolution; a void shows the pending row as `voided`. History
 * then reconciles with the balance (VISIBLE_TRANSFERS in src/store/sql.ts, checked by verify).
 */
export async function resolvePending(
  tx: WriteTx,
  pending: TransferRecord,
  outcome: "post" | "void",
  postAmount = pending.amount,
): Promise<Resolved> {
  assert(pending.status === "pending", `transfer ${pending.id} is still pending when it is resolved`);
  const [debit, credit] = await tx.lockAccountsById([pending.debitAccountId, pending.creditAccountId]);
  assert(debit !== undefined && credit !== undefined, `both accounts of pending transfer ${pending.id} exist`);
  const applied = outcome === "post" ? postPending(debit, credit, pending.amount, postAmount) : voidPending(debit, credit, pending.amount);
  assert(applied.ok, "resolving a pending transfer never fails on funds");
  const [debitAfter, creditAfter] = [nextVersion(applied.debit), nextVersion(applied.credit)];
  await tx.saveAccounts([debitAfter, creditAfter]);
  const resolution: TransferRecord = {
    ...pending,
    id: uuidv7(),
    flag: outcome === "post" ? "post_pending" : "void_pending",
    amount: outcome === "post" ? postAmount : pending.amount,
    pendingId: pending.id,
    status: outcome === "post" ? "posted" : "voided",
    createdAt: new Date().toISOString(),
    betTransactionId: null,
    ...balanceAfter(debitAfter, creditAfter),
  };
  await tx.insertTransfer(resolution);
  const releasedAmount = outcome === "post" ? pending.amount - postAmount : pending.amount;
  await tx.setTransferStatus(pending.id, releasedAmount > 0n ? "voided" : "posted");
  return { debit: debitAfter, credit: creditAfter, resolution };
}

/**
 * What a transfer keeps of its accounts after it (TransferRecord.balanceAmount): the balance and
 * version of its wallet's account, or of the master's when no wallet takes part (a deposit to
 * the master account). It is the account the movement's event and a game's answer show.
 */
function balanceAfter(debit: AccountRecord, credit: AccountRecord) {
  const shown = debit.ownerKind === "wallet" ? debit : credit.ownerKind === "wallet" || credit.ownerKind === "master" ? credit : debit;
  const balance = balanceOf(shown);
  return { balanceAmount: balance.amount, balancePending: balance.pendingAmount, accountVersion: shown.version };
}

/** Every change of an account raises its version, the order consumers apply balances in. */
const nextVersion = (account: AccountRecord): AccountRecord => ({ ...account, version: account.version + 1 });

/** Reads a currency code and an amount from a request, or refuses them with invalid_request. */
export function parseMoney(
  currencies: CurrencyRegistry,
  code: string,
  amount: string | number,
  options: { allowZero?: boolean } = {},
): { currency: Currency; amount: bigint } {
  const currency = findCurrency(currencies, code);
  try {
    return { currency, amount: parseAmount(amount, currency.decimals, options) };
  } catch (error) {
    if (error instanceof AmountError) throw invalidFields(`Invalid amount: ${error.message}`, { amount: error.message });
    throw error;
  }
}

/**
 * What a movement on one wallet will touch, so the store can read it ahead with its neighbours
 * in the same transaction; nothing for a currency it does not know (that movement fails).
 */
export function walletPrefetch(
  currencies: CurrencyRegistry,
  tenantId: string,
  lookup: WalletLookup,
  currencyCode: string | undefined,
  gameTransactionIds: (string | undefined)[] = [],
): PrefetchRequest {
  const currency = currencyCode === undefined ? undefined : currencies.find(currencyCode);
  return {
    tenantId,
    wallets: currency ? [{ lookup, currency: currency.code }] : [],
    gameTransactionIds: gameTransactionIds.filter((id): id is string => id !== undefined),
  };
}

export function findCurrency(currencies: CurrencyRegistry, code: string): Currency {
  const currency = currencies.find(code);
  if (!currency) throw invalidFields(`Unknown currency: ${code}`, { currency: "is not a supported currency" });
  return currency;
}
