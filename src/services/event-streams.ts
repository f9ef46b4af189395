import type { Store } from "../store/store.js";
import { AppError } from "./errors.js";
import { type HubContext, type ReadEvents, TenantHub } from "./event-streams/hub.js";
import { DEFAULT_STREAM_LIMITS, type StreamCounters, type StreamLimits } from "./event-streams/limits.js";
import { DeliveryScheduler } from "./event-streams/scheduler.js";
import { LiveStream, type StreamSlot } from "./event-streams/stream.js";

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
 *   that write has been drained: at most one write (PASS_BYTES) waits in the process per stream.
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
 *
 * This module is the registry (caps, one hub per tenant, stats); the hub, the stream, the
 * scheduler and the frames are in src/services/event-streams/.
 */

export { DEFAULT_STREAM_LIMITS, type StreamLimits } from "./event-streams/limits.js";
export type { LiveStream, StreamSink, StreamSlot } from "./event-streams/stream.js";

/** What a refused client is told to wait: slots free up as soon as another stream closes. */
export const STREAM_RETRY_AFTER_SECONDS = 5;

export interface StreamStats extends StreamCounters {
  /** Open (or opening) streams in this process. */
  streams: number;
  /** Tenants with a hub. */
  hubs: number;
}

export class EventStreams implements HubContext {
  readonly #hubs = new Map<string, TenantHub>();
  readonly #perTenant = new Map<string, number>();
  #total = 0;
  /** @internal the process's stream writes, a slice at a time */
  readonly scheduler = new DeliveryScheduler();
  readonly #stats: StreamCounters = {
    hubReads: 0,
    catchUpReads: 0,
    disconnected: { lagging: 0, stalled: 0, read_failed: 0 },
    refused: { tenant: 0, process: 0 },
  };

  constructor(
    readonly store: Store,
    readonly limits: StreamLimits = DEFAULT_STREAM_LIMITS,
    /** The outbox reader (EventService.read): events with their JSON rendered. */
    readonly readEvents: ReadEvents = async () => [],
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
