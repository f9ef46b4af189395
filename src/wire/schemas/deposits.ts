import { type Static, Type } from "typebox";
import { Amount, CurrencyCode, Timestamp, Uuid } from "./common.js";

export const DepositStatus = Type.Union([Type.Literal("pending"), Type.Literal("confirmed"), Type.Literal("dropped")], {
  title: "DepositStatus",
});

export const Deposit = Type.Object(
  {
    id: Uuid,
    status: DepositStatus,
    confirmations: Type.Integer({ minimum: 0 }),
    required_confirmations: Type.Integer({ minimum: 0 }),
    currency: CurrencyCode,
    amount: Amount,
    tx_hash: Type.String(),
    created_at: Timestamp,
  },
  { title: "Deposit" },
);

export const DepositAnswer = Type.Object({ deposit: Deposit }, { title: "DepositAnswer" });

export const DepositList = Type.Object({ deposits: Type.Array(Deposit) }, { title: "DepositList" });

export type Deposit = Static<typeof Deposit>;
export type DepositList = Static<typeof DepositList>;
