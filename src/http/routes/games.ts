import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { AppError } from "../../services/errors.js";
import { gameView } from "../../services/views.js";
import { walletLookup } from "../../services/wallets.js";
import { GameAnswer } from "../../wire/schemas.js";
import { tenantAuth, tenantOf } from "../auth.js";
import { onceOf, writtenValue } from "../idempotency.js";
import { AmountField, CurrencyField, IdempotencyHeaders, type RouteApp, responses, TransactionIdField, WalletIds } from "../schemas.js";

const GameFields = { ...WalletIds, transaction_id: TransactionIdField, round_id: TransactionIdField };

const BetBody = Type.Object({ ...GameFields, currency: CurrencyField, amount: AmountField }, { additionalProperties: false });
const WinBody = Type.Object(
  { ...GameFields, currency: CurrencyField, amount: AmountField, bet_transaction_id: TransactionIdField },
  { additionalProperties: false },
);
const RollbackBody = Type.Object(
  { ...GameFields, bet_transaction_id: TransactionIdField, currency: CurrencyField, amount: Type.Optional(AmountField) },
  { additionalProperties: false },
);

const schema = (summary: string, operationId: string) => ({
  summary,
  operationId,
  tags: ["Games"],
  headers: IdempotencyHeaders,
  response: responses({ 200: GameAnswer }),
});

/** Seamless-wallet calls of game aggregators: every answer carries the new balance. */
export const gameRoutes: FastifyPluginAsyncTypebox = async (app) => {
  placeBet(app);
  creditWin(app);
  rollbackBet(app);
};

/** What every game call names: the wallet, the transaction and its round, and the money. */
function gameRequest(
  tenantId: string,
  body: { wallet_id?: string; external_id?: string; transaction_id: string; round_id: string; currency?: string; amount?: string | number },
) {
  return {
    tenantId,
    lookup: walletLookup(body),
    transactionId: body.transaction_id,
    roundId: body.round_id,
    currency: body.currency,
    amount: body.amount,
  };
}

function placeBet(app: RouteApp): void {
  const { services } = app;
  app.post(
    "/games/bets/",
    {
      preHandler: tenantAuth(services, "write"),
      schema: { ...schema("Place a bet: debit the player's available balance", "placeBet"), body: BetBody },
    },
    async (request, reply) => {
      const written = await services.games.bet(gameRequest(tenantOf(request), request.body), onceOf(request));
      return gameView(services.currencies, writtenValue(reply, written));
    },
  );
}

function creditWin(app: RouteApp): void {
  const { services } = app;
  app.post(
    "/games/wins/",
    { preHandler: tenantAuth(services, "write"), schema: { ...schema("Credit a win of a bet", "creditWin"), body: WinBody } },
    async (request, reply) => {
      const game = { ...gameRequest(tenantOf(request), request.body), betTransactionId: request.body.bet_transaction_id };
      return gameView(services.currencies, writtenValue(reply, await services.games.win(game, onceOf(request))));
    },
  );
}

function rollbackBet(app: RouteApp): void {
  const { services } = app;
  app.post(
    "/games/rollbacks/",
    {
      preHandler: tenantAuth(services, "write"),
      schema: { ...schema("Roll a bet back, exactly once", "rollbackBet"), body: RollbackBody },
    },
    async (request, reply) => {
      const game = { ...gameRequest(tenantOf(request), request.body), betTransactionId: request.body.bet_transaction_id };
      const result = writtenValue(reply, await services.games.rollback(game, onceOf(request)));
      // The tenant chose to hear about unknown bets; the tombstone is stored all the same.
      if (result.betNotFound)
        throw new AppError("not_found", "Bet not found; it is tombstoned and can never be placed", {
          bet_transaction_id: game.betTransactionId,
        });
      return gameView(services.currencies, result);
    },
  );
}
