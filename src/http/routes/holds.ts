import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { CurrencyRegistry } from "../../ledger/currencies.js";
import { type HoldResult, MAX_HOLD_TIMEOUT_SECONDS, MIN_HOLD_TIMEOUT_SECONDS } from "../../services/holds.js";
import { balanceView, holdView } from "../../services/views.js";
import { walletLookup } from "../../services/wallets.js";
import { HoldAnswer, HoldLookup } from "../../wire/schemas.js";
import { tenantAuth, tenantOf } from "../auth.js";
import { onceOf, writtenValue } from "../idempotency.js";
import { AmountField, CurrencyField, IdempotencyHeaders, type RouteApp, responses, UuidParams, WalletIds } from "../schemas.js";

const tags = ["Holds"];
/** The routes naming a hold in their path: its form, and what they answer when it names none. */
const holdPath = { params: UuidParams };
const config = { notFound: "Hold not found" };

const PlaceBody = Type.Object(
  {
    ...WalletIds,
    currency: CurrencyField,
    amount: AmountField,
    timeout_seconds: Type.Optional(Type.Integer({ minimum: MIN_HOLD_TIMEOUT_SECONDS, maximum: MAX_HOLD_TIMEOUT_SECONDS })),
    reference: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  },
  { additionalProperties: false },
);

/** Two-phase holds: place, capture (all or part), void, or let expire. */
export const holdRoutes: FastifyPluginAsyncTypebox = async (app) => {
  placeHold(app);
  captureHold(app);
  voidHold(app);
  getHold(app);
};

/** A hold and the balance of its wallet's account after the change. */
const holdAnswer = (currencies: CurrencyRegistry, result: HoldResult) => ({
  hold: holdView(currencies, result.hold),
  balance: balanceView(currencies, result.account),
});

function placeHold(app: RouteApp): void {
  const { services } = app;
  app.post(
    "/holds/",
    {
      preHandler: tenantAuth(services, "write"),
      schema: {
        summary: "Place a hold: move an amount into pending_amount",
        operationId: "placeHold",
        tags,
        headers: IdempotencyHeaders,
        body: PlaceBody,
        response: responses({ 201: HoldAnswer }),
      },
    },
    async (request, reply) => {
      const { currency, amount, timeout_seconds, reference } = request.body;
      const lookup = walletLookup(request.body);
      const hold = { tenantId: tenantOf(request), lookup, currency, amount, timeoutSeconds: timeout_seconds, reference };
      const placed = writtenValue(reply, await services.holds.place(hold, onceOf(request)));
      return reply.status(201).send(holdAnswer(services.currencies, placed));
    },
  );
}

function captureHold(app: RouteApp): void {
  const { services } = app;
  app.post(
    "/holds/:id/capture/",
    {
      preHandler: tenantAuth(services, "write"),
      config,
      schema: {
        summary: "Capture a hold, all of it or part (the rest returns)",
        operationId: "captureHold",
        tags,
        headers: IdempotencyHeaders,
        ...holdPath,
        body: Type.Object({ amount: Type.Optional(AmountField) }, { additionalProperties: false }),
        response: responses({ 200: HoldAnswer }),
      },
    },
    async (request, reply) => {
      const written = await services.holds.capture(tenantOf(request), request.params.id, request.body.amount, onceOf(request));
      return holdAnswer(services.currencies, writtenValue(reply, written));
    },
  );
}

function voidHold(app: RouteApp): void {
  const { services } = app;
  app.post(
    "/holds/:id/void/",
    {
      preHandler: tenantAuth(services, "write"),
      config,
      schema: {
        summary: "Void a hold: release its funds",
        operationId: "voidHold",
        tags,
        headers: IdempotencyHeaders,
        ...holdPath,
        response: responses({ 200: HoldAnswer }),
      },
    },
    async (request, reply) => {
      const written = await services.holds.void(tenantOf(request), request.params.id, onceOf(request));
      return holdAnswer(services.currencies, writtenValue(reply, written));
    },
  );
}

function getHold(app: RouteApp): void {
  const { services } = app;
  app.get(
    "/holds/:id/",
    {
      preHandler: tenantAuth(services, "read"),
      config,
      schema: { summary: "Get a hold", operationId: "getHold", tags, ...holdPath, response: responses({ 200: HoldLookup }) },
    },
    async (request) => ({ hold: holdView(services.currencies, await services.holds.get(tenantOf(request), request.params.id)) }),
  );
}
