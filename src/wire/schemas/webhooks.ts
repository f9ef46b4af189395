import { type Static, Type } from "typebox";
import { Timestamp, Uuid } from "./common.js";

export const WebhookEndpoint = Type.Object({ id: Uuid, url: Type.String(), created_at: Timestamp }, { title: "WebhookEndpoint" });

export const NewWebhookEndpoint = Type.Object(
  {
    ...WebhookEndpoint.properties,
    secret: Type.String({ description: "Signs every delivery to this endpoint (X-Signature); shown once, here" }),
  },
  { title: "NewWebhookEndpoint" },
);

export const WebhookEndpointList = Type.Object({ webhooks: Type.Array(WebhookEndpoint) }, { title: "WebhookEndpointList" });

export const WebhookEndpointDeleted = Type.Object({ id: Type.String(), deleted: Type.Literal(true) }, { title: "WebhookEndpointDeleted" });

export const DeliveryStatus = Type.Union([Type.Literal("pending"), Type.Literal("delivered"), Type.Literal("failed")], {
  title: "DeliveryStatus",
});

export const WebhookDelivery = Type.Object(
  {
    event_id: Uuid,
    endpoint_id: Uuid,
    event_type: Type.String(),
    status: DeliveryStatus,
    attempts: Type.Integer({ minimum: 0 }),
    next_attempt_at: Timestamp,
    last_status_code: Type.Union([Type.Integer(), Type.Null()]),
    last_error: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp,
    delivered_at: Type.Union([Timestamp, Type.Null()]),
  },
  { title: "WebhookDelivery" },
);

export const WebhookDeliveryList = Type.Object({ deliveries: Type.Array(WebhookDelivery) }, { title: "WebhookDeliveryList" });

export const Redelivery = Type.Object(
  { event_id: Type.String(), deliveries: Type.Integer({ minimum: 0, description: "How many deliveries were queued" }) },
  { title: "Redelivery" },
);

export type WebhookEndpoint = Static<typeof WebhookEndpoint>;
export type NewWebhookEndpoint = Static<typeof NewWebhookEndpoint>;
export type WebhookDelivery = Static<typeof WebhookDelivery>;
