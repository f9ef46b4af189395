import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { accountSummaryView, transferView } from "../../services/views.js";
import { walletLookup } from "../../services/wallets.js";
import { tenantAuth, tenantOf } from "../auth.js";
import { onceOf, writtenValue } from "../idempotency.js";
import {
  AccountSummary,
  AmountField,
  CurrencyField,
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  responses,
  Transfer,
  TransferStatusField,
  TransferTypeField,
  WalletIds,
} from "../schemas.js";

const MovementBody = Type.Object({ ...WalletIds, currency: CurrencyField, amount: AmountField }, { additionalProperties: false });

export const transferRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { services } = app;
  const { currencies } = services;
  const movementSchema = { body: MovementBody, response: responses({ 200: Type.Object({ transfer: Transfer }) }) };

  app.post("/wallets/transfer-to-user/", { preHandler: tenantAuth(services, "write"), schema: movementSchema }, async (request, reply) => {
    const { currency, amount } = request.body;
    const movement = { tenantId: tenantOf(request), lookup: walletLookup(request.body), currency, amount };
    return { transfer: transferView(currencies, writtenValue(reply, await services.transfers.transferToUser(movement, onceOf(request)))) };
  });

  app.post(
    "/wallets/withdraw-to-master/",
    { preHandler: tenantAuth(services, "write"), schema: movementSchema },
    async (request, reply) => {
      const { currency, amount } = request.body;
      const movement = { tenantId: tenantOf(request), lookup: walletLookup(request.body), currency, amount };
      return {
        transfer: transferView(currencies, writtenValue(reply, await services.transfers.withdrawToMaster(movement, onceOf(request)))),
      };
    },
  );

  app.post(
    "/wallets/transfer-history/",
    {
      preHandler: tenantAuth(services, "read"),
      schema: {
        body: Type.Object(
          {
            ...WalletIds,
            status: Type.Optional(TransferStatusField),
            transfer_type: Type.Optional(TransferTypeField),
            currency: Type.Optional(CurrencyField),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE })),
            offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000 })),
          },
          { additionalProperties: false },
        ),
        response: responses({
          200: Type.Object({
            account: AccountSummary,
            transfers: Type.Array(Transfer),
            pagination: Type.Object({ total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() }),
          }),
        }),
      },
    },
    async (request) => {
      const { status, transfer_type, currency, limit = DEFAULT_PAGE_SIZE, offset = 0 } = request.body;
      const page = await services.transfers.history({
        tenantId: tenantOf(request),
        lookup: walletLookup(request.body),
        status,
        transferType: transfer_type,
        currency,
        limit,
        offset,
      });
      return {
        account: accountSummaryView(page.wallet),
        transfers: page.transfers.map((transfer) => transferView(currencies, transfer)),
        pagination: { total: page.total, limit, offset },
      };
    },
  );
};
