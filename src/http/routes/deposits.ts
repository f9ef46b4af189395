import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { formatAmount } from "../../ledger/money.js";
import { AppError } from "../../services/errors.js";
import { walletLookup } from "../../services/wallets.js";
import { systemAuth } from "../auth.js";
import { onceOf, writtenValue } from "../idempotency.js";
import { AmountField, CurrencyField, responses, WalletIds } from "../schemas.js";

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

const Deposit = Type.Object({
  id: Type.String(),
  status: Type.Union([Type.Literal("pending"), Type.Literal("confirmed"), Type.Literal("dropped")]),
  confirmations: Type.Integer(),
  required_confirmations: Type.Integer(),
  currency: Type.String(),
  amount: Type.String(),
  tx_hash: Type.String(),
});

export const depositRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { services } = app;

  app.post(
    "/deposits/",
    {
      preHandler: systemAuth(services, "deposits"),
      schema: { body: DepositBody, response: responses({ 200: Type.Object({ deposit: Deposit }) }) },
    },
    async (request, reply) => {
      const body = request.body;
      const namesWallet = body.wallet_id !== undefined || body.external_id !== undefined;
      if (namesWallet === (body.master === true)) {
        throw new AppError("invalid_request", "Name either a wallet (wallet_id or external_id) or master: true", {
          fields: ["wallet_id", "external_id", "master"],
        });
      }
      const written = await services.deposits.report(
        {
          tenantId: body.tenant_id,
          lookup: namesWallet ? walletLookup(body) : undefined,
          currency: body.currency,
          amount: body.amount,
          txHash: body.tx_hash,
          confirmations: body.confirmations,
          status: body.status,
        },
        onceOf(request),
      );
      const { deposit, requiredConfirmations, currency } = writtenValue(reply, written);
      return {
        deposit: {
          id: deposit.id,
          status: deposit.status,
          confirmations: deposit.confirmations,
          required_confirmations: requiredConfirmations,
          currency: deposit.currency,
          amount: formatAmount(deposit.amount, currency.decimals),
          tx_hash: deposit.txHash,
        },
      };
    },
  );
};
