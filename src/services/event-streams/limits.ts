/** What bounds the live streams of one process. */
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

export type DisconnectReason = "lagging" | "stalled" | "read_failed";

/** What the hubs and streams of a process count, for its stats. */
export interface StreamCounters {
  /** Outbox reads made by hubs (shared by all of a tenant's streams). */
  hubReads: number;
  /** Outbox reads made by single streams catching up from an old Last-Event-ID. */
  catchUpReads: number;
  disconnected: Record<DisconnectReason, number>;
  refused: { tenant: number; process: number };
}
