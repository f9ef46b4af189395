import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { type BatchOutcome, MAX_BATCH_MOVEMENTS } from "../../services/batches.js";
import { gameView, transferView } from "../../services/views.js";
import { walletLookup } from "../../services/wallets.js";
import { tenantAuth, tenantOf } from "../auth.js";
import { onceOf, writtenValue } from "../idempotency.js";
import { AmountField, CurrencyField, GameAnswer, responses, TransactionIdField, Transfer, WalletIds } from "../schemas.js";

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

const MovementResult = Type.Object({
  index: Type.Integer(),
  status: Type.Union([Type.Literal("ok"), Type.Literal("failed"), Type.Literal("skipped")]),
  transfer: Type.Optional(Transfer),
  game: Type.Optional(GameAnswer),
  error: Type.Optional(
    Type.Object({ code: Type.String(), message: Type.String(), details: Type.Object({}, { additionalProperties: true }) }),
  ),
});

/** Bulk settlement: many movements, one transaction, one result each. */
export const batchRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { services } = app;
  const { currencies } = services;

  const resultView = (outcome: BatchOutcome, index: number) => {
    if (outcome.status !== "ok") return { index, status: outcome.status, error: outcome.error };
    const { value } = outcome;
    return value.kind === "transfer"
      ? { index, status: outcome.status, transfer: transferView(currencies, value.transfer) }
      : { index, status: outcome.status, game: gameView(currencies, value.game) };
  };

  app.post(
    "/batches/",
    {
      bodyLimit: app.config.batchBodyLimitBytes,
      preHandler: tenantAuth(services, "write"),
      schema: {
        body: Type.Object(
          { movements: Type.Array(Movement, { minItems: 1, maxItems: MAX_BATCH_MOVEMENTS }) },
          { additionalProperties: false },
        ),
        response: responses({
          200: Type.Object({ results: Type.Array(MovementResult), succeeded: Type.Integer(), failed: Type.Integer() }),
        }),
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
      return { results: outcomes.map(resultView), succeeded, failed: outcomes.length - succeeded };
    },
  );
};
