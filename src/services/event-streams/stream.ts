import { HEARTBEATS, type OutboxEvent, onTheWire, PASS_BYTES, sseFrame } from "./frames.js";
import type { HubStream, TenantHub } from "./hub.js";
import type { DisconnectReason } from "./limits.js";
import type { Runnable } from "./scheduler.js";

/** Events per read of a stream catching up on its own: what one stream may hold while its client is slow. */
const CATCH_UP_PAGE = 100;

/** Where a stream writes: the HTTP response's connection, through a small adapter in the route. */
export interface StreamSink {
  /** The response uses HTTP/1.1 chunked coding: every write must be one whole chunk (see `onTheWire`). */
  readonly chunked: boolean;
  /**
   * Writes bytes as they are. True if the connection took all of them at once; false if some
   * wait in the process because the client is not reading (fast enough): nothing more may be
   * written until `drained` is called.
   */
  write(bytes: Buffer, drained: () => void): boolean;
  /** Drops the connection; the client reconnects with Last-Event-ID. */
  disconnect(reason: DisconnectReason): void;
}

/** A reserved place among the open streams; released exactly once. */
export interface StreamSlot {
  readonly tenantId: string;
  release(): void;
}

/** One client's stream. */
export class LiveStream implements HubStream, Runnable {
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
  #pending: OutboxEvent[] = [];
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
    const { scheduler } = this.hub.context;
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
    this.hub.context.scheduler.unschedule(this);
    this.hub.settled(this);
    this.#sink = undefined;
    this.slot.release();
  }

  #schedule(): void {
    this.hub.context.scheduler.schedule(this);
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
      const event = this.#pending.shift() as OutboxEvent;
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
      const events = await this.hub.context.readEvents(this.hub.tenantId, this.cursor, this.walletUuid, CATCH_UP_PAGE);
      this.hub.context.counters.catchUpReads += 1;
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
    if ((this.#sink as StreamSink).write(chunk, this.#drained)) return;
    this.#blocked = true;
    this.#stallTimer = setTimeout(() => this.#disconnect("stalled"), this.hub.limits.maxStallMs);
    this.#stallTimer.unref();
  }

  readonly #drained = () => {
    if (this.#closed || !this.#blocked) return;
    this.#blocked = false;
    clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
    this.#schedule();
  };

  #disconnect(reason: DisconnectReason): void {
    if (this.#closed) return;
    const sink = this.#sink;
    this.hub.context.counters.disconnected[reason] += 1;
    this.close();
    sink?.disconnect(reason);
  }
}
