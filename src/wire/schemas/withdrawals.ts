import { type Static, Type } from "typebox";
import { Amount, CurrencyCode, Timestamp, Uuid } from "./common.js";
import { Balance } from "./wallets.js";

export const WithdrawalStatus = Type.Union([Type.Literal("pending"), Type.Literal("completed"), Type.Literal("failed")], {
  title: "WithdrawalStatus",
});

export const Withdrawal = Type.Object(
  {
    id: Uuid,
    status: WithdrawalStatus,
    currency: CurrencyCode,
    amount: Amount,
    address: Type.String(),
    tx_hash: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { title: "Withdrawal" },
);

export const WithdrawalAnswer = Type.Object({ withdrawal: Withdrawal, balance: Balance }, { title: "WithdrawalAnswer" });

export const WithdrawalLookup = Type.Object({ withdrawal: Withdrawal }, { title: "WithdrawalLookup" });

/** What the payout system sees: a withdrawal and its tenant. */
export const SystemWithdrawal = Type.Object({ ...Withdrawal.properties, tenant_id: Type.String() }, { title: "SystemWithdrawal" });

export const SystemWithdrawalList = Type.Object({ withdrawals: Type.Array(SystemWithdrawal) }, { title: "SystemWithdrawalList" });

export type Withdrawal = Static<typeof Withdrawal>;
export type SystemWithdrawal = Static<typeof SystemWithdrawal>;
