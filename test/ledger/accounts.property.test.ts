import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import {
  type Applied,
  applyTransfer,
  assertAccount,
  balanceOf,
  type LedgerAccount,
  postPending,
  type TransferPhase,
  voidPending,
} from "../../src/ledger/accounts.js";
import { InvariantError } from "../../src/ledger/assert.js";
import { type Problem, Replay, type ReplayAccount, type ReplayTransfer } from "../../src/ledger/replay.js";

/**
 * The model's transfers are ledger rows without a client-facing type: the history check of
 * `verify` has its own examples (replay.test.ts); here only the counters are compared.
 */
const UNTYPED = { transferType: null, status: "posted" } as const;

/**
 * Property tests of the ledger core: random sequences of movements over one tenant and one
 * currency, checked after every step against the zero-sum rule, the available-balance rule and
 * a naive reference model that knows nothing of the four counters.
 */

const CURRENCY = "BTC";
const LEDGER_KEY = "tenant-1:BTC";
/** Index 0 is the chain account (may go negative), the others are flagged wallets/master. */
const ACCOUNT_IDS = ["chain", "master", "w1", "w2", "w3"] as const;
const CHAIN = 0;
const COUNTER_FIELDS = ["creditsPosted", "debitsPosted", "creditsPending", "debitsPending"] as const;
type CounterField = (typeof COUNTER_FIELDS)[number];

type Movement =
  | { kind: "transfer"; debit: number; credit: number; amount: bigint; phase: TransferPhase }
  /** A transfer of the debit's available balance plus `delta`: probes the refusal boundary. */
  | { kind: "boundary"; debit: number; credit: number; delta: bigint; phase: TransferPhase }
  | { kind: "post"; pick: number; partial: bigint | null }
  | { kind: "void"; pick: number };

interface OpenPending {
  id: string;
  debit: string;
  credit: string;
  amount: bigint;
}

/** The reference model: a plain posted balance per account plus the list of open holds. */
class Model {
  readonly posted = new Map<string, bigint>(ACCOUNT_IDS.map((id) => [id, 0n]));
  readonly open: OpenPending[] = [];

  postedOf(id: string): bigint {
    return this.posted.get(id) ?? 0n;
  }

  pendingIn(id: string): bigint {
    let sum = 0n;
    for (const hold of this.open) if (hold.credit === id) sum += hold.amount;
    return sum;
  }

  pendingOut(id: string): bigint {
    let sum = 0n;
    for (const hold of this.open) if (hold.debit === id) sum += hold.amount;
    return sum;
  }

  balance(id: string): { amount: bigint; pendingAmount: bigint; available: bigint } {
    return {
      amount: this.postedOf(id) + this.pendingIn(id),
      pendingAmount: this.pendingIn(id) + this.pendingOut(id),
      available: this.postedOf(id) - this.pendingOut(id),
    };
  }

  move(debit: string, credit: string, amount: bigint): void {
    this.posted.set(debit, this.postedOf(debit) - amount);
    this.posted.set(credit, this.postedOf(credit) + amount);
  }
}

function newAccounts(): Map<string, LedgerAccount> {
  return new Map(
    ACCOUNT_IDS.map((id, index) => [
      id,
      {
        id,
        currency: CURRENCY,
        debitsMustNotExceedCredits: index !== CHAIN,
        creditsPosted: 0n,
        debitsPosted: 0n,
        creditsPending: 0n,
        debitsPending: 0n,
      },
    ]),
  );
}

function account(accounts: Map<string, LedgerAccount>, id: string): LedgerAccount {
  const found = accounts.get(id);
  assert.ok(found, `account ${id} exists`);
  return found;
}

function snapshot(accounts: Map<string, LedgerAccount>): LedgerAccount[] {
  return [...accounts.values()].map((a) => ({ ...a }));
}

// ---------- arbitraries ----------

const amountArb = fc.oneof(
  { weight: 6, arbitrary: fc.bigInt({ min: 1n, max: 500n }) },
  { weight: 1, arbitrary: fc.bigInt({ min: 1n, max: 2n ** 100n }) },
);

const depositArb: fc.Arbitrary<Movement> = fc.record({
  kind: fc.constant("transfer" as const),
  debit: fc.constant(CHAIN),
  credit: fc.integer({ min: 1, max: ACCOUNT_IDS.length - 1 }),
  amount: amountArb,
  phase: fc.constantFrom<TransferPhase>("posted", "pending"),
});

const transferArb: fc.Arbitrary<Movement> = fc
  .record({
    debit: fc.integer({ min: 0, max: ACCOUNT_IDS.length - 1 }),
    offset: fc.integer({ min: 1, max: ACCOUNT_IDS.length - 1 }),
    amount: amountArb,
    phase: fc.constantFrom<TransferPhase>("posted", "pending"),
  })
  .map(({ debit, offset, amount, phase }) => ({
    kind: "transfer" as const,
    debit,
    credit: (debit + offset) % ACCOUNT_IDS.length,
    amount,
    phase,
  }));

const boundaryArb: fc.Arbitrary<Movement> = fc
  .record({
    debit: fc.integer({ min: 1, max: ACCOUNT_IDS.length - 1 }),
    offset: fc.integer({ min: 1, max: ACCOUNT_IDS.length - 1 }),
    delta: fc.constantFrom(-1n, 0n, 1n),
    phase: fc.constantFrom<TransferPhase>("posted", "pending"),
  })
  .map(({ debit, offset, delta, phase }) => ({
    kind: "boundary" as const,
    debit,
    credit: (debit + offset) % ACCOUNT_IDS.length,
    delta,
    phase,
  }));

const postArb: fc.Arbitrary<Movement> = fc.record({
  kind: fc.constant("post" as const),
  pick: fc.nat({ max: 1000 }),
  partial: fc.option(fc.bigInt({ min: 0n, max: 2n ** 101n }), { nil: null }),
});

const voidArb: fc.Arbitrary<Movement> = fc.record({
  kind: fc.constant("void" as const),
  pick: fc.nat({ max: 1000 }),
});

const movementsArb = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: depositArb },
    { weight: 5, arbitrary: transferArb },
    { weight: 1, arbitrary: boundaryArb },
    { weight: 2, arbitrary: postArb },
    { weight: 2, arbitrary: voidArb },
  ),
  { minLength: 1, maxLength: 60, size: "max" },
);

const tamperArb = fc.record({
  account: fc.integer({ min: 0, max: ACCOUNT_IDS.length - 1 }),
  field: fc.constantFrom<CounterField>(...COUNTER_FIELDS),
});

// ---------- the harness ----------

interface RunResult {
  accounts: Map<string, LedgerAccount>;
  log: ReplayTransfer[];
  accepted: number;
  refused: number;
}

const totals = { accepted: 0, refused: 0, posts: 0, partialPosts: 0, voids: 0, boundary: 0 };

function checkInvariants(accounts: Map<string, LedgerAccount>, model: Model, step: number): void {
  let creditsPosted = 0n;
  let debitsPosted = 0n;
  let creditsPending = 0n;
  let debitsPending = 0n;
  for (const a of accounts.values()) {
    creditsPosted += a.creditsPosted;
    debitsPosted += a.debitsPosted;
    creditsPending += a.creditsPending;
    debitsPending += a.debitsPending;
    // (b) counters never negative; flagged accounts never below available zero.
    for (const field of COUNTER_FIELDS) assert.ok(a[field] >= 0n, `step ${step}: ${a.id}.${field} = ${a[field]} is negative`);
    const balance = balanceOf(a);
    if (a.debitsMustNotExceedCredits) assert.ok(balance.available >= 0n, `step ${step}: ${a.id} available ${balance.available} < 0`);
    // (c) agreement with the naive model.
    assert.deepEqual(balance, model.balance(a.id), `step ${step}: balance of ${a.id} disagrees with the model`);
    assert.equal(a.creditsPosted - a.debitsPosted, model.postedOf(a.id), `step ${step}: posted of ${a.id}`);
    assert.equal(a.creditsPending, model.pendingIn(a.id), `step ${step}: creditsPending of ${a.id}`);
    assert.equal(a.debitsPending, model.pendingOut(a.id), `step ${step}: debitsPending of ${a.id}`);
  }
  // (a) zero sum.
  assert.equal(creditsPosted, debitsPosted, `step ${step}: posted credits and debits differ`);
  assert.equal(creditsPending, debitsPending, `step ${step}: pending credits and debits differ`);
}

function commit(accounts: Map<string, LedgerAccount>, applied: Applied<LedgerAccount>): void {
  assert.ok(applied.ok, "movement was accepted");
  accounts.set(applied.debit.id, applied.debit);
  accounts.set(applied.credit.id, applied.credit);
}

function run(movements: readonly Movement[]): RunResult {
  const accounts = newAccounts();
  const model = new Model();
  const log: ReplayTransfer[] = [];
  let accepted = 0;
  let refused = 0;
  let nextId = 1;
  checkInvariants(accounts, model, 0);

  movements.forEach((movement, index) => {
    const step = index + 1;
    const before = snapshot(accounts);
    if (movement.kind === "transfer" || movement.kind === "boundary") {
      const debitId = ACCOUNT_IDS[movement.debit] ?? "";
      const creditId = ACCOUNT_IDS[movement.credit] ?? "";
      const debit = account(accounts, debitId);
      const credit = account(accounts, creditId);
      const modelAvailable = model.balance(debitId).available;
      const amount = movement.kind === "transfer" ? movement.amount : modelAvailable + movement.delta;
      if (amount <= 0n) return;
      if (movement.kind === "boundary") totals.boundary += 1;
      const shouldRefuse = debit.debitsMustNotExceedCredits && modelAvailable < amount;
      const applied = applyTransfer(debit, credit, amount, movement.phase);
      // The core is pure: its inputs are never mutated, accepted or not.
      assert.deepEqual(snapshot(accounts), before, `step ${step}: applyTransfer mutated its inputs`);
      if (!applied.ok) {
        assert.ok(shouldRefuse, `step ${step}: refused although the model has available ${modelAvailable} >= ${amount}`);
        assert.equal(applied.error, "insufficient_funds");
        assert.equal(applied.available, modelAvailable, `step ${step}: refusal reports the wrong available balance`);
        refused += 1;
        // (d) nothing changed: the caller's accounts are untouched (checked above) and the
        // invariants below still hold against an unchanged model.
        checkInvariants(accounts, model, step);
        return;
      }
      assert.ok(!shouldRefuse, `step ${step}: accepted although the model has available ${modelAvailable} < ${amount}`);
      assert.equal(applied.debit.id, debitId);
      assert.equal(applied.credit.id, creditId);
      commit(accounts, applied);
      const id = `t${nextId++}`;
      if (movement.phase === "posted") {
        model.move(debitId, creditId, amount);
      } else {
        model.open.push({ id, debit: debitId, credit: creditId, amount: amount });
      }
      log.push({
        id,
        flag: movement.phase,
        ...UNTYPED,
        debitAccountId: debitId,
        creditAccountId: creditId,
        amount: amount,
        pendingId: null,
      });
      accepted += 1;
    } else {
      if (model.open.length === 0) return;
      const position = movement.pick % model.open.length;
      const hold = model.open[position];
      assert.ok(hold);
      const debit = account(accounts, hold.debit);
      const credit = account(accounts, hold.credit);
      const id = `t${nextId++}`;
      if (movement.kind === "post") {
        const postAmount = movement.partial === null ? hold.amount : 1n + (movement.partial % hold.amount);
        const applied = postPending(debit, credit, hold.amount, postAmount);
        assert.deepEqual(snapshot(accounts), before, `step ${step}: postPending mutated its inputs`);
        assert.ok(applied.ok, `step ${step}: posting a pending transfer was refused`);
        commit(accounts, applied);
        model.open.splice(position, 1);
        model.move(hold.debit, hold.credit, postAmount);
        log.push({
          id,
          flag: "post_pending",
          ...UNTYPED,
          debitAccountId: hold.debit,
          creditAccountId: hold.credit,
          amount: postAmount,
          pendingId: hold.id,
        });
        totals.posts += 1;
        if (postAmount < hold.amount) totals.partialPosts += 1;
      } else {
        const applied = voidPending(debit, credit, hold.amount);
        assert.deepEqual(snapshot(accounts), before, `step ${step}: voidPending mutated its inputs`);
        assert.ok(applied.ok, `step ${step}: voiding a pending transfer was refused`);
        commit(accounts, applied);
        model.open.splice(position, 1);
        log.push({
          id,
          flag: "void_pending",
          ...UNTYPED,
          debitAccountId: hold.debit,
          creditAccountId: hold.credit,
          amount: hold.amount,
          pendingId: hold.id,
        });
        totals.voids += 1;
      }
      accepted += 1;
    }
    checkInvariants(accounts, model, step);
  });

  totals.accepted += accepted;
  totals.refused += refused;
  return { accounts, log, accepted, refused };
}

function storedAccounts(accounts: Map<string, LedgerAccount>): ReplayAccount[] {
  return [...accounts.values()].map((a) => ({ ...a, ledgerKey: LEDGER_KEY, walletUuid: null }));
}

function replay(stored: ReplayAccount[], log: readonly ReplayTransfer[]): Problem[] {
  const r = new Replay(stored);
  for (const transfer of log) r.apply(transfer);
  assert.equal(r.transferCount, log.length);
  return r.finish();
}

// ---------- properties ----------

describe("ledger core: random movement sequences", () => {
  after(() => {
    // The properties above are only meaningful if the generator exercises every path.
    const summary = JSON.stringify(totals);
    assert.ok(totals.accepted > 10_000, `too few accepted movements: ${summary}`);
    assert.ok(totals.refused > 1_000, `too few refusals: ${summary}`);
    assert.ok(totals.posts > 1_000 && totals.partialPosts > 500 && totals.voids > 1_000, `too few resolutions: ${summary}`);
    assert.ok(totals.boundary > 1_000, `too few boundary probes: ${summary}`);
  });

  it("keeps zero sum, non-negative counters, available >= 0 and agrees with the reference model after every step", () => {
    fc.assert(
      fc.property(movementsArb, (movements) => {
        run(movements);
      }),
      { numRuns: 1000 },
    );
  });

  it("replays the accepted log onto the final counters without problems", () => {
    fc.assert(
      fc.property(movementsArb, (movements) => {
        const { accounts, log } = run(movements);
        assert.deepEqual(replay(storedAccounts(accounts), log), []);
      }),
      { numRuns: 500 },
    );
  });

  it("reports counter_mismatch (and non_zero_sum) when one stored counter is tampered with", () => {
    fc.assert(
      fc.property(movementsArb, tamperArb, (movements, tamper) => {
        const { accounts, log } = run(movements);
        const stored = storedAccounts(accounts);
        const victim = stored[tamper.account];
        assert.ok(victim);
        victim[tamper.field] += 1n;
        const problems = replay(stored, log);
        const mismatches = problems.filter((p) => p.kind === "counter_mismatch");
        assert.equal(
          mismatches.length,
          1,
          JSON.stringify(problems, (_k, v) => (typeof v === "bigint" ? v.toString() : v)),
        );
        assert.equal(mismatches[0]?.subject, victim.id);
        assert.match(mismatches[0]?.detail ?? "", new RegExp(`^${tamper.field} `));
        assert.ok(problems.some((p) => p.kind === "non_zero_sum" && p.subject === LEDGER_KEY));
        assert.equal(problems.length, 2);
      }),
      { numRuns: 300 },
    );
  });

  it("reports counter_mismatch when the last accepted transfer is missing from the log", () => {
    fc.assert(
      fc.property(
        movementsArb.filter((m) => m.length > 0),
        (movements) => {
          const { accounts, log } = run(movements);
          fc.pre(log.length > 0);
          const last = log[log.length - 1];
          assert.ok(last);
          const problems = replay(storedAccounts(accounts), log.slice(0, -1));
          assert.ok(problems.length > 0);
          assert.ok(problems.every((p) => p.kind === "counter_mismatch"));
          assert.ok(problems.some((p) => p.subject === last.debitAccountId));
          assert.ok(problems.some((p) => p.subject === last.creditAccountId));
        },
      ),
      { numRuns: 300 },
    );
  });
});

// ---------- examples ----------

function fresh(id: string, flagged: boolean, counters: Partial<Record<CounterField, bigint>> = {}, currency = CURRENCY): LedgerAccount {
  return {
    id,
    currency,
    debitsMustNotExceedCredits: flagged,
    creditsPosted: 0n,
    debitsPosted: 0n,
    creditsPending: 0n,
    debitsPending: 0n,
    ...counters,
  };
}

describe("ledger core: examples", () => {
  it("matches the specification's example: 400 confirmed + 100 confirming -> 500 / 100 / 400", () => {
    const chain = fresh("chain", false);
    const wallet = fresh("wallet", true);
    const first = applyTransfer(chain, wallet, 40000n, "posted");
    assert.ok(first.ok);
    const second = applyTransfer(first.debit, first.credit, 10000n, "pending");
    assert.ok(second.ok);
    assert.deepEqual(balanceOf(second.credit), { amount: 50000n, pendingAmount: 10000n, available: 40000n });
    assert.deepEqual(balanceOf(second.debit), { amount: -40000n, pendingAmount: 10000n, available: -50000n });
  });

  it("a pending debit holds funds: available drops, amount does not", () => {
    const wallet = fresh("wallet", true, { creditsPosted: 1000n });
    const master = fresh("master", true);
    const held = applyTransfer(wallet, master, 300n, "pending");
    assert.ok(held.ok);
    assert.deepEqual(balanceOf(held.debit), { amount: 1000n, pendingAmount: 300n, available: 700n });
    assert.deepEqual(balanceOf(held.credit), { amount: 300n, pendingAmount: 300n, available: 0n });
    const refused = applyTransfer(held.debit, master, 701n, "posted");
    assert.deepEqual(refused, { ok: false, error: "insufficient_funds", available: 700n });
    const exact = applyTransfer(held.debit, master, 700n, "posted");
    assert.ok(exact.ok);
    assert.equal(balanceOf(exact.debit).available, 0n);
  });

  it("partial post returns the rest to the debit account", () => {
    const wallet = fresh("wallet", true, { creditsPosted: 1000n, debitsPending: 400n });
    const master = fresh("master", true, { creditsPending: 400n });
    const posted = postPending(wallet, master, 400n, 150n);
    assert.ok(posted.ok);
    assert.deepEqual(balanceOf(posted.debit), { amount: 850n, pendingAmount: 0n, available: 850n });
    assert.deepEqual(balanceOf(posted.credit), { amount: 150n, pendingAmount: 0n, available: 150n });
  });

  it("void restores both sides", () => {
    const wallet = fresh("wallet", true, { creditsPosted: 1000n });
    const master = fresh("master", true);
    const held = applyTransfer(wallet, master, 400n, "pending");
    assert.ok(held.ok);
    const voided = voidPending(held.debit, held.credit, 400n);
    assert.ok(voided.ok);
    assert.deepEqual(balanceOf(voided.debit), balanceOf(wallet));
    assert.deepEqual(balanceOf(voided.credit), balanceOf(master));
  });

  it("the chain account may go negative; a flagged account may not", () => {
    const chain = fresh("chain", false);
    const wallet = fresh("wallet", true);
    assert.ok(applyTransfer(chain, wallet, 5n, "posted").ok);
    assert.deepEqual(applyTransfer(wallet, chain, 1n, "posted"), { ok: false, error: "insufficient_funds", available: 0n });
    assert.deepEqual(applyTransfer(wallet, chain, 1n, "pending"), { ok: false, error: "insufficient_funds", available: 0n });
  });

  it("handles amounts beyond 64 bits exactly", () => {
    const big = 2n ** 100n + 12345n;
    const chain = fresh("chain", false);
    const wallet = fresh("wallet", true);
    const funded = applyTransfer(chain, wallet, big, "posted");
    assert.ok(funded.ok);
    const spent = applyTransfer(funded.credit, funded.debit, big - 1n, "posted");
    assert.ok(spent.ok);
    assert.equal(balanceOf(spent.debit).available, 1n);
    assert.equal(balanceOf(spent.credit).amount, -1n);
  });

  it("refuses malformed calls with an InvariantError", () => {
    const a = fresh("a", false);
    const b = fresh("b", true);
    const eth = fresh("c", true, {}, "ETH");
    assert.throws(() => applyTransfer(a, a, 1n, "posted"), InvariantError);
    assert.throws(() => applyTransfer(a, eth, 1n, "posted"), InvariantError);
    assert.throws(() => applyTransfer(a, b, 0n, "posted"), InvariantError);
    assert.throws(() => applyTransfer(a, b, -1n, "pending"), InvariantError);
    const held = applyTransfer(a, b, 10n, "pending");
    assert.ok(held.ok);
    assert.throws(() => postPending(held.debit, held.credit, 10n, 11n), InvariantError);
    assert.throws(() => postPending(held.debit, held.credit, 10n, 0n), InvariantError);
    // Resolving more than is pending would drive a counter negative.
    assert.throws(() => voidPending(held.debit, held.credit, 11n), InvariantError);
    assert.throws(() => postPending(held.debit, held.credit, 11n, 11n), InvariantError);
  });

  it("assertAccount rejects negative counters and a flagged account below zero", () => {
    assert.doesNotThrow(() => assertAccount(fresh("ok", true, { creditsPosted: 5n, debitsPending: 5n })));
    assert.doesNotThrow(() => assertAccount(fresh("chain", false, { debitsPosted: 5n })));
    assert.throws(() => assertAccount(fresh("neg", false, { creditsPending: -1n })), InvariantError);
    assert.throws(() => assertAccount(fresh("over", true, { creditsPosted: 5n, debitsPending: 6n })), InvariantError);
    assert.throws(() => assertAccount(fresh("over2", true, { debitsPosted: 1n })), InvariantError);
  });
});
