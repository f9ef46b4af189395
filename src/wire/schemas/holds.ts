import { type Static, Type } from "typebox";
import { Amount, CurrencyCode, Timestamp, Uuid } from "./common.js";
import { Balance } from "./wallets.js";

export const Hold = Type.Object(
  {
    id: Uuid,
    status: Type.Union([Type.Literal("pending"), Type.Literal("posted"), Type.Literal("voided"), Type.Literal("expired")]),
    currency: CurrencyCode,
    amount: Amount,
    captured_amount: Amount,
    reference: Type.Union([Type.String(), Type.Null()]),
    expires_at: Timestamp,
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { title: "Hold" },
);

export const HoldAnswer = Type.Object({ hold: Hold, balance: Balance }, { title: "HoldAnswer" });

export const HoldLookup = Type.Object({ hold: Hold }, { title: "HoldLookup" });

export type Hold = Static<typeof Hold>;
