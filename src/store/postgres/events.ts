import type { EventRecord } from "../store.js";
import { EVENTS } from "../tables.js";
import type { Statement } from "../write-behind.js";
import { EVENTS_CHANNEL } from "./listener.js";
import { type Queryable, query } from "./query.js";

/** The outbox: event reads (streams, polling), and the write transaction's event counter and notification. */

export async function listEvents(
  db: Queryable,
  tenantId: string,
  afterSeq: number,
  walletUuid: string | undefined,
  limit: number,
): Promise<EventRecord[]> {
  const found = await query(db, {
    name: "events",
    text: `SELECT ${EVENTS.select("e")} FROM events e
           WHERE e.tenant_id = $1 AND e.seq > $2 AND ($3::uuid IS NULL OR e.wallet_uuid = $3) ORDER BY e.seq LIMIT $4`,
    values: [tenantId, afterSeq, walletUuid ?? null, limit],
  });
  return found.map(EVENTS.fromRow);
}

export async function lastEventSeq(db: Queryable, tenantId: string): Promise<number> {
  const [row] = await query(db, {
    name: "last-event-seq",
    text: "SELECT last_seq FROM event_counters WHERE tenant_id = $1",
    values: [tenantId],
  });
  return Number(row?.last_seq ?? 0);
}

/** The counter row stays locked until commit, so a tenant's events are numbered in commit order. */
export const lockEventCounter = (tenantId: string): Statement => ({
  name: "lock-event-counter",
  text: `INSERT INTO event_counters (tenant_id, last_seq) VALUES ($1, 0)
         ON CONFLICT (tenant_id) DO UPDATE SET last_seq = event_counters.last_seq RETURNING last_seq`,
  values: [tenantId],
});

export const updateEventCounter = (tenantId: string, lastSeq: number): Statement => ({
  name: "save-event-seq",
  text: "UPDATE event_counters SET last_seq = $2 WHERE tenant_id = $1",
  values: [tenantId, lastSeq],
});

/** Tells every listening process, once the transaction commits, which tenants got events. */
export const notifyEvents = (tenantIds: string[]): Statement => ({
  name: "notify-events",
  text: "SELECT pg_notify($1, tenant_id) FROM unnest($2::text[]) AS t(tenant_id)",
  values: [EVENTS_CHANNEL, tenantIds],
});
