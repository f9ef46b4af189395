import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { transferView, walletSummaryView } from "../../services/views.js";
import { walletLookup } from "../../services/wallets.js";
import { TransferAnswer, TransferHistory, TransferStatus, TransferType } from "../../wire/schemas.js";
import { tenantAuth, tenantOf } from "../auth.js";
import { onceOf, writtenValue } from "../idempotency.js";
import {
  AmountField,
  CurrencyField,
  DEFAULT_PAGE_SIZE,
  IdempotencyHeaders,
  MAX_PAGE_SIZE,
  type RouteApp,
  responses,
  TimeField,
  WalletIds,
} from "../schemas.js";

const MovementBody = Type.Object({ ...WalletIds, currency: CurrencyField, amount: AmountField }, { additionalProperties: false });

const HistoryBody = Type.Object(
  {
    ...WalletIds,
    status: Type.Optional(TransferStatus),
    transfer_type: Type.Optional(TransferType),
    currency: Type.Optional(CurrencyField),
    from: Type.Optional(TimeField("Transfers created at or after this time")),
    to: Type.Optional(TimeField("Transfers created before this time")),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000 })),
  },
  { additionalProperties: false },
);

/** Moves between a wallet and the tenant's master account, and a wallet's transfer history. */
export const transferRoutes: FastifyPluginAsyncTypebox = async (app) => {
  movementRoutes(app);
  transferHistory(app);
};

function movementRoutes(app: RouteApp): void {
  const { services } = app;
  const { currencies } = services;
  const movementSchema = {
    tags: ["Transfers"],
    headers: IdempotencyHeaders,
    body: MovementBody,
    response: responses({ 200: TransferAnswer }),
  };
  const toUser = { ...movementSchema, summary: "Move funds from the master account to a wallet", operationId: "transferToUser" };
  const toMaster = { ...movementSchema, summary: "Move funds from a wallet to the master account", operationId: "withdrawToMaster" };

  app.post("/wallets/transfer-to-user/", { preHandler: tenantAuth(services, "write"), schema: toUser }, async (request, reply) => {
    const { currency, amount } = request.body;
    const movement = { tenantId: tenantOf(request), lookup: walletLookup(request.body), currency, amount };
    return { transfer: transferView(currencies, writtenValue(reply, await services.transfers.transferToUser(movement, onceOf(request)))) };
  });

  app.post("/wallets/withdraw-to-master/", { preHandler: tenantAuth(services, "write"), schema: toMaster }, async (request, reply) => {
    const { currency, amount } = request.body;
    const movement = { tenantId: tenantOf(request), lookup: walletLookup(request.body), currency, amount };
    return {
      transfer: transferView(currencies, writtenValue(reply, await services.transfers.withdrawToMaster(movement, onceOf(request)))),
    };
  });
}

function transferHistory(app: RouteApp): void {
  const { services } = app;
  app.post(
    "/wallets/transfer-history/",
    {
      preHandler: tenantAuth(services, "read"),
      schema: {
        summary: "A wallet's transfers, newest first",
        operationId: "transferHistory",
        tags: ["Transfers"],
        body: HistoryBody,
        response: responses({ 200: TransferHistory }),
      },
    },
    async (request) => {
      const { status, transfer_type, currency, from, to, limit = DEFAULT_PAGE_SIZE, offset = 0 } = request.body;
      const filter = { status, transferType: transfer_type, currency, from, to, limit, offset };
      const page = await services.transfers.history({ tenantId: tenantOf(request), lookup: walletLookup(request.body), ...filter });
      return {
        // The specification's word for the wallet.
        account: walletSummaryView(page.wallet),
        transfers: page.transfers.map((transfer) => transferView(services.currencies, transfer)),
        pagination: { total: page.total, limit, offset },
      };
    },
  );
}
