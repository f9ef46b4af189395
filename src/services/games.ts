import { createHash } from "node:crypto";
import { masterKey, walletKey } from "../ledger/account-keys.js";
import type { CurrencyRegistry } from "../ledger/currencies.js";
import type { AccountRecord, GameKind, GameTransactionRecord, Store, WalletLookup, WalletRecord, WriteTx } from "../store/store.js";
import { AppError, invalidFields, walletNotFound } from "./errors.js";
import { recordEvent } from "./events.js";
import { decodeResult, encodeResult, type Idempotency, type Once, type Written } from "./idempotency.js";
import { findCurrency, move, parseMoney, stakeAccounts, walletPrefetch } from "./movements.js";
import type { GameResult } from "./results.js";

/**
 * Bets, wins and rollbacks, with the rules game aggregators expect of a seamless wallet:
 * a bet debits atomically or is refused; a casino's transaction_id is unique per tenant forever
 * and a repeat replays the first answer; a rollback reverses its bet exactly once, and one that
 * arrives before its bet leaves a tombstone so the late bet is refused.
 */

export interface GameRequest {
  tenantId: string;
  lookup: WalletLookup;
  transactionId: string;
  roundId: string;
  currency?: string | undefined;
  amount?: string | number | undefined;
  /** For wins and rollbacks: the bet's transaction_id. */
  betTransactionId?: string | undefined;
}

export class GameService {
  constructor(
    private readonly store: Store,
    private readonly currencies: CurrencyRegistry,
    private readonly idempotency: Idempotency,
  ) {}

  bet(request: GameRequest, once?: Once): Promise<Written<GameResult>> {
    return this.idempotency.write(once, (tx) => this.betIn(tx, request), this.#prefetch(request));
  }

  win(request: GameRequest, once?: Once): Promise<Written<GameResult>> {
    return this.idempotency.write(once, (tx) => this.winIn(tx, request), this.#prefetch(request));
  }

  async rollback(request: GameRequest, once?: Once): Promise<Written<GameResult>> {
    const tenant = await this.store.findTenant(request.tenantId);
    const policy = tenant?.unknownRollback ?? "succeed";
    return this.idempotency.write(once, (tx) => this.rollbackIn(tx, request, policy), this.#prefetch(request));
  }

  #prefetch(request: GameRequest) {
    return walletPrefetch(this.currencies, request.tenantId, request.lookup, request.currency, [
      request.transactionId,
      request.betTransactionId,
    ]);
  }

  async betIn(tx: WriteTx, request: GameRequest): Promise<GameResult> {
    const { currency, amount } = parseMoney(this.currencies, request.currency ?? "", request.amount ?? "");
    const wallet = await findWallet(tx, request);
    const fingerprint = fingerprintOf("bet", wallet.uuid, currency.code, amount, request);
    const prior = await priorAnswer(tx, request, fingerprint);
    if (prior) return prior;
    const moved = await move(tx, {
      ...stakeAccounts(wallet, currency),
      amount,
      phase: "posted",
      transferType: "bet",
      reference: request.transactionId,
      roundId: request.roundId,
    });
    const tenantId = request.tenantId;
    await recordEvent(tx, this.currencies, { type: "bet.placed", tenantId, wallet, account: moved.debit, transfer: moved.transfer });
    return record(tx, request, { kind: "bet", wallet, currency: currency.code, amount, fingerprint, account: moved.debit });
  }

  async winIn(tx: WriteTx, request: GameRequest): Promise<GameResult> {
    const { currency, amount } = parseMoney(this.currencies, request.currency ?? "", request.amount ?? "", { allowZero: true });
    const wallet = await findWallet(tx, request);
    const fingerprint = fingerprintOf("win", wallet.uuid, currency.code, amount, request);
    const prior = await priorAnswer(tx, request, fingerprint);
    if (prior) return prior;
    const bet = await settledBet(tx, request, wallet, currency.code);
    let account: AccountRecord | null;
    if (amount > 0n) {
      account = await this.#creditFromMaster(tx, wallet, request, currency.code, amount, "win");
    } else {
      // A zero win closes a lost round: recorded, nothing moves.
      [account = null] = await tx.openAccounts([walletKey(wallet, currency.code)]);
    }
    if (bet.status === "completed") await tx.saveGameTransaction({ ...bet, status: "settled" });
    return record(tx, request, { kind: "win", wallet, currency: currency.code, amount, fingerprint, account });
  }

  /** Pays a win or returns a rolled-back bet: master account to wallet, with its event. */
  async #creditFromMaster(
    tx: WriteTx,
    wallet: WalletRecord,
    request: GameRequest,
    currencyCode: string,
    amount: bigint,
    kind: "win" | "rollback",
  ) {
    const moved = await move(tx, {
      tenantId: wallet.tenantId,
      currency: findCurrency(this.currencies, currencyCode),
      debit: masterKey(wallet.tenantId, currencyCode),
      credit: walletKey(wallet, currencyCode),
      amount,
      phase: "posted",
      transferType: kind,
      walletUuid: wallet.uuid,
      reference: request.transactionId,
      roundId: request.roundId,
    });
    const type = kind === "win" ? "win.credited" : "rollback.applied";
    await recordEvent(tx, this.currencies, { type, tenantId: wallet.tenantId, wallet, account: moved.credit, transfer: moved.transfer });
    return moved.credit;
  }

  async rollbackIn(tx: WriteTx, request: GameRequest, policy: "succeed" | "not_found"): Promise<GameResult> {
    const wallet = await findWallet(tx, request);
    const betId = required(request.betTransactionId, "bet_transaction_id");
    // Aggregators name the currency of every rollback, so even one of an unknown bet answers
    // the wallet's balance in it.
    const currencyCode = findCurrency(this.currencies, required(request.currency, "currency")).code;
    const fingerprint = fingerprintOf("rollback", wallet.uuid, currencyCode, 0n, request);
    const prior = await priorAnswer(tx, request, fingerprint);
    if (prior) return prior;
    const bet = await tx.lockGameTransaction(request.tenantId, betId);
    if (bet && bet.kind !== "bet") throw new AppError("invalid_request", "Only a bet can be rolled back", { bet_transaction_id: betId });
    if (bet && bet.status !== "tombstone" && (bet.walletUuid !== wallet.uuid || bet.currency !== currencyCode)) {
      throw new AppError("invalid_request", "The rollback's wallet and currency must match its bet", { bet_transaction_id: betId });
    }
    if (bet?.status === "settled")
      throw new AppError("conflict", "The bet already has a win and cannot be rolled back", { bet_transaction_id: betId });
    if (!bet) await tombstone(tx, request, wallet, betId, currencyCode);
    let account: AccountRecord | null = null;
    if (bet?.status === "completed") {
      account = await this.#creditFromMaster(tx, wallet, request, bet.currency, bet.amount, "rollback");
      await tx.saveGameTransaction({ ...bet, status: "rolled_back" });
    } else {
      [account = null] = await tx.openAccounts([walletKey(wallet, currencyCode)]);
    }
    const unknownBet = !bet || bet.status === "tombstone";
    const amount = bet?.status === "completed" ? bet.amount : 0n;
    return record(tx, request, {
      kind: "rollback",
      wallet,
      currency: currencyCode,
      amount,
      fingerprint,
      account,
      betNotFound: unknownBet && policy === "not_found",
    });
  }
}

async function findWallet(tx: WriteTx, request: GameRequest): Promise<WalletRecord> {
  const wallet = await tx.findWallet(request.tenantId, request.lookup);
  if (!wallet) throw walletNotFound();
  return wallet;
}

function required(value: string | undefined, field: string): string {
  if (!value) throw invalidFields(`${field} is required`, { [field]: "is required" });
  return value;
}

/** The same transaction_id again: replay its first answer, or refuse if it asked otherwise. */
async function priorAnswer(tx: WriteTx, request: GameRequest, fingerprint: string): Promise<GameResult | undefined> {
  const prior = await tx.lockGameTransaction(request.tenantId, request.transactionId);
  if (!prior) return undefined;
  if (prior.status === "tombstone") {
    throw new AppError("conflict", "This transaction was rolled back before it arrived and can never be placed", {
      transaction_id: request.transactionId,
    });
  }
  if (prior.fingerprint !== fingerprint) {
    throw new AppError("conflict", "This transaction_id was already used with different content", {
      transaction_id: request.transactionId,
    });
  }
  return decodeResult(prior.result) as GameResult;
}

/** A bet a win can refer to: known, placed, not rolled back, on the same wallet and currency. */
async function settledBet(tx: WriteTx, request: GameRequest, wallet: WalletRecord, currency: string): Promise<GameTransactionRecord> {
  const betId = required(request.betTransactionId, "bet_transaction_id");
  const bet = await tx.lockGameTransaction(request.tenantId, betId);
  if (bet?.kind !== "bet" || bet.status === "tombstone") throw new AppError("not_found", "Bet not found", { bet_transaction_id: betId });
  if (bet.status === "rolled_back")
    throw new AppError("conflict", "The bet was rolled back; its win is refused", { bet_transaction_id: betId });
  if (bet.walletUuid !== wallet.uuid || bet.currency !== currency) {
    throw new AppError("invalid_request", "The win's wallet and currency must match its bet", { bet_transaction_id: betId });
  }
  return bet;
}

async function tombstone(tx: WriteTx, request: GameRequest, wallet: WalletRecord, betId: string, currency: string): Promise<void> {
  await tx.saveGameTransaction({
    tenantId: request.tenantId,
    transactionId: betId,
    kind: "bet",
    status: "tombstone",
    walletUuid: wallet.uuid,
    currency,
    amount: 0n,
    roundId: request.roundId,
    referenceId: null,
    fingerprint: "",
    result: "",
    createdAt: new Date().toISOString(),
  });
}

interface Recorded {
  kind: GameKind;
  wallet: WalletRecord;
  currency: string;
  amount: bigint;
  fingerprint: string;
  account: AccountRecord | null;
  betNotFound?: boolean;
}

async function record(tx: WriteTx, request: GameRequest, recorded: Recorded): Promise<GameResult> {
  const transaction = {
    transactionId: request.transactionId,
    kind: recorded.kind,
    status: "completed" as const,
    currency: recorded.currency,
    amount: recorded.amount,
    roundId: request.roundId,
    referenceId: request.betTransactionId ?? null,
    createdAt: new Date().toISOString(),
  };
  const result: GameResult = { transaction, account: recorded.account, betNotFound: recorded.betNotFound ?? false };
  await tx.saveGameTransaction({
    ...transaction,
    tenantId: request.tenantId,
    walletUuid: recorded.wallet.uuid,
    fingerprint: recorded.fingerprint,
    result: encodeResult(result),
  });
  return result;
}

/** What makes two calls "the same request": everything but the wallet's spelling. */
function fingerprintOf(kind: GameKind, walletUuid: string, currency: string, amount: bigint, request: GameRequest): string {
  const fields = [kind, walletUuid, currency, amount.toString(), request.roundId, request.betTransactionId ?? ""];
  return createHash("sha256").update(fields.join("\u0000")).digest("hex");
}
