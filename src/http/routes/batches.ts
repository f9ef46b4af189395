import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { MAX_BATCH_MOVEMENTS } from "../../services/batches.js";
import { batchResultView } from "../../services/views.js";
import { walletLookup } from "../../services/wallets.js";
import { BatchAnswer } from "../../wire/schemas.js";
import { tenantAuth, tenantOf } from "../auth.js";
import { onceOf, writtenValue } from "../idempotency.js";
import { AmountField, CurrencyField, IdempotencyHeaders, responses, TransactionIdField, WalletIds } from "../schemas.js";

const Movement = Type.Object(
  {
    type: Type.Union([Type.Literal("transfer_to_user"), Type.Literal("withdraw_to_master"), Type.Literal("bet"), Type.Literal("win")]),
    ...WalletIds,
    currency: CurrencyField,
    amount: AmountField,
    transaction_id: Type.Optional(TransactionIdField),
    round_id: Type.Optional(TransactionIdField),
    bet_transaction_id: Type.Optional(TransactionIdField),
    group: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);

/** Bulk settlement: many movements, one transaction, one result each. */
export const batchRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { services } = app;
  const { currencies } = services;

  app.post(
    "/batches/",
    {
      bodyLimit: app.config.batchBodyLimitBytes,
      preHandler: tenantAuth(services, "write"),
      schema: {
        summary: "Up to 8 190 movements in one transaction, one result each",
        description: "Consecutive movements sharing a `group` succeed or fail as one.",
        operationId: "runBatch",
        tags: ["Batches"],
        headers: IdempotencyHeaders,
        body: Type.Object(
          { movements: Type.Array(Movement, { minItems: 1, maxItems: MAX_BATCH_MOVEMENTS }) },
          { additionalProperties: false },
        ),
        response: responses({ 200: BatchAnswer }),
      },
    },
    async (request, reply) => {
      const movements = request.body.movements.map((movement) => ({
        type: movement.type,
        lookup: walletLookup(movement),
        currency: movement.currency,
        amount: movement.amount,
        transactionId: movement.transaction_id,
        roundId: movement.round_id,
        betTransactionId: movement.bet_transaction_id,
        group: movement.group,
      }));
      const outcomes = writtenValue(reply, await services.batches.run(tenantOf(request), movements, onceOf(request)));
      const succeeded = outcomes.filter((outcome) => outcome.status === "ok").length;
      const results = outcomes.map((outcome, index) => batchResultView(currencies, outcome, index));
      return { results, succeeded, failed: outcomes.length - succeeded };
    },
  );
};
