import { assert } from "../ledger/assert.js";
import type { Row } from "./table.js";

/** One statement of a write transaction, as the adapter runs it. */
export interface Statement {
  /** Caches the prepared statement (PostgreSQL named statement, SQLite prepared statement). */
  name: string;
  text: string;
  values: readonly unknown[];
}

export interface StatementResult {
  rows: Row[];
  rowCount: number;
}

/** The statements that create, release and roll back to one savepoint: the same SQL in both dialects. */
interface SavepointStatements {
  create: Statement;
  release: Statement;
  rollback: Statement;
}

export interface Savepoint {
  readonly statements: SavepointStatements;
  /** Whether the database has it yet (with lazy savepoints, only once a statement ran inside it). */
  created: boolean;
}

/** Savepoint statements by depth, built once: every item of a batch opens a savepoint. */
const STATEMENTS_BY_DEPTH: SavepointStatements[] = [];

function statementsAt(depth: number): SavepointStatements {
  let statements = STATEMENTS_BY_DEPTH[depth];
  if (!statements) {
    const name = `nested_${depth}`;
    statements = {
      create: { name: `savepoint-${name}`, text: `SAVEPOINT ${name}`, values: [] },
      release: { name: `release-${name}`, text: `RELEASE SAVEPOINT ${name}`, values: [] },
      rollback: { name: `rollback-to-${name}`, text: `ROLLBACK TO SAVEPOINT ${name}`, values: [] },
    };
    STATEMENTS_BY_DEPTH[depth] = statements;
  }
  return statements;
}

/**
 * The savepoints a write transaction has open, outermost first. The created ones are always a
 * prefix: creating creates every open one, and only the innermost is opened or closed.
 */
export class Savepoints {
  readonly #open: Savepoint[] = [];

  constructor(private readonly execute: (statement: Statement) => Promise<StatementResult>) {}

  /** Whether the database has every open savepoint: checked before every statement, so kept cheap. */
  get allCreated(): boolean {
    const innermost = this.#open[this.#open.length - 1];
    return innermost === undefined || innermost.created;
  }

  /** Opens a savepoint inside the open ones; the database gets it from `createMissing`. */
  open(): Savepoint {
    const savepoint: Savepoint = { statements: statementsAt(this.#open.length + 1), created: false };
    this.#open.push(savepoint);
    return savepoint;
  }

  /** Creates the open savepoints the database does not have yet, outermost first. */
  async createMissing(): Promise<void> {
    const missing = this.#open.filter((savepoint) => !savepoint.created);
    if (missing.length === 0) return;
    for (const savepoint of missing) savepoint.created = true;
    await Promise.all(missing.map((savepoint) => this.execute(savepoint.statements.create)));
  }

  /** Keeps the writes of the innermost savepoint, which the database has. */
  async release(savepoint: Savepoint): Promise<void> {
    assert(savepoint.created, "only a created savepoint is released");
    await this.execute(savepoint.statements.release);
  }

  /** Undoes the writes of the innermost savepoint, which the database has. */
  async rollback(savepoint: Savepoint): Promise<void> {
    assert(savepoint.created, "only a created savepoint is rolled back to");
    await this.execute(savepoint.statements.rollback);
    await this.execute(savepoint.statements.release);
  }

  /** Forgets the innermost savepoint, once released or rolled back. */
  close(savepoint: Savepoint): void {
    const closed = this.#open.pop();
    assert(closed === savepoint, "savepoints are closed innermost first");
  }
}
