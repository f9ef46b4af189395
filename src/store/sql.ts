/** SQL that both dialects share word for word: kept once so the two stores answer alike. */
import { listedEventFromRow } from "./lean-rows.js";
import type { ClaimedDelivery, TransferRecord } from "./records.js";
import type { Row } from "./table.js";
import { TRANSFERS } from "./tables.js";

/**
 * An idempotency record may only replace an expired one: against a live one the insert changes
 * nothing, atomically, even when two processes race for the same key.
 */
export const IDEMPOTENCY_INSERT_CONDITION = "idempotency_keys.expires_at <= excluded.created_at";

/**
 * A wallet's transfer history as clients see it: the rule of src/ledger/history.ts
 * (`visibleInHistory`), which `verify` checks, in SQL. A pending row that was voided or partly
 * posted is listed with what it gave back: its amount less the part its resolution posted
 * (`posted_part`, subtracted when the row is read).
 */
export const HISTORY_FROM = "transfers t LEFT JOIN transfers r ON r.pending_id = t.id AND r.flag = 'post_pending'";
export const HISTORY_VISIBLE =
  "t.transfer_type IS NOT NULL AND t.flag <> 'void_pending' AND NOT (t.flag = 'pending' AND t.status = 'posted')";

/** A history row (the transfer's columns and `posted_part`) as the client sees it. */
export function historyEntryFromRow(row: Row): TransferRecord {
  const transfer = TRANSFERS.fromRow(row);
  if (transfer.flag !== "pending" || row.posted_part === null) return transfer;
  return { ...transfer, amount: transfer.amount - BigInt(row.posted_part as string) };
}

/** A LIKE pattern matching `text` anywhere, with the pattern's own wildcards escaped. */
export const containsPattern = (text: string) => `%${text.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;

/** A due delivery as the claim query joins it: the delivery, its endpoint, and its event (`eventsSelect`, lean-rows.ts). */
export const claimedDeliveryFromRow = (row: Row): ClaimedDelivery => ({
  eventId: row.event_id as string,
  endpointId: row.endpoint_id as string,
  eventType: row.event_type as string,
  attempts: Number(row.attempts),
  createdAt: row.created_at as string,
  url: row.url as string,
  secret: row.secret as string,
  event: listedEventFromRow(row),
});
