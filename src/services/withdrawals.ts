import { uuidv7 } from "../ids.js";
import { chainKey, walletKey } from "../ledger/account-keys.js";
import { balanceOf } from "../ledger/accounts.js";
import { assert } from "../ledger/assert.js";
import type { CurrencyRegistry } from "../ledger/currencies.js";
import type { AccountRecord, Store, WalletLookup, WithdrawalRecord, WithdrawalStatus } from "../store/store.js";
import { AppError, walletNotFound } from "./errors.js";
import { recordEvent, walletById } from "./events.js";
import type { Idempotency, Once, Written } from "./idempotency.js";
import type { LimitService } from "./limits.js";
import { move, parseMoney, resolvePending } from "./movements.js";

/**
 * Withdrawals to the blockchain, the outgoing side of pending_amount: the funds are held at
 * once (a pending transfer from the wallet to the tenant's chain account); the operator's
 * payout system, with a system key of scope `withdrawals`, reports the result: completed posts
 * the hold, failed voids it and the player's available balance comes back.
 */

export interface WithdrawalRequest {
  tenantId: string;
  lookup: WalletLookup;
  currency: string;
  amount: string | number;
  address: string;
}

export interface WithdrawalResult {
  withdrawal: WithdrawalRecord;
  account: AccountRecord | null;
}

const withdrawalNotFound = () => new AppError("not_found", "Withdrawal not found");

export class WithdrawalService {
  constructor(
    private readonly store: Store,
    private readonly currencies: CurrencyRegistry,
    private readonly idempotency: Idempotency,
    private readonly limits: LimitService,
  ) {}

  request(request: WithdrawalRequest, once?: Once): Promise<Written<WithdrawalResult & { account: AccountRecord }>> {
    const { currency, amount } = parseMoney(this.currencies, request.currency, request.amount);
    return this.idempotency.write(once, async (tx) => {
      const wallet = await tx.findWallet(request.tenantId, request.lookup);
      if (!wallet) throw walletNotFound();
      const withdrawalId = uuidv7();
      // Deposits held for a limit or an exclusion are the player's to withdraw.
      const [before] = await tx.openAccounts([walletKey(wallet, currency.code)]);
      if (before) await this.limits.releaseForWithdrawal(tx, wallet, currency, amount, balanceOf(before).available);
      const moved = await move(tx, {
        tenantId: request.tenantId,
        currency,
        debit: walletKey(wallet, currency.code),
        credit: chainKey(request.tenantId, currency.code),
        amount,
        phase: "pending",
        transferType: "withdrawal",
        walletUuid: wallet.uuid,
        reference: withdrawalId,
      });
      const now = new Date().toISOString();
      const withdrawal: WithdrawalRecord = {
        id: withdrawalId,
        tenantId: request.tenantId,
        walletUuid: wallet.uuid,
        currency: currency.code,
        amount,
        address: request.address,
        status: "pending",
        transferId: moved.transfer.id,
        txHash: null,
        createdAt: now,
        updatedAt: now,
      };
      await tx.saveWithdrawal(withdrawal);
      const tenantId = request.tenantId;
      await recordEvent(tx, this.currencies, {
        type: "withdrawal.requested",
        tenantId,
        wallet,
        account: moved.debit,
        transfer: moved.transfer,
      });
      return { withdrawal, account: moved.debit };
    });
  }

  /**
   * The payout system's report. The same result again is answered as it stands; the other
   * result after the first is a conflict, because the chain cannot undo a payout.
   */
  report(id: string, status: "completed" | "failed", txHash: string | undefined, once?: Once): Promise<Written<WithdrawalResult>> {
    return this.idempotency.write(once, async (tx) => {
      const withdrawal = await tx.lockWithdrawal(null, id);
      if (!withdrawal) throw withdrawalNotFound();
      if (withdrawal.status === status) return { withdrawal, account: null };
      if (withdrawal.status !== "pending") {
        throw new AppError("conflict", `The withdrawal is already ${withdrawal.status}`, { status: withdrawal.status });
      }
      const pending = await tx.findTransfer(withdrawal.transferId);
      assert(pending !== undefined, `withdrawal ${id} has its transfer`);
      const resolved = await resolvePending(tx, pending, status === "completed" ? "post" : "void");
      const next: WithdrawalRecord = { ...withdrawal, status, txHash: txHash ?? withdrawal.txHash, updatedAt: new Date().toISOString() };
      await tx.saveWithdrawal(next);
      await recordEvent(tx, this.currencies, {
        type: status === "completed" ? "withdrawal.completed" : "withdrawal.failed",
        tenantId: withdrawal.tenantId,
        wallet: await walletById(tx, withdrawal.tenantId, withdrawal.walletUuid),
        account: resolved.debit,
        transfer: resolved.resolution,
      });
      return { withdrawal: next, account: resolved.debit };
    });
  }

  async get(tenantId: string | null, id: string): Promise<WithdrawalRecord> {
    const withdrawal = await this.store.findWithdrawal(tenantId, id);
    if (!withdrawal) throw withdrawalNotFound();
    return withdrawal;
  }

  list(status: WithdrawalStatus, limit: number, offset: number): Promise<WithdrawalRecord[]> {
    return this.store.listWithdrawals(status, limit, offset);
  }
}
