import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { InvariantError } from "../../src/ledger/assert.js";
import {
  type Controls,
  changeLimits,
  DAY_MS,
  depositBreach,
  depositRoom,
  emptyControls,
  HOUR_MS,
  hasControls,
  LIMIT_KINDS,
  LIMIT_NAMES,
  LIMIT_WINDOWS,
  type LimitChanges,
  type LimitKind,
  type LimitName,
  type LimitWindow,
  limitState,
  newlyReached,
  nextDueMs,
  reachedLimits,
  record,
  resetsAt,
  settle,
  stakeBreach,
  type Usage,
  unrecordStake,
  usedIn,
  WINDOW_MS,
  type WindowedLimit,
} from "../../src/ledger/limits.js";
import { decodeControls, encodeControls } from "../../src/ledger/limits-codec.js";

/**
 * Tests of the pure safer-gambling controls: a property test of the bucketed windows against a
 * naive model that keeps every movement, then examples of the breach checks, limit changes and
 * their cooling-off, rollbacks, the sweeper's next due time and the column encoding.
 */

/** A Monday, 00:00 UTC. */
const T0 = Date.UTC(2026, 0, 5);
const MINUTE_MS = 60_000;

const withLimits = (limits: LimitChanges, nowMs = T0): Controls => changeLimits(emptyControls(), limits, nowMs, DAY_MS).controls;

/** The column text as documented, written naively: `[startMs, "h"|"d", deposit, wager, loss]`, money as decimal strings. */
function referenceText(controls: Controls): string {
  return JSON.stringify({
    l: Object.fromEntries(Object.entries(controls.limits).map(([name, amount]) => [name, String(amount)])),
    s: controls.scheduled.map((change) => [change.name, change.amount === null ? null : String(change.amount), change.effectiveAtMs]),
    b: controls.buckets.map((b) => [b.startMs, b.lengthMs === HOUR_MS ? "h" : "d", String(b.deposit), String(b.wager), String(b.loss)]),
    h: controls.held.map((held) => [held.transferId, String(held.amount)]),
    x: controls.exclusion && [controls.exclusion.kind, controls.exclusion.startedAtMs, controls.exclusion.endsAtMs],
  });
}

/**
 * Encodes and decodes afresh. The module remembers decoded controls by their text (encoding
 * included), so the text is checked against the documented format and parsed with a trailing
 * space, a text it has not seen, to exercise the parser rather than the cache.
 */
function roundTrip(controls: Controls): Controls {
  const text = encodeControls(controls);
  assert.ok(text !== null, "controls worth keeping have a column text");
  assert.equal(text, referenceText(controls), "the column text is the documented JSON");
  assert.deepStrictEqual(decodeControls(text), controls, "decoding the text just written");
  return decodeControls(`${text} `);
}

// --- the reference model ------------------------------------------------------------------

interface ModelMovement {
  atMs: number;
  deposit: bigint;
  wager: bigint;
  loss: bigint;
  rolledBack: boolean;
}

const hourEndOf = (atMs: number): number => atMs - (atMs % HOUR_MS) + HOUR_MS;
const dayEndOf = (atMs: number): number => atMs - (atMs % DAY_MS) + DAY_MS;

/** The documented rule: a movement counts until its hour ended 24 h ago, or (week, month) its UTC day ended 7 or 30 days ago. */
function modelCounts(movement: ModelMovement, window: LimitWindow, nowMs: number): boolean {
  if (movement.rolledBack) return false;
  if (hourEndOf(movement.atMs) > nowMs - DAY_MS) return true;
  return window !== "day" && dayEndOf(movement.atMs) > nowMs - WINDOW_MS[window];
}

/** When a movement stops counting in the window. */
function modelLeavesAt(movement: ModelMovement, window: LimitWindow): number {
  return window === "day"
    ? hourEndOf(movement.atMs) + DAY_MS
    : Math.max(hourEndOf(movement.atMs) + DAY_MS, dayEndOf(movement.atMs) + WINDOW_MS[window]);
}

function modelUsed(movements: readonly ModelMovement[], kind: LimitKind, window: LimitWindow, nowMs: number): bigint {
  let sum = 0n;
  for (const movement of movements) if (modelCounts(movement, window, nowMs)) sum += movement[kind];
  return sum;
}

/** For kinds that only grow (deposit, wager): when the oldest counted movement leaves the window. */
function modelResetsAt(movements: readonly ModelMovement[], kind: LimitKind, window: LimitWindow, nowMs: number): number | null {
  let at: number | null = null;
  for (const movement of movements) {
    if (!modelCounts(movement, window, nowMs) || movement[kind] <= 0n) continue;
    const leaves = modelLeavesAt(movement, window);
    if (at === null || leaves < at) at = leaves;
  }
  return at;
}

// --- random sequences ---------------------------------------------------------------------

const deltaOf = (step: Step): Partial<Usage> | null => {
  switch (step.kind) {
    case "deposit":
      return { deposit: step.amount };
    case "bet":
      return { wager: step.amount, loss: step.amount };
    case "win":
      return { loss: -step.amount };
    case "mixed":
      return { deposit: step.deposit, wager: step.wager, loss: step.loss };
    case "rollback":
      return null;
  }
};

type Step =
  | { kind: "deposit"; amount: bigint }
  | { kind: "bet"; amount: bigint }
  | { kind: "win"; amount: bigint }
  | { kind: "mixed"; deposit: bigint; wager: bigint; loss: bigint }
  | { kind: "rollback"; pick: number };

const amountArb = fc.oneof(
  { weight: 8, arbitrary: fc.bigInt({ min: 1n, max: 1000n }) },
  { weight: 1, arbitrary: fc.bigInt({ min: 1n, max: 2n ** 80n }) },
);

const advanceArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 90 * MINUTE_MS }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 2 * DAY_MS }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 48 }).map((hours) => hours * HOUR_MS) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 40 * DAY_MS }) },
);

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("deposit" as const), amount: amountArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("bet" as const), amount: amountArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("win" as const), amount: amountArb }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("mixed" as const),
      deposit: fc.bigInt({ min: 0n, max: 1000n }),
      wager: fc.bigInt({ min: 0n, max: 1000n }),
      loss: fc.bigInt({ min: -1000n, max: 1000n }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("rollback" as const), pick: fc.nat({ max: 1000 }) }) },
);

const windowedArb = fc.constantFrom(...(LIMIT_NAMES.filter((name) => name !== "max_stake") as WindowedLimit[]));

const scenarioArb = fc.record({
  limits: fc.dictionary(windowedArb, fc.bigInt({ min: 1n, max: 5000n }), { maxKeys: 9 }),
  startMs: fc
    .oneof(
      fc.integer({ min: 0, max: 7 * DAY_MS }),
      fc.integer({ min: 0, max: 7 * 24 }).map((hours) => hours * HOUR_MS),
    )
    .map((offset) => T0 + offset),
  // settleFirst: settle before the movement (as the service does), or record on the stale state;
  // reload: carry on from the decoded column text.
  steps: fc.array(fc.record({ advanceMs: advanceArb, step: stepArb, settleFirst: fc.boolean(), reload: fc.boolean() }), {
    minLength: 1,
    maxLength: 40,
  }),
  probesMs: fc.array(fc.integer({ min: 0, max: 35 * DAY_MS }), { minLength: 1, maxLength: 3 }),
});

function applyStep(controls: Controls, movements: ModelMovement[], step: Step, nowMs: number): Controls {
  switch (step.kind) {
    case "deposit":
      movements.push({ atMs: nowMs, deposit: step.amount, wager: 0n, loss: 0n, rolledBack: false });
      return record(controls, { deposit: step.amount }, nowMs);
    case "bet":
      movements.push({ atMs: nowMs, deposit: 0n, wager: step.amount, loss: step.amount, rolledBack: false });
      return record(controls, { wager: step.amount, loss: step.amount }, nowMs);
    case "win":
      movements.push({ atMs: nowMs, deposit: 0n, wager: 0n, loss: -step.amount, rolledBack: false });
      return record(controls, { loss: -step.amount }, nowMs);
    case "mixed":
      movements.push({ atMs: nowMs, deposit: step.deposit, wager: step.wager, loss: step.loss, rolledBack: false });
      return record(controls, { deposit: step.deposit, wager: step.wager, loss: step.loss }, nowMs);
    case "rollback": {
      const bets = movements.filter(
        (movement) => !movement.rolledBack && movement.deposit === 0n && movement.wager > 0n && movement.wager === movement.loss,
      );
      const bet = bets[step.pick % Math.max(bets.length, 1)];
      if (bet === undefined) return controls;
      bet.rolledBack = true;
      return unrecordStake(controls, bet.wager, bet.atMs);
    }
  }
}

/** Every window of every kind of the settled controls at `nowMs` against the model, plus what `resetsAt` promises. */
function checkAgainstModel(controls: Controls, movements: readonly ModelMovement[], nowMs: number): void {
  const settled = settle(controls, nowMs).controls;
  const hours = settled.buckets.filter((bucket) => bucket.lengthMs === HOUR_MS).length;
  const days = settled.buckets.filter((bucket) => bucket.lengthMs === DAY_MS).length;
  assert.ok(hours <= 25, `at most 25 hour buckets, got ${hours}`);
  assert.ok(days <= 31, `at most 31 day buckets, got ${days}`);
  assert.equal(settled.buckets.length, hours + days);
  for (const bucket of settled.buckets) assert.ok(bucket.wager >= 0n && bucket.deposit >= 0n, "deposit and wager never negative");
  for (const kind of LIMIT_KINDS) {
    for (const window of LIMIT_WINDOWS) {
      const label = `${kind}_${window} at ${new Date(nowMs).toISOString()}`;
      const used = usedIn(settled, kind, window, nowMs);
      assert.equal(used, modelUsed(movements, kind, window, nowMs), `usedIn ${label}`);
      const resets = resetsAt(settled, kind, window, nowMs);
      if (kind !== "loss") {
        assert.equal(resets, modelResetsAt(movements, kind, window, nowMs), `resetsAt ${label}`);
        if (resets === null) assert.equal(used, 0n, `nothing counted without a reset time: ${label}`);
      } else if (resets === null) {
        assert.ok(used <= 0n, `no loss counted without a reset time: ${label}`);
      }
      if (resets === null) continue;
      assert.ok(resets > nowMs, `resetsAt is in the future: ${label}`);
      // Without new movements, nothing leaves before resetsAt but buckets that took nothing away.
      const before = usedIn(settle(settled, resets - 1).controls, kind, window, resets - 1);
      const at = usedIn(settle(settled, resets).controls, kind, window, resets);
      assert.equal(before, modelUsed(movements, kind, window, resets - 1), `usedIn just before resetsAt: ${label}`);
      assert.equal(at, modelUsed(movements, kind, window, resets), `usedIn at resetsAt: ${label}`);
      const next = resetsAt(settle(settled, resets).controls, kind, window, resets);
      assert.ok(next === null || next > resets, `the next reset is later: ${label}`);
      if (kind !== "loss") assert.equal(next, modelResetsAt(movements, kind, window, resets), `resetsAt at resetsAt: ${label}`);
      if (kind === "loss") {
        assert.ok(before >= used, `loss does not shrink before resetsAt: ${label}`);
      } else {
        assert.equal(before, used, `usage unchanged until resetsAt: ${label}`);
        assert.ok(at < used, `room frees up at resetsAt: ${label}`);
      }
    }
  }
  assert.deepStrictEqual(roundTrip(settled), settled, "encode/decode round trip");
}

describe("limits: bucketed windows against a model that keeps every movement", () => {
  it("usedIn and resetsAt match the documented rule after any record/settle/rollback/reload sequence", () => {
    fc.assert(
      fc.property(scenarioArb, ({ limits, steps, startMs, probesMs }) => {
        // A limit is set, so that the column is never empty and round-trips.
        let controls = withLimits({ deposit_day: 1000n, ...limits }, startMs);
        const movements: ModelMovement[] = [];
        let nowMs = startMs;
        for (const { advanceMs, step, settleFirst, reload } of steps) {
          nowMs += advanceMs;
          if (settleFirst) controls = settle(controls, nowMs).controls;
          const before = controls;
          controls = applyStep(controls, movements, step, nowMs);
          const delta = deltaOf(step);
          if (settleFirst && delta !== null) {
            // newlyReached: the limits the movement used up, as a comparison of before and after.
            const was = new Set(reachedLimits(before, LIMIT_KINDS, nowMs).map((breach) => breach.name));
            const now = reachedLimits(controls, LIMIT_KINDS, nowMs).map((breach) => breach.name);
            assert.deepStrictEqual(
              newlyReached(before, delta, nowMs),
              now.filter((name) => !was.has(name)),
            );
          }
          if (reload) controls = roundTrip(controls);
          checkAgainstModel(controls, movements, nowMs);
        }
        // Later, with no new movements, from the state as left (unsettled).
        for (const probeMs of probesMs) checkAgainstModel(controls, movements, nowMs + probeMs);
      }),
      { numRuns: 300 },
    );
  });

  it("a movement counts by its hour for a day, then by its UTC day for a week and a month", () => {
    const atMs = T0 + 10 * HOUR_MS + 30 * MINUTE_MS; // Monday 10:30
    const controls = record(withLimits({ deposit_week: 100n }), { deposit: 10n }, atMs);
    const used = (window: LimitWindow, nowMs: number): bigint => usedIn(settle(controls, nowMs).controls, "deposit", window, nowMs);
    const hourEnd = T0 + 11 * HOUR_MS;
    assert.equal(used("day", hourEnd + DAY_MS - 1), 10n);
    assert.equal(used("day", hourEnd + DAY_MS), 0n);
    assert.equal(used("week", hourEnd + DAY_MS), 10n);
    assert.equal(used("week", T0 + 8 * DAY_MS - 1), 10n);
    assert.equal(used("week", T0 + 8 * DAY_MS), 0n);
    assert.equal(used("month", T0 + 31 * DAY_MS - 1), 10n);
    assert.equal(used("month", T0 + 31 * DAY_MS), 0n);
    const settled = settle(controls, T0 + 11 * HOUR_MS).controls;
    assert.equal(resetsAt(settled, "deposit", "day", T0 + 11 * HOUR_MS), hourEnd + DAY_MS);
    // Still an hour bucket, but it only leaves the week when its UTC day has ended 7 days ago.
    assert.equal(resetsAt(settled, "deposit", "week", T0 + 11 * HOUR_MS), T0 + 8 * DAY_MS);
    assert.equal(resetsAt(settled, "deposit", "month", T0 + 11 * HOUR_MS), T0 + 31 * DAY_MS);
    assert.equal(resetsAt(settled, "wager", "week", T0 + 11 * HOUR_MS), null);
    const folded = settle(controls, hourEnd + DAY_MS).controls;
    assert.deepStrictEqual(folded.buckets, [{ startMs: T0, lengthMs: DAY_MS, deposit: 10n, wager: 0n, loss: 0n }]);
    assert.equal(resetsAt(folded, "deposit", "week", hourEnd + DAY_MS), T0 + 8 * DAY_MS);
    assert.equal(resetsAt(folded, "deposit", "day", hourEnd + DAY_MS), null);
    assert.deepStrictEqual(settle(controls, T0 + 31 * DAY_MS).controls.buckets, []);
  });
});

// --- breach checks ------------------------------------------------------------------------

describe("limits: stake and deposit breaches", () => {
  const nowMs = T0 + 5 * HOUR_MS + 10 * MINUTE_MS;

  it("max_stake: the cap itself is allowed, one minor unit more is refused", () => {
    const controls = withLimits({ max_stake: 500n });
    assert.equal(stakeBreach(controls, 500n, nowMs), undefined);
    assert.deepStrictEqual(stakeBreach(controls, 501n, nowMs), {
      name: "max_stake",
      limit: "max_stake",
      window: null,
      amount: 500n,
      used: 0n,
      remaining: 500n,
      resetsAtMs: null,
    });
  });

  it("a wager limit: used + stake exactly at the limit is allowed, one over is refused with the state", () => {
    const controls = record(withLimits({ wager_day: 1000n }), { wager: 400n, loss: 400n }, nowMs);
    assert.equal(stakeBreach(controls, 600n, nowMs), undefined);
    assert.deepStrictEqual(stakeBreach(controls, 601n, nowMs), {
      name: "wager_day",
      limit: "wager",
      window: "day",
      amount: 1000n,
      used: 400n,
      remaining: 600n,
      resetsAtMs: T0 + 6 * HOUR_MS + DAY_MS,
    });
  });

  it("a loss limit counts stakes net of wins", () => {
    let controls = record(withLimits({ loss_week: 100n }), { wager: 100n, loss: 100n }, nowMs);
    controls = record(controls, { loss: -30n }, nowMs + MINUTE_MS);
    assert.equal(stakeBreach(controls, 30n, nowMs + MINUTE_MS), undefined);
    const breach = stakeBreach(controls, 31n, nowMs + MINUTE_MS);
    assert.equal(breach?.name, "loss_week");
    assert.equal(breach?.used, 70n);
    assert.equal(breach?.remaining, 30n);
    assert.equal(breach?.resetsAtMs, T0 + 8 * DAY_MS);
  });

  it("names the first breach: max_stake, then wager before loss, day before week before month", () => {
    let controls = withLimits({ max_stake: 50n, wager_month: 100n, wager_week: 100n, loss_day: 100n });
    controls = record(controls, { wager: 100n, loss: 100n }, nowMs);
    assert.equal(stakeBreach(controls, 51n, nowMs)?.name, "max_stake");
    assert.equal(stakeBreach(controls, 1n, nowMs)?.name, "wager_week");
    controls = withLimits({ loss_day: 100n, wager_week: 1000n, wager_day: 150n });
    controls = record(controls, { wager: 100n, loss: 100n }, nowMs);
    assert.equal(stakeBreach(controls, 1n, nowMs)?.name, "loss_day");
    assert.equal(stakeBreach(controls, 51n, nowMs)?.name, "wager_day");
    assert.equal(stakeBreach(withLimits({ deposit_day: 1n }), 10n ** 30n, nowMs), undefined, "deposit limits do not stop a stake");
  });

  it("deposits: exactly at the limit allowed, one over refused, the first window named", () => {
    let controls = withLimits({ deposit_day: 500n, deposit_month: 300n });
    controls = record(controls, { deposit: 100n }, nowMs);
    assert.equal(depositBreach(controls, 200n, nowMs), undefined);
    assert.deepStrictEqual(depositBreach(controls, 201n, nowMs), {
      name: "deposit_month",
      limit: "deposit",
      window: "month",
      amount: 300n,
      used: 100n,
      remaining: 200n,
      resetsAtMs: T0 + 31 * DAY_MS,
    });
    assert.equal(depositBreach(controls, 401n, nowMs)?.name, "deposit_day");
    assert.equal(depositBreach(withLimits({ wager_day: 1n, max_stake: 1n }), 10n ** 30n, nowMs), undefined);
  });

  it("depositRoom: null without a deposit limit, else the least room, never below zero", () => {
    assert.equal(depositRoom(emptyControls(), nowMs), null);
    assert.equal(depositRoom(withLimits({ loss_day: 5n }), nowMs), null);
    let controls = withLimits({ deposit_day: 500n, deposit_week: 800n });
    assert.equal(depositRoom(controls, nowMs), 500n);
    controls = record(controls, { deposit: 400n }, nowMs);
    assert.equal(depositRoom(controls, nowMs), 100n);
    // The day window frees up the next day; the week still holds the 400.
    const nextDay = nowMs + 2 * DAY_MS;
    assert.equal(depositRoom(settle(controls, nextDay).controls, nextDay), 400n);
    // A limit lowered under what is used leaves no room (not a negative one).
    controls = changeLimits(controls, { deposit_day: 300n }, nowMs, DAY_MS).controls;
    assert.equal(depositRoom(controls, nowMs), 0n);
    assert.equal(limitState(controls, "deposit_day", nowMs)?.remaining, 0n);
    assert.equal(depositBreach(controls, 1n, nowMs)?.name, "deposit_day");
  });

  it("reachedLimits: the limits of the given kinds with nothing remaining", () => {
    let controls = withLimits({ wager_day: 100n, loss_week: 200n, deposit_day: 100n });
    controls = record(controls, { wager: 100n, loss: 100n, deposit: 100n }, nowMs);
    assert.deepStrictEqual(
      reachedLimits(controls, ["wager", "loss"], nowMs).map((breach) => breach.name),
      ["wager_day"],
    );
    assert.deepStrictEqual(
      reachedLimits(controls, ["deposit"], nowMs).map((breach) => breach.name),
      ["deposit_day"],
    );
    assert.deepStrictEqual(reachedLimits(controls, [], nowMs), []);
  });
});

// --- limit changes ------------------------------------------------------------------------

describe("limits: changes and cooling-off", () => {
  const nowMs = T0 + 3 * HOUR_MS;
  const coolingOffMs = DAY_MS;

  it("a new limit and a lower one apply at once", () => {
    const first = changeLimits(emptyControls(), { loss_day: 100n, max_stake: 10n }, nowMs, coolingOffMs);
    assert.deepStrictEqual(first.controls.limits, { loss_day: 100n, max_stake: 10n });
    assert.deepStrictEqual(first.immediate, ["loss_day", "max_stake"]);
    assert.deepStrictEqual(first.scheduled, []);
    assert.deepStrictEqual(first.controls.scheduled, []);
    const lower = changeLimits(first.controls, { loss_day: 99n }, nowMs + 1, coolingOffMs);
    assert.deepStrictEqual(lower.controls.limits, { loss_day: 99n, max_stake: 10n });
    assert.deepStrictEqual(lower.immediate, ["loss_day"]);
    assert.deepStrictEqual(lower.scheduled, []);
  });

  it("a higher one and a removal wait the cooling-off, then settle applies them exactly at effectiveAt", () => {
    const base = withLimits({ loss_day: 100n, max_stake: 10n });
    const changed = changeLimits(base, { loss_day: 101n, max_stake: null }, nowMs, coolingOffMs);
    const effectiveAtMs = nowMs + coolingOffMs;
    assert.deepStrictEqual(changed.controls.limits, { loss_day: 100n, max_stake: 10n });
    assert.deepStrictEqual(changed.immediate, []);
    assert.deepStrictEqual(changed.scheduled, [
      { name: "loss_day", amount: 101n, effectiveAtMs },
      { name: "max_stake", amount: null, effectiveAtMs },
    ]);
    assert.deepStrictEqual(changed.controls.scheduled, changed.scheduled);
    assert.deepStrictEqual(base.scheduled, [], "the input is not changed");

    const early = settle(changed.controls, effectiveAtMs - 1);
    assert.deepStrictEqual(early.applied, []);
    assert.deepStrictEqual(early.controls.limits, { loss_day: 100n, max_stake: 10n });
    assert.equal(early.controls.scheduled.length, 2);
    assert.equal(stakeBreach(early.controls, 11n, effectiveAtMs - 1)?.name, "max_stake");

    const due = settle(changed.controls, effectiveAtMs);
    assert.deepStrictEqual(due.applied, changed.scheduled);
    assert.deepStrictEqual(due.controls.limits, { loss_day: 101n });
    assert.deepStrictEqual(due.controls.scheduled, []);
    assert.equal(stakeBreach(due.controls, 11n, effectiveAtMs), undefined);
    assert.deepStrictEqual(settle(due.controls, effectiveAtMs + DAY_MS).applied, [], "applied once");
  });

  it("removing a limit that is not set, or asking for the one in force, changes nothing", () => {
    const base = withLimits({ loss_day: 100n });
    const changed = changeLimits(base, { loss_day: 100n, wager_week: null }, nowMs, coolingOffMs);
    assert.deepStrictEqual(changed.controls, base);
    assert.deepStrictEqual(changed.immediate, []);
    assert.deepStrictEqual(changed.scheduled, []);
  });

  it("a lower one cancels a pending raise; asking for the current value cancels a pending change", () => {
    const base = withLimits({ loss_day: 100n, wager_day: 100n, deposit_day: 100n });
    const raised = changeLimits(base, { loss_day: 200n, wager_day: 200n, deposit_day: null }, nowMs, coolingOffMs).controls;
    assert.equal(raised.scheduled.length, 3);

    const lowered = changeLimits(raised, { loss_day: 50n }, nowMs + HOUR_MS, coolingOffMs);
    assert.equal(lowered.controls.limits.loss_day, 50n);
    assert.deepStrictEqual(lowered.immediate, ["loss_day"]);
    assert.deepStrictEqual(
      lowered.controls.scheduled.map((change) => change.name),
      ["deposit_day", "wager_day"],
    );

    const kept = changeLimits(lowered.controls, { wager_day: 100n, deposit_day: 100n }, nowMs + 2 * HOUR_MS, coolingOffMs);
    assert.deepStrictEqual(kept.immediate, []);
    assert.deepStrictEqual(kept.scheduled, []);
    assert.deepStrictEqual(kept.controls.scheduled, []);
    assert.deepStrictEqual(kept.controls.limits, { loss_day: 50n, wager_day: 100n, deposit_day: 100n });
    // Nothing loosens later either.
    assert.deepStrictEqual(settle(kept.controls, nowMs + 10 * DAY_MS).controls.limits, kept.controls.limits);
  });

  it("a second raise replaces the pending one and restarts the cooling-off", () => {
    const base = withLimits({ deposit_week: 100n });
    const first = changeLimits(base, { deposit_week: 300n }, nowMs, coolingOffMs).controls;
    const second = changeLimits(first, { deposit_week: 200n }, nowMs + HOUR_MS, coolingOffMs);
    assert.deepStrictEqual(second.controls.scheduled, [
      { name: "deposit_week", amount: 200n, effectiveAtMs: nowMs + HOUR_MS + coolingOffMs },
    ]);
    assert.equal(settle(second.controls, nowMs + coolingOffMs).controls.limits.deposit_week, 100n);
    assert.equal(settle(second.controls, nowMs + HOUR_MS + coolingOffMs).controls.limits.deposit_week, 200n);
  });

  it("a zero cooling-off applies a raise and a removal at once, with nothing pending", () => {
    const changed = changeLimits(withLimits({ wager_month: 10n, loss_day: 5n }), { wager_month: 20n, loss_day: null }, nowMs, 0);
    assert.deepStrictEqual(changed.scheduled, []);
    assert.deepStrictEqual(changed.controls.scheduled, []);
    assert.deepStrictEqual(changed.immediate.sort(), ["loss_day", "wager_month"]);
    assert.deepStrictEqual(changed.controls.limits, { wager_month: 20n });
  });

  it("refuses a limit that is not positive and a negative cooling-off", () => {
    assert.throws(() => changeLimits(emptyControls(), { loss_day: 0n }, nowMs, coolingOffMs), InvariantError);
    assert.throws(() => changeLimits(emptyControls(), { loss_day: -1n }, nowMs, coolingOffMs), InvariantError);
    assert.throws(() => changeLimits(emptyControls(), { loss_day: undefined }, nowMs, coolingOffMs), InvariantError);
    assert.throws(() => changeLimits(emptyControls(), { loss_day: 1n }, nowMs, -1), InvariantError);
  });

  it("property: nothing loosens before the cooling-off since it was asked for; tightening is immediate", () => {
    const changeArb = fc.dictionary(fc.constantFrom(...LIMIT_NAMES), fc.option(fc.bigInt({ min: 1n, max: 20n }), { nil: null }), {
      maxKeys: 4,
    }) as fc.Arbitrary<LimitChanges>;
    const requestsArb = fc.array(fc.record({ advanceMs: fc.integer({ min: 0, max: 2 * DAY_MS }), changes: changeArb }), { maxLength: 25 });
    fc.assert(
      fc.property(requestsArb, fc.integer({ min: 0, max: 2 * DAY_MS }), (requests, coolingOffMs) => {
        let controls = emptyControls();
        let nowMs = T0;
        /** Per limit: the last request, and what was in force just before it. */
        const last = new Map<LimitName, { atMs: number; wanted: bigint | null; before: bigint | undefined }>();
        const loose = (amount: bigint | null | undefined): bigint => amount ?? 10n ** 9n;
        for (const { advanceMs, changes } of requests) {
          nowMs += advanceMs;
          const settled = settle(controls, nowMs);
          for (const change of settled.applied) assert.ok(change.effectiveAtMs <= nowMs);
          controls = settled.controls;
          // The model: each limit is what was last asked if that tightened it or cooled off, else what was in force then.
          for (const name of LIMIT_NAMES) {
            const request = last.get(name);
            if (request === undefined) {
              assert.equal(controls.limits[name], undefined);
              continue;
            }
            const tightened = loose(request.wanted) <= loose(request.before);
            const expected = tightened || request.atMs + coolingOffMs <= nowMs ? (request.wanted ?? undefined) : request.before;
            assert.equal(controls.limits[name], expected, `${name} at +${nowMs - T0} ms`);
          }
          const before = { ...controls.limits };
          const changed = changeLimits(controls, changes, nowMs, coolingOffMs);
          for (const [name, wanted] of Object.entries(changes) as [LimitName, bigint | null][]) {
            last.set(name, { atMs: nowMs, wanted, before: before[name] });
            // With no cooling-off a loosening applies at once too.
            const loosening = loose(wanted) > loose(before[name]);
            const atOnce = loose(wanted) < loose(before[name]) || (loosening && coolingOffMs === 0);
            assert.equal(changed.immediate.includes(name), atOnce);
            assert.equal(
              changed.scheduled.some((change) => change.name === name),
              loosening && coolingOffMs > 0,
            );
            assert.equal(changed.controls.limits[name], atOnce ? (wanted ?? undefined) : before[name]);
          }
          const names = changed.controls.scheduled.map((change) => change.name);
          assert.equal(new Set(names).size, names.length, "at most one pending change per limit");
          for (const change of changed.controls.scheduled) {
            assert.ok(loose(change.amount) > loose(changed.controls.limits[change.name]), "only loosening waits");
          }
          controls = changed.controls;
          if (hasControls(controls)) assert.deepStrictEqual(roundTrip(controls), controls);
        }
      }),
      { numRuns: 300 },
    );
  });
});

// --- rollbacks ----------------------------------------------------------------------------

describe("limits: unrecordStake", () => {
  const betAtMs = T0 + HOUR_MS + 10 * MINUTE_MS; // Monday 01:10
  const laterBetAtMs = T0 + 5 * HOUR_MS + 10 * MINUTE_MS; // Monday 05:10
  const allUsage = (controls: Controls, nowMs: number): Record<string, bigint> =>
    Object.fromEntries(
      LIMIT_KINDS.flatMap((kind) =>
        LIMIT_WINDOWS.map((window) => [`${kind}_${window}`, usedIn(settle(controls, nowMs).controls, kind, window, nowMs)]),
      ),
    );

  it("takes a rolled-back bet out of its hour bucket, leaving the rest of it", () => {
    let controls = withLimits({ wager_day: 1000n });
    controls = record(controls, { wager: 100n, loss: 100n }, betAtMs);
    controls = record(controls, { wager: 50n, loss: 50n }, betAtMs + 20 * MINUTE_MS);
    controls = record(controls, { deposit: 7n }, betAtMs + 30 * MINUTE_MS);
    const before = structuredClone(controls);
    const undone = unrecordStake(controls, 100n, betAtMs);
    assert.deepStrictEqual(controls, before, "the input is not changed");
    assert.deepStrictEqual(undone.buckets, [{ startMs: T0 + HOUR_MS, lengthMs: HOUR_MS, deposit: 7n, wager: 50n, loss: 50n }]);
    const nowMs = betAtMs + HOUR_MS;
    const usage = allUsage(undone, nowMs);
    for (const window of LIMIT_WINDOWS) {
      assert.equal(usage[`wager_${window}`], 50n);
      assert.equal(usage[`loss_${window}`], 50n);
      assert.equal(usage[`deposit_${window}`], 7n);
    }
  });

  it("takes it out of the UTC day its hour was folded into, and leaves other buckets alone", () => {
    let controls = withLimits({ wager_week: 1000n });
    controls = record(controls, { wager: 100n, loss: 100n }, betAtMs);
    controls = record(controls, { wager: 40n, loss: 40n }, laterBetAtMs);
    // Tuesday 03:00: the 01:00 hour has left the day window (folded), the 05:00 hour has not.
    const nowMs = T0 + DAY_MS + 3 * HOUR_MS;
    controls = settle(controls, nowMs).controls;
    assert.deepStrictEqual(
      controls.buckets.map((bucket) => [bucket.startMs, bucket.lengthMs, bucket.wager]),
      [
        [T0, DAY_MS, 100n],
        [T0 + 5 * HOUR_MS, HOUR_MS, 40n],
      ],
    );
    const first = unrecordStake(controls, 100n, betAtMs);
    assert.deepStrictEqual(
      first.buckets.map((bucket) => [bucket.startMs, bucket.lengthMs, bucket.wager, bucket.loss]),
      [
        [T0, DAY_MS, 0n, 0n],
        [T0 + 5 * HOUR_MS, HOUR_MS, 40n, 40n],
      ],
    );
    assert.equal(usedIn(first, "wager", "week", nowMs), 40n);
    assert.equal(usedIn(first, "wager", "day", nowMs), 40n);
    const both = unrecordStake(first, 40n, laterBetAtMs);
    for (const usage of Object.values(allUsage(both, nowMs))) assert.equal(usage, 0n);
    assert.equal(resetsAt(both, "wager", "week", nowMs), null);
  });

  it("never counts a wager below zero", () => {
    let controls = record(withLimits({ wager_day: 1000n }), { wager: 30n, loss: 30n }, betAtMs);
    controls = unrecordStake(controls, 50n, betAtMs);
    assert.equal(usedIn(controls, "wager", "day", betAtMs), 0n);
    assert.equal(usedIn(controls, "loss", "day", betAtMs), -20n);
  });

  it("does nothing once the bucket has left every window (or for an hour never counted)", () => {
    let controls = record(withLimits({ wager_month: 1000n }), { wager: 30n, loss: 30n }, betAtMs);
    const justInMonth = T0 + 31 * DAY_MS - 1;
    const inMonth = settle(controls, justInMonth).controls;
    assert.equal(usedIn(unrecordStake(inMonth, 30n, betAtMs), "wager", "month", justInMonth), 0n, "still in the month window");
    controls = settle(controls, T0 + 31 * DAY_MS).controls;
    assert.deepStrictEqual(controls.buckets, []);
    assert.equal(unrecordStake(controls, 30n, betAtMs), controls);
    // Likewise once folded into its day first: the day bucket is dropped exactly when it leaves the month.
    const folded = settle(record(withLimits({ wager_month: 1000n }), { wager: 30n, loss: 30n }, betAtMs), T0 + 2 * DAY_MS).controls;
    assert.deepStrictEqual(
      folded.buckets.map((bucket) => bucket.lengthMs),
      [DAY_MS],
    );
    assert.equal(settle(folded, T0 + 31 * DAY_MS - 1).controls.buckets.length, 1);
    const gone = settle(folded, T0 + 31 * DAY_MS).controls;
    assert.deepStrictEqual(gone.buckets, []);
    assert.equal(unrecordStake(gone, 30n, betAtMs), gone);
    const other = record(withLimits({ wager_day: 1000n }), { wager: 30n, loss: 30n }, betAtMs);
    assert.equal(unrecordStake(other, 30n, betAtMs - HOUR_MS), other);
  });
});

// --- the sweeper and the column -----------------------------------------------------------

describe("limits: nextDueMs", () => {
  const nowMs = T0 + 4 * HOUR_MS + 15 * MINUTE_MS;
  const held = [{ transferId: "t1", amount: 10n }];

  it("null without anything to do", () => {
    assert.equal(nextDueMs(emptyControls(), nowMs), null);
    assert.equal(nextDueMs(withLimits({ deposit_day: 5n }), nowMs), null);
    const ended = { kind: "timeout" as const, startedAtMs: nowMs - DAY_MS, endsAtMs: nowMs };
    assert.equal(nextDueMs({ ...emptyControls(), exclusion: ended }, nowMs), null);
  });

  it("the earliest of a scheduled change, an exclusion's end and when held deposits may fit", () => {
    const scheduled = changeLimits(withLimits({ deposit_day: 5n }), { deposit_day: 10n }, nowMs, DAY_MS).controls;
    assert.equal(nextDueMs(scheduled, nowMs), nowMs + DAY_MS);
    const exclusion = { kind: "timeout" as const, startedAtMs: nowMs, endsAtMs: nowMs + 2 * HOUR_MS };
    assert.equal(nextDueMs({ ...scheduled, exclusion }, nowMs), nowMs + 2 * HOUR_MS);
    // Held deposits wait for the oldest deposit to leave a window...
    const withHeld = { ...record(withLimits({ deposit_day: 5n }), { deposit: 5n }, nowMs), held };
    assert.equal(nextDueMs(withHeld, nowMs), T0 + 5 * HOUR_MS + DAY_MS);
    // ...or are due at once when nothing is counted.
    assert.equal(nextDueMs({ ...scheduled, held }, nowMs), nowMs);
    // During an exclusion they wait for its end, not for room.
    assert.equal(nextDueMs({ ...emptyControls(), held, exclusion }, nowMs), nowMs + 2 * HOUR_MS);
    const weekOnly = { ...record(withLimits({ deposit_week: 5n }), { deposit: 5n }, nowMs - 2 * DAY_MS), held };
    const settled = settle(weekOnly, nowMs).controls;
    assert.equal(nextDueMs(settled, nowMs), T0 + 6 * DAY_MS, "the day the deposit was made, plus a week");
  });
});

describe("limits: hasControls and the column text", () => {
  it("empty controls have no row data", () => {
    assert.equal(hasControls(emptyControls()), false);
    assert.equal(encodeControls(emptyControls()), null);
    assert.deepStrictEqual(decodeControls(null), emptyControls());
  });

  it("each part alone makes controls worth keeping", () => {
    const exclusion = { kind: "self_exclusion" as const, startedAtMs: T0, endsAtMs: T0 + 200 * DAY_MS };
    const parts: Controls[] = [
      withLimits({ max_stake: 1n }),
      { ...emptyControls(), scheduled: [{ name: "loss_day", amount: null, effectiveAtMs: T0 }] },
      { ...emptyControls(), held: [{ transferId: "t", amount: 1n }] },
      { ...emptyControls(), exclusion },
    ];
    for (const controls of parts) {
      assert.equal(hasControls(controls), true);
      assert.deepStrictEqual(roundTrip(controls), controls);
    }
  });

  it("round-trips every field, money as decimal strings", () => {
    let controls = withLimits({ deposit_day: 10n ** 30n, loss_week: 5n, max_stake: 3n });
    controls = record(controls, { deposit: 10n ** 25n, wager: 2n, loss: -7n }, T0 + 30 * MINUTE_MS);
    controls = settle(controls, T0 + 2 * DAY_MS).controls;
    controls = record(controls, { wager: 1n, loss: 1n }, T0 + 2 * DAY_MS);
    controls = changeLimits(controls, { loss_week: null, max_stake: 4n }, T0 + 2 * DAY_MS, DAY_MS).controls;
    controls = {
      ...controls,
      held: [
        { transferId: "a", amount: 1n },
        { transferId: "b", amount: 10n ** 22n },
      ],
      exclusion: { kind: "timeout", startedAtMs: T0, endsAtMs: T0 + DAY_MS },
    };
    const text = encodeControls(controls);
    assert.ok(text !== null);
    assert.deepStrictEqual(JSON.parse(text).b, [
      [T0, "d", String(10n ** 25n), "2", "-7"],
      [T0 + 2 * DAY_MS, "h", "0", "1", "1"],
    ]);
    assert.deepStrictEqual(JSON.parse(text).s, [
      ["loss_week", null, T0 + 3 * DAY_MS],
      ["max_stake", "4", T0 + 3 * DAY_MS],
    ]);
    assert.deepStrictEqual(roundTrip(controls), controls);
  });
});
