import { assert } from "../../ledger/assert.js";
import { eventsSelect, listedEventFromRow } from "../lean-rows.js";
import type { EventRecord, ListedEvent } from "../store.js";
import { EVENTS } from "../tables.js";
import type { Statement } from "../write-behind.js";
import { EVENTS_CHANNEL } from "./listener.js";
import { type Queryable, query } from "./query.js";

/** The outbox: event reads (streams, polling), and the write transaction's event counter and notification. */

/** Two statements, so that each keeps one plan: by the primary key, or by events_wallet. */
export async function listEvents(
  db: Queryable,
  tenantId: string,
  afterSeq: number,
  walletUuid: string | undefined,
  limit: number,
): Promise<ListedEvent[]> {
  const found = await query(
    db,
    walletUuid === undefined
      ? {
          name: "events",
          text: `${EVENTS_SELECT} WHERE e.tenant_id = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3`,
          values: [tenantId, afterSeq, limit],
        }
      : {
          name: "wallet-events",
          text: `${EVENTS_SELECT} WHERE e.wallet_uuid = $3 AND e.seq > $2 AND e.tenant_id = $1 ORDER BY e.seq LIMIT $4`,
          values: [tenantId, afterSeq, walletUuid, limit],
        },
  );
  return found.map(listedEventFromRow);
}

const EVENTS_SELECT = eventsSelect("postgres");

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

/**
 * Inserts a tenant's new events and numbers them in the same statement: the counter is raised
 * by their count and locked until commit, so a transaction that numbers its events only here,
 * just before it commits, holds the tenant's counter for that one round trip, and events are
 * still numbered in commit order. `events` carry their numbers within the transaction, in
 * order and without gaps, starting at `firstSeq` (the transaction's earlier events were
 * written before).
 */
export const insertNumberedEvents = (tenantId: string, events: readonly EventRecord[]): Statement => {
  const firstSeq = events[0]?.seq ?? 1;
  events.forEach((event, index) => {
    assert(event.tenantId === tenantId && event.seq === firstSeq + index, `events of tenant ${tenantId} are numbered without gaps`);
  });
  return {
    name: "insert-numbered-events",
    text: INSERT_NUMBERED_EVENTS,
    values: [tenantId, events.length, firstSeq, JSON.stringify(events.map((event) => EVENTS.row(event)))],
  };
};

const INSERT_NUMBERED_EVENTS = `WITH counter AS (
    INSERT INTO event_counters (tenant_id, last_seq) VALUES ($1, $2)
    ON CONFLICT (tenant_id) DO UPDATE SET last_seq = event_counters.last_seq + excluded.last_seq
    RETURNING last_seq - $2 - $3 AS offset_seq
  )
  INSERT INTO events (${EVENTS.columns.join(", ")})
  SELECT ${EVENTS.columns.map((column) => (column === "seq" ? "counter.offset_seq + r.seq + 1" : `r.${column}`)).join(", ")}
  FROM counter, json_to_recordset($4::json) AS r(${EVENTS.postgresTypes})`;
