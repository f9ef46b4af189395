import { masterKey, walletKey } from "../ledger/account-keys.js";
import { balanceOf } from "../ledger/accounts.js";
import type { CurrencyRegistry } from "../ledger/currencies.js";
import type {
  AccountRecord,
  GameKind,
  GameTransactionRecord,
  Store,
  TransferRecord,
  WalletLookup,
  WalletRecord,
  WriteTx,
} from "../store/store.js";
import { AppError, invalidFields, walletNotFound } from "./errors.js";
import { recordEvent } from "./events.js";
import { decodeResult, type Idempotency, type Once, type Written } from "./idempotency.js";
import type { ControlsHook, LimitRules } from "./limit-rules.js";
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
    private readonly limits: LimitRules,
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
    const asked = { kind: "bet" as const, walletUuid: wallet.uuid, currency: currency.code, amount };
    const prior = await priorAnswer(tx, request, asked);
    if (prior) return prior;
    const moved = await move(tx, {
      ...stakeAccounts(wallet, currency),
      amount,
      phase: "posted",
      transferType: "bet",
      reference: request.transactionId,
      roundId: request.roundId,
      betTransactionId: request.betTransactionId,
      controls: this.limits.stake(tx, wallet, amount),
    });
    const tenantId = request.tenantId;
    await recordEvent(tx, this.currencies, { type: "bet.placed", tenantId, wallet, account: moved.debit, transfer: moved.transfer });
    return record(tx, request, { ...asked, account: moved.debit, transfer: moved.transfer });
  }

  async winIn(tx: WriteTx, request: GameRequest): Promise<GameResult> {
    const { currency, amount } = parseMoney(this.currencies, request.currency ?? "", request.amount ?? "", { allowZero: true });
    const wallet = await findWallet(tx, request);
    const asked = { kind: "win" as const, walletUuid: wallet.uuid, currency: currency.code, amount };
    const prior = await priorAnswer(tx, request, asked);
    if (prior) return prior;
    const bet = await settledBet(tx, request, wallet, currency.code);
    let moved: Credited | undefined;
    let account: AccountRecord | null;
    if (amount > 0n) {
      moved = await this.#creditFromMaster(tx, wallet, request, currency.code, amount, "win", this.limits.win(tx, wallet, amount));
      account = moved.account;
    } else {
      // A zero win closes a lost round: recorded, nothing moves.
      [account = null] = await tx.openAccounts([walletKey(wallet, currency.code)]);
    }
    if (bet.status === "completed") await tx.saveGameTransaction({ ...bet, status: "settled" });
    return record(tx, request, { ...asked, account, transfer: moved?.transfer ?? null });
  }

  /** Pays a win or returns a rolled-back bet: master account to wallet, with its event. */
  async #creditFromMaster(
    tx: WriteTx,
    wallet: WalletRecord,
    request: GameRequest,
    currencyCode: string,
    amount: bigint,
    kind: "win" | "rollback",
    controls: ControlsHook,
  ): Promise<Credited> {
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
      betTransactionId: request.betTransactionId,
      controls,
    });
    const type = kind === "win" ? "win.credited" : "rollback.applied";
    await recordEvent(tx, this.currencies, { type, tenantId: wallet.tenantId, wallet, account: moved.credit, transfer: moved.transfer });
    return { account: moved.credit, transfer: moved.transfer };
  }

  async rollbackIn(tx: WriteTx, request: GameRequest, policy: "succeed" | "not_found"): Promise<GameResult> {
    const wallet = await findWallet(tx, request);
    const betId = required(request.betTransactionId, "bet_transaction_id");
    // Aggregators name the currency of every rollback, so even one of an unknown bet answers
    // the wallet's balance in it.
    const currencyCode = findCurrency(this.currencies, required(request.currency, "currency")).code;
    const prior = await priorAnswer(tx, request, { kind: "rollback", walletUuid: wallet.uuid, currency: currencyCode, amount: null });
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
    let moved: Credited | undefined;
    if (bet?.status === "completed") {
      const controls = this.limits.rollback(tx, wallet, bet.amount, bet.createdAt);
      moved = await this.#creditFromMaster(tx, wallet, request, bet.currency, bet.amount, "rollback", controls);
      account = moved.account;
      await tx.saveGameTransaction({ ...bet, status: "rolled_back" });
    } else {
      [account = null] = await tx.openAccounts([walletKey(wallet, currencyCode)]);
    }
    const unknownBet = !bet || bet.status === "tombstone";
    const amount = bet?.status === "completed" ? bet.amount : 0n;
    return record(tx, request, {
      kind: "rollback",
      walletUuid: wallet.uuid,
      currency: currencyCode,
      amount,
      account,
      transfer: moved?.transfer ?? null,
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

/** What a call asks, as its game transaction keeps it; a rollback names no amount (`null`). */
interface Asked {
  kind: GameKind;
  walletUuid: string;
  currency: string;
  amount: bigint | null;
}

/**
 * The same transaction_id again: replay its first answer, or refuse if it asked otherwise. The
 * same request is the same kind, wallet (however it is named), currency, amount, round and bet:
 * every one of them is kept by the game transaction (issue 13 dropped the hash of them).
 */
async function priorAnswer(tx: WriteTx, request: GameRequest, asked: Asked): Promise<GameResult | undefined> {
  const prior = await tx.lockGameTransaction(request.tenantId, request.transactionId);
  if (!prior) return undefined;
  if (prior.status === "tombstone") {
    throw new AppError("conflict", "This transaction was rolled back before it arrived and can never be placed", {
      transaction_id: request.transactionId,
    });
  }
  const same =
    prior.kind === asked.kind &&
    prior.walletUuid === asked.walletUuid &&
    prior.currency === asked.currency &&
    (asked.amount === null || prior.amount === asked.amount) &&
    prior.roundId === request.roundId &&
    prior.referenceId === (request.betTransactionId ?? null);
  if (!same) {
    throw new AppError("conflict", "This transaction_id was already used with different content", {
      transaction_id: request.transactionId,
    });
  }
  return prior.result === null ? answerOf(prior) : (decodeResult(prior.result) as GameResult);
}

/** The answer a game transaction gave, from what it keeps. */
function answerOf(game: GameTransactionRecord): GameResult {
  const { transactionId, kind, currency, amount, roundId, referenceId, createdAt } = game;
  return {
    transaction: { transactionId, kind, status: "completed", currency, amount, roundId, referenceId, createdAt },
    balance: game.balance,
    betNotFound: game.betNotFound,
  };
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
    createdAt: new Date().toISOString(),
    transferId: null,
    balance: null,
    betNotFound: false,
    result: null,
  });
}

/** A credit to the wallet: its account after, and the transfer. */
interface Credited {
  account: AccountRecord;
  transfer: TransferRecord;
}

interface Recorded extends Asked {
  amount: bigint;
  account: AccountRecord | null;
  /** The movement's transfer, which keeps the game transaction; null when nothing moved. */
  transfer: TransferRecord | null;
  betNotFound?: boolean;
}

/**
 * Keeps the game transaction and answers it. One that moved money is kept by its transfer (the
 * transfer's time is its time); one that moved nothing gets a row of its own.
 */
async function record(tx: WriteTx, request: GameRequest, recorded: Recorded): Promise<GameResult> {
  const balance = recorded.account && balanceOf(recorded.account);
  const game: GameTransactionRecord = {
    tenantId: request.tenantId,
    transactionId: request.transactionId,
    kind: recorded.kind,
    status: "completed",
    walletUuid: recorded.walletUuid,
    currency: recorded.currency,
    amount: recorded.amount,
    roundId: request.roundId,
    referenceId: request.betTransactionId ?? null,
    createdAt: recorded.transfer?.createdAt ?? new Date().toISOString(),
    transferId: recorded.transfer?.id ?? null,
    balance: balance && { amount: balance.amount, pendingAmount: balance.pendingAmount },
    betNotFound: recorded.betNotFound ?? false,
    result: null,
  };
  await tx.saveGameTransaction(game);
  return answerOf(game);
}
