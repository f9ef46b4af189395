import { type Static, type TSchema, Type } from "typebox";
import type { EventType } from "../store/store.js";
import { Balance, CurrencyCode, Deposit, Transfer, WalletSummary } from "./schemas.js";

/**
 * Balance events: what webhooks POST and what the live stream sends as `data:`. One payload
 * shape for every type (EventPayload, the type the view builds), refined per type for the
 * OpenAPI document's `webhooks`: which of wallet, transfer, released_transfer and deposit a
 * type always carries.
 */

interface EventShape {
  summary: string;
  /** `either`: null for the tenant's master account (only deposits reach it). */
  wallet: "wallet" | "either";
  /** Deposits carry the deposit; their transfer is the movement the report caused. */
  deposit: boolean;
  /** Only a partial capture returns part of a hold: `released_transfer`. */
  released: boolean;
}

/** Every event type and what it carries; a Record, so a new EventType must be described here. */
export const EVENT_SHAPES: Record<EventType, EventShape> = {
  "deposit.pending": {
    summary: "A deposit is seen below its required confirmations (credits pending)",
    wallet: "either",
    deposit: true,
    released: false,
  },
  "deposit.confirmed": {
    summary: "A deposit reached its required confirmations (posted)",
    wallet: "either",
    deposit: true,
    released: false,
  },
  "deposit.dropped": { summary: "A pending deposit was dropped by the chain (voided)", wallet: "either", deposit: true, released: false },
  "transfer.posted": { summary: "A transfer between the wallet and the master account", wallet: "wallet", deposit: false, released: false },
  "bet.placed": { summary: "A bet debited the wallet", wallet: "wallet", deposit: false, released: false },
  "win.credited": { summary: "A win credited the wallet", wallet: "wallet", deposit: false, released: false },
  "rollback.applied": { summary: "A rollback reversed a bet", wallet: "wallet", deposit: false, released: false },
  "hold.placed": { summary: "A hold moved funds into pending_amount", wallet: "wallet", deposit: false, released: false },
  "hold.captured": {
    summary: "A hold was captured, in whole or in part (the rest is released_transfer)",
    wallet: "wallet",
    deposit: false,
    released: true,
  },
  "hold.voided": { summary: "A hold was voided and its funds returned", wallet: "wallet", deposit: false, released: false },
  "hold.expired": { summary: "A hold passed its timeout and its funds returned", wallet: "wallet", deposit: false, released: false },
  "withdrawal.requested": {
    summary: "A withdrawal holds the funds until the payout reports",
    wallet: "wallet",
    deposit: false,
    released: false,
  },
  "withdrawal.completed": { summary: "A withdrawal was paid out (the hold is posted)", wallet: "wallet", deposit: false, released: false },
  "withdrawal.failed": {
    summary: "A withdrawal failed (the hold is voided, the funds are back)",
    wallet: "wallet",
    deposit: false,
    released: false,
  },
};

export const EVENT_TYPES = Object.keys(EVENT_SHAPES) as EventType[];

const EventTypeField = Type.Unsafe<EventType>({ type: "string", enum: EVENT_TYPES, title: "EventType" });

const fields = {
  id: Type.String({ format: "uuid", description: "Stable: de-duplicate on it (also sent as X-Event-Id)" }),
  type: EventTypeField,
  created_at: Type.String({ format: "date-time" }),
  tenant_id: Type.String(),
  wallet: Type.Union([WalletSummary, Type.Null()], { description: "null for the tenant's master account" }),
  currency: CurrencyCode,
  balance: Balance,
  account_version: Type.Integer({ minimum: 0, description: "Grows with every change of the account: order balance updates by it" }),
  transfer: Type.Union([Transfer, Type.Null()]),
  released_transfer: Type.Union([Transfer, Type.Null()], { description: "For a partial capture: the part of the hold that went back" }),
  deposit: Type.Union([Deposit, Type.Null()]),
};

/** The payload of any event type, as the view builds it. */
export const EventPayload = Type.Object(fields, { title: "EventPayload" });
export type EventPayload = Static<typeof EventPayload>;

/** A live-stream event: the payload with the tenant's sequence number (the SSE id). */
export const StreamEvent = Type.Object(
  { seq: Type.Integer({ minimum: 1, description: "The tenant's event sequence number; resume after it with Last-Event-ID" }), ...fields },
  { title: "StreamEvent" },
);
export type StreamEvent = Static<typeof StreamEvent>;

/** `deposit.pending` → `DepositPendingEvent`: the component name of a type's payload. */
export function eventSchemaName(type: EventType): string {
  const words = type.split(/[._]/).map((word) => word.charAt(0).toUpperCase() + word.slice(1));
  return `${words.join("")}Event`;
}

/** The payload of one event type, with what that type always carries. */
function eventSchema(type: EventType): TSchema {
  const shape = EVENT_SHAPES[type];
  return Type.Object(
    {
      ...fields,
      type: Type.Literal(type),
      wallet: shape.wallet === "wallet" ? WalletSummary : fields.wallet,
      transfer: shape.deposit ? fields.transfer : Transfer,
      released_transfer: shape.released ? fields.released_transfer : Type.Null(),
      deposit: shape.deposit ? Deposit : Type.Null(),
    },
    { title: eventSchemaName(type), description: shape.summary },
  );
}

/** Each event type's payload schema: the OpenAPI document's `webhooks`. */
export const EVENT_SCHEMAS = Object.fromEntries(EVENT_TYPES.map((type) => [type, eventSchema(type)])) as Record<EventType, TSchema>;

/**
 * The live stream's answer (GET /wallets/events/): Server-Sent Events whose `data:` lines are
 * StreamEvent objects. A route response in Fastify's per-media-type form, for the document.
 */
export const EventStreamResponse = {
  description: "A Server-Sent Events stream: `id:` is the event's seq, `event:` its type, `data:` a StreamEvent (JSON)",
  content: {
    "text/event-stream": {
      schema: Type.String({
        description:
          'text/event-stream frames, e.g. `id: 7\\nevent: deposit.confirmed\\ndata: {"seq":7,...}`; each data line is a ' +
          "StreamEvent (#/components/schemas/StreamEvent); comment lines are heartbeats.",
      }),
    },
  },
};
