import { type Static, Type } from "typebox";
import { Amount, CurrencyCode, Timestamp } from "./common.js";
import { Balance } from "./wallets.js";

export const GameTransaction = Type.Object(
  {
    transaction_id: Type.String(),
    type: Type.Union([Type.Literal("bet"), Type.Literal("win"), Type.Literal("rollback")]),
    round_id: Type.String(),
    bet_transaction_id: Type.Union([Type.String(), Type.Null()]),
    currency: Type.Union([CurrencyCode, Type.Null()]),
    amount: Amount,
    status: Type.Union([Type.Literal("completed"), Type.Literal("settled"), Type.Literal("rolled_back"), Type.Literal("tombstone")]),
    created_at: Timestamp,
  },
  { title: "GameTransaction" },
);

export const GameAnswer = Type.Object(
  {
    transaction: GameTransaction,
    balance: Type.Union([Balance, Type.Null()], { description: "The wallet's balance in the call's currency after it" }),
  },
  { title: "GameAnswer" },
);

export type GameTransaction = Static<typeof GameTransaction>;
export type GameAnswer = Static<typeof GameAnswer>;
