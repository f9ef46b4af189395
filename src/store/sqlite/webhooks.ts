import { eventsColumns, eventsJoins } from "../lean-rows.js";
import { claimedDeliveryFromRow } from "../sql.js";
import type { DeliveryOutcome, DeliveryStatus } from "../store.js";
import { type Row, sqliteUuidBlob } from "../table.js";
import { WEBHOOK_DELIVERIES, WEBHOOK_ENDPOINTS } from "../tables.js";
import { type Direct, type PreparedStatements, statement } from "./statements.js";

/** Webhook endpoints and deliveries: the dispatcher's queue, the routes' reads, and the write transaction's statements. */

export const selectActiveEndpointIds = statement<[tenantId: string]>(
  "active-endpoint-ids",
  "SELECT id FROM webhook_endpoints WHERE tenant_id = ? AND disabled_at IS NULL ORDER BY created_at",
);
export const insertWebhookEndpoint = statement("insert-webhook-endpoint", WEBHOOK_ENDPOINTS.insertSql("sqlite"));
export const disableWebhookEndpoint = statement<[disabledAt: string, tenantId: string, id: string]>(
  "disable-webhook-endpoint",
  "UPDATE webhook_endpoints SET disabled_at = ? WHERE tenant_id = ? AND id = ? AND disabled_at IS NULL",
);
export const requeueDeliveries = statement<[now: string, tenantId: string, eventId: string]>(
  "requeue-deliveries",
  `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?, locked_until = NULL
   WHERE tenant_id = ? AND event_id = ?`,
);

const selectEndpoints = statement<[tenantId: string]>(
  "webhook-endpoints",
  "SELECT * FROM webhook_endpoints WHERE tenant_id = ? AND disabled_at IS NULL ORDER BY created_at",
);
const claimDue = statement<[{ now: string; leaseUntil: string; limit: number }]>(
  "claim-deliveries",
  `UPDATE webhook_deliveries SET locked_until = @leaseUntil WHERE rowid IN (
     SELECT rowid FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= @now
       AND (locked_until IS NULL OR locked_until <= @now) ORDER BY next_attempt_at LIMIT @limit)
   RETURNING event_id, endpoint_id`,
);
/** The delivery's event is found by its id (events_id, which holds the events of tenants with endpoints). */
const selectClaimed = statement<[eventId: unknown, endpointId: unknown]>(
  "claimed-delivery",
  `SELECT d.event_id, d.endpoint_id, d.attempts, d.created_at, e.type AS event_type, w.url, w.secret, ${eventsColumns("sqlite")}
   FROM webhook_deliveries d JOIN events e ON e.id = ${sqliteUuidBlob("d.event_id")} AND e.webhooks
     JOIN webhook_endpoints w ON w.id = d.endpoint_id ${eventsJoins("sqlite")}
   WHERE d.event_id = ? AND d.endpoint_id = ?`,
);
const finishAttempt = statement<[DeliveryOutcome & { eventId: string; endpointId: string }]>(
  "finish-delivery-attempt",
  `UPDATE webhook_deliveries SET status = @status, attempts = @attempts, next_attempt_at = @nextAttemptAt,
     last_status_code = @lastStatusCode, last_error = @lastError, delivered_at = @deliveredAt, locked_until = NULL
   WHERE event_id = @eventId AND endpoint_id = @endpointId`,
);
const selectDeliveries = statement<[{ tenantId: string; status: DeliveryStatus | null; limit: number; offset: number }]>(
  "deliveries",
  `SELECT d.*, e.type AS event_type FROM webhook_deliveries d JOIN events e ON e.id = ${sqliteUuidBlob("d.event_id")} AND e.webhooks
   WHERE d.tenant_id = @tenantId AND (@status IS NULL OR d.status = @status) ORDER BY d.created_at DESC LIMIT @limit OFFSET @offset`,
);

export const listWebhookEndpoints = (reader: PreparedStatements, tenantId: string) =>
  reader.many(WEBHOOK_ENDPOINTS, selectEndpoints(tenantId));

export const claimDueDeliveries = (direct: Direct, now: string, leaseUntil: string, limit: number) =>
  direct((writer) =>
    writer
      .execute(claimDue({ now, leaseUntil, limit }))
      .rows.map((claimed) => claimedDeliveryFromRow(writer.execute(selectClaimed(claimed.event_id, claimed.endpoint_id)).rows[0] as Row)),
  );

export const finishDeliveryAttempt = (direct: Direct, eventId: string, endpointId: string, outcome: DeliveryOutcome) =>
  direct((writer) => void writer.execute(finishAttempt({ ...outcome, eventId, endpointId })));

export const listDeliveries = (
  reader: PreparedStatements,
  tenantId: string,
  status: DeliveryStatus | undefined,
  limit: number,
  offset: number,
) =>
  reader
    .execute(selectDeliveries({ tenantId, status: status ?? null, limit, offset }))
    .rows.map((row) => ({ ...WEBHOOK_DELIVERIES.fromRow(row), eventType: row.event_type as string }));
