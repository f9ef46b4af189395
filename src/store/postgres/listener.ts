import pg from "pg";

/**
 * The LISTEN side of event notifications: a transaction that appended events tells every
 * listening process, as it commits, which tenants got them (NOTIFY on EVENTS_CHANNEL), so
 * event streams in any process wake at once instead of at their next poll.
 */

export const EVENTS_CHANNEL = "wallet_events";
const LISTEN_RETRY_MS = 1000;

export class EventsListener {
  readonly #listeners = new Set<(tenantIds: ReadonlySet<string>) => void>();
  #client: pg.Client | undefined;
  #listening: Promise<void> | undefined;

  constructor(private readonly connectionString: string) {}

  /** Adds a listener once listening has begun; returns the function that removes it. */
  async subscribe(listener: (tenantIds: ReadonlySet<string>) => void): Promise<() => void> {
    this.#listeners.add(listener);
    await this.#listen();
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    await this.#client?.end().catch(() => undefined);
  }

  /** One LISTEN connection per process, opened for the first subscriber and shared. */
  #listen(): Promise<void> {
    this.#listening ??= this.#connect().catch((error: unknown) => {
      this.#listening = undefined;
      throw error;
    });
    return this.#listening;
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString });
    this.#client = client;
    client.on("notification", (message) => {
      const tenants = new Set([message.payload ?? ""]);
      for (const listener of this.#listeners) listener(tenants);
    });
    // Until a lost LISTEN connection is replaced, subscribers fall back to their polling.
    client.on("error", () => {
      this.#listening = undefined;
      if (this.#listeners.size > 0) setTimeout(() => void this.#listen().catch(() => undefined), LISTEN_RETRY_MS).unref();
    });
    await client.connect();
    await client.query(`LISTEN ${EVENTS_CHANNEL}`);
  }
}
