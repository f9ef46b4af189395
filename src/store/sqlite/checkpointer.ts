import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/**
 * Copies the write-ahead log back into the database file from a thread of its own. SQLite's
 * automatic checkpoint runs inside the COMMIT that crosses its threshold, on the writer, which
 * is the event loop's thread: a large batch then paid for writing its pages twice before it
 * could answer. A passive checkpoint on another connection runs beside the writer (WAL mode
 * allows one checkpointer next to one writer) and never blocks it.
 */

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma("busy_timeout = 5000");
db.pragma("synchronous = FULL");
parentPort.on("message", (message) => {
  if (message === "close") {
    db.close();
    parentPort.close();
    return;
  }
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
  } catch (error) {
    // A busy database is checkpointed next time; nothing is lost by skipping once.
  }
  parentPort.postMessage("done");
});
`;

export class Checkpointer {
  readonly #worker: Worker;
  #running = false;
  #closing = false;
  #requested = false;
  readonly #exited: Promise<void>;

  /** @param onFailure called if the thread dies: the store then checkpoints on its own again. */
  constructor(file: string, onFailure: (error: unknown) => void) {
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver } });
    this.#worker.unref();
    this.#worker.on("message", () => {
      this.#running = false;
      if (this.#requested) this.request();
    });
    this.#worker.once("error", (error) => {
      if (!this.#closing) onFailure(error);
    });
    this.#exited = new Promise((resolve) => this.#worker.once("exit", () => resolve()));
  }

  /** Asks for a checkpoint after a commit; requests made while one runs fold into the next. */
  request(): void {
    if (this.#running) {
      this.#requested = true;
      return;
    }
    this.#running = true;
    this.#requested = false;
    this.#worker.postMessage("checkpoint");
  }

  async close(): Promise<void> {
    this.#closing = true;
    // Referenced again so the process waits for the thread to close its connection.
    this.#worker.ref();
    this.#worker.postMessage("close");
    await this.#exited;
  }
}
