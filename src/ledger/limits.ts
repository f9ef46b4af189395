import { assert } from "./assert.js";

/**
 * Safer-gambling controls of one wallet account (a wallet in one currency), pure: the limits in
 * force, changes waiting out their cooling-off, the usage counted in buckets, deposits held for
 * want of room, and a copy of the wallet's exclusion. The store keeps them on the account row
 * (`accounts.controls`), so every movement that locks the account reads and writes them in the
 * same transaction: no concurrency can cross a limit, on either store, from any process.
 *
 * Windows are rolling, counted in buckets so that a bet never scans history. The day window
 * (24 h) sums hour buckets: a movement counts until its hour has ended 24 hours ago. The week
 * (7 d) and month (30 d) windows also sum day buckets (UTC days) that hour buckets are folded
 * into once they leave the day window: a movement counts until its UTC day has ended 7 or 30
 * days ago, at most a day longer than its exact rolling end, never shorter. An account keeps at
 * most 25 hour buckets and 31 day buckets.
 */

export const LIMIT_KINDS = ["deposit", "loss", "wager"] as const;
export type LimitKind = (typeof LIMIT_KINDS)[number];
export const LIMIT_WINDOWS = ["day", "week", "month"] as const;
export type LimitWindow = (typeof LIMIT_WINDOWS)[number];
export type WindowedLimit = `${LimitKind}_${LimitWindow}`;
export type LimitName = WindowedLimit | "max_stake";
export const LIMIT_NAMES: readonly LimitName[] = [
  ...LIMIT_KINDS.flatMap((kind) => LIMIT_WINDOWS.map((window): WindowedLimit => `${kind}_${window}`)),
  "max_stake",
];

export const HOUR_MS = 3_600_000;
/** How long a raised or removed limit waits before it applies, unless the tenant sets another (UKGC: 24 hours). */
export const DEFAULT_LIMIT_COOLING_OFF_SECONDS = 86_400;
export const DAY_MS = 24 * HOUR_MS;
export const WINDOW_MS: Readonly<Record<LimitWindow, number>> = { day: DAY_MS, week: 7 * DAY_MS, month: 30 * DAY_MS };

export type ExclusionKind = "timeout" | "self_exclusion";
/** Shortest and longest exclusion of each kind, in days (UKGC: time-outs up to 6 weeks; self-exclusion 6 months to 5 years). */
export const EXCLUSION_DAYS: Readonly<Record<ExclusionKind, { min: number; max: number }>> = {
  timeout: { min: 1, max: 42 },
  self_exclusion: { min: 183, max: 1826 },
};

export interface Exclusion {
  kind: ExclusionKind;
  startedAtMs: number;
  endsAtMs: number;
}

/** What one movement adds to a bucket: deposits, stakes (wager) and net loss (stakes minus what came back). */
export interface Usage {
  deposit: bigint;
  wager: bigint;
  loss: bigint;
}

export interface Bucket extends Usage {
  startMs: number;
  /** HOUR_MS or DAY_MS. */
  lengthMs: number;
}

export interface ScheduledChange {
  name: LimitName;
  /** The new amount; null removes the limit. */
  amount: bigint | null;
  effectiveAtMs: number;
}

/** A deposit credited as pending because a deposit limit or an exclusion left no room for it. */
export interface HeldDeposit {
  transferId: string;
  amount: bigint;
}

export interface Controls {
  limits: Partial<Record<LimitName, bigint>>;
  scheduled: ScheduledChange[];
  buckets: Bucket[];
  held: HeldDeposit[];
  exclusion: Exclusion | null;
}

export const emptyControls = (): Controls => ({ limits: {}, scheduled: [], buckets: [], held: [], exclusion: null });

/** A limit a movement would cross, as `limit_exceeded` names it. */
export interface Breach {
  name: LimitName;
  limit: LimitKind | "max_stake";
  window: LimitWindow | null;
  amount: bigint;
  used: bigint;
  remaining: bigint;
  /** When room next frees up (the oldest movement leaves the window); null for a stake cap or nothing to free. */
  resetsAtMs: number | null;
}

export const limitKindOf = (name: WindowedLimit): LimitKind => name.slice(0, name.indexOf("_")) as LimitKind;
export const limitWindowOf = (name: WindowedLimit): LimitWindow => name.slice(name.indexOf("_") + 1) as LimitWindow;

export const isExcluded = (exclusion: Exclusion | null, nowMs: number): boolean =>
  exclusion !== null && exclusion.startedAtMs <= nowMs && nowMs < exclusion.endsAtMs;

/**
 * The controls as they are at `nowMs`: due scheduled changes applied (returned apart, for their
 * events), hour buckets that left the day window folded into their UTC day, and buckets that
 * left every window dropped.
 */
export function settle(controls: Controls, nowMs: number): { controls: Controls; applied: ScheduledChange[] } {
  // Most calls (every bet on a controlled account) have nothing to settle: the same controls back, no copies.
  const due = controls.scheduled.some((change) => change.effectiveAtMs <= nowMs);
  if (!due && !controls.buckets.some((bucket) => isStale(bucket, nowMs))) return { controls, applied: [] };
  const applied = controls.scheduled.filter((change) => change.effectiveAtMs <= nowMs);
  const limits = { ...controls.limits };
  for (const change of applied) {
    if (change.amount === null) delete limits[change.name];
    else limits[change.name] = change.amount;
  }
  const scheduled = controls.scheduled.filter((change) => change.effectiveAtMs > nowMs);
  return { controls: { ...controls, limits, scheduled, buckets: compact(controls.buckets, nowMs) }, applied };
}

/** An hour bucket that left the day window, or a bucket that left every window. */
const isStale = (bucket: Bucket, nowMs: number): boolean =>
  bucket.lengthMs === HOUR_MS ? bucket.startMs + HOUR_MS <= nowMs - DAY_MS : bucket.startMs + bucket.lengthMs <= nowMs - WINDOW_MS.month;

function compact(buckets: Bucket[], nowMs: number): Bucket[] {
  const kept: Bucket[] = [];
  for (const bucket of buckets) {
    const folded =
      bucket.lengthMs === HOUR_MS && bucket.startMs + HOUR_MS <= nowMs - DAY_MS
        ? { ...bucket, startMs: bucket.startMs - (bucket.startMs % DAY_MS), lengthMs: DAY_MS }
        : bucket;
    if (folded.startMs + folded.lengthMs <= nowMs - WINDOW_MS.month) continue;
    const same = kept.find((other) => other.startMs === folded.startMs && other.lengthMs === folded.lengthMs);
    if (same) addUsage(same, folded);
    else kept.push({ ...folded });
  }
  return kept.sort((a, b) => a.startMs - b.startMs || a.lengthMs - b.lengthMs);
}

function addUsage(bucket: Usage, delta: Usage): void {
  bucket.deposit += delta.deposit;
  bucket.wager += delta.wager;
  bucket.loss += delta.loss;
}

/** Buckets that count in the window at `nowMs` (the day window: hour buckets only). */
function inWindow(buckets: Bucket[], window: LimitWindow, nowMs: number): Bucket[] {
  const sinceMs = nowMs - WINDOW_MS[window];
  return buckets.filter((bucket) => bucket.startMs + bucket.lengthMs > sinceMs && (window !== "day" || bucket.lengthMs === HOUR_MS));
}

export function usedIn(controls: Controls, kind: LimitKind, window: LimitWindow, nowMs: number): bigint {
  return windowSums(controls.buckets, nowMs)[kind][window];
}

type Sums = Record<LimitKind, Record<LimitWindow, bigint>>;
/** The last window sums computed per bucket list: a bet asks for up to a dozen of them at one time. */
const SUMS = new WeakMap<Bucket[], { nowMs: number; sums: Sums }>();

/** Every kind's use in every window, in one pass over the buckets (oldest first). */
function windowSums(buckets: Bucket[], nowMs: number): Sums {
  const known = SUMS.get(buckets);
  if (known?.nowMs === nowMs) return known.sums;
  const sums: Sums = {
    deposit: { day: 0n, week: 0n, month: 0n },
    wager: { day: 0n, week: 0n, month: 0n },
    loss: { day: 0n, week: 0n, month: 0n },
  };
  // The windows nest (day in week in month): each bucket is added once, to the narrowest window
  // it counts in, and the wider windows then add the narrower ones. BigInt additions are most of the cost.
  for (const bucket of buckets) {
    const endMs = bucket.startMs + bucket.lengthMs;
    const window: LimitWindow | undefined =
      bucket.lengthMs === HOUR_MS && endMs > nowMs - DAY_MS
        ? "day"
        : endMs > nowMs - WINDOW_MS.week
          ? "week"
          : endMs > nowMs - WINDOW_MS.month
            ? "month"
            : undefined;
    if (window === undefined) continue;
    if (bucket.deposit !== 0n) sums.deposit[window] += bucket.deposit;
    if (bucket.wager !== 0n) sums.wager[window] += bucket.wager;
    if (bucket.loss !== 0n) sums.loss[window] += bucket.loss;
  }
  for (const kind of LIMIT_KINDS) {
    sums[kind].week += sums[kind].day;
    sums[kind].month += sums[kind].week;
  }
  SUMS.set(buckets, { nowMs, sums });
  return sums;
}

/** When the oldest bucket that adds to the window's use leaves it; null if none adds. */
export function resetsAt(controls: Controls, kind: LimitKind, window: LimitWindow, nowMs: number): number | null {
  const oldest = inWindow(controls.buckets, window, nowMs).find((bucket) => bucket[kind] > 0n);
  if (!oldest) return null;
  if (window === "day") return oldest.startMs + HOUR_MS + DAY_MS;
  // An hour bucket is folded into its UTC day before it can leave the week or month window.
  return oldest.startMs - (oldest.startMs % DAY_MS) + DAY_MS + WINDOW_MS[window];
}

/** The state of one windowed limit at `nowMs`, or undefined when it is not set. */
export function limitState(controls: Controls, name: WindowedLimit, nowMs: number): Breach | undefined {
  const amount = controls.limits[name];
  if (amount === undefined) return undefined;
  const [kind, window] = [limitKindOf(name), limitWindowOf(name)];
  const used = usedIn(controls, kind, window, nowMs);
  const remaining = amount - used > 0n ? amount - used : 0n;
  return { name, limit: kind, window, amount, used, remaining, resetsAtMs: resetsAt(controls, kind, window, nowMs) };
}

/** The first limit a stake of `amount` would cross (max_stake, then wager and loss windows), or undefined. */
export function stakeBreach(controls: Controls, amount: bigint, nowMs: number): Breach | undefined {
  const cap = controls.limits.max_stake;
  if (cap !== undefined && amount > cap) {
    return { name: "max_stake", limit: "max_stake", window: null, amount: cap, used: 0n, remaining: cap, resetsAtMs: null };
  }
  for (const kind of ["wager", "loss"] as const) {
    for (const window of LIMIT_WINDOWS) {
      const limit = controls.limits[`${kind}_${window}`];
      if (limit !== undefined && usedIn(controls, kind, window, nowMs) + amount > limit)
        return limitState(controls, `${kind}_${window}`, nowMs);
    }
  }
  return undefined;
}

/** The first deposit limit a deposit of `amount` would cross, or undefined. */
export function depositBreach(controls: Controls, amount: bigint, nowMs: number): Breach | undefined {
  for (const window of LIMIT_WINDOWS) {
    const limit = controls.limits[`deposit_${window}`];
    if (limit !== undefined && usedIn(controls, "deposit", window, nowMs) + amount > limit)
      return limitState(controls, `deposit_${window}`, nowMs);
  }
  return undefined;
}

/** How much can still be deposited now: the least room of the deposit limits; null when none is set. */
export function depositRoom(controls: Controls, nowMs: number): bigint | null {
  let room: bigint | null = null;
  for (const window of LIMIT_WINDOWS) {
    const state = limitState(controls, `deposit_${window}`, nowMs);
    if (state && (room === null || state.remaining < room)) room = state.remaining;
  }
  return room;
}

/** The limits that a movement just used up (nothing remains), for `limit.reached`. */
export function reachedLimits(controls: Controls, kinds: readonly LimitKind[], nowMs: number): Breach[] {
  return kinds.flatMap((kind) =>
    LIMIT_WINDOWS.flatMap((window) => {
      const limit = controls.limits[`${kind}_${window}`];
      if (limit === undefined || usedIn(controls, kind, window, nowMs) < limit) return [];
      const state = limitState(controls, `${kind}_${window}`, nowMs);
      return state ? [state] : [];
    }),
  );
}

/**
 * The limits a movement of `delta` in the current hour uses up (nothing remains after it, and
 * something did before), found from the use before it: it adds `delta` to every window.
 */
export function newlyReached(before: Controls, delta: Partial<Usage>, nowMs: number): WindowedLimit[] {
  const reached: WindowedLimit[] = [];
  for (const kind of LIMIT_KINDS) {
    const added = delta[kind];
    if (added === undefined || added <= 0n) continue;
    for (const window of LIMIT_WINDOWS) {
      const limit = before.limits[`${kind}_${window}`];
      if (limit === undefined) continue;
      const used = usedIn(before, kind, window, nowMs);
      if (used < limit && used + added >= limit) reached.push(`${kind}_${window}`);
    }
  }
  return reached;
}

/** Adds a movement's usage at `atMs` to its hour bucket. */
export function record(controls: Controls, delta: Partial<Usage>, atMs: number): Controls {
  const startMs = atMs - (atMs % HOUR_MS);
  // Buckets are shared with earlier states (copy on write): only the one that changes is new.
  const buckets = [...controls.buckets];
  const index = buckets.findIndex((candidate) => candidate.startMs === startMs && candidate.lengthMs === HOUR_MS);
  const bucket: Bucket = index >= 0 ? { ...(buckets[index] as Bucket) } : { startMs, lengthMs: HOUR_MS, deposit: 0n, wager: 0n, loss: 0n };
  addUsage(bucket, { deposit: delta.deposit ?? 0n, wager: delta.wager ?? 0n, loss: delta.loss ?? 0n });
  if (index >= 0) buckets[index] = bucket;
  else {
    buckets.push(bucket);
    buckets.sort((a, b) => a.startMs - b.startMs || a.lengthMs - b.lengthMs);
  }
  return { ...controls, buckets };
}

/**
 * Takes a rolled-back bet out of the bucket it was counted in (its hour, or the day that hour
 * was folded into), so that it leaves every window as if it had not been placed; nothing if that
 * bucket has left every window. A stake never counts below zero.
 */
export function unrecordStake(controls: Controls, amount: bigint, betAtMs: number): Controls {
  const buckets = controls.buckets.map((bucket) => ({ ...bucket }));
  const bucket =
    buckets.find((candidate) => candidate.lengthMs === HOUR_MS && candidate.startMs === betAtMs - (betAtMs % HOUR_MS)) ??
    buckets.find((candidate) => candidate.lengthMs === DAY_MS && candidate.startMs === betAtMs - (betAtMs % DAY_MS));
  if (!bucket) return controls;
  bucket.wager = bucket.wager > amount ? bucket.wager - amount : 0n;
  bucket.loss -= amount;
  return { ...controls, buckets };
}

export type LimitChanges = Partial<Record<LimitName, bigint | null>>;

/**
 * Applies a request to change limits: a new limit or a lower one applies at once (and cancels a
 * pending raise of it); a higher one or a removal waits `coolingOffMs` (replacing a pending
 * change of the same limit), or applies at once when there is no cooling-off; asking for what
 * is in force cancels a pending change.
 */
export function changeLimits(
  controls: Controls,
  changes: LimitChanges,
  nowMs: number,
  coolingOffMs: number,
): { controls: Controls; immediate: LimitName[]; scheduled: ScheduledChange[] } {
  assert(coolingOffMs >= 0, "a cooling-off is not negative");
  const limits = { ...controls.limits };
  let pending = [...controls.scheduled];
  const immediate: LimitName[] = [];
  const scheduled: ScheduledChange[] = [];
  for (const name of LIMIT_NAMES) {
    if (!(name in changes)) continue;
    const wanted = changes[name];
    assert(wanted === null || (wanted !== undefined && wanted > 0n), "a limit is positive or removed");
    const current = limits[name];
    pending = pending.filter((change) => change.name !== name);
    if (wanted === current || (wanted === null && current === undefined)) continue;
    const tightens = wanted !== null && (current === undefined || wanted < current);
    if (tightens || coolingOffMs === 0) {
      if (wanted === null) delete limits[name];
      else limits[name] = wanted;
      immediate.push(name);
    } else {
      const change = { name, amount: wanted ?? null, effectiveAtMs: nowMs + coolingOffMs };
      pending.push(change);
      scheduled.push(change);
    }
  }
  return { controls: { ...controls, limits, scheduled: pending }, immediate, scheduled };
}

/** Whether the controls hold anything at all; an account without them keeps no row data for them. */
export const hasControls = (controls: Controls): boolean =>
  Object.keys(controls.limits).length > 0 || controls.scheduled.length > 0 || controls.held.length > 0 || controls.exclusion !== null;

/**
 * When the sweeper next has work on the account: a scheduled change to apply, an exclusion to
 * end (its held deposits then wait only for the deposit limits), held deposits that may fit once
 * the oldest deposit leaves its window. Null when none.
 */
export function nextDueMs(controls: Controls, nowMs: number): number | null {
  const times = controls.scheduled.map((change) => change.effectiveAtMs);
  if (controls.exclusion && controls.exclusion.endsAtMs > nowMs) times.push(controls.exclusion.endsAtMs);
  if (controls.held.length > 0 && !isExcluded(controls.exclusion, nowMs)) {
    const frees = LIMIT_WINDOWS.map((window) => resetsAt(controls, "deposit", window, nowMs)).filter((at): at is number => at !== null);
    times.push(frees.length > 0 ? Math.min(...frees) : nowMs);
  }
  return times.length > 0 ? Math.min(...times) : null;
}
