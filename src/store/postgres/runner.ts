import pg from "pg";
import { type CommitItem, GroupCommitter, type Outcome } from "../group-commit.js";
import type { PrefetchRequest, WriteTx } from "../store.js";
import { mergePrefetch } from "../write-behind.js";
import { migrate } from "./migrations.js";
import { PostgresWriteTx } from "./write-tx.js";

/**
 * The connection pool and the transaction runner the group committer runs its commits with: one
 * database transaction per commit, each item in its own savepoint, the whole transaction run
 * again after a deadlock or serialization failure with another process.
 */

const TIMESTAMPTZ_OID = 1184;
const types = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    // Timestamps come back in the same ISO form the API shows and SQLite stores.
    if (oid === TIMESTAMPTZ_OID) return (value: string) => new Date(value).toISOString();
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

const RETRYABLE = new Set(["40P01", "40001"]);
const MAX_ATTEMPTS = 5;
/**
 * One commit at a time per process. A commit holds its row locks, and its advisory locks (which a
 * rolled-back savepoint does not release), until it commits; two commits of one process could
 * otherwise deadlock on the hot master account again and again. Group commit still folds
 * everything that arrives meanwhile into the next commit.
 */
const COMMITS_IN_FLIGHT = 1;
/**
 * An item that sends a statement runs in a savepoint (a subtransaction). Past 64 of them
 * PostgreSQL's per-backend subtransaction cache overflows and every visibility check slows
 * down, so commits stay below, even though most movements now send none (measured: 256 items
 * per commit gained about 10% on single movements, within the noise of this machine).
 */
const MAX_ITEMS_PER_POSTGRES_COMMIT = 64;

/** Opens the pool and brings the schema up to date. */
export async function openPool(connectionString: string, poolSize: number): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString, max: poolSize, types });
  // An idle connection the server closes (a restart, a failover, an operator's kill) is
  // dropped by the pool, which connects again for the next query. Unhandled, the pool's
  // 'error' event would crash the process.
  pool.on("error", () => undefined);
  await migrate(pool);
  return pool;
}

/** The group committer whose commits run as transactions on the pool. */
export function transactionCommitter(pool: pg.Pool): GroupCommitter<WriteTx, PrefetchRequest> {
  const committer: GroupCommitter<WriteTx, PrefetchRequest> = new GroupCommitter<WriteTx, PrefetchRequest>(
    (items) => runCommit(pool, items, (eventTypes) => committer.eventsCommitted(eventTypes)),
    COMMITS_IN_FLIGHT,
    MAX_ITEMS_PER_POSTGRES_COMMIT,
  );
  return committer;
}

type Committed = (eventTypes: readonly string[]) => void;

/**
 * A deadlock or serialization failure with another process runs the whole transaction again:
 * the cycle may go through locks taken outside the failing item (the read-ahead, earlier
 * items), which retrying the item alone would keep.
 */
async function runCommit(pool: pg.Pool, items: CommitItem<WriteTx, PrefetchRequest>[], committed: Committed): Promise<Outcome[]> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await runTransaction(pool, items, committed);
    } catch (error) {
      if (retryable(error) && attempt < MAX_ATTEMPTS) continue;
      throw error;
    }
  }
}

async function runTransaction(pool: pg.Pool, items: CommitItem<WriteTx, PrefetchRequest>[], committed: Committed): Promise<Outcome[]> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const tx = new PostgresWriteTx(client);
    // Reading ahead is an optimisation: if it fails, each item reads what it needs itself.
    for (const request of mergePrefetch(items.flatMap((item) => (item.hint ? [item.hint] : [])))) {
      await runItem(tx, { work: (commitTx) => commitTx.prefetch(request) });
    }
    const outcomes: Outcome[] = [];
    for (const item of items) outcomes.push(await runItem(tx, item));
    await tx.writeBuffered();
    await tx.notifyEvents();
    await client.query("COMMIT");
    committed(tx.appendedEventTypes);
    return outcomes;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Runs one item inside its own savepoint; a deadlock fails the whole transaction, to be run again. */
async function runItem(tx: PostgresWriteTx, item: Pick<CommitItem<WriteTx, PrefetchRequest>, "work">): Promise<Outcome> {
  try {
    return { ok: true, value: await tx.atomically(() => item.work(tx)) };
  } catch (error) {
    if (retryable(error)) throw error;
    return { ok: false, error };
  }
}

const retryable = (error: unknown) => RETRYABLE.has((error as { code?: string }).code ?? "");
