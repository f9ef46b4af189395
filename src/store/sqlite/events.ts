import { eventsSelect, listedEventFromRow } from "../lean-rows.js";
import { sqliteUuidBlob } from "../table.js";
import { type PreparedStatements, statement } from "./statements.js";

/** Events (the outbox): the event routes' and streams' reads, and the write transaction's counter statements. */

/** In a write transaction this locks the counter too: SQLite has one writer, so events are numbered in commit order. */
export const selectEventCounter = statement<[tenantId: string]>("event-counter", "SELECT last_seq FROM event_counters WHERE tenant_id = ?");
export const upsertEventCounter = statement<[tenantId: string, lastSeq: number]>(
  "upsert-event-counter",
  `INSERT INTO event_counters (tenant_id, last_seq) VALUES (?, ?)
   ON CONFLICT (tenant_id) DO UPDATE SET last_seq = excluded.last_seq`,
);
/**
 * Two statements, so that each has one plan: by the primary key, or by events_wallet. SQLite has
 * no statistics to prefer the wallet's index over the primary key (a range scan of the tenant's
 * events either way), so the wallet's statement names it.
 */
const selectEvents = statement<[{ tenantId: string; afterSeq: number; limit: number }]>(
  "events",
  `${eventsSelect("sqlite")} WHERE e.tenant_id = ${sqliteUuidBlob("@tenantId")} AND e.seq > @afterSeq ORDER BY e.seq LIMIT @limit`,
);
const selectWalletEvents = statement<[{ tenantId: string; afterSeq: number; walletUuid: string; limit: number }]>(
  "wallet-events",
  `${eventsSelect("sqlite").replace("FROM events e", "FROM events e INDEXED BY events_wallet")} WHERE e.wallet_uuid = ${sqliteUuidBlob("@walletUuid")} AND e.seq > @afterSeq
     AND e.tenant_id = ${sqliteUuidBlob("@tenantId")} ORDER BY e.seq LIMIT @limit`,
);

export const listEvents = (reader: PreparedStatements, tenantId: string, afterSeq: number, walletUuid: string | undefined, limit: number) =>
  reader
    .execute(
      walletUuid === undefined
        ? selectEvents({ tenantId, afterSeq, limit })
        : selectWalletEvents({ tenantId, afterSeq, walletUuid, limit }),
    )
    .rows.map(listedEventFromRow);

export const lastEventSeq = (reader: PreparedStatements, tenantId: string) =>
  (reader.execute(selectEventCounter(tenantId)).rows[0]?.last_seq as number | undefined) ?? 0;
