import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { newWebhookEndpointView, webhookDeliveryView, webhookEndpointView } from "../../services/views.js";
import {
  DeliveryStatus,
  NewWebhookEndpoint,
  Redelivery,
  WebhookDeliveryList,
  WebhookEndpointDeleted,
  WebhookEndpointList,
} from "../../wire/schemas.js";
import { tenantAuth, tenantOf } from "../auth.js";
import { onceOf, writtenValue } from "../idempotency.js";
import { DEFAULT_PAGE_SIZE, IdempotencyHeaders, MAX_PAGE_SIZE, type RouteApp, responses, UuidParams } from "../schemas.js";

const tags = ["Webhooks"];

/** Webhook endpoints, their deliveries, and redelivery of an event. */
export const webhookRoutes: FastifyPluginAsyncTypebox = async (app) => {
  createWebhook(app);
  listWebhooks(app);
  deleteWebhook(app);
  listWebhookDeliveries(app);
  redeliverEvent(app);
};

function createWebhook(app: RouteApp): void {
  const { services } = app;
  app.post(
    "/webhooks/",
    {
      preHandler: tenantAuth(services, "write"),
      schema: {
        summary: "Register a webhook endpoint (its signing secret is answered once)",
        operationId: "createWebhook",
        tags,
        headers: IdempotencyHeaders,
        body: Type.Object({ url: Type.String({ minLength: 1, maxLength: 2048 }) }, { additionalProperties: false }),
        response: responses({ 201: NewWebhookEndpoint }),
      },
    },
    async (request, reply) => {
      const endpoint = writtenValue(reply, await services.webhooks.create(tenantOf(request), request.body.url, onceOf(request)));
      // The secret is shown once, here; it signs every delivery to this endpoint.
      return reply.status(201).send(newWebhookEndpointView(endpoint));
    },
  );
}

function listWebhooks(app: RouteApp): void {
  const { services } = app;
  app.get(
    "/webhooks/",
    {
      preHandler: tenantAuth(services, "read"),
      schema: { summary: "List webhook endpoints", operationId: "listWebhooks", tags, response: responses({ 200: WebhookEndpointList }) },
    },
    async (request) => ({ webhooks: (await services.webhooks.list(tenantOf(request))).map(webhookEndpointView) }),
  );
}

function deleteWebhook(app: RouteApp): void {
  const { services } = app;
  app.delete(
    "/webhooks/:id/",
    {
      preHandler: tenantAuth(services, "write"),
      config: { notFound: "Webhook endpoint not found" },
      schema: {
        summary: "Delete a webhook endpoint",
        operationId: "deleteWebhook",
        tags,
        headers: IdempotencyHeaders,
        params: UuidParams,
        response: responses({ 200: WebhookEndpointDeleted }),
      },
    },
    async (request, reply) => {
      const removed = writtenValue(reply, await services.webhooks.remove(tenantOf(request), request.params.id, onceOf(request)));
      return { id: removed.id, deleted: true as const };
    },
  );
}

function listWebhookDeliveries(app: RouteApp): void {
  const { services } = app;
  const querystring = Type.Object(
    {
      status: Type.Optional(DeliveryStatus),
      limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE }),
      offset: Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 }),
    },
    { additionalProperties: false },
  );
  app.get(
    "/webhooks/deliveries/",
    {
      preHandler: tenantAuth(services, "read"),
      schema: {
        summary: "List webhook deliveries",
        operationId: "listWebhookDeliveries",
        tags,
        querystring,
        response: responses({ 200: WebhookDeliveryList }),
      },
    },
    async (request) => {
      const { status, limit, offset } = request.query;
      return { deliveries: (await services.webhooks.deliveries(tenantOf(request), status, limit, offset)).map(webhookDeliveryView) };
    },
  );
}

function redeliverEvent(app: RouteApp): void {
  const { services } = app;
  app.post(
    "/webhooks/events/:id/redeliver/",
    {
      preHandler: tenantAuth(services, "write"),
      // What an event id that names no event with deliveries is answered.
      config: { notFound: "No delivery of this event exists" },
      schema: {
        summary: "Send an event again to every endpoint",
        operationId: "redeliverEvent",
        tags,
        headers: IdempotencyHeaders,
        params: UuidParams,
        response: responses({ 200: Redelivery }),
      },
    },
    async (request, reply) => ({
      event_id: request.params.id,
      deliveries: writtenValue(reply, await services.webhooks.redeliver(tenantOf(request), request.params.id, onceOf(request))),
    }),
  );
}
