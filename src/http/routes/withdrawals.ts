import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { balanceView, withdrawalView } from "../../services/views.js";
import { walletLookup } from "../../services/wallets.js";
import { systemAuth, tenantAuth, tenantOf } from "../auth.js";
import { onceOf, writtenValue } from "../idempotency.js";
import { AmountField, Balance, CurrencyField, MAX_PAGE_SIZE, responses, WalletIds, Withdrawal } from "../schemas.js";

const WithdrawalParams = Type.Object({ id: Type.String({ maxLength: 64 }) }, { additionalProperties: false });
const StatusField = Type.Union([Type.Literal("pending"), Type.Literal("completed"), Type.Literal("failed")]);

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
        body: Type.Object(
          {
            ...WalletIds,
            currency: CurrencyField,
            amount: AmountField,
            address: Type.String({ minLength: 1, maxLength: 128, pattern: "^[A-Za-z0-9:_-]+$" }),
          },
          { additionalProperties: false },
        ),
        response: responses({ 201: Type.Object({ withdrawal: Withdrawal, balance: Balance }) }),
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
      schema: { params: WithdrawalParams, response: responses({ 200: Type.Object({ withdrawal: Withdrawal }) }) },
    },
    async (request) => ({ withdrawal: withdrawalView(currencies, await services.withdrawals.get(tenantOf(request), request.params.id)) }),
  );

  app.get(
    "/system/withdrawals/",
    {
      preHandler: systemAuth(services, "withdrawals"),
      schema: {
        querystring: Type.Object(
          {
            status: Type.Optional(StatusField),
            limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: 100 }),
            offset: Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 }),
          },
          { additionalProperties: false },
        ),
        response: responses({
          200: Type.Object({ withdrawals: Type.Array(Type.Intersect([Withdrawal, Type.Object({ tenant_id: Type.String() })])) }),
        }),
      },
    },
    async (request) => {
      const { status = "pending", limit, offset } = request.query;
      const withdrawals = await services.withdrawals.list(status, limit, offset);
      return {
        withdrawals: withdrawals.map((withdrawal) => ({ ...withdrawalView(currencies, withdrawal), tenant_id: withdrawal.tenantId })),
      };
    },
  );

  app.post(
    "/system/withdrawals/:id/result/",
    {
      preHandler: systemAuth(services, "withdrawals"),
      schema: {
        params: WithdrawalParams,
        body: Type.Object(
          {
            status: Type.Union([Type.Literal("completed"), Type.Literal("failed")]),
            tx_hash: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: "^[A-Za-z0-9:_-]+$" })),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: Type.Object({ withdrawal: Withdrawal }) }),
      },
    },
    async (request, reply) => {
      const written = await services.withdrawals.report(request.params.id, request.body.status, request.body.tx_hash, onceOf(request));
      return { withdrawal: withdrawalView(currencies, writtenValue(reply, written).withdrawal) };
    },
  );
};
