import { uuidv7 } from "../ids.js";
import { balanceOf } from "../ledger/accounts.js";
import type { CurrencyRegistry } from "../ledger/currencies.js";
import {
  type Breach,
  type Controls,
  depositBreach,
  isExcluded,
  limitState,
  newlyReached,
  nextDueMs,
  record,
  type ScheduledChange,
  settle,
  stakeBreach,
  type Usage,
  unrecordStake,
} from "../ledger/limits.js";
import { decodeControls, encodeControls } from "../ledger/limits-codec.js";
import type { AccountRecord, EventType, WalletRecord, WriteTx } from "../store/store.js";
import { AppError } from "./errors.js";
import { breachView, exclusionView, limitChangeView, limitEventPayload } from "./limit-views.js";

/**
 * The safer-gambling rules of a movement, applied to the wallet's account after the store has
 * locked it and before the ledger moves money (services/movements.ts `move`): every movement of
 * the account holds that lock, so no concurrency, in any process, can cross a limit. An account
 * without controls (the column is null) costs nothing here.
 */

/** What a movement's rule makes of the wallet's locked account, and what to do once the movement is written. */
export interface Controlled {
  account: AccountRecord;
  /** Events about the movement's effect on the limits (`limits.changed` due now, `limit.reached`), given the account after it. */
  after?: (accountAfter: AccountRecord) => Promise<void>;
}

export type ControlsHook = (account: AccountRecord) => Promise<Controlled>;

export type Clock = () => number;

export class LimitRules {
  constructor(
    private readonly currencies: CurrencyRegistry,
    /** Milliseconds since the epoch; tests inject a clock to roll windows. */
    readonly clock: Clock,
  ) {}

  /** A bet's stake: refused while excluded, above max_stake or a wager or loss limit; counted as wager and loss. */
  stake(tx: WriteTx, wallet: WalletRecord, amount: bigint): ControlsHook {
    return (account) =>
      this.#apply(tx, wallet, account, (controls, nowMs) => {
        refuseExcluded(controls, nowMs);
        const breach = stakeBreach(controls, amount, nowMs);
        if (breach) throw this.#exceeded(account.currency, breach);
        return { controls: record(controls, { wager: amount, loss: amount }, nowMs), counted: { wager: amount, loss: amount } };
      });
  }

  /** A hold on the wallet: refused while excluded (it is a stake not yet settled). */
  hold(tx: WriteTx, wallet: WalletRecord): ControlsHook {
    return (account) =>
      this.#apply(tx, wallet, account, (controls, nowMs) => {
        refuseExcluded(controls, nowMs);
        return { controls };
      });
  }

  /** Money the casino moves into the wallet: refused while excluded or above a deposit limit; counted as a deposit. */
  credit(tx: WriteTx, wallet: WalletRecord, amount: bigint): ControlsHook {
    return (account) =>
      this.#apply(tx, wallet, account, (controls, nowMs) => {
        refuseExcluded(controls, nowMs);
        const breach = depositBreach(controls, amount, nowMs);
        if (breach) throw this.#exceeded(account.currency, breach);
        return { controls: record(controls, { deposit: amount }, nowMs), counted: { deposit: amount } };
      });
  }

  /** A win, never refused: it lowers the net loss of its hour. */
  win(tx: WriteTx, wallet: WalletRecord, amount: bigint): ControlsHook {
    return (account) => this.#apply(tx, wallet, account, (controls, nowMs) => ({ controls: record(controls, { loss: -amount }, nowMs) }));
  }

  /** A rolled-back bet, never refused: taken out of the bucket its stake was counted in. */
  rollback(tx: WriteTx, wallet: WalletRecord, amount: bigint, betAt: string): ControlsHook {
    const betAtMs = Date.parse(betAt);
    return (account) => this.#apply(tx, wallet, account, (controls) => ({ controls: unrecordStake(controls, amount, betAtMs) }));
  }

  /**
   * Settles the account's controls as of now (scheduled changes that are due apply, with their
   * `limits.changed` event), runs the rule, and gives back the account with its new controls.
   */
  async #apply(
    tx: WriteTx,
    wallet: WalletRecord,
    account: AccountRecord,
    rule: (controls: Controls, nowMs: number) => { controls: Controls; counted?: Partial<Usage> },
  ): Promise<Controlled> {
    if (account.controls === null) return { account };
    const nowMs = this.clock();
    // Changes that became due are announced once the movement is written: one refused here or by
    // the ledger saves no controls, and in a batch its refusal keeps the transaction, so an event
    // written before it would be written again by the next movement.
    const { controls: settled, applied } = settle(decodeControls(account.controls), nowMs);
    const { controls, counted } = rule(settled, nowMs);
    const names = counted ? newlyReached(settled, counted, nowMs) : [];
    const reached = names.map((name) => limitState(controls, name, nowMs)).filter((state): state is Breach => state !== undefined);
    const next = withControls(account, controls, nowMs);
    if (applied.length === 0 && reached.length === 0) return { account: next };
    const after = async (accountAfter: AccountRecord) => {
      if (applied.length > 0) await this.changed(tx, wallet, accountAfter, "limits.changed", applied, nowMs);
      if (reached.length > 0) await this.limitReached(tx, wallet, accountAfter, reached);
    };
    return { account: next, after };
  }

  /** The account's controls as of `nowMs`, with an event for each scheduled change that became due. */
  async settled(tx: WriteTx, wallet: WalletRecord, account: AccountRecord, nowMs: number): Promise<Controls> {
    const { controls, applied } = settle(decodeControls(account.controls), nowMs);
    if (applied.length > 0) await this.changed(tx, wallet, account, "limits.changed", applied, nowMs);
    return controls;
  }

  /** `limits.changed` (applied now) or `limits.change_scheduled`. */
  async changed(
    tx: WriteTx,
    wallet: WalletRecord,
    account: AccountRecord,
    type: "limits.changed" | "limits.change_scheduled",
    changes: ScheduledChange[],
    nowMs: number,
  ): Promise<void> {
    const decimals = this.currencies.held(account.currency).decimals;
    await this.event(tx, type, wallet, account, nowMs, { changes: changes.map((change) => limitChangeView(change, decimals)) });
  }

  async limitReached(tx: WriteTx, wallet: WalletRecord, account: AccountRecord, reached: Breach[]): Promise<void> {
    const decimals = this.currencies.held(account.currency).decimals;
    await this.event(tx, "limit.reached", wallet, account, this.clock(), { limits: reached.map((breach) => breachView(breach, decimals)) });
  }

  async exclusionEvent(
    tx: WriteTx,
    type: "exclusion.started" | "exclusion.ended",
    wallet: WalletRecord,
    account: AccountRecord,
    controls: Controls,
  ): Promise<void> {
    await this.event(tx, type, wallet, account, this.clock(), { exclusion: controls.exclusion && exclusionView(controls.exclusion) });
  }

  /**
   * An event about controls: nothing moved, so there is no transfer to render it from; its JSON
   * is written once, as the row's `payload`, in the shape of every event (id, type, created_at,
   * tenant, wallet, currency, the balance after) plus what it is about.
   */
  async event(tx: WriteTx, type: EventType, wallet: WalletRecord, account: AccountRecord, nowMs: number, about: object): Promise<void> {
    const id = uuidv7();
    const createdAt = new Date(nowMs).toISOString();
    const balance = balanceOf(account);
    const payload = limitEventPayload(this.currencies, { id, type, createdAt, wallet, account, about });
    await tx.appendEvent(
      {
        tenantId: wallet.tenantId,
        id,
        type,
        walletUuid: wallet.uuid,
        transferId: null,
        balanceAmount: balance.amount,
        balancePending: balance.pendingAmount,
        accountVersion: account.version,
        createdAt,
        depositId: null,
        confirmations: null,
        requiredConfirmations: null,
        payload,
      },
      createdAt,
    );
  }

  #exceeded(currency: string, breach: Breach): AppError {
    return new AppError("limit_exceeded", `The ${breach.name.replace("_", " ")} limit would be exceeded`, {
      currency,
      ...breachView(breach, this.currencies.held(currency).decimals),
    });
  }
}

/** The account with `controls` written back, and when the sweeper next has work on them. */
export function withControls(account: AccountRecord, controls: Controls, nowMs: number): AccountRecord {
  const due = nextDueMs(controls, nowMs);
  return { ...account, controls: encodeControls(controls), controlsDueAt: due === null ? null : new Date(due).toISOString() };
}

function refuseExcluded(controls: Controls, nowMs: number): void {
  const { exclusion } = controls;
  if (exclusion && isExcluded(exclusion, nowMs)) {
    throw new AppError("player_excluded", "The player is excluded from gambling until the exclusion ends", exclusionView(exclusion));
  }
}
