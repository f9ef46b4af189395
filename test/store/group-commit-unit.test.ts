import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { type CommitItem, GroupCommitter, type Outcome } from "../../src/store/group-commit.js";

/**
 * Unit tests of the group committer with a fake runner (no database). The fake runs each item's
 * work against a transaction that is only a label, the way a store's runner does: one item's
 * error is its own outcome; the commit as a whole fails when `failCommit` says so.
 */
interface FakeTx {
  commit: number;
}

class FakeRunner {
  /** The hints of each commit's items, in the order the commits ran. */
  readonly commits: (string | undefined)[][] = [];
  running = 0;
  maxRunning = 0;
  /** When set, every commit waits for it before it runs its items. */
  gate: Promise<void> | undefined;
  /** A commit that fails as a whole (its commit) throws this. */
  failCommit: (hints: (string | undefined)[]) => Error | undefined = () => undefined;
  /** Outcomes a commit returns: by default one per item. */
  dropOutcomes = false;

  readonly run = async (items: CommitItem<FakeTx, string>[]): Promise<Outcome[]> => {
    const hints = items.map((item) => item.hint);
    this.commits.push(hints);
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      if (this.gate) await this.gate;
      const tx = { commit: this.commits.length };
      const outcomes: Outcome[] = [];
      for (const item of items) {
        try {
          outcomes.push({ ok: true, value: await item.work(tx) });
        } catch (error) {
          outcomes.push({ ok: false, error });
        }
      }
      const failure = this.failCommit(hints);
      if (failure) throw failure;
      return this.dropOutcomes ? outcomes.slice(1) : outcomes;
    } finally {
      this.running -= 1;
    }
  };
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

const echo = (value: string) => async () => value;

describe("GroupCommitter", () => {
  it("runs work that arrives together in one commit, each item with its own result", async () => {
    const runner = new FakeRunner();
    const committer = new GroupCommitter<FakeTx, string>(runner.run);
    const failing = committer.submit(async () => {
      throw new Error("item fails");
    }, "b");
    const results = Promise.all([committer.submit(echo("one"), "a"), committer.submit(async (tx) => tx.commit, "c")]);
    await assert.rejects(failing, /item fails/);
    assert.deepEqual(await results, ["one", 1]);
    assert.deepEqual(runner.commits, [["b", "a", "c"]]);
  });

  it("puts at most maxItemsPerCommit items in a commit, in arrival order", async () => {
    const runner = new FakeRunner();
    const committer = new GroupCommitter<FakeTx, string>(runner.run, 1, 2);
    await Promise.all(["1", "2", "3", "4", "5"].map((hint) => committer.submit(echo(hint), hint)));
    assert.deepEqual(runner.commits, [["1", "2"], ["3", "4"], ["5"]]);
  });

  it("runs at most maxCommitsInFlight commits at once; what arrives meanwhile waits and shares the next", async () => {
    const runner = new FakeRunner();
    const held = gate();
    runner.gate = held.promise;
    const committer = new GroupCommitter<FakeTx, string>(runner.run, 2);
    const first = committer.submit(echo("a"), "a");
    await nextTurn();
    const second = committer.submit(echo("b"), "b");
    await nextTurn();
    const waiting = [committer.submit(echo("c"), "c"), committer.submit(echo("d"), "d")];
    await nextTurn();
    assert.deepEqual(runner.commits, [["a"], ["b"]], "a third commit waits for one of the two in flight");
    assert.equal(committer.stats.queued, 2);
    runner.gate = undefined;
    held.open();
    assert.deepEqual(await Promise.all([first, second, ...waiting]), ["a", "b", "c", "d"]);
    assert.deepEqual(runner.commits, [["a"], ["b"], ["c", "d"]]);
    assert.equal(runner.maxRunning, 2);
  });

  it("opens a commit only once the open one is committing, within the commits in flight", async () => {
    const commits: (string | undefined)[][] = [];
    // Each commit waits for its own gate while open, says it is committing, then waits for `durable`.
    const open = [gate(), gate(), gate(), gate()];
    const durable = gate();
    const run = async (items: CommitItem<FakeTx, string>[], committing: () => void): Promise<Outcome[]> => {
      const index = commits.push(items.map((item) => item.hint)) - 1;
      await open[index]?.promise;
      const outcomes: Outcome[] = [];
      for (const item of items) outcomes.push({ ok: true, value: await item.work({ commit: index + 1 }) });
      committing();
      await durable.promise;
      return outcomes;
    };
    const committer = new GroupCommitter<FakeTx, string>(run, 3, 64, 1);
    const settled = [committer.submit(echo("a"), "a")];
    await nextTurn();
    settled.push(committer.submit(echo("b"), "b"));
    await nextTurn();
    assert.deepEqual(commits, [["a"]], "the next commit waits while one is open");
    open[0]?.open();
    await nextTurn();
    await nextTurn();
    assert.deepEqual(commits, [["a"], ["b"]], "it opens once the open one is committing");
    settled.push(committer.submit(echo("c"), "c"));
    open[1]?.open();
    await nextTurn();
    await nextTurn();
    settled.push(committer.submit(echo("d"), "d"));
    open[2]?.open();
    await nextTurn();
    await nextTurn();
    assert.deepEqual(commits, [["a"], ["b"], ["c"]], "three commits in flight: the fourth waits though none is open");
    open[3]?.open();
    durable.open();
    assert.deepEqual(await Promise.all(settled), ["a", "b", "c", "d"]);
    assert.deepEqual(commits, [["a"], ["b"], ["c"], ["d"]]);
  });

  it("runs a commit that failed as a whole again, one item per commit", async () => {
    const runner = new FakeRunner();
    // A commit containing "poison" fails at commit, whether with others or alone.
    runner.failCommit = (hints) => (hints.includes("poison") ? new Error("commit fails") : undefined);
    const committer = new GroupCommitter<FakeTx, string>(runner.run);
    const results = await Promise.allSettled([
      committer.submit(echo("a"), "a"),
      committer.submit(echo("poison"), "poison"),
      committer.submit(echo("c"), "c"),
    ]);
    assert.deepEqual(runner.commits, [["a", "poison", "c"], ["a"], ["poison"], ["c"]]);
    assert.deepEqual(
      results.map((result) => (result.status === "fulfilled" ? result.value : (result.reason as Error).message)),
      ["a", "commit fails", "c"],
    );
  });

  it("does not run again a commit of one item that failed as a whole", async () => {
    const runner = new FakeRunner();
    runner.failCommit = () => new Error("commit fails");
    const committer = new GroupCommitter<FakeTx, string>(runner.run);
    await assert.rejects(committer.submit(echo("alone"), "alone"), /commit fails/);
    assert.deepEqual(runner.commits, [["alone"]]);
  });

  it("rejects an item whose outcome the runner lost", async () => {
    const runner = new FakeRunner();
    runner.dropOutcomes = true;
    const committer = new GroupCommitter<FakeTx, string>(runner.run);
    const [first, second] = await Promise.allSettled([committer.submit(echo("a"), "a"), committer.submit(echo("b"), "b")]);
    // The runner dropped the first outcome, so the second item got the first's, and the last none.
    assert.deepEqual(first, { status: "fulfilled", value: "b" });
    assert.equal(second?.status, "rejected");
    assert.match(String((second as PromiseRejectedResult).reason), /a commit lost an outcome/);
  });

  it("drain resolves once nothing is queued or running", async () => {
    const runner = new FakeRunner();
    const committer = new GroupCommitter<FakeTx, string>(runner.run, 1, 1);
    const done: string[] = [];
    for (const hint of ["a", "b", "c"]) {
      void committer.submit(async () => {
        await new Promise((resolve) => setTimeout(resolve, 2));
        done.push(hint);
      }, hint);
    }
    await committer.drain();
    assert.deepEqual(done, ["a", "b", "c"]);
    assert.deepEqual(committer.stats, { commits: 3, items: 3, queued: 0 });
  });

  it("counts commits, items and the queue; a commit run again item by item counts once", async () => {
    const runner = new FakeRunner();
    runner.failCommit = (hints) => (hints.length > 1 && hints.includes("poison") ? new Error("commit fails") : undefined);
    const committer = new GroupCommitter<FakeTx, string>(runner.run);
    const submitted = [committer.submit(echo("a"), "a"), committer.submit(echo("b"), "b"), committer.submit(echo("poison"), "poison")];
    assert.deepEqual(committer.stats, { commits: 0, items: 0, queued: 3 });
    await Promise.all(submitted);
    assert.deepEqual(committer.stats, { commits: 1, items: 3, queued: 0 });
    await committer.submit(echo("d"), "d");
    assert.deepEqual(committer.stats, { commits: 2, items: 4, queued: 0 });
  });

  it("tells observers about each commit and each commit's events; a failing observer changes nothing", async () => {
    const runner = new FakeRunner();
    const committer = new GroupCommitter<FakeTx, string>(runner.run);
    const finished: number[] = [];
    const events: (readonly string[])[] = [];
    committer.observe({
      commitFinished: () => {
        throw new Error("observer fails");
      },
    });
    const stop = committer.observe({
      commitFinished: (items, seconds) => {
        assert.ok(seconds >= 0);
        finished.push(items);
      },
      eventsCommitted: (types) => events.push(types),
    });
    await Promise.all([committer.submit(echo("a"), "a"), committer.submit(echo("b"), "b")]);
    committer.eventsCommitted([]);
    committer.eventsCommitted(["bet.placed"]);
    stop();
    await committer.submit(echo("c"), "c");
    assert.deepEqual(finished, [2]);
    assert.deepEqual(events, [["bet.placed"]]);
  });
});
