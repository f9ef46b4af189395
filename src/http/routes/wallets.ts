import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { accountSummaryView, balanceView, depositView, walletListEntryView, walletView } from "../../services/views.js";
import { pathLookup, walletLookup } from "../../services/wallets.js";
import { DepositList, MasterBalances, Wallet, WalletBalances, WalletPage } from "../../wire/schemas.js";
import { tenantAuth, tenantOf } from "../auth.js";
import { onceOf, writtenValue } from "../idempotency.js";
import { DEFAULT_PAGE_SIZE, ExternalIdField, IdempotencyHeaders, MAX_PAGE_SIZE, responses, WalletIds } from "../schemas.js";

export const walletRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { services } = app;
  const { currencies } = services;

  app.post(
    "/wallets/",
    {
      preHandler: tenantAuth(services, "write"),
      schema: {
        summary: "Create a wallet",
        operationId: "createWallet",
        tags: ["Wallets"],
        headers: IdempotencyHeaders,
        body: Type.Object(
          { name: Type.String({ minLength: 1, maxLength: 200 }), external_id: ExternalIdField },
          { additionalProperties: false },
        ),
        response: responses({ 201: Wallet }),
      },
    },
    async (request, reply) => {
      const written = await services.wallets.create(tenantOf(request), request.body.name, request.body.external_id, onceOf(request));
      return reply.status(201).send(walletView(currencies, writtenValue(reply, written), []));
    },
  );

  app.get(
    "/wallets/",
    {
      preHandler: tenantAuth(services, "read"),
      schema: {
        summary: "List wallets with their balances",
        operationId: "listWallets",
        tags: ["Wallets"],
        querystring: Type.Object(
          {
            limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE }),
            offset: Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 }),
            search: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: "Matches name or external_id" })),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: WalletPage }),
      },
    },
    async (request) => {
      const { limit, offset, search } = request.query;
      const page = await services.wallets.list(tenantOf(request), limit, offset, search);
      return {
        accounts: page.wallets.map((entry) => walletListEntryView(currencies, entry.wallet, entry.accounts)),
        total: page.total,
        limit,
        offset,
      };
    },
  );

  app.get(
    "/wallets/:id/",
    {
      preHandler: tenantAuth(services, "read"),
      schema: {
        summary: "Get one wallet with its balances",
        operationId: "getWallet",
        tags: ["Wallets"],
        params: Type.Object(
          { id: Type.String({ maxLength: 64, description: "The wallet's wallet_id or id" }) },
          { additionalProperties: false },
        ),
        response: responses({ 200: Wallet }),
      },
    },
    async (request) => {
      const { wallet, accounts } = await services.wallets.get(tenantOf(request), pathLookup(request.params.id));
      return walletView(currencies, wallet, accounts);
    },
  );

  app.get(
    "/wallets/:id/deposits/",
    {
      preHandler: tenantAuth(services, "read"),
      schema: {
        summary: "List a wallet's deposits with their confirmations",
        operationId: "listWalletDeposits",
        tags: ["Deposits"],
        params: Type.Object(
          { id: Type.String({ maxLength: 64, description: "The wallet's wallet_id or id" }) },
          { additionalProperties: false },
        ),
        querystring: Type.Object(
          {
            status: Type.Optional(Type.Union([Type.Literal("pending"), Type.Literal("confirmed"), Type.Literal("dropped")])),
            limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE }),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: DepositList }),
      },
    },
    async (request) => {
      const { status, limit } = request.query;
      const deposits = await services.wallets.deposits(tenantOf(request), pathLookup(request.params.id), status, limit);
      return { deposits: deposits.map((deposit) => depositView(currencies, deposit)) };
    },
  );

  app.post(
    "/wallets/balances/",
    {
      preHandler: tenantAuth(services, "read", "write"),
      schema: {
        summary: "Get Wallet Balance (the specification's endpoint)",
        description: "Names the wallet by wallet_id or external_id (wallet_id wins when both are given).",
        operationId: "getWalletBalances",
        tags: ["Wallets"],
        body: Type.Object(WalletIds, { additionalProperties: false }),
        response: responses({ 200: WalletBalances }),
      },
    },
    async (request) => {
      const { wallet, accounts } = await services.wallets.get(tenantOf(request), walletLookup(request.body));
      return { account: accountSummaryView(wallet), balances: accounts.map((account) => balanceView(currencies, account)) };
    },
  );

  app.get(
    "/master/balances/",
    {
      preHandler: tenantAuth(services, "read"),
      schema: {
        summary: "The tenant's master account balances",
        operationId: "getMasterBalances",
        tags: ["Wallets"],
        response: responses({ 200: MasterBalances }),
      },
    },
    async (request) => {
      const accounts = await services.wallets.masterAccounts(tenantOf(request));
      return { balances: accounts.map((account) => balanceView(currencies, account)) };
    },
  );
};
