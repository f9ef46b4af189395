import { uuidv7 } from "../ids.js";
import { assert } from "../ledger/assert.js";
import type { CurrencyRegistry } from "../ledger/currencies.js";
import type { AccountRecord, HoldRecord, Store, WalletLookup, WriteTx } from "../store/store.js";
import { AppError, invalidFields, walletNotFound } from "./errors.js";
import { recordEvent, walletById } from "./events.js";
import type { Idempotency, Once, Written } from "./idempotency.js";
import type { LimitRules } from "./limit-rules.js";
import { move, parseMoney, resolvePending, stakeAccounts } from "./movements.js";

/**
 * Holds are TigerBeetle's two-phase transfers: funds leave the wallet's available balance at
 * once (into pending_amount) and are later captured, in whole or in part, voided, or expired
 * when their timeout passes. Expiry is a database state, so it survives restarts; the sweeper
 * in every process applies it even if nobody calls.
 */

export const MIN_HOLD_TIMEOUT_SECONDS = 1;
export const MAX_HOLD_TIMEOUT_SECONDS = 30 * 24 * 3600;
export const DEFAULT_HOLD_TIMEOUT_SECONDS = 3600;

export interface PlaceHoldRequest {
  tenantId: string;
  lookup: WalletLookup;
  currency: string;
  amount: string | number;
  timeoutSeconds?: number | undefined;
  reference?: string | undefined;
}

export interface HoldResult {
  hold: HoldRecord;
  account: AccountRecord;
}

const HOLD_EVENTS = { posted: "hold.captured", voided: "hold.voided", expired: "hold.expired" } as const;
const holdNotFound = () => new AppError("not_found", "Hold not found");

export class HoldService {
  constructor(
    private readonly store: Store,
    private readonly currencies: CurrencyRegistry,
    private readonly idempotency: Idempotency,
    private readonly limits: LimitRules,
  ) {}

  place(request: PlaceHoldRequest, once?: Once): Promise<Written<HoldResult>> {
    const { currency, amount } = parseMoney(this.currencies, request.currency, request.amount);
    const timeoutSeconds = request.timeoutSeconds ?? DEFAULT_HOLD_TIMEOUT_SECONDS;
    return this.idempotency.write(once, async (tx) => {
      const wallet = await tx.findWallet(request.tenantId, request.lookup);
      if (!wallet) throw walletNotFound();
      const holdId = uuidv7();
      const moved = await move(tx, {
        ...stakeAccounts(wallet, currency),
        amount,
        phase: "pending",
        transferType: "hold",
        reference: holdId,
        controls: this.limits.hold(tx, wallet),
      });
      const now = new Date();
      const hold: HoldRecord = {
        id: holdId,
        tenantId: request.tenantId,
        walletUuid: wallet.uuid,
        currency: currency.code,
        amount,
        capturedAmount: 0n,
        status: "pending",
        transferId: moved.transfer.id,
        reference: request.reference ?? null,
        expiresAt: new Date(now.getTime() + timeoutSeconds * 1000).toISOString(),
        createdAt: now.toISOString(),
        updatedAt: now.toISOString(),
      };
      await tx.saveHold(hold);
      await recordEvent(tx, this.currencies, {
        type: "hold.placed",
        tenantId: request.tenantId,
        wallet,
        account: moved.debit,
        transfer: moved.transfer,
      });
      return { hold, account: moved.debit };
    });
  }

  /** Captures `amount` (all of the hold when undefined); the rest goes back to the wallet. */
  capture(tenantId: string, id: string, amount: string | number | undefined, once?: Once): Promise<Written<HoldResult>> {
    return this.idempotency.write(once, async (tx) => {
      const hold = await this.#pendingHold(tx, tenantId, id, "captured");
      const captured = amount === undefined ? hold.amount : parseMoney(this.currencies, hold.currency, amount).amount;
      if (captured > hold.amount) throw invalidFields("Cannot capture more than the hold", { amount: "is more than the hold" });
      return this.#resolve(tx, hold, "posted", captured);
    });
  }

  void(tenantId: string, id: string, once?: Once): Promise<Written<HoldResult>> {
    return this.idempotency.write(once, async (tx) => this.#resolve(tx, await this.#pendingHold(tx, tenantId, id, "voided"), "voided", 0n));
  }

  /**
   * Expires up to `limit` pending holds whose timeout passed before `now`, oldest first, each in
   * its own transaction; returns how many it expired (another process may have expired some).
   */
  async expireDue(now: string, limit: number): Promise<number> {
    const due = await this.store.listExpiredHolds(now, limit);
    const expired = await Promise.all(due.map((hold) => this.#expire(hold.tenantId, hold.id)));
    return expired.filter(Boolean).length;
  }

  /** Voids the hold if it is still pending and its timeout has passed; false if not. */
  #expire(tenantId: string, id: string): Promise<boolean> {
    return this.store.write(async (tx) => {
      const hold = await tx.lockHold(tenantId, id);
      if (hold?.status !== "pending" || hold.expiresAt > new Date().toISOString()) return false;
      await this.#resolve(tx, hold, "expired", 0n);
      return true;
    });
  }

  async get(tenantId: string, id: string): Promise<HoldRecord> {
    const hold = await this.store.findHold(tenantId, id);
    if (!hold) throw holdNotFound();
    return hold;
  }

  /** A pending hold; a finished or expired one cannot be captured or voided. */
  async #pendingHold(tx: WriteTx, tenantId: string, id: string, verb: string): Promise<HoldRecord> {
    const hold = await tx.lockHold(tenantId, id);
    if (!hold) throw holdNotFound();
    // A hold past its timeout is expired even if the sweeper has not voided it yet.
    const status = hold.status === "pending" && hold.expiresAt <= new Date().toISOString() ? "expired" : hold.status;
    if (status !== "pending") throw new AppError("conflict", `The hold is ${status} and cannot be ${verb}`, { status });
    return hold;
  }

  async #resolve(tx: WriteTx, hold: HoldRecord, status: "posted" | "voided" | "expired", captured: bigint): Promise<HoldResult> {
    const pending = await tx.findTransfer(hold.transferId);
    assert(pending !== undefined, `hold ${hold.id} has its transfer`);
    const resolved = captured > 0n ? await resolvePending(tx, pending, "post", captured) : await resolvePending(tx, pending, "void");
    const next: HoldRecord = { ...hold, status, capturedAmount: captured, updatedAt: new Date().toISOString() };
    await tx.saveHold(next);
    await recordEvent(tx, this.currencies, {
      type: HOLD_EVENTS[status],
      tenantId: hold.tenantId,
      wallet: await walletById(tx, hold.tenantId, hold.walletUuid),
      account: resolved.debit,
      transfer: resolved.resolution,
    });
    return { hold: next, account: resolved.debit };
  }
}
