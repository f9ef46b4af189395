import { type Static, Type } from "typebox";
import { Amount, CurrencyCode, Timestamp, WalletId } from "./common.js";

// Safer-gambling controls (issue 14): a wallet's limits per currency, their use, the changes
// waiting out their cooling-off, and the wallet's exclusion. Built by services/limit-views.ts.

// The views (services/limit-views.ts) type these as strings; the document names the values.
export const LimitKind = Type.Unsafe<string>({
  type: "string",
  enum: ["deposit", "loss", "wager", "max_stake"],
  title: "LimitKind",
  description: "What a limit caps: deposits, net loss (stakes minus wins), stakes (wager), or one stake (max_stake)",
});

export const LimitWindow = Type.Unsafe<string | null>({
  type: ["string", "null"],
  enum: ["day", "week", "month", null],
  title: "LimitWindow",
  description:
    "The rolling window a limit counts over: day (the last 24 hours, by the hour), week (7 days) or month (30 days), by UTC day; " +
    "null for max_stake",
});

/** A limit in force with its use: a row of the limits view, what `limit_exceeded` and `limit.reached` name. */
export const LimitUse = Type.Object(
  {
    limit: LimitKind,
    window: LimitWindow,
    amount: Amount,
    used: Type.Union([Amount, Type.Null()], { description: "Counted in the window now (null for max_stake); net loss may be negative" }),
    remaining: Type.Union([Amount, Type.Null()], { description: "amount - used, never below zero (null for max_stake)" }),
    resets_at: Type.Union([Timestamp, Type.Null()], {
      description: "When the oldest movement counted leaves the window (null when none is counted, and for max_stake)",
    }),
  },
  { title: "LimitUse" },
);

/** A change of one limit: applied (`limits.changed`) or waiting out the tenant's cooling-off. */
export const LimitChange = Type.Object(
  {
    limit: LimitKind,
    window: LimitWindow,
    amount: Type.Union([Amount, Type.Null()], { description: "The new amount; null removes the limit" }),
    effective_at: Timestamp,
  },
  { title: "LimitChange" },
);

export const CurrencyLimits = Type.Object(
  {
    currency: CurrencyCode,
    limits: Type.Array(LimitUse),
    pending_changes: Type.Array(LimitChange, { description: "Increases and removals waiting out the cooling-off, soonest first" }),
    held_amount: Amount,
  },
  {
    title: "CurrencyLimits",
    description:
      "One currency's limits with their use, the changes waiting, and held_amount: confirmed deposits held (credited as " +
      "pending) until the deposit limits have room for them",
  },
);

export const Exclusion = Type.Object(
  {
    kind: Type.Union([Type.Literal("timeout"), Type.Literal("self_exclusion")]),
    started_at: Timestamp,
    ends_at: Timestamp,
  },
  { title: "Exclusion", description: "A time-out or self-exclusion: no bet, hold or transfer to the wallet until it ends" },
);

export const WalletLimits = Type.Object(
  {
    wallet_id: WalletId,
    exclusion: Type.Union([Exclusion, Type.Null()]),
    limit_cooling_off_seconds: Type.Integer({
      minimum: 0,
      description: "How long an increase or a removal of a limit waits before it applies (the tenant's setting)",
    }),
    currencies: Type.Array(CurrencyLimits, { description: "The currencies with limits, pending changes or held deposits" }),
  },
  { title: "WalletLimits" },
);

export type LimitUse = Static<typeof LimitUse>;
export type LimitChange = Static<typeof LimitChange>;
export type CurrencyLimits = Static<typeof CurrencyLimits>;
export type Exclusion = Static<typeof Exclusion>;
export type WalletLimits = Static<typeof WalletLimits>;
