import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { DeliveryRecord, WebhookEndpointRecord } from "../../store/store.js";
import { tenantAuth, tenantOf } from "../auth.js";
import { onceOf, writtenValue } from "../idempotency.js";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, responses } from "../schemas.js";

const Endpoint = Type.Object({ id: Type.String(), url: Type.String(), created_at: Type.String() });
const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) }, { additionalProperties: false });
const DeliveryStatusField = Type.Union([Type.Literal("pending"), Type.Literal("delivered"), Type.Literal("failed")]);
const Delivery = Type.Object({
  event_id: Type.String(),
  endpoint_id: Type.String(),
  event_type: Type.String(),
  status: DeliveryStatusField,
  attempts: Type.Integer(),
  next_attempt_at: Type.String(),
  last_status_code: Type.Union([Type.Integer(), Type.Null()]),
  last_error: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
  delivered_at: Type.Union([Type.String(), Type.Null()]),
});

const endpointView = (endpoint: WebhookEndpointRecord) => ({ id: endpoint.id, url: endpoint.url, created_at: endpoint.createdAt });
const deliveryView = (delivery: DeliveryRecord) => ({
  event_id: delivery.eventId,
  endpoint_id: delivery.endpointId,
  event_type: delivery.eventType,
  status: delivery.status,
  attempts: delivery.attempts,
  next_attempt_at: delivery.nextAttemptAt,
  last_status_code: delivery.lastStatusCode,
  last_error: delivery.lastError,
  created_at: delivery.createdAt,
  delivered_at: delivery.deliveredAt,
});

/** Webhook endpoints, their deliveries, and redelivery of an event. */
export const webhookRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { services } = app;

  app.post(
    "/webhooks/",
    {
      preHandler: tenantAuth(services, "write"),
      schema: {
        body: Type.Object({ url: Type.String({ minLength: 1, maxLength: 2048 }) }, { additionalProperties: false }),
        response: responses({ 201: Type.Object({ ...Endpoint.properties, secret: Type.String() }) }),
      },
    },
    async (request, reply) => {
      const endpoint = writtenValue(reply, await services.webhooks.create(tenantOf(request), request.body.url, onceOf(request)));
      // The secret is shown once, here; it signs every delivery to this endpoint.
      return reply.status(201).send({ ...endpointView(endpoint), secret: endpoint.secret });
    },
  );

  app.get(
    "/webhooks/",
    { preHandler: tenantAuth(services, "read"), schema: { response: responses({ 200: Type.Object({ webhooks: Type.Array(Endpoint) }) }) } },
    async (request) => ({ webhooks: (await services.webhooks.list(tenantOf(request))).map(endpointView) }),
  );

  app.delete(
    "/webhooks/:id/",
    {
      preHandler: tenantAuth(services, "write"),
      schema: { params: IdParams, response: responses({ 200: Type.Object({ id: Type.String(), deleted: Type.Literal(true) }) }) },
    },
    async (request, reply) => {
      const removed = writtenValue(reply, await services.webhooks.remove(tenantOf(request), request.params.id, onceOf(request)));
      return { id: removed.id, deleted: true as const };
    },
  );

  app.get(
    "/webhooks/deliveries/",
    {
      preHandler: tenantAuth(services, "read"),
      schema: {
        querystring: Type.Object(
          {
            status: Type.Optional(DeliveryStatusField),
            limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE }),
            offset: Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 }),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: Type.Object({ deliveries: Type.Array(Delivery) }) }),
      },
    },
    async (request) => {
      const { status, limit, offset } = request.query;
      return { deliveries: (await services.webhooks.deliveries(tenantOf(request), status, limit, offset)).map(deliveryView) };
    },
  );

  app.post(
    "/webhooks/events/:id/redeliver/",
    {
      preHandler: tenantAuth(services, "write"),
      schema: { params: IdParams, response: responses({ 200: Type.Object({ event_id: Type.String(), deliveries: Type.Integer() }) }) },
    },
    async (request, reply) => ({
      event_id: request.params.id,
      deliveries: writtenValue(reply, await services.webhooks.redeliver(tenantOf(request), request.params.id, onceOf(request))),
    }),
  );
};
