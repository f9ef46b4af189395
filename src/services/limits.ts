import { chainKey, walletKey } from "../ledger/account-keys.js";
import { assert } from "../ledger/assert.js";
import type { Currency, CurrencyRegistry } from "../ledger/currencies.js";
import {
  type Controls,
  changeLimits,
  DAY_MS,
  depositRoom,
  EXCLUSION_DAYS,
  type Exclusion,
  type ExclusionKind,
  isExcluded,
  LIMIT_NAMES,
  type LimitChanges,
  type LimitName,
  reachedLimits,
  record,
  settle,
} from "../ledger/limits.js";
import { decodeControls } from "../ledger/limits-codec.js";
import { AmountError, parseAmount } from "../ledger/money.js";
import type { AccountRecord, PrefetchRequest, Store, TransferRecord, WalletLookup, WalletRecord, WriteTx } from "../store/store.js";
import { AppError, invalidFields, walletNotFound } from "./errors.js";
import { recordEvent } from "./events.js";
import type { Idempotency, Once, Written } from "./idempotency.js";
import { type LimitRules, withControls } from "./limit-rules.js";
import { currencyLimitsView, exclusionView } from "./limit-views.js";
import { findCurrency, move, resolvePending } from "./movements.js";

/**
 * Safer-gambling limits and exclusions of a wallet: set and shown here, enforced by the rules of
 * each movement (limit-rules.ts) under the lock of the wallet's account. Held deposits are
 * released here, by the sweeper once the window has room, or when the player withdraws them.
 */

export interface SetLimitsRequest {
  tenantId: string;
  lookup: WalletLookup;
  currency: string;
  /** Decimal strings; null removes the limit; a limit not named is left as it is. */
  limits: Partial<Record<LimitName, string | null>>;
}

export interface ExcludeRequest {
  tenantId: string;
  lookup: WalletLookup;
  kind: ExclusionKind;
  durationDays: number;
}

export type CurrencyLimits = ReturnType<typeof currencyLimitsView>;
export type ExclusionView = ReturnType<typeof exclusionView>;

export interface WalletLimits {
  wallet: WalletRecord;
  exclusion: ExclusionView | null;
  limitCoolingOffSeconds: number;
  currencies: CurrencyLimits[];
}

/** The controlled accounts one sweep settles at most. */
const SWEEP_ACCOUNTS = 200;

export class LimitService {
  constructor(
    private readonly store: Store,
    private readonly currencies: CurrencyRegistry,
    private readonly idempotency: Idempotency,
    private readonly rules: LimitRules,
  ) {}

  async set(request: SetLimitsRequest, once?: Once): Promise<Written<CurrencyLimits>> {
    const currency = findCurrency(this.currencies, request.currency);
    const changes = parseChanges(request.limits, currency);
    const coolingOffMs = (await this.#tenantCoolingOffSeconds(request.tenantId)) * 1000;
    const prefetch = this.#prefetch(request.tenantId, request.lookup, [currency]);
    return this.idempotency.write(
      once,
      async (tx) => {
        const wallet = await findWallet(tx, request.tenantId, request.lookup);
        const [account] = await tx.openAccounts([walletKey(wallet, currency.code)]);
        assert(account !== undefined, "the store opens the account it is asked for");
        const nowMs = this.rules.clock();
        const settled = await this.rules.settled(tx, wallet, account, nowMs);
        const changed = changeLimits(settled, changes, nowMs, coolingOffMs);
        const saved = withControls(account, changed.controls, nowMs);
        await tx.saveAccounts([saved]);
        const applied = changed.immediate.map((name) => ({ name, amount: changed.controls.limits[name] ?? null, effectiveAtMs: nowMs }));
        if (applied.length > 0) await this.rules.changed(tx, wallet, saved, "limits.changed", applied, nowMs);
        if (changed.scheduled.length > 0) await this.rules.changed(tx, wallet, saved, "limits.change_scheduled", changed.scheduled, nowMs);
        return currencyLimitsView(currency.code, currency.decimals, changed.controls, nowMs);
      },
      prefetch,
    );
  }

  async list(tenantId: string, lookup: WalletLookup): Promise<WalletLimits> {
    const wallet = await this.store.findWallet(tenantId, lookup);
    if (!wallet) throw walletNotFound();
    const [accounts, coolingOffSeconds] = await Promise.all([
      this.store.listControlledAccounts(wallet.uuid),
      this.#tenantCoolingOffSeconds(tenantId),
    ]);
    const nowMs = this.rules.clock();
    const controlled = accounts.map((account) => ({ account, controls: settle(decodeControls(account.controls), nowMs).controls }));
    return {
      wallet,
      exclusion: activeExclusion(
        controlled.map((entry) => entry.controls),
        nowMs,
      ),
      limitCoolingOffSeconds: coolingOffSeconds,
      currencies: controlled
        .filter(({ controls }) => Object.keys(controls.limits).length > 0 || controls.scheduled.length > 0 || controls.held.length > 0)
        .map(({ account, controls }) =>
          currencyLimitsView(account.currency, this.currencies.held(account.currency).decimals, controls, nowMs),
        ),
    };
  }

  /** The exclusion in force, if any: what the wallet view shows. */
  async exclusionOf(walletUuid: string): Promise<ExclusionView | null> {
    const accounts = await this.store.listControlledAccounts(walletUuid);
    return activeExclusion(
      accounts.map((account) => decodeControls(account.controls)),
      this.rules.clock(),
    );
  }

  /**
   * Starts a time-out or self-exclusion on every currency of the wallet, or lengthens the one that
   * runs; one that would end sooner is refused (an exclusion cannot be shortened or lifted).
   */
  exclude(request: ExcludeRequest, once?: Once): Promise<Written<ExclusionView>> {
    const bounds = EXCLUSION_DAYS[request.kind];
    if (!Number.isInteger(request.durationDays) || request.durationDays < bounds.min || request.durationDays > bounds.max) {
      throw invalidFields(`A ${request.kind} lasts ${bounds.min} to ${bounds.max} days`, {
        duration_days: `is ${bounds.min} to ${bounds.max} for a ${request.kind}`,
      });
    }
    const currencies = this.currencies.list();
    return this.idempotency.write(
      once,
      async (tx) => {
        const wallet = await findWallet(tx, request.tenantId, request.lookup);
        const accounts = await tx.openAccounts(currencies.map((currency) => walletKey(wallet, currency.code)));
        const nowMs = this.rules.clock();
        const endsAtMs = nowMs + request.durationDays * DAY_MS;
        const settled = await Promise.all(accounts.map((account) => this.rules.settled(tx, wallet, account, nowMs)));
        const running = activeExclusion(settled, nowMs);
        if (running && Date.parse(running.ends_at) > endsAtMs) {
          throw new AppError("conflict", "An exclusion cannot be shortened or lifted before its end", { exclusion: running });
        }
        const exclusion: Exclusion = {
          kind: running?.kind === "self_exclusion" ? "self_exclusion" : request.kind,
          startedAtMs: running ? Date.parse(running.started_at) : nowMs,
          endsAtMs,
        };
        const saved = accounts.map((account, index) => withControls(account, { ...(settled[index] as Controls), exclusion }, nowMs));
        await tx.saveAccounts(saved);
        const [first] = saved;
        assert(first !== undefined, "the registry has a currency");
        await this.rules.exclusionEvent(tx, "exclusion.started", wallet, first, { ...(settled[0] as Controls), exclusion });
        return exclusionView(exclusion);
      },
      this.#prefetch(request.tenantId, request.lookup, currencies),
    );
  }

  /**
   * What time decides (the sweeper, `Services.sweep`): scheduled changes that became due, ended
   * exclusions, held deposits that now fit. Each wallet in its own transaction.
   */
  async sweepDue(now: string): Promise<number> {
    const due = await this.store.listDueControls(now, SWEEP_ACCOUNTS);
    const byWallet = new Map<string, { tenantId: string; walletUuid: string; currencies: string[] }>();
    for (const entry of due) {
      const key = `${entry.tenantId}/${entry.walletUuid}`;
      const wallet = byWallet.get(key) ?? { tenantId: entry.tenantId, walletUuid: entry.walletUuid, currencies: [] };
      wallet.currencies.push(entry.currency);
      byWallet.set(key, wallet);
    }
    for (const wallet of byWallet.values()) await this.store.write((tx) => this.#settleWallet(tx, wallet, Date.parse(now)));
    return due.length;
  }

  async #settleWallet(tx: WriteTx, due: { tenantId: string; walletUuid: string; currencies: string[] }, nowMs: number): Promise<void> {
    const wallet = await findWallet(tx, due.tenantId, { by: "uuid", value: due.walletUuid });
    const accounts = await tx.openAccounts(due.currencies.map((currency) => walletKey(wallet, currency)));
    let ended: { account: AccountRecord; controls: Controls } | undefined;
    for (const account of accounts) {
      let controls = await this.rules.settled(tx, wallet, account, nowMs);
      const endedExclusion = controls.exclusion && controls.exclusion.endsAtMs <= nowMs ? controls.exclusion : null;
      if (endedExclusion) controls = { ...controls, exclusion: null };
      controls = await this.#releaseHeld(tx, wallet, account.currency, controls, nowMs, "room");
      const saved = await this.#saveControls(tx, wallet, account.currency, controls, nowMs);
      // The event names the exclusion that ended, with the balance after what it released.
      if (endedExclusion) ended ??= { account: saved, controls: { ...controls, exclusion: endedExclusion } };
    }
    if (ended) await this.rules.exclusionEvent(tx, "exclusion.ended", wallet, ended.account, ended.controls);
  }

  /**
   * Releases held deposits, oldest first: those the deposit limits have room for (counted as
   * deposits), or, for a withdrawal, as much as it lacks (not counted: the money leaves).
   */
  async #releaseHeld(
    tx: WriteTx,
    wallet: WalletRecord,
    currencyCode: string,
    start: Controls,
    nowMs: number,
    reason: "room" | { withdrawal: bigint },
  ): Promise<Controls> {
    let controls = start;
    if (reason === "room" && isExcluded(controls.exclusion, nowMs)) return controls;
    let budget = reason === "room" ? depositRoom(controls, nowMs) : reason.withdrawal;
    const currency = this.currencies.held(currencyCode);
    while (controls.held.length > 0 && (budget === null || budget > 0n)) {
      const [held, ...rest] = controls.held as [{ transferId: string; amount: bigint }, ...{ transferId: string; amount: bigint }[]];
      const pending = await tx.findTransfer(held.transferId);
      assert(pending !== undefined && pending.status === "pending", `held deposit ${held.transferId} is a pending transfer`);
      const released = budget === null || budget >= held.amount ? held.amount : budget;
      const resolved = await resolvePending(tx, pending, "post", released);
      let stillHeld = rest;
      if (released < held.amount) {
        const again = await holdDeposit(tx, wallet, currency, held.amount - released, pending.reference);
        stillHeld = [{ transferId: again.id, amount: held.amount - released }, ...rest];
      }
      controls = { ...controls, held: stillHeld };
      if (reason === "room") controls = record(controls, { deposit: released }, nowMs);
      if (budget !== null) budget -= released;
      await recordEvent(tx, this.currencies, {
        type: "deposit.released",
        tenantId: wallet.tenantId,
        wallet,
        account: resolved.credit,
        transfer: resolved.resolution,
      });
    }
    return controls;
  }

  async #saveControls(tx: WriteTx, wallet: WalletRecord, currency: string, controls: Controls, nowMs: number): Promise<AccountRecord> {
    // The account as the movements above left it (they saved it with its old controls).
    const [latest] = await tx.openAccounts([walletKey(wallet, currency)]);
    assert(latest !== undefined, "the store opens the account it is asked for");
    const saved = withControls(latest, controls, nowMs);
    await tx.saveAccounts([saved]);
    return saved;
  }

  /**
   * A confirmed chain deposit to a wallet (a new one, or the `pending` transfer of one being
   * confirmed): what the deposit limits (and an exclusion: none) have room for is credited, the
   * rest credited as pending and held. Returns the last transfer this wrote, which the deposit's
   * event shows, and the account after it.
   */
  async creditDeposit(
    tx: WriteTx,
    wallet: WalletRecord,
    currency: Currency,
    amount: bigint,
    txHash: string,
    pending: TransferRecord | undefined,
  ): Promise<{ transfer: TransferRecord; account: AccountRecord }> {
    const [account] = await tx.openAccounts([walletKey(wallet, currency.code)]);
    assert(account !== undefined, "the store opens the account it is asked for");
    const nowMs = this.rules.clock();
    const controls = account.controls === null ? null : await this.rules.settled(tx, wallet, account, nowMs);
    const room = controls === null ? null : isExcluded(controls.exclusion, nowMs) ? 0n : depositRoom(controls, nowMs);
    const credited = room === null || room >= amount ? amount : room;
    let transfer: TransferRecord | undefined;
    if (pending)
      transfer = (await resolvePending(tx, pending, credited > 0n ? "post" : "void", credited > 0n ? credited : pending.amount)).resolution;
    else if (credited > 0n) transfer = (await move(tx, depositMove(wallet, currency, credited, txHash, "posted"))).transfer;
    const held = credited < amount ? await holdDeposit(tx, wallet, currency, amount - credited, txHash) : undefined;
    const last = held ?? transfer;
    assert(last !== undefined, "a deposit credits or holds a positive amount");
    if (controls === null) {
      const [after] = await tx.openAccounts([walletKey(wallet, currency.code)]);
      assert(after !== undefined, "the store opens the account it is asked for");
      return { transfer: last, account: after };
    }
    let next = record(controls, { deposit: credited }, nowMs);
    if (held) next = { ...next, held: [...next.held, { transferId: held.id, amount: amount - credited }] };
    const saved = await this.#saveControls(tx, wallet, currency.code, next, nowMs);
    const reached = reachedLimits(next, ["deposit"], nowMs);
    if (held && reached.length > 0) await this.rules.limitReached(tx, wallet, saved, reached);
    return { transfer: last, account: saved };
  }

  /** Before a withdrawal: releases the held deposits it needs beyond the available balance. */
  async releaseForWithdrawal(tx: WriteTx, wallet: WalletRecord, currency: Currency, amount: bigint, available: bigint): Promise<void> {
    if (available >= amount) return;
    const [account] = await tx.openAccounts([walletKey(wallet, currency.code)]);
    if (account === undefined || account.controls === null) return;
    const nowMs = this.rules.clock();
    const controls = await this.rules.settled(tx, wallet, account, nowMs);
    if (controls.held.length === 0) return;
    const released = await this.#releaseHeld(tx, wallet, currency.code, controls, nowMs, { withdrawal: amount - available });
    await this.#saveControls(tx, wallet, currency.code, released, nowMs);
  }

  #prefetch(tenantId: string, lookup: WalletLookup, currencies: Currency[]): PrefetchRequest {
    return { tenantId, wallets: currencies.map((currency) => ({ lookup, currency: currency.code })), gameTransactionIds: [] };
  }

  async #tenantCoolingOffSeconds(tenantId: string): Promise<number> {
    const tenant = await this.store.findTenant(tenantId);
    assert(tenant !== undefined, `tenant ${tenantId} of an authenticated request exists`);
    return tenant.limitCoolingOffSeconds;
  }
}

/** The part of a chain deposit that waits for room: pending from the chain account, like a deposit not yet confirmed. */
async function holdDeposit(
  tx: WriteTx,
  wallet: WalletRecord,
  currency: Currency,
  amount: bigint,
  reference: string | null,
): Promise<TransferRecord> {
  return (await move(tx, depositMove(wallet, currency, amount, reference, "pending"))).transfer;
}

const depositMove = (wallet: WalletRecord, currency: Currency, amount: bigint, reference: string | null, phase: "posted" | "pending") => ({
  tenantId: wallet.tenantId,
  currency,
  debit: chainKey(wallet.tenantId, currency.code),
  credit: walletKey(wallet, currency.code),
  amount,
  phase,
  transferType: "deposit" as const,
  walletUuid: wallet.uuid,
  reference,
});

async function findWallet(tx: WriteTx, tenantId: string, lookup: WalletLookup): Promise<WalletRecord> {
  const wallet = await tx.findWallet(tenantId, lookup);
  if (!wallet) throw walletNotFound();
  return wallet;
}

function activeExclusion(all: Controls[], nowMs: number): ExclusionView | null {
  const running = all
    .map((controls) => controls.exclusion)
    .filter((exclusion): exclusion is Exclusion => exclusion !== null && isExcluded(exclusion, nowMs))
    .sort((a, b) => b.endsAtMs - a.endsAtMs)[0];
  return running ? exclusionView(running) : null;
}

function parseChanges(limits: Partial<Record<LimitName, string | null>>, currency: Currency): LimitChanges {
  const changes: LimitChanges = {};
  for (const name of LIMIT_NAMES) {
    const value = limits[name];
    if (value === undefined) continue;
    if (value === null) {
      changes[name] = null;
      continue;
    }
    try {
      changes[name] = parseAmount(value, currency.decimals);
    } catch (error) {
      if (error instanceof AmountError) throw invalidFields(`Invalid amount for ${name}: ${error.message}`, { [name]: error.message });
      throw error;
    }
  }
  if (Object.keys(changes).length === 0) throw invalidFields("No limit to change", { body: "names no limit" });
  return changes;
}
