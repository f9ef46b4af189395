import type { EventRecord, Store } from "../store/store.js";
import { AppError } from "./errors.js";

/**
 * Live event streams, bounded (issue 10, item 3). Streams are counted per process: each process
 * keeps its own caps, hubs and counters (with WORKERS=N or several hosts, the caps multiply).
 *
 * - Caps: a slot is taken synchronously before anything is awaited, so concurrent requests are
 *   counted exactly; beyond STREAMS_PER_TENANT or STREAMS_MAX the request is refused with 429.
 * - One hub per tenant: it is woken by commits (and a 1 s poll), reads the outbox once after the
 *   last sequence number it read, keeps the frames in a shared window, and offers them to each of
 *   the tenant's streams. A stream writes the frames after its own cursor that match its wallet
 *   filter, and as soon as its connection does not take a write whole, writes nothing more until
 *   that write has been flushed: at most one write (PASS_BYTES) waits in the process per stream.
 * - A stream resumed from an old Last-Event-ID (behind the window) catches up with reads of its
 *   own, a page at a time, until it reaches the window and joins the shared position.
 * - Slow consumers: a stream whose connection is not draining while the tenant's events run more
 *   than STREAM_MAX_LAG_EVENTS past it, or whose connection stays blocked for STREAM_MAX_STALL_MS,
 *   is disconnected. The client resumes with Last-Event-ID: events come from the outbox by
 *   sequence number, so nothing is missed and nothing is sent twice.
 * - Nothing outlives the streams: the last stream of a tenant to close drops its hub (commit
 *   subscription, poll and heartbeat timers, window).
 * - Stream writes are the process's lowest priority: they run in slices of SLICE_MS, at most one
 *   per millisecond, between other work (DeliveryScheduler), so streams cannot starve commits and
 *   reads; with thousands of streams, a commit reaches them within a few hundred milliseconds.
 */

export interface StreamLimits {
  /** Open streams of one tenant in this process. */
  perTenant: number;
  /** Open streams of all tenants in this process. */
  max: number;
  /** Tenant events a blocked stream may fall behind before it is disconnected; also the most a hub keeps. */
  maxLagEvents: number;
  /** How long a stream's connection may refuse writes (backpressure not drained) before it is disconnected. */
  maxStallMs: number;
}

/** The defaults, and why, are in src/config.ts. */
export const DEFAULT_STREAM_LIMITS: StreamLimits = { perTenant: 50, max: 1000, maxLagEvents: 10_000, maxStallMs: 10_000 };

/** What a refused client is told to wait: slots free up as soon as another stream closes. */
export const STREAM_RETRY_AFTER_SECONDS = 5;
/** A fallback for commits this process is not told about (SQLite shared by several processes, a lost LISTEN). */
const POLL_MS = 1000;
const HEARTBEAT_MS = 15_000;
/** Events per read of the hub. */
const HUB_PAGE = 500;
/** Events per read of a stream catching up on its own: what one stream may hold while its client is slow. */
const CATCH_UP_PAGE = 100;
/**
 * Bytes of frames a stream writes at once (one write, one chunk). After a write the connection
 * did not take whole, nothing more is written until it has, so this (plus the kernel's socket
 * buffer) is the most one stream can have queued.
 */
const PASS_BYTES = 32 * 1024;
/** The longest a hub waits for its streams to take a page before reading the next one anyway. */
const FAN_OUT_WAIT_MS = 1000;
/**
 * Writing to streams runs in slices of at most this long, and the next slice comes on a timer, a
 * millisecond later at the earliest, after whatever else arrived meanwhile: however many streams
 * there are, their writes take at most about a fifth of the process's time while requests and
 * commits wait, each step of a request (each database answer) waits at most one slice, and the
 * kernel gets thousands of socket writes spread out rather than in one burst. A client that does
 * not read still has a few MB of kernel socket buffer to fill, and filling thousands of them is
 * seconds of work that would otherwise come before everything else. The cost is latency: with
 * thousands of streams, a commit reaches the last of them a few hundred milliseconds later; and
 * since a hub reads again only once its streams have taken the last read, commits that arrive
 * meanwhile go out together, in fewer, larger writes.
 */
const SLICE_MS = 0.25;
const HEARTBEAT = Buffer.from(": heartbeat\n\n");
const CRLF = Buffer.from("\r\n");

/** Where a stream writes: the HTTP response's connection, through a small adapter in the route. */
export interface StreamSink {
  /** The response uses HTTP/1.1 chunked coding: every write must be one whole chunk (see `onTheWire`). */
  readonly chunked: boolean;
  /**
   * Writes bytes as they are. True if the connection took all of them at once; false if some
   * wait in the process because the client is not reading (fast enough): nothing more may be
   * written until `flushed` is called.
   */
  write(bytes: Buffer, flushed: () => void): boolean;
  /** Drops the connection; the client reconnects with Last-Event-ID. */
  disconnect(reason: DisconnectReason): void;
}

export type DisconnectReason = "lagging" | "stalled" | "read_failed";

export interface StreamStats {
  /** Open (or opening) streams in this process. */
  streams: number;
  /** Tenants with a hub. */
  hubs: number;
  /** Outbox reads made by hubs (shared by all of a tenant's streams). */
  hubReads: number;
  /** Outbox reads made by single streams catching up from an old Last-Event-ID. */
  catchUpReads: number;
  disconnected: Record<DisconnectReason, number>;
  refused: { tenant: number; process: number };
}

/** One frame per event, built once and written to every stream that wants it. */
export function sseFrame(event: EventRecord): Buffer {
  return Buffer.from(`id: ${event.seq}\nevent: ${event.type}\ndata: {"seq":${event.seq},${event.payload.slice(1)}\n\n`);
}

/**
 * SSE frames as they go on the connection: one HTTP/1.1 chunk when the response is chunked. Built
 * once per pass and shared by every stream at the same position, so that a commit costs each
 * stream one write of ready bytes.
 */
export function onTheWire(frames: readonly Buffer[], bytes: number, chunked: boolean): Buffer {
  if (!chunked) return frames.length === 1 ? (frames[0] as Buffer) : Buffer.concat(frames, bytes);
  const head = Buffer.from(`${bytes.toString(16)}\r\n`, "latin1");
  return Buffer.concat([head, ...frames, CRLF], head.length + bytes + CRLF.length);
}

const HEARTBEATS = { chunked: onTheWire([HEARTBEAT], HEARTBEAT.length, true), plain: HEARTBEAT };

/** A reserved place among the open streams; released exactly once. */
export interface StreamSlot {
  readonly tenantId: string;
  release(): void;
}

export class EventStreams {
  readonly #hubs = new Map<string, TenantHub>();
  readonly #perTenant = new Map<string, number>();
  #total = 0;
  /** @internal the process's stream writes, a slice at a time */
  readonly scheduler = new DeliveryScheduler();
  readonly #stats = {
    hubReads: 0,
    catchUpReads: 0,
    disconnected: { lagging: 0, stalled: 0, read_failed: 0 },
    refused: { tenant: 0, process: 0 },
  };

  constructor(
    readonly store: Store,
    readonly limits: StreamLimits = DEFAULT_STREAM_LIMITS,
  ) {}

  /**
   * Takes a slot for a new stream of the tenant, or throws 429 `rate_limited`. Synchronous, so
   * that concurrent requests can never both take the last slot.
   */
  reserve(tenantId: string): StreamSlot {
    const tenantCount = this.#perTenant.get(tenantId) ?? 0;
    if (this.#total >= this.limits.max) {
      this.#stats.refused.process += 1;
      throw refused("process", this.limits.max);
    }
    if (tenantCount >= this.limits.perTenant) {
      this.#stats.refused.tenant += 1;
      throw refused("tenant", this.limits.perTenant);
    }
    this.#perTenant.set(tenantId, tenantCount + 1);
    this.#total += 1;
    let released = false;
    return {
      tenantId,
      release: () => {
        if (released) return;
        released = true;
        this.#total -= 1;
        const left = (this.#perTenant.get(tenantId) ?? 1) - 1;
        if (left > 0) {
          this.#perTenant.set(tenantId, left);
          return;
        }
        this.#perTenant.delete(tenantId);
        this.#hubs.get(tenantId)?.drop();
        this.#hubs.delete(tenantId);
      },
    };
  }

  /**
   * Opens a stream on a reserved slot, starting after `resumeFrom` or, without it, after the
   * tenant's latest event. It writes nothing until `attach`.
   */
  async open(slot: StreamSlot, walletUuid: string | undefined, resumeFrom: number | undefined): Promise<LiveStream> {
    const hub = this.#hubFor(slot.tenantId);
    await hub.ready;
    const cursor = resumeFrom ?? (await this.store.lastEventSeq(slot.tenantId));
    return new LiveStream(hub, slot, walletUuid, cursor);
  }

  stats(): StreamStats {
    return {
      streams: this.#total,
      hubs: this.#hubs.size,
      hubReads: this.#stats.hubReads,
      catchUpReads: this.#stats.catchUpReads,
      disconnected: { ...this.#stats.disconnected },
      refused: { ...this.#stats.refused },
    };
  }

  /** @internal counters kept by hubs and streams */
  get counters() {
    return this.#stats;
  }

  #hubFor(tenantId: string): TenantHub {
    let hub = this.#hubs.get(tenantId);
    if (!hub) {
      const created = new TenantHub(this, tenantId);
      hub = created;
      this.#hubs.set(tenantId, created);
      // A hub that could not start is forgotten, so the next stream tries again.
      created.ready.catch(() => {
        if (this.#hubs.get(tenantId) === created) this.#hubs.delete(tenantId);
        created.drop();
      });
    }
    return hub;
  }
}

function refused(scope: "tenant" | "process", limit: number): AppError {
  const what = scope === "tenant" ? "this tenant" : "this server";
  return new AppError("rate_limited", `Too many open event streams for ${what} (${limit}); retry in ${STREAM_RETRY_AFTER_SECONDS} s`, {
    scope,
    limit,
    retry_after_seconds: STREAM_RETRY_AFTER_SECONDS,
  });
}

interface WindowEntry {
  seq: number;
  walletUuid: string | null;
  frame: Buffer;
}

/** What a stream at some position writes next: bytes for the wire (if any), and where that leaves it. */
interface Pass {
  bytes: Buffer | undefined;
  next: number;
}

interface Runnable {
  run(): void;
}

/**
 * Stream work waiting its turn, first come first served, run for at most SLICE_MS at a time; the
 * rest waits for the next slice, on a timer, after whatever else (requests, commits, database
 * answers) arrived meanwhile.
 */
class DeliveryScheduler {
  readonly #queue = new Set<Runnable>();
  #scheduled = false;
  #deadline = 0;

  schedule(item: Runnable): void {
    this.#queue.add(item);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setTimeout(this.#run, 0);
    }
  }

  /** Whether the current slice has time left. */
  hasTime(): boolean {
    return performance.now() < this.#deadline;
  }

  unschedule(item: Runnable): void {
    this.#queue.delete(item);
  }

  readonly #run = () => {
    this.#scheduled = false;
    this.#deadline = performance.now() + SLICE_MS;
    for (const item of this.#queue) {
      this.#queue.delete(item);
      item.run();
      if (!this.hasTime()) break;
    }
    if (this.#queue.size > 0 && !this.#scheduled) {
      this.#scheduled = true;
      setTimeout(this.#run, 0);
    }
  };
}

/** The streams of one tenant in this process, and the one outbox reader they share. */
class TenantHub {
  readonly streams = new Set<LiveStream>();
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
  readonly #serving = new Set<LiveStream>();
  #served: (() => void) | undefined;

  constructor(
    readonly registry: EventStreams,
    readonly tenantId: string,
  ) {
    this.ready = this.#start();
  }

  get limits(): StreamLimits {
    return this.registry.limits;
  }

  async #start(): Promise<void> {
    const { store } = this.registry;
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
        const events = await this.registry.store.listEvents(this.tenantId, this.head, undefined, HUB_PAGE);
        this.registry.counters.hubReads += 1;
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
  settled(stream: LiveStream): void {
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

/** One client's stream. */
export class LiveStream implements Runnable {
  /** The last sequence number this stream has written or passed over (not its wallet's). */
  cursor: number;
  #sink: StreamSink | undefined;
  #closed = false;
  /** The connection did not take the last write whole: nothing more is written until it has. */
  #blocked = false;
  #stallTimer: NodeJS.Timeout | undefined;
  /** A catch-up read is in flight. */
  #reading = false;
  /** Events of the last catch-up read not written yet, and where the cursor goes once they are. */
  #pending: EventRecord[] = [];
  #pendingEnd = 0;
  /** Streams with the same wallet filter and framing at the same position share their passes. */
  #group: string | undefined;

  constructor(
    private readonly hub: TenantHub,
    private readonly slot: StreamSlot,
    private readonly walletUuid: string | undefined,
    cursor: number,
  ) {
    this.cursor = cursor;
  }

  /** Starts writing to the connection (after the response head has been sent). */
  attach(sink: StreamSink): void {
    if (this.#closed) return;
    this.#sink = sink;
    this.hub.streams.add(this);
    this.#schedule();
  }

  /** The hub has read new events; true if it should wait for this stream to take them. */
  offer(): boolean {
    if (this.#closed || !this.#sink || this.cursor >= this.hub.head) return false;
    if (this.#catchingUp()) return false;
    if (this.#blocked) {
      if (this.hub.head - this.cursor > this.hub.limits.maxLagEvents) this.#disconnect("lagging");
      return false;
    }
    this.#schedule();
    return true;
  }

  /**
   * Its turn in the scheduler: writes what is available while the connection takes it whole and
   * the slice lasts. Blocked or catching up on its own, it holds up no one: the hub reads on.
   */
  run(): void {
    const { scheduler } = this.hub.registry;
    do this.#deliver();
    while (!this.#closed && !this.#blocked && !this.#reading && this.#hasMore() && scheduler.hasTime());
    if (this.#closed) return;
    if (!this.#blocked && !this.#reading && this.#hasMore()) this.#schedule();
    else this.hub.settled(this);
  }

  #hasMore(): boolean {
    return this.#pending.length > 0 || this.cursor < this.hub.head;
  }

  heartbeat(): void {
    if (!this.#closed && this.#sink && !this.#blocked) this.#write(this.#sink.chunked ? HEARTBEATS.chunked : HEARTBEATS.plain);
  }

  /** Idempotent: the connection closed, or the stream was disconnected. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
    this.#pending = [];
    this.hub.streams.delete(this);
    this.hub.registry.scheduler.unschedule(this);
    this.hub.settled(this);
    this.#sink = undefined;
    this.slot.release();
  }

  #schedule(): void {
    this.hub.registry.scheduler.schedule(this);
  }

  #catchingUp(): boolean {
    return this.#pending.length > 0 || this.#reading || this.cursor < this.hub.floor;
  }

  /** One write of the frames after the cursor (or of the last catch-up page), or a catch-up read. */
  #deliver(): void {
    if (!this.#sink || this.#closed || this.#blocked || this.#reading) return;
    if (this.#pending.length > 0) {
      this.#writePending();
      return;
    }
    if (this.cursor < this.hub.floor) {
      void this.#catchUp();
      return;
    }
    this.#group ??= `${this.walletUuid ?? ""}/${this.#sink.chunked ? "chunked" : "plain"}`;
    const pass = this.hub.pass(this.cursor, this.walletUuid, this.#sink.chunked, this.#group);
    this.cursor = pass.next;
    if (pass.bytes) this.#write(pass.bytes);
  }

  #writePending(): void {
    const frames: Buffer[] = [];
    let bytes = 0;
    while (this.#pending.length > 0 && bytes < PASS_BYTES) {
      const event = this.#pending.shift() as EventRecord;
      const frame = sseFrame(event);
      frames.push(frame);
      bytes += frame.length;
      this.cursor = event.seq;
    }
    if (this.#pending.length === 0) this.cursor = Math.max(this.cursor, this.#pendingEnd);
    if (frames.length > 0) this.#write(onTheWire(frames, bytes, (this.#sink as StreamSink).chunked));
  }

  /** Behind the hub's window: reads a page of its own (with its wallet filter) from the outbox. */
  async #catchUp(): Promise<void> {
    this.#reading = true;
    // Everything up to the hub's head had committed before this read began.
    const committed = this.hub.head;
    try {
      const events = await this.hub.registry.store.listEvents(this.hub.tenantId, this.cursor, this.walletUuid, CATCH_UP_PAGE);
      this.hub.registry.counters.catchUpReads += 1;
      if (this.#closed) return;
      this.#pending = events;
      const last = events[events.length - 1]?.seq ?? this.cursor;
      // A short page means nothing else of this stream's up to what had committed.
      this.#pendingEnd = events.length < CATCH_UP_PAGE ? Math.max(last, committed) : last;
      if (events.length === 0) this.cursor = Math.max(this.cursor, this.#pendingEnd);
    } catch {
      this.#disconnect("read_failed");
      return;
    } finally {
      this.#reading = false;
    }
    this.#schedule();
  }

  /** Writes one chunk; if the connection did not take it whole, waits until it has (at most STREAM_MAX_STALL_MS). */
  #write(chunk: Buffer): void {
    if ((this.#sink as StreamSink).write(chunk, this.#flushed)) return;
    this.#blocked = true;
    this.#stallTimer = setTimeout(() => this.#disconnect("stalled"), this.hub.limits.maxStallMs);
    this.#stallTimer.unref();
  }

  readonly #flushed = () => {
    if (this.#closed || !this.#blocked) return;
    this.#blocked = false;
    clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
    this.#schedule();
  };

  #disconnect(reason: DisconnectReason): void {
    if (this.#closed) return;
    const sink = this.#sink;
    this.hub.registry.counters.disconnected[reason] += 1;
    this.close();
    sink?.disconnect(reason);
  }
}
