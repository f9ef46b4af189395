import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type Database from "better-sqlite3";
import { type CommitItem, GroupCommitter, type Outcome } from "../group-commit.js";
import type { WriteTx } from "../store.js";
import { Checkpointer } from "./checkpointer.js";
import { openConnection } from "./connection.js";
import { migrate } from "./migrations.js";
import { PreparedStatements } from "./statements.js";
import { SqliteWriteTx } from "./write-tx.js";

/** SQLite's own default, used again if the checkpoint thread fails. */
const AUTOCHECKPOINT_PAGES = 1000;

/**
 * The writer connection and everything that runs on it: group-committed work, each commit in one
 * transaction, and the checkpoint thread that moves committed pages from the WAL into the file.
 * It is the only connection that writes.
 */
export class SqliteRunner {
  readonly #writer: Database.Database;
  readonly #statements: PreparedStatements;
  /** Runs every write on the writer connection: the items of each commit in one transaction. */
  readonly committer: GroupCommitter<WriteTx>;
  readonly #checkpointer: Checkpointer;
  readonly #eventListeners = new Set<(tenantIds: ReadonlySet<string>) => void>();

  constructor(file: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.#writer = openConnection(file);
    migrate(this.#writer);
    this.#writer.pragma(`wal_autocheckpoint = 0`);
    this.#checkpointer = new Checkpointer(file, () => this.#writer.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`));
    this.#statements = new PreparedStatements(this.#writer);
    this.committer = new GroupCommitter<WriteTx>((items) => this.#runCommit(items));
  }

  /** Commits and answers the movements already queued, then stops the checkpoint thread. */
  async drain(): Promise<void> {
    // Movements already queued are committed and answered, not dropped with the connection.
    await this.committer.drain();
    await this.#checkpointer.close();
  }

  close(): void {
    this.#writer.close();
  }

  /**
   * Every write on the writer connection goes through the group committer, including these
   * bookkeeping ones: it is the one place that owns the connection's transactions.
   */
  direct<T>(statement: (writer: PreparedStatements) => T): Promise<T> {
    return this.committer.submit(async () => statement(this.#statements));
  }

  onEventsCommitted(listener: (tenantIds: ReadonlySet<string>) => void): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  async #runCommit(items: CommitItem<WriteTx>[]): Promise<Outcome[]> {
    const db = this.#writer;
    const tx = new SqliteWriteTx(this.#statements);
    db.exec("BEGIN IMMEDIATE");
    const outcomes: Outcome[] = [];
    try {
      for (const item of items) {
        // A savepoint per item: one item's failure undoes only its own writes.
        try {
          outcomes.push({ ok: true, value: await tx.atomically(() => item.work(tx)) });
        } catch (error) {
          outcomes.push({ ok: false, error });
        }
      }
      await tx.writeBuffered();
      db.exec("COMMIT");
    } catch (error) {
      if (db.inTransaction) db.exec("ROLLBACK");
      throw error;
    }
    this.committer.eventsCommitted(tx.appendedEventTypes);
    this.#checkpointer.request();
    if (tx.appendedTenants.size > 0) for (const listener of this.#eventListeners) listener(tx.appendedTenants);
    return outcomes;
  }
}
