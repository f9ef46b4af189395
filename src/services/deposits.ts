import { isUuid, uuidv7 } from "../ids.js";
import { chainKey, masterKey, walletKey } from "../ledger/account-keys.js";
import { assert } from "../ledger/assert.js";
import type { Currency, CurrencyRegistry } from "../ledger/currencies.js";
import { type DepositStep, depositStep, statusAfter } from "../ledger/deposits.js";
import type {
  AccountKey,
  AccountRecord,
  DepositRecord,
  EventType,
  Store,
  TransferRecord,
  WalletLookup,
  WalletRecord,
  WriteTx,
} from "../store/store.js";
import { AppError, walletNotFound } from "./errors.js";
import { recordEvent } from "./events.js";
import type { Idempotency, Once, Written } from "./idempotency.js";
import type { LimitService } from "./limits.js";
import { move, parseMoney, resolvePending } from "./movements.js";

export interface DepositReportRequest {
  tenantId: string;
  /** The wallet credited, or undefined for the tenant's master account. */
  lookup: WalletLookup | undefined;
  currency: string;
  amount: string | number;
  txHash: string;
  confirmations: number;
  status?: "confirmed" | "dropped" | undefined;
}

export interface DepositView {
  deposit: DepositRecord;
  requiredConfirmations: number;
  currency: Currency;
}

/**
 * Blockchain deposits, reported by the operator's chain watcher with a system key. The money
 * comes from the tenant's chain account (the outside world, which may go negative) so every
 * tenant and currency still sums to zero.
 */
export class DepositService {
  constructor(
    private readonly store: Store,
    private readonly currencies: CurrencyRegistry,
    private readonly idempotency: Idempotency,
    private readonly limits: LimitService,
  ) {}

  async report(request: DepositReportRequest, once?: Once): Promise<Written<DepositView>> {
    const { currency, amount } = parseMoney(this.currencies, request.currency, request.amount);
    // The tenant comes from the body, not from a credential: one without a tenant id's form names none.
    if (!isUuid(request.tenantId) || !(await this.store.findTenant(request.tenantId))) throw new AppError("not_found", "Tenant not found");
    const final = request.status === "confirmed" || request.confirmations >= currency.requiredConfirmations;
    return this.idempotency.write(once, async (tx) => {
      const wallet = request.lookup && (await tx.findWallet(request.tenantId, request.lookup));
      if (request.lookup && !wallet) throw walletNotFound();
      const credit = wallet ? walletKey(wallet, currency.code) : masterKey(request.tenantId, currency.code);
      const existing = await tx.lockDeposit(currency.code, request.txHash);
      if (existing) assertSameDeposit(existing, request.tenantId, wallet?.uuid ?? null, amount);
      const step = depositStep(existing?.status, { final, dropped: request.status === "dropped" });
      const applied = await this.#applyStep(tx, step, existing, { currency, amount, credit, request, wallet: wallet ?? null });
      const now = new Date().toISOString();
      const next: DepositRecord = {
        id: existing?.id ?? uuidv7(),
        tenantId: request.tenantId,
        walletUuid: wallet?.uuid ?? null,
        currency: currency.code,
        txHash: request.txHash,
        amount,
        confirmations: Math.max(existing?.confirmations ?? 0, request.confirmations),
        status: statusAfter(step, existing?.status),
        transferId: applied.transferId,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      };
      await tx.saveDeposit(next);
      const type = eventOf(step, existing, next);
      if (type) {
        const [account] = applied.account ? [applied.account] : await tx.openAccounts([credit]);
        assert(account !== undefined, "the store opens the account it is asked for");
        await recordEvent(tx, this.currencies, {
          type,
          tenantId: request.tenantId,
          wallet: wallet ?? null,
          account,
          transfer: applied.transfer,
          deposit: next,
        });
      }
      return { deposit: next, requiredConfirmations: currency.requiredConfirmations, currency };
    });
  }

  async #applyStep(
    tx: WriteTx,
    step: DepositStep,
    existing: DepositRecord | undefined,
    context: { currency: Currency; amount: bigint; credit: AccountKey; request: DepositReportRequest; wallet: WalletRecord | null },
  ): Promise<{ transferId: string | null; account?: AccountRecord; transfer?: TransferRecord }> {
    const { currency, amount, request, wallet } = context;
    switch (step) {
      case "credit_posted":
        if (wallet) {
          // A wallet's confirmed deposit is never refused: limits and exclusions may hold part of it.
          const credited = await this.limits.creditDeposit(tx, wallet, currency, amount, request.txHash, undefined);
          return { transferId: credited.transfer.id, account: credited.account, transfer: credited.transfer };
        }
        return this.#credit(tx, "posted", context);
      case "credit_pending":
        return this.#credit(tx, "pending", context);
      case "post_pending":
      case "void_pending": {
        const pending = existing?.transferId ? await tx.findTransfer(existing.transferId) : undefined;
        assert(pending !== undefined, `pending deposit ${existing?.id} has its transfer`);
        if (step === "post_pending" && wallet) {
          const credited = await this.limits.creditDeposit(tx, wallet, currency, amount, request.txHash, pending);
          return { transferId: pending.id, account: credited.account, transfer: credited.transfer };
        }
        const resolved = await resolvePending(tx, pending, step === "post_pending" ? "post" : "void");
        return { transferId: pending.id, account: resolved.credit, transfer: resolved.resolution };
      }
      case "refuse_drop":
        throw new AppError("conflict", "A confirmed deposit cannot be dropped", { tx_hash: request.txHash, status: "confirmed" });
      default:
        return { transferId: existing?.transferId ?? null };
    }
  }

  async #credit(
    tx: WriteTx,
    phase: "pending" | "posted",
    context: { currency: Currency; amount: bigint; credit: AccountKey; request: DepositReportRequest; wallet: WalletRecord | null },
  ): Promise<{ transferId: string | null; account?: AccountRecord; transfer?: TransferRecord }> {
    const { currency, amount, credit, request, wallet } = context;
    const moved = await move(tx, {
      tenantId: request.tenantId,
      currency,
      debit: chainKey(request.tenantId, currency.code),
      credit,
      amount,
      phase,
      transferType: "deposit",
      walletUuid: wallet?.uuid ?? null,
      reference: request.txHash,
    });
    return { transferId: moved.transfer.id, account: moved.credit, transfer: moved.transfer };
  }
}

/**
 * The event a report causes: each balance change, and confirmations rising on a pending
 * deposit (no balance change, but a dashboard shows "n of m confirmations").
 */
function eventOf(step: DepositStep, existing: DepositRecord | undefined, next: DepositRecord): EventType | undefined {
  if (step === "credit_pending") return "deposit.pending";
  if (step === "credit_posted" || step === "post_pending") return "deposit.confirmed";
  if (step === "void_pending") return "deposit.dropped";
  const progressed = step === "update_only" && next.status === "pending" && next.confirmations > (existing?.confirmations ?? 0);
  return progressed ? "deposit.pending" : undefined;
}

/** A transaction hash names one deposit; a report that disagrees with it is refused. */
function assertSameDeposit(existing: DepositRecord, tenantId: string, walletUuid: string | null, amount: bigint): void {
  if (existing.tenantId !== tenantId || existing.walletUuid !== walletUuid || existing.amount !== amount) {
    throw new AppError("conflict", "This tx_hash was already reported with a different tenant, wallet or amount", {
      tx_hash: existing.txHash,
    });
  }
}
