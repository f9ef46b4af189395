import type { Store } from "../../store/store.js";
import { type OutboxEvent, onTheWire, PASS_BYTES, sseFrame } from "./frames.js";
import type { StreamCounters, StreamLimits } from "./limits.js";
import type { DeliveryScheduler } from "./scheduler.js";

/** A fallback for commits this process is not told about (SQLite shared by several processes, a lost LISTEN). */
const POLL_MS = 1000;
const HEARTBEAT_MS = 15_000;
/** Events per read of the hub. */
const HUB_PAGE = 500;
/** The longest a hub waits for its streams to take a page before reading the next one anyway. */
const FAN_OUT_WAIT_MS = 1000;

/** Reads the outbox after a sequence number, optionally of one wallet, with each event's JSON rendered. */
export type ReadEvents = (tenantId: string, afterSeq: number, walletUuid: string | undefined, limit: number) => Promise<OutboxEvent[]>;

/** What hubs and streams share in a process: the store, the outbox reader, the limits, the write scheduler, the counters. */
export interface HubContext {
  readonly store: Store;
  readonly readEvents: ReadEvents;
  readonly limits: StreamLimits;
  readonly scheduler: DeliveryScheduler;
  readonly counters: StreamCounters;
}

/** What a hub asks of one of its streams. */
export interface HubStream {
  /** The last sequence number the stream has written or passed over. */
  readonly cursor: number;
  /** The hub has read new events; true if it should wait for this stream to take them. */
  offer(): boolean;
  heartbeat(): void;
}

interface WindowEntry {
  seq: number;
  walletUuid: string | null;
  frame: Buffer;
}

/** What a stream at some position writes next: bytes for the wire (if any), and where that leaves it. */
export interface Pass {
  bytes: Buffer | undefined;
  next: number;
}

/** The streams of one tenant in this process, and the one outbox reader they share. */
export class TenantHub {
  readonly streams = new Set<HubStream>();
  readonly ready: Promise<void>;
  /** The last sequence number read. */
  head = 0;
  /** Every event in (floor, head] is in the window. */
  floor = 0;
  #window: WindowEntry[] = [];
  #started = false;
  #dropped = false;
  #reading = false;
  #again = false;
  #lastReadAt = 0;
  #unsubscribe: (() => void) | undefined;
  #poll: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  /** Passes built since the window last changed: by wallet filter and framing, then by position. */
  #passes = new Map<string, Map<number, Pass>>();
  /** Streams still taking the page just read, and what to call once none is. */
  readonly #serving = new Set<HubStream>();
  #served: (() => void) | undefined;

  constructor(
    readonly context: HubContext,
    readonly tenantId: string,
  ) {
    this.ready = this.#start();
  }

  get limits(): StreamLimits {
    return this.context.limits;
  }

  async #start(): Promise<void> {
    const { store } = this.context;
    const unsubscribe = await store.onEventsCommitted((tenantIds) => {
      if (tenantIds.has(this.tenantId)) this.wake();
    });
    if (this.#dropped) {
      unsubscribe();
      return;
    }
    this.#unsubscribe = unsubscribe;
    // Read after subscribing: a commit in between is either counted here or wakes the hub.
    this.head = await store.lastEventSeq(this.tenantId);
    if (this.#dropped) return;
    this.floor = this.head;
    this.#started = true;
    // Checked four times a second, a read is made only when none was made in the last POLL_MS.
    this.#poll = setInterval(() => {
      if (Date.now() - this.#lastReadAt >= POLL_MS) this.wake();
    }, POLL_MS / 4);
    this.#heartbeat = setInterval(() => {
      for (const stream of this.streams) stream.heartbeat();
    }, HEARTBEAT_MS);
    this.#poll.unref();
    this.#heartbeat.unref();
    if (this.#again) this.wake();
  }

  /** Something may have committed: read it once for every stream of the tenant. */
  wake(): void {
    if (!this.#started || this.#reading) {
      this.#again = true;
      return;
    }
    void this.#read();
  }

  async #read(): Promise<void> {
    this.#reading = true;
    try {
      do {
        this.#again = false;
        this.#lastReadAt = Date.now();
        const events = await this.context.readEvents(this.tenantId, this.head, undefined, HUB_PAGE);
        this.context.counters.hubReads += 1;
        if (this.#dropped) return;
        if (events.length === 0) continue;
        for (const event of events) this.#window.push({ seq: event.seq, walletUuid: event.walletUuid, frame: sseFrame(event) });
        this.#passes.clear();
        this.head = events[events.length - 1]?.seq ?? this.head;
        await this.#fanOut();
        this.#trim();
        if (events.length === HUB_PAGE) this.#again = true;
      } while (this.#again && !this.#dropped);
    } catch {
      // The window is unchanged; the next commit or the poll reads again, and no stream misses anything.
    } finally {
      this.#reading = false;
    }
  }

  /**
   * Offers the new events to every stream, and waits until each has taken them or is blocked by
   * its client (the connection did not take a write whole): the hub reads on at the pace of the
   * streams that read, and a client that does not read holds nobody up.
   */
  async #fanOut(): Promise<void> {
    for (const stream of this.streams) if (stream.offer()) this.#serving.add(stream);
    if (this.#serving.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.#served = resolve;
      timer = setTimeout(resolve, FAN_OUT_WAIT_MS);
    });
    clearTimeout(timer);
    this.#served = undefined;
    this.#serving.clear();
  }

  /** A stream has taken what the hub read, is blocked by its client, or is gone. */
  settled(stream: HubStream): void {
    if (this.#serving.delete(stream) && this.#serving.size === 0) this.#served?.();
  }

  /** Keeps what the slowest connected stream still needs, and never more than the lag limit. */
  #trim(): void {
    let keepAfter = this.head;
    for (const stream of this.streams) keepAfter = Math.min(keepAfter, stream.cursor);
    keepAfter = Math.max(keepAfter, this.head - this.limits.maxLagEvents, this.floor);
    if (keepAfter === this.floor) return;
    const first = this.#firstAfter(keepAfter);
    this.#window = first === 0 ? this.#window : this.#window.slice(first);
    this.#passes.clear();
    this.floor = keepAfter;
  }

  /** Index of the first window entry after `seq`. */
  #firstAfter(seq: number): number {
    let low = 0;
    let high = this.#window.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.#window[middle] as WindowEntry).seq <= seq) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /**
   * The next write of a stream at `cursor` (the caller checked `cursor >= floor`): its frames
   * after the cursor, up to PASS_BYTES. Streams at the same position share it.
   */
  pass(cursor: number, walletUuid: string | undefined, chunked: boolean, group: string): Pass {
    let passes = this.#passes.get(group);
    if (!passes) {
      passes = new Map();
      this.#passes.set(group, passes);
    }
    let pass = passes.get(cursor);
    if (pass) return pass;
    const frames: Buffer[] = [];
    let bytes = 0;
    let index = this.#firstAfter(cursor);
    for (; index < this.#window.length && bytes < PASS_BYTES; index += 1) {
      const entry = this.#window[index] as WindowEntry;
      if (walletUuid !== undefined && entry.walletUuid !== walletUuid) continue;
      frames.push(entry.frame);
      bytes += entry.frame.length;
    }
    // Everything up to the head is in the window: having passed it all, the stream is at the head.
    const next = index === this.#window.length ? Math.max(cursor, this.head) : (this.#window[index - 1] as WindowEntry).seq;
    pass = { bytes: frames.length > 0 ? onTheWire(frames, bytes, chunked) : undefined, next };
    passes.set(cursor, pass);
    return pass;
  }

  drop(): void {
    if (this.#dropped) return;
    this.#dropped = true;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    clearInterval(this.#poll);
    clearInterval(this.#heartbeat);
    this.#window = [];
    this.#passes.clear();
    this.streams.clear();
    this.#serving.clear();
    this.#served?.();
  }
}
