/**
 * The undo log behind a write transaction's in-memory state (see write-behind.ts). Savepoints
 * roll that state back together with the database: every change records how to undo itself in
 * the log, and a savepoint is a position in it.
 */

/** Undo actions in the order their changes were made; a savepoint is a length of the log. */
export class UndoLog {
  readonly #entries: (() => void)[] = [];

  mark(): number {
    return this.#entries.length;
  }

  push(undo: () => void): void {
    this.#entries.push(undo);
  }

  rollbackTo(mark: number): void {
    while (this.#entries.length > mark) this.#entries.pop()?.();
  }
}

/** A map whose changes a savepoint rollback undoes. */
export class UndoableMap<K, V> {
  #map = new Map<K, V>();

  constructor(private readonly undo: UndoLog) {}

  get(key: K): V | undefined {
    return this.#map.get(key);
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  set(key: K, value: V): void {
    const had = this.#map.has(key);
    const previous = this.#map.get(key);
    // Nothing to undo: a batch marks the same account dirty thousands of times.
    if (had && previous === value) return;
    this.#map.set(key, value);
    this.undo.push(() => (had ? this.#map.set(key, previous as V) : this.#map.delete(key)));
  }

  /** Empties the map and returns what it held; a rollback past this point brings it back. */
  take(): Map<K, V> {
    const taken = this.#map;
    this.#map = new Map();
    this.undo.push(() => {
      this.#map = taken;
    });
    return taken;
  }
}

/** Rows waiting to be inserted, in the order they were made. */
export class PendingRows<T> {
  readonly #rows: T[] = [];
  #written = 0;

  constructor(private readonly undo: UndoLog) {}

  append(row: T): void {
    this.#rows.push(row);
    this.undo.push(() => this.#rows.pop());
  }

  /** An unwritten row that matches, searched from the newest (rows a transaction reads back are rare). */
  findUnwritten(matches: (row: T) => boolean): T | undefined {
    for (let index = this.#rows.length - 1; index >= this.#written; index -= 1) {
      const row = this.#rows[index] as T;
      if (matches(row)) return row;
    }
    return undefined;
  }

  /** The rows not yet written; they count as written unless a rollback passes this point. */
  take(): T[] {
    const written = this.#written;
    this.#written = this.#rows.length;
    this.undo.push(() => {
      this.#written = written;
    });
    return this.#rows.slice(written);
  }
}
