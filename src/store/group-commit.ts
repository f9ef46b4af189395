/**
 * Group commit (TigerBeetle's lesson, DESIGN 2): work that arrives while a transaction is being
 * committed waits and is then run, in arrival order, inside the next single transaction. Each
 * piece keeps its own result or error; all are answered only after that commit is durable, so a
 * durable commit is paid once per commit of many items instead of once per movement. (A
 * "commit" here is one such shared transaction; a batch is a `POST /batches/` request, one item
 * here, and a items is a set of linked movements inside a batch.)
 */

export interface CommitItem<Tx, Hint = undefined> {
  work: (tx: Tx) => Promise<unknown>;
  /** What the work will touch, for a runner that reads it in advance. */
  hint: Hint | undefined;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Runs the items of a commit in one transaction and returns each item's outcome, or throws if the
 * commit fails. It may call `committing` once the transaction's last round trip (its COMMIT) is
 * on its way: the transaction then takes no more locks, and the committer may open the next.
 */
export type CommitRunner<Tx, Hint> = (items: CommitItem<Tx, Hint>[], committing: () => void) => Promise<Outcome[]>;

export const MAX_ITEMS_PER_COMMIT = 8190;
const DRAIN_POLL_MS = 5;

export interface CommitStats {
  /** Transactions committed or attempted. */
  commits: number;
  /** Pieces of work run inside them. */
  items: number;
  /** Pieces of work waiting for the next transaction right now. */
  queued: number;
}

/**
 * Told about every transaction (metrics): observers must be cheap and must not throw. The
 * committer reports commits itself; the store reports the events a committed transaction made
 * durable, since only it knows when a commit succeeded.
 */
export interface CommitObserver {
  /** A transaction of `items` pieces of work finished (committed, or failed and retried item by item) in `seconds`. */
  commitFinished?(items: number, seconds: number): void;
  /** The types of the events a committed transaction appended, one entry per event. */
  eventsCommitted?(types: readonly string[]): void;
}

export class GroupCommitter<Tx, Hint = undefined> {
  readonly stats: CommitStats = { commits: 0, items: 0, queued: 0 };
  readonly #queue: CommitItem<Tx, Hint>[] = [];
  readonly #observers = new Set<CommitObserver>();
  #commitsInFlight = 0;
  /** Commits in flight that have not called `committing` yet. */
  #openCommits = 0;
  #scheduled = false;

  /**
   * @param maxCommitsInFlight 1 for a single-writer store (SQLite); more lets a client-server
   *   store overlap one commit's round trips with another's commit.
   * @param maxOpenCommits Of those, how many may be open (not yet committing) at once. One
   *   suits commits that all wait for one hot row (a tenant's master account): the next commit
   *   opens as the previous one sends its COMMIT, and waits at that row with its requests
   *   already at the database; opening it sooner would only split the same arrivals into more,
   *   smaller commits, each paying its own round trips and durable commit.
   */
  constructor(
    private readonly runCommit: CommitRunner<Tx, Hint>,
    private readonly maxCommitsInFlight = 1,
    private readonly maxItemsPerCommit = MAX_ITEMS_PER_COMMIT,
    private readonly maxOpenCommits = maxCommitsInFlight,
  ) {}

  /** Resolves once nothing is queued or committing: what a store waits for before it closes. */
  async drain(): Promise<void> {
    while (this.#queue.length > 0 || this.#commitsInFlight > 0 || this.#scheduled) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
  }

  /** Adds an observer; returns the function that removes it. */
  observe(observer: CommitObserver): () => void {
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }

  /** Called by the store once a transaction committed, with the types of the events it appended. */
  eventsCommitted(types: readonly string[]): void {
    if (types.length === 0) return;
    this.#tell((observer) => observer.eventsCommitted?.(types));
  }

  /** A failing observer must never fail a commit that has happened: its error is dropped. */
  #tell(call: (observer: CommitObserver) => void): void {
    for (const observer of this.#observers) {
      try {
        call(observer);
      } catch {
        // Metrics are best effort; the money is already committed.
      }
    }
  }

  submit<T>(work: (tx: Tx) => Promise<T>, hint?: Hint): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, hint, resolve: resolve as (value: unknown) => void, reject });
      this.stats.queued = this.#queue.length;
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#queue.length === 0) return;
    if (this.#commitsInFlight >= this.maxCommitsInFlight || this.#openCommits >= this.maxOpenCommits) return;
    this.#scheduled = true;
    // setImmediate lets every request that is already parsed join the commit before it starts.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#startCommit();
    });
  }

  async #startCommit(): Promise<void> {
    const items = this.#queue.splice(0, this.maxItemsPerCommit);
    this.stats.queued = this.#queue.length;
    if (items.length === 0) return;
    this.#commitsInFlight += 1;
    this.#openCommits += 1;
    this.stats.commits += 1;
    this.stats.items += items.length;
    let open = true;
    const committing = () => {
      if (!open) return;
      open = false;
      this.#openCommits -= 1;
      this.#schedule();
    };
    this.#schedule();
    const started = performance.now();
    const outcomes = await this.#run(items, committing);
    committing();
    const seconds = (performance.now() - started) / 1000;
    this.#tell((observer) => observer.commitFinished?.(items.length, seconds));
    items.forEach((item, index) => {
      const outcome = outcomes[index];
      if (outcome?.ok) item.resolve(outcome.value);
      else item.reject(outcome ? outcome.error : new Error("a commit lost an outcome"));
    });
    this.#commitsInFlight -= 1;
    this.#schedule();
  }

  /**
   * A transaction that fails as a whole (its commit, or writing what its items left in memory)
   * is run again one item per transaction: nothing was answered yet, and one item's bad row
   * must not fail its neighbours.
   */
  async #run(items: CommitItem<Tx, Hint>[], committing: () => void): Promise<Outcome[]> {
    try {
      return await this.runCommit(items, committing);
    } catch (error) {
      if (items.length === 1) return [{ ok: false, error }];
      const outcomes: Outcome[] = [];
      for (const item of items) {
        try {
          outcomes.push(...(await this.runCommit([item], committing)));
        } catch (itemError) {
          outcomes.push({ ok: false, error: itemError });
        }
      }
      return outcomes;
    }
  }
}
