import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { walletNotFound } from "../../services/errors.js";
import { balanceView, depositView, walletListEntryView, walletSummaryView, walletView } from "../../services/views.js";
import { pathLookup, walletLookup } from "../../services/wallets.js";
import type { WalletBalancesRecord } from "../../store/store.js";
import { DepositList, MasterBalances, Wallet, WalletBalances, WalletPage } from "../../wire/schemas.js";
import { principalOf, tenantAuth, tenantOf } from "../auth.js";
import { onceOf, writtenValue } from "../idempotency.js";
import {
  DEFAULT_PAGE_SIZE,
  ExternalIdField,
  IdempotencyHeaders,
  MAX_PAGE_SIZE,
  type RouteApp,
  responses,
  WalletIds,
  WalletParams,
} from "../schemas.js";

const tags = ["Wallets"];
/** The routes naming a wallet in their path: its form, and what they answer when it names none. */
const walletPath = { params: WalletParams };
const config = { notFound: walletNotFound().message };

/** Wallets and their balances, and the tenant's master account. */
export const walletRoutes: FastifyPluginAsyncTypebox = async (app) => {
  createWallet(app);
  listWallets(app);
  getWallet(app);
  listWalletDeposits(app);
  getWalletBalances(app);
  getMasterBalances(app);
};

function createWallet(app: RouteApp): void {
  const { services } = app;
  const body = Type.Object(
    { name: Type.String({ minLength: 1, maxLength: 200 }), external_id: ExternalIdField },
    { additionalProperties: false },
  );
  app.post(
    "/wallets/",
    {
      preHandler: tenantAuth(services, "write"),
      schema: {
        summary: "Create a wallet",
        operationId: "createWallet",
        tags,
        headers: IdempotencyHeaders,
        body,
        response: responses({ 201: Wallet }),
      },
    },
    async (request, reply) => {
      const written = await services.wallets.create(tenantOf(request), request.body.name, request.body.external_id, onceOf(request));
      // A new wallet has no balance and no exclusion.
      return reply.status(201).send(walletView(services.currencies, writtenValue(reply, written), [], null));
    },
  );
}

function listWallets(app: RouteApp): void {
  const { services } = app;
  const querystring = Type.Object(
    {
      limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE }),
      offset: Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 }),
      search: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: "Matches name or external_id" })),
    },
    { additionalProperties: false },
  );
  app.get(
    "/wallets/",
    {
      preHandler: tenantAuth(services, "read"),
      schema: {
        summary: "List wallets with their balances",
        operationId: "listWallets",
        tags,
        querystring,
        response: responses({ 200: WalletPage }),
      },
    },
    async (request) => {
      const { limit, offset, search } = request.query;
      const page = await services.wallets.list(tenantOf(request), limit, offset, search);
      const wallets = page.wallets.map((entry) => walletListEntryView(services.currencies, entry.wallet, entry.accounts));
      // The contract (DESIGN 1.5) calls the list of wallets `accounts`.
      return { accounts: wallets, total: page.total, limit, offset };
    },
  );
}

function getWallet(app: RouteApp): void {
  const { services } = app;
  app.get(
    "/wallets/:id/",
    {
      preHandler: tenantAuth(services, "read"),
      config,
      schema: {
        summary: "Get one wallet with its balances",
        operationId: "getWallet",
        tags,
        ...walletPath,
        response: responses({ 200: Wallet }),
      },
    },
    async (request) => {
      const { wallet, accounts } = await services.wallets.get(tenantOf(request), pathLookup(request.params.id));
      return walletView(services.currencies, wallet, accounts, await services.limits.exclusionOf(wallet.uuid));
    },
  );
}

function listWalletDeposits(app: RouteApp): void {
  const { services } = app;
  const querystring = Type.Object(
    {
      status: Type.Optional(Type.Union([Type.Literal("pending"), Type.Literal("confirmed"), Type.Literal("dropped")])),
      limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE }),
    },
    { additionalProperties: false },
  );
  app.get(
    "/wallets/:id/deposits/",
    {
      preHandler: tenantAuth(services, "read"),
      config,
      schema: {
        summary: "List a wallet's deposits with their confirmations",
        operationId: "listWalletDeposits",
        tags: ["Deposits"],
        ...walletPath,
        querystring,
        response: responses({ 200: DepositList }),
      },
    },
    async (request) => {
      const { status, limit } = request.query;
      const deposits = await services.wallets.deposits(tenantOf(request), pathLookup(request.params.id), status, limit);
      return { deposits: deposits.map((deposit) => depositView(services.currencies, deposit)) };
    },
  );
}

function getWalletBalances(app: RouteApp): void {
  const { services } = app;
  // The specification calls the wallet `account`; its balances are those of its ledger accounts.
  const answer = (wallet: WalletBalancesRecord) => ({
    account: walletSummaryView(wallet),
    balances: wallet.accounts.map((account) => balanceView(services.currencies, account)),
  });
  app.post(
    "/wallets/balances/",
    {
      preHandler: tenantAuth(services, "read", "write"),
      // The balance read checks the API key in its own statement (services/wallets.ts `balances`).
      config: { apiKeyCheckedByRead: true },
      schema: {
        summary: "Get Wallet Balance (the specification's endpoint)",
        description: "Names the wallet by wallet_id or external_id (wallet_id wins when both are given).",
        operationId: "getWalletBalances",
        tags,
        body: Type.Object(WalletIds, { additionalProperties: false }),
        response: responses({ 200: WalletBalances }),
      },
    },
    // Not `async`: on SQLite the read answers at once, and so does the route (services/wallets.ts).
    (request) => {
      const wallet = services.wallets.balances(principalOf(request), walletLookup(request.body));
      return wallet instanceof Promise ? wallet.then(answer) : answer(wallet);
    },
  );
}

function getMasterBalances(app: RouteApp): void {
  const { services } = app;
  app.get(
    "/master/balances/",
    {
      preHandler: tenantAuth(services, "read"),
      schema: {
        summary: "The tenant's master account balances",
        operationId: "getMasterBalances",
        tags,
        response: responses({ 200: MasterBalances }),
      },
    },
    async (request) => {
      const accounts = await services.wallets.masterAccounts(tenantOf(request));
      return { balances: accounts.map((account) => balanceView(services.currencies, account)) };
    },
  );
}
