import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { MAX_HOLD_TIMEOUT_SECONDS, MIN_HOLD_TIMEOUT_SECONDS } from "../../services/holds.js";
import { balanceView, holdView } from "../../services/views.js";
import { walletLookup } from "../../services/wallets.js";
import { HoldAnswer, HoldLookup } from "../../wire/schemas.js";
import { tenantAuth, tenantOf } from "../auth.js";
import { onceOf, writtenValue } from "../idempotency.js";
import { AmountField, CurrencyField, IdempotencyHeaders, responses, WalletIds } from "../schemas.js";

const HoldParams = Type.Object({ id: Type.String({ maxLength: 64 }) }, { additionalProperties: false });

/** Two-phase holds: place, capture (all or part), void, or let expire. */
export const holdRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { services } = app;
  const { currencies } = services;
  const answer = responses({ 200: HoldAnswer });
  const tags = ["Holds"];
  const shaped = (result: { hold: Parameters<typeof holdView>[1]; account: Parameters<typeof balanceView>[1] }) => ({
    hold: holdView(currencies, result.hold),
    balance: balanceView(currencies, result.account),
  });

  app.post(
    "/holds/",
    {
      preHandler: tenantAuth(services, "write"),
      schema: {
        summary: "Place a hold: move an amount into pending_amount",
        operationId: "placeHold",
        tags,
        headers: IdempotencyHeaders,
        body: Type.Object(
          {
            ...WalletIds,
            currency: CurrencyField,
            amount: AmountField,
            timeout_seconds: Type.Optional(Type.Integer({ minimum: MIN_HOLD_TIMEOUT_SECONDS, maximum: MAX_HOLD_TIMEOUT_SECONDS })),
            reference: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
          },
          { additionalProperties: false },
        ),
        response: responses({ 201: HoldAnswer }),
      },
    },
    async (request, reply) => {
      const { currency, amount, timeout_seconds, reference } = request.body;
      const hold = {
        tenantId: tenantOf(request),
        lookup: walletLookup(request.body),
        currency,
        amount,
        timeoutSeconds: timeout_seconds,
        reference,
      };
      return reply.status(201).send(shaped(writtenValue(reply, await services.holds.place(hold, onceOf(request)))));
    },
  );

  app.post(
    "/holds/:id/capture/",
    {
      preHandler: tenantAuth(services, "write"),
      schema: {
        summary: "Capture a hold, all of it or part (the rest returns)",
        operationId: "captureHold",
        tags,
        headers: IdempotencyHeaders,
        params: HoldParams,
        body: Type.Object({ amount: Type.Optional(AmountField) }, { additionalProperties: false }),
        response: answer,
      },
    },
    async (request, reply) => {
      const written = await services.holds.capture(tenantOf(request), request.params.id, request.body.amount, onceOf(request));
      return shaped(writtenValue(reply, written));
    },
  );

  app.post(
    "/holds/:id/void/",
    {
      preHandler: tenantAuth(services, "write"),
      schema: {
        summary: "Void a hold: release its funds",
        operationId: "voidHold",
        tags,
        headers: IdempotencyHeaders,
        params: HoldParams,
        response: answer,
      },
    },
    async (request, reply) => {
      return shaped(writtenValue(reply, await services.holds.void(tenantOf(request), request.params.id, onceOf(request))));
    },
  );

  app.get(
    "/holds/:id/",
    {
      preHandler: tenantAuth(services, "read"),
      schema: { summary: "Get a hold", operationId: "getHold", tags, params: HoldParams, response: responses({ 200: HoldLookup }) },
    },
    async (request) => ({ hold: holdView(currencies, await services.holds.get(tenantOf(request), request.params.id)) }),
  );
};
