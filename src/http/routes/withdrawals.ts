import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { balanceView, systemWithdrawalView, withdrawalView } from "../../services/views.js";
import { walletLookup } from "../../services/wallets.js";
import { SystemWithdrawalList, WithdrawalAnswer, WithdrawalLookup, WithdrawalStatus } from "../../wire/schemas.js";
import { systemAuth, tenantAuth, tenantOf } from "../auth.js";
import { onceOf, writtenValue } from "../idempotency.js";
import {
  AmountField,
  CurrencyField,
  IdempotencyHeaders,
  MAX_PAGE_SIZE,
  type RouteApp,
  responses,
  UuidParams,
  WalletIds,
} from "../schemas.js";

/** The routes naming a withdrawal in their path: its form, and what they answer when it names none. */
const withdrawalPath = { params: UuidParams };
const config = { notFound: "Withdrawal not found" };
const ChainText = Type.String({ minLength: 1, maxLength: 128, pattern: "^[A-Za-z0-9:_-]+$" });

/**
 * Tenants ask to withdraw and read the status; the operator's payout system (system key, scope
 * `withdrawals`) lists the pending ones and reports each result.
 */
export const withdrawalRoutes: FastifyPluginAsyncTypebox = async (app) => {
  requestWithdrawal(app);
  getWithdrawal(app);
  listSystemWithdrawals(app);
  reportWithdrawalResult(app);
};

function requestWithdrawal(app: RouteApp): void {
  const { services } = app;
  const body = Type.Object(
    { ...WalletIds, currency: CurrencyField, amount: AmountField, address: ChainText },
    { additionalProperties: false },
  );
  app.post(
    "/withdrawals/",
    {
      preHandler: tenantAuth(services, "write"),
      schema: {
        summary: "Withdraw to a chain address: holds the funds until the payout reports",
        operationId: "requestWithdrawal",
        tags: ["Withdrawals"],
        headers: IdempotencyHeaders,
        body,
        response: responses({ 201: WithdrawalAnswer }),
      },
    },
    async (request, reply) => {
      const { currency, amount, address } = request.body;
      const withdrawal = { tenantId: tenantOf(request), lookup: walletLookup(request.body), currency, amount, address };
      const result = writtenValue(reply, await services.withdrawals.request(withdrawal, onceOf(request)));
      const { currencies } = services;
      return reply
        .status(201)
        .send({ withdrawal: withdrawalView(currencies, result.withdrawal), balance: balanceView(currencies, result.account) });
    },
  );
}

function getWithdrawal(app: RouteApp): void {
  const { services } = app;
  app.get(
    "/withdrawals/:id/",
    {
      preHandler: tenantAuth(services, "read"),
      config,
      schema: {
        summary: "Get a withdrawal",
        operationId: "getWithdrawal",
        tags: ["Withdrawals"],
        ...withdrawalPath,
        response: responses({ 200: WithdrawalLookup }),
      },
    },
    async (request) => {
      const withdrawal = await services.withdrawals.get(tenantOf(request), request.params.id);
      return { withdrawal: withdrawalView(services.currencies, withdrawal) };
    },
  );
}

function listSystemWithdrawals(app: RouteApp): void {
  const { services } = app;
  const querystring = Type.Object(
    {
      status: Type.Optional(WithdrawalStatus),
      limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: 100 }),
      offset: Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 }),
    },
    { additionalProperties: false },
  );
  app.get(
    "/system/withdrawals/",
    {
      preHandler: systemAuth(services, "withdrawals"),
      schema: {
        summary: "The payout system's queue of withdrawals (system key)",
        operationId: "listSystemWithdrawals",
        tags: ["Payouts"],
        querystring,
        response: responses({ 200: SystemWithdrawalList }),
      },
    },
    async (request) => {
      const { status = "pending", limit, offset } = request.query;
      const withdrawals = await services.withdrawals.list(status, limit, offset);
      return { withdrawals: withdrawals.map((withdrawal) => systemWithdrawalView(services.currencies, withdrawal)) };
    },
  );
}

function reportWithdrawalResult(app: RouteApp): void {
  const { services } = app;
  const body = Type.Object(
    { status: Type.Union([Type.Literal("completed"), Type.Literal("failed")]), tx_hash: Type.Optional(ChainText) },
    { additionalProperties: false },
  );
  app.post(
    "/system/withdrawals/:id/result/",
    {
      preHandler: systemAuth(services, "withdrawals"),
      config,
      schema: {
        summary: "Report a withdrawal's payout: completed posts the hold, failed voids it (system key)",
        operationId: "reportWithdrawalResult",
        tags: ["Payouts"],
        headers: IdempotencyHeaders,
        ...withdrawalPath,
        body,
        response: responses({ 200: WithdrawalLookup }),
      },
    },
    async (request, reply) => {
      const written = await services.withdrawals.report(request.params.id, request.body.status, request.body.tx_hash, onceOf(request));
      return { withdrawal: withdrawalView(services.currencies, writtenValue(reply, written).withdrawal) };
    },
  );
}
