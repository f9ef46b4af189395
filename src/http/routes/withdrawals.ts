import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { balanceView, systemWithdrawalView, withdrawalView } from "../../services/views.js";
import { walletLookup } from "../../services/wallets.js";
import { SystemWithdrawalList, WithdrawalAnswer, WithdrawalLookup, WithdrawalStatus } from "../../wire/schemas.js";
import { systemAuth, tenantAuth, tenantOf } from "../auth.js";
import { onceOf, writtenValue } from "../idempotency.js";
import { AmountField, CurrencyField, IdempotencyHeaders, MAX_PAGE_SIZE, responses, WalletIds } from "../schemas.js";

const WithdrawalParams = Type.Object({ id: Type.String({ maxLength: 64 }) }, { additionalProperties: false });

/**
 * Tenants ask to withdraw and read the status; the operator's payout system (system key, scope
 * `withdrawals`) lists the pending ones and reports each result.
 */
export const withdrawalRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { services } = app;
  const { currencies } = services;

  app.post(
    "/withdrawals/",
    {
      preHandler: tenantAuth(services, "write"),
      schema: {
        summary: "Withdraw to a chain address: holds the funds until the payout reports",
        operationId: "requestWithdrawal",
        tags: ["Withdrawals"],
        headers: IdempotencyHeaders,
        body: Type.Object(
          {
            ...WalletIds,
            currency: CurrencyField,
            amount: AmountField,
            address: Type.String({ minLength: 1, maxLength: 128, pattern: "^[A-Za-z0-9:_-]+$" }),
          },
          { additionalProperties: false },
        ),
        response: responses({ 201: WithdrawalAnswer }),
      },
    },
    async (request, reply) => {
      const { currency, amount, address } = request.body;
      const withdrawal = { tenantId: tenantOf(request), lookup: walletLookup(request.body), currency, amount, address };
      const result = writtenValue(reply, await services.withdrawals.request(withdrawal, onceOf(request)));
      return reply
        .status(201)
        .send({ withdrawal: withdrawalView(currencies, result.withdrawal), balance: balanceView(currencies, result.account) });
    },
  );

  app.get(
    "/withdrawals/:id/",
    {
      preHandler: tenantAuth(services, "read"),
      schema: {
        summary: "Get a withdrawal",
        operationId: "getWithdrawal",
        tags: ["Withdrawals"],
        params: WithdrawalParams,
        response: responses({ 200: WithdrawalLookup }),
      },
    },
    async (request) => ({ withdrawal: withdrawalView(currencies, await services.withdrawals.get(tenantOf(request), request.params.id)) }),
  );

  app.get(
    "/system/withdrawals/",
    {
      preHandler: systemAuth(services, "withdrawals"),
      schema: {
        summary: "The payout system's queue of withdrawals (system key)",
        operationId: "listSystemWithdrawals",
        tags: ["Payouts"],
        querystring: Type.Object(
          {
            status: Type.Optional(WithdrawalStatus),
            limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: 100 }),
            offset: Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 }),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: SystemWithdrawalList }),
      },
    },
    async (request) => {
      const { status = "pending", limit, offset } = request.query;
      const withdrawals = await services.withdrawals.list(status, limit, offset);
      return { withdrawals: withdrawals.map((withdrawal) => systemWithdrawalView(currencies, withdrawal)) };
    },
  );

  app.post(
    "/system/withdrawals/:id/result/",
    {
      preHandler: systemAuth(services, "withdrawals"),
      schema: {
        summary: "Report a withdrawal's payout: completed posts the hold, failed voids it (system key)",
        operationId: "reportWithdrawalResult",
        tags: ["Payouts"],
        headers: IdempotencyHeaders,
        params: WithdrawalParams,
        body: Type.Object(
          {
            status: Type.Union([Type.Literal("completed"), Type.Literal("failed")]),
            tx_hash: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: "^[A-Za-z0-9:_-]+$" })),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: WithdrawalLookup }),
      },
    },
    async (request, reply) => {
      const written = await services.withdrawals.report(request.params.id, request.body.status, request.body.tx_hash, onceOf(request));
      return { withdrawal: withdrawalView(currencies, writtenValue(reply, written).withdrawal) };
    },
  );
};
