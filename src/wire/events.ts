import { type Static, type TSchema, Type } from "typebox";
import type { EventType } from "../store/store.js";
import { Balance, CurrencyCode, Deposit, Exclusion, LimitChange, LimitUse, Transfer, WalletSummary } from "./schemas.js";

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
  /**
   * An event about safer-gambling controls: nothing moved, so it has no transfer,
   * released_transfer or deposit field, and carries this field instead (CONTROLS_FIELDS).
   */
  controls?: keyof typeof CONTROLS_FIELDS;
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
  "deposit.released": {
    summary:
      "A held deposit was credited: the deposit limits have room again, or a withdrawal needed it (transfer: the part posted; " +
      "released_transfer: the part still held, if any)",
    wallet: "wallet",
    deposit: false,
    released: true,
  },
  "limits.changed": {
    summary: "Limits changed: set, lowered, or a raise or removal whose cooling-off ended",
    wallet: "wallet",
    deposit: false,
    released: false,
    controls: "changes",
  },
  "limits.change_scheduled": {
    summary: "A raise or removal of a limit waits out the tenant's cooling-off (effective_at)",
    wallet: "wallet",
    deposit: false,
    released: false,
    controls: "changes",
  },
  "limit.reached": {
    summary: "A movement used a limit up, or a deposit was held for want of room",
    wallet: "wallet",
    deposit: false,
    released: false,
    controls: "limits",
  },
  "exclusion.started": {
    summary: "A time-out or self-exclusion started, or was lengthened",
    wallet: "wallet",
    deposit: false,
    released: false,
    controls: "exclusion",
  },
  "exclusion.ended": { summary: "An exclusion ended", wallet: "wallet", deposit: false, released: false, controls: "exclusion" },
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

/** What an event about controls carries in place of the movement's fields (services/limit-views.ts `limitEventPayload`). */
const CONTROLS_FIELDS = {
  changes: Type.Array(LimitChange, { description: "The limits changed (amount null: removed), or to change at effective_at" }),
  limits: Type.Array(LimitUse, { description: "The limits used up, with their use" }),
  exclusion: Exclusion,
};

/** The fields every event has, movement or not. */
const { transfer, released_transfer, deposit, ...common } = fields;

/** The payload of any movement's event type, as the view builds it. */
export const EventPayload = Type.Object(fields, { title: "EventPayload" });
export type EventPayload = Static<typeof EventPayload>;

/**
 * A live-stream event: the payload with the tenant's sequence number (the SSE id). A movement's
 * event has transfer, released_transfer and deposit; an event about controls has one of
 * changes, limits or exclusion instead (EVENT_SHAPES `controls`).
 */
export const StreamEvent = Type.Object(
  {
    seq: Type.Integer({ minimum: 1, description: "The tenant's event sequence number; resume after it with Last-Event-ID" }),
    ...common,
    transfer: Type.Optional(transfer),
    released_transfer: Type.Optional(released_transfer),
    deposit: Type.Optional(deposit),
    changes: Type.Optional(CONTROLS_FIELDS.changes),
    limits: Type.Optional(CONTROLS_FIELDS.limits),
    exclusion: Type.Optional(CONTROLS_FIELDS.exclusion),
  },
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
  if (shape.controls) {
    const about = { [shape.controls]: CONTROLS_FIELDS[shape.controls] };
    return Type.Object(
      { ...common, type: Type.Literal(type), wallet: WalletSummary, ...about },
      { title: eventSchemaName(type), description: shape.summary },
    );
  }
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
