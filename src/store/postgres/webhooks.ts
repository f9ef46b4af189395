import { eventsColumns, eventsJoins } from "../lean-rows.js";
import { claimedDeliveryFromRow } from "../sql.js";
import type { ClaimedDelivery, DeliveryOutcome, DeliveryRecord, DeliveryStatus, WebhookEndpointRecord } from "../store.js";
import { WEBHOOK_DELIVERIES, WEBHOOK_ENDPOINTS } from "../tables.js";
import type { Statement } from "../write-behind.js";
import { change, type Queryable, query } from "./query.js";

/** Webhook endpoints and deliveries: the dispatcher's queue, the routes' reads, and the write transaction's statements. */

const ENDPOINT_COLUMNS = WEBHOOK_ENDPOINTS.select("w");
/** A delivery's event is found by its id (events_id, which holds the events of tenants with endpoints). */
const EVENT_COLUMNS = eventsColumns("postgres");
const EVENT_JOINS = eventsJoins("postgres");

export async function listWebhookEndpoints(db: Queryable, tenantId: string): Promise<WebhookEndpointRecord[]> {
  const found = await query(db, {
    name: "webhook-endpoints",
    text: `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints w WHERE w.tenant_id = $1 AND w.disabled_at IS NULL ORDER BY w.created_at`,
    values: [tenantId],
  });
  return found.map(WEBHOOK_ENDPOINTS.fromRow);
}

export async function claimDueDeliveries(db: Queryable, now: string, leaseUntil: string, limit: number): Promise<ClaimedDelivery[]> {
  // SKIP LOCKED lets dispatchers in several processes take disjoint work without waiting.
  const found = await query(db, {
    name: "claim-deliveries",
    text: `WITH due AS (
             SELECT event_id, endpoint_id FROM webhook_deliveries
             WHERE status = 'pending' AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until <= $1)
             ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED),
           claimed AS (
             UPDATE webhook_deliveries d SET locked_until = $2 FROM due
             WHERE d.event_id = due.event_id AND d.endpoint_id = due.endpoint_id
             RETURNING d.event_id, d.endpoint_id, d.attempts, d.created_at)
           SELECT c.event_id, c.endpoint_id, c.attempts, c.created_at, e.type AS event_type, w.url, w.secret, ${EVENT_COLUMNS}
           FROM claimed c JOIN events e ON e.id = c.event_id AND e.webhooks JOIN webhook_endpoints w ON w.id = c.endpoint_id
             ${EVENT_JOINS}`,
    values: [now, leaseUntil, limit],
  });
  return found.map(claimedDeliveryFromRow);
}

export async function finishDeliveryAttempt(db: Queryable, eventId: string, endpointId: string, outcome: DeliveryOutcome): Promise<void> {
  await change(db, {
    name: "finish-delivery-attempt",
    text: `UPDATE webhook_deliveries SET status = $3, attempts = $4, next_attempt_at = $5, last_status_code = $6, last_error = $7,
             delivered_at = $8, locked_until = NULL WHERE event_id = $1 AND endpoint_id = $2`,
    values: [
      eventId,
      endpointId,
      outcome.status,
      outcome.attempts,
      outcome.nextAttemptAt,
      outcome.lastStatusCode,
      outcome.lastError,
      outcome.deliveredAt,
    ],
  });
}

export async function listDeliveries(
  db: Queryable,
  tenantId: string,
  status: DeliveryStatus | undefined,
  limit: number,
  offset: number,
): Promise<DeliveryRecord[]> {
  const found = await query(db, {
    name: "deliveries",
    text: `SELECT ${WEBHOOK_DELIVERIES.select("d")}, e.type AS event_type
           FROM webhook_deliveries d JOIN events e ON e.id = d.event_id AND e.webhooks WHERE d.tenant_id = $1 AND ($2::text IS NULL OR d.status = $2) ORDER BY d.created_at DESC LIMIT $3 OFFSET $4`,
    values: [tenantId, status ?? null, limit, offset],
  });
  return found.map((row) => ({ ...WEBHOOK_DELIVERIES.fromRow(row), eventType: row.event_type as string }));
}

export const selectActiveEndpointIds = (tenantId: string): Statement => ({
  name: "active-endpoints",
  text: "SELECT id FROM webhook_endpoints WHERE tenant_id = $1 AND disabled_at IS NULL ORDER BY created_at",
  values: [tenantId],
});

export const insertWebhookEndpoint = (endpoint: WebhookEndpointRecord): Statement => ({
  name: "insert-webhook-endpoint",
  text: WEBHOOK_ENDPOINTS.insertSql("postgres"),
  values: WEBHOOK_ENDPOINTS.values(endpoint),
});

export const disableWebhookEndpoint = (tenantId: string, id: string, disabledAt: string): Statement => ({
  name: "disable-webhook-endpoint",
  text: "UPDATE webhook_endpoints SET disabled_at = $3 WHERE tenant_id = $1 AND id = $2 AND disabled_at IS NULL",
  values: [tenantId, id, disabledAt],
});

/** Queues the event again for every endpoint it was meant for. */
export const requeueDeliveries = (tenantId: string, eventId: string, now: string): Statement => ({
  name: "requeue-deliveries",
  text: `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $3, locked_until = NULL
         WHERE tenant_id = $1 AND event_id = $2`,
  values: [tenantId, eventId, now],
});
