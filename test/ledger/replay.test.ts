import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Problem, Replay, type ReplayAccount, type ReplayTransfer } from "../../src/ledger/replay.js";

/** Example tests of `verify`'s replay: each kind of tampering is reported as its own problem. */

const KEY = "tenant-1:BTC";

function acct(id: string, flagged: boolean, counters: Partial<ReplayAccount> = {}): ReplayAccount {
  return {
    id,
    currency: "BTC",
    ledgerKey: KEY,
    debitsMustNotExceedCredits: flagged,
    creditsPosted: 0n,
    debitsPosted: 0n,
    creditsPending: 0n,
    debitsPending: 0n,
    walletUuid: null,
    ...counters,
  };
}

function tx(
  id: string,
  flag: ReplayTransfer["flag"],
  debit: string,
  credit: string,
  amount: bigint,
  pendingId: string | null = null,
): ReplayTransfer {
  return { id, flag, transferType: null, status: "posted", debitAccountId: debit, creditAccountId: credit, amount, pendingId };
}

/** A transfer a client sees in history, with the type and status the use cases write. */
function typed(transfer: ReplayTransfer, status: ReplayTransfer["status"], transferType = "hold"): ReplayTransfer {
  return { ...transfer, transferType, status };
}

function replay(accounts: ReplayAccount[], log: ReplayTransfer[]): Problem[] {
  const r = new Replay(accounts);
  for (const t of log) r.apply(t);
  return r.finish();
}

const kinds = (problems: Problem[]) => problems.map((p) => `${p.kind}:${p.subject}`).sort();

describe("Replay", () => {
  // chain -> wallet 100 posted, chain -> wallet 50 pending posted as 30, wallet -> master 20 pending voided.
  const log = [
    tx("t1", "posted", "chain", "wallet", 100n),
    tx("t2", "pending", "chain", "wallet", 50n),
    tx("t3", "post_pending", "chain", "wallet", 30n, "t2"),
    tx("t4", "pending", "wallet", "master", 20n),
    tx("t5", "void_pending", "wallet", "master", 20n, "t4"),
  ];
  const accounts = () => [
    acct("chain", false, { debitsPosted: 130n }),
    acct("wallet", true, { creditsPosted: 130n }),
    acct("master", true),
  ];

  it("finds nothing wrong with a consistent log", () => {
    const r = new Replay(accounts());
    for (const t of log) r.apply(t);
    assert.deepEqual(r.finish(), []);
    assert.equal(r.transferCount, log.length);
  });

  it("reports a counter that disagrees with the transfers", () => {
    const tampered = accounts();
    const wallet = tampered[1];
    assert.ok(wallet);
    wallet.creditsPosted = 1130n;
    const problems = replay(tampered, log);
    assert.deepEqual(kinds(problems), ["counter_mismatch:wallet", `non_zero_sum:${KEY}`]);
    assert.match(problems.find((p) => p.kind === "counter_mismatch")?.detail ?? "", /creditsPosted is 1130 but the transfers give 130/);
  });

  it("checks the balance a transfer keeps of its wallet's account (issue 13) against the replay", () => {
    const owned = () => [
      { ...acct("chain", false, { debitsPosted: 130n }), ownerKind: "chain" as const },
      { ...acct("wallet", true, { creditsPosted: 130n }), ownerKind: "wallet" as const },
      { ...acct("master", true), ownerKind: "master" as const },
    ];
    // After t3 the wallet has 130 posted; after t4, 20 of it pending; after t5, none.
    const kept = (balances: [bigint, bigint][]) =>
      log.map((t, index) => ({ ...t, balanceAmount: balances[index]?.[0], balancePending: balances[index]?.[1] }));
    const right: [bigint, bigint][] = [
      [100n, 0n],
      [150n, 50n],
      [130n, 0n],
      [130n, 20n],
      [130n, 0n],
    ];
    assert.deepEqual(replay(owned(), kept(right)), []);
    const wrong = right.map(([amount, pending], index): [bigint, bigint] => (index === 3 ? [amount, 0n] : [amount, pending]));
    assert.deepEqual(kinds(replay(owned(), kept(wrong))), ["kept_balance_mismatch:t4"]);
  });

  it("reports a transfer that overdraws a flagged account as a rule violation", () => {
    const problems = replay(
      [acct("chain", false), acct("wallet", true, { debitsPosted: 0n }), acct("master", true)],
      [tx("x1", "posted", "wallet", "master", 1n)],
    );
    assert.ok(problems.some((p) => p.kind === "rule_violation" && p.subject === "x1"));
  });

  it("reports a transfer with an impossible amount or a transfer to itself as a rule violation instead of crashing", () => {
    const problems = replay(
      [acct("chain", false), acct("wallet", true)],
      [tx("x1", "posted", "chain", "wallet", 0n), tx("x2", "posted", "chain", "chain", 5n)],
    );
    assert.deepEqual(kinds(problems), ["rule_violation:x1", "rule_violation:x2"]);
  });

  it("reports transfers naming unknown accounts", () => {
    const problems = replay([acct("chain", false), acct("wallet", true)], [tx("x1", "posted", "chain", "ghost", 5n)]);
    assert.deepEqual(kinds(problems), ["unknown_account:x1"]);
  });

  it("reports resolving an unknown, already resolved, mismatched or over-posted pending transfer", () => {
    const base = [tx("p1", "pending", "chain", "wallet", 10n)];
    const cases: Array<[string, ReplayTransfer[]]> = [
      ["no pending id", [tx("r", "post_pending", "chain", "wallet", 10n, null)]],
      ["unknown pending id", [tx("r", "void_pending", "chain", "wallet", 10n, "nope")]],
      ["resolved twice", [tx("r0", "void_pending", "chain", "wallet", 10n, "p1"), tx("r", "post_pending", "chain", "wallet", 10n, "p1")]],
      ["other accounts", [tx("r", "post_pending", "wallet", "chain", 10n, "p1")]],
      ["more than pending", [tx("r", "post_pending", "chain", "wallet", 11n, "p1")]],
      ["resolving a posted transfer", [tx("r", "void_pending", "chain", "wallet", 10n, "p0")]],
    ];
    for (const [name, rest] of cases) {
      const r = new Replay([acct("chain", false), acct("wallet", true)]);
      r.apply(tx("p0", "posted", "chain", "wallet", 3n));
      for (const t of [...base, ...rest]) r.apply(t);
      assert.ok(
        r.problems.some((p) => p.kind === "unknown_pending" && p.subject === "r"),
        `${name}: ${JSON.stringify(r.problems)}`,
      );
    }
  });

  it("checks the zero sum per ledger key", () => {
    const problems = replay(
      [acct("a", false, { creditsPosted: 5n }), { ...acct("b", false, { debitsPosted: 5n }), ledgerKey: "other" }],
      [],
    );
    // Both accounts disagree with an empty log, and neither group sums to zero.
    assert.deepEqual(kinds(problems), ["counter_mismatch:a", "counter_mismatch:b", "non_zero_sum:other", `non_zero_sum:${KEY}`]);
  });

  describe("history reconciliation", () => {
    // A wallet funded with 100, a hold of 30 captured 10 (20 released), a withdrawal of 5 pending.
    const history = () => [
      typed(tx("d1", "posted", "chain", "wallet", 100n), "posted", "deposit"),
      typed(tx("h1", "pending", "wallet", "master", 30n), "voided"),
      typed(tx("h2", "post_pending", "wallet", "master", 10n, "h1"), "posted"),
      typed(tx("w1", "pending", "wallet", "chain", 5n), "pending", "withdrawal"),
    ];
    const walletAccounts = () => [
      acct("chain", false, { debitsPosted: 100n, creditsPending: 5n }),
      acct("wallet", true, { creditsPosted: 100n, debitsPosted: 10n, debitsPending: 5n, walletUuid: "w" }),
      acct("master", true, { creditsPosted: 10n }),
    ];

    it("finds a wallet's visible history adding up to its balance after a partial capture", () => {
      assert.deepEqual(replay(walletAccounts(), history()), []);
    });

    it("reports a history row whose status or visibility was changed behind the ledger's back", () => {
      const tampered: [string, (log: ReplayTransfer[]) => void][] = [
        ["capture shown as voided", (log) => Object.assign(log[2] as ReplayTransfer, { status: "voided" })],
        ["capture hidden", (log) => Object.assign(log[2] as ReplayTransfer, { transferType: null })],
        ["withdrawal shown as posted", (log) => Object.assign(log[3] as ReplayTransfer, { status: "posted" })],
        ["the released hold shown as still pending", (log) => Object.assign(log[1] as ReplayTransfer, { status: "pending" })],
      ];
      for (const [name, tamper] of tampered) {
        const log = history();
        tamper(log);
        assert.deepEqual(kinds(replay(walletAccounts(), log)), ["history_mismatch:wallet"], name);
      }
    });
  });
});
