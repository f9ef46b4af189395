import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { type Static, Type } from "typebox";
import { invalidFields } from "../../services/errors.js";
import { depositView } from "../../services/views.js";
import { walletLookup } from "../../services/wallets.js";
import type { WalletLookup } from "../../store/store.js";
import { DepositAnswer } from "../../wire/schemas.js";
import { systemAuth } from "../auth.js";
import { onceOf, writtenValue } from "../idempotency.js";
import { AmountField, CurrencyField, IdempotencyHeaders, responses, WalletIds } from "../schemas.js";

const DepositBody = Type.Object(
  {
    tenant_id: Type.String({ minLength: 1, maxLength: 64 }),
    ...WalletIds,
    master: Type.Optional(Type.Boolean()),
    currency: CurrencyField,
    amount: AmountField,
    tx_hash: Type.String({ minLength: 1, maxLength: 128, pattern: "^[A-Za-z0-9:_-]+$" }),
    confirmations: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }),
    status: Type.Optional(Type.Union([Type.Literal("confirmed"), Type.Literal("dropped")])),
  },
  { additionalProperties: false },
);

/** Deposits reported by the operator's chain watcher (system key, scope `deposits`). */
export const depositRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { services } = app;

  app.post(
    "/deposits/",
    {
      preHandler: systemAuth(services, "deposits"),
      schema: {
        summary: "Report a chain deposit (the chain watcher, system key)",
        description:
          "Below the currency's required confirmations a deposit is pending, at or above it confirmed; " +
          '"status": "dropped" voids a pending one. The same (currency, tx_hash) again only updates it.',
        operationId: "reportDeposit",
        tags: ["Deposits"],
        headers: IdempotencyHeaders,
        body: DepositBody,
        response: responses({ 200: DepositAnswer }),
      },
    },
    async (request, reply) => {
      const { body } = request;
      const report = {
        tenantId: body.tenant_id,
        lookup: creditedWallet(body),
        currency: body.currency,
        amount: body.amount,
        txHash: body.tx_hash,
        confirmations: body.confirmations,
        status: body.status,
      };
      const written = await services.deposits.report(report, onceOf(request));
      return { deposit: depositView(services.currencies, writtenValue(reply, written).deposit) };
    },
  );
};

/** The wallet a deposit credits, or undefined for the tenant's master account: exactly one must be named. */
function creditedWallet(body: Static<typeof DepositBody>): WalletLookup | undefined {
  const namesWallet = body.wallet_id !== undefined || body.external_id !== undefined;
  if (namesWallet === (body.master === true)) {
    throw invalidFields("Name either a wallet (wallet_id or external_id) or master: true", {
      master: namesWallet ? "must not be true when a wallet is named" : "must be true when no wallet is named",
    });
  }
  return namesWallet ? walletLookup(body) : undefined;
}
