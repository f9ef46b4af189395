import { EVENTS } from "../tables.js";
import { type PreparedStatements, statement } from "./statements.js";

/** Events (the outbox): the event routes' and streams' reads, and the write transaction's counter statements. */

/** In a write transaction this locks the counter too: SQLite has one writer, so events are numbered in commit order. */
export const selectEventCounter = statement<[tenantId: string]>("event-counter", "SELECT last_seq FROM event_counters WHERE tenant_id = ?");
export const upsertEventCounter = statement<[tenantId: string, lastSeq: number]>(
  "upsert-event-counter",
  `INSERT INTO event_counters (tenant_id, last_seq) VALUES (?, ?)
   ON CONFLICT (tenant_id) DO UPDATE SET last_seq = excluded.last_seq`,
);
const selectEvents = statement<[{ tenantId: string; afterSeq: number; walletUuid: string | null; limit: number }]>(
  "events",
  `SELECT * FROM events WHERE tenant_id = @tenantId AND seq > @afterSeq AND (@walletUuid IS NULL OR wallet_uuid = @walletUuid)
   ORDER BY seq LIMIT @limit`,
);

export const listEvents = (reader: PreparedStatements, tenantId: string, afterSeq: number, walletUuid: string | undefined, limit: number) =>
  reader.many(EVENTS, selectEvents({ tenantId, afterSeq, walletUuid: walletUuid ?? null, limit }));

export const lastEventSeq = (reader: PreparedStatements, tenantId: string) =>
  (reader.execute(selectEventCounter(tenantId)).rows[0]?.last_seq as number | undefined) ?? 0;
