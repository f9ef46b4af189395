import { type Static, Type } from "typebox";
import { Amount, CurrencyCode, Pagination, Timestamp, Uuid } from "./common.js";
import { WalletSummary } from "./wallets.js";

export const TransferStatus = Type.Union([Type.Literal("posted"), Type.Literal("pending"), Type.Literal("voided")], {
  title: "TransferStatus",
});

export const TransferType = Type.Union(
  [
    Type.Literal("to_sub"),
    Type.Literal("to_master"),
    Type.Literal("deposit"),
    Type.Literal("bet"),
    Type.Literal("win"),
    Type.Literal("rollback"),
    Type.Literal("hold"),
    Type.Literal("withdrawal"),
  ],
  { title: "TransferType" },
);

/** A transfer as a movement answers it and the history lists it, with what a casino reconciles it by. */
export const Transfer = Type.Object(
  {
    id: Uuid,
    transfer_type: TransferType,
    currency: CurrencyCode,
    amount: Amount,
    status: TransferStatus,
    created_at: Timestamp,
    // What a casino reconciles a transfer by; each is null where it does not apply.
    transaction_id: Type.Union([Type.String({ description: "The game transaction of a bet, win or rollback" }), Type.Null()]),
    round_id: Type.Union([Type.String({ description: "The game round of a bet, win or rollback" }), Type.Null()]),
    tx_hash: Type.Union([Type.String({ description: "The chain transaction of a deposit" }), Type.Null()]),
    hold_id: Type.Union([Type.String({ description: "The hold this transfer places, captures or releases" }), Type.Null()]),
    withdrawal_id: Type.Union([Type.String({ description: "The withdrawal this transfer holds, completes or releases" }), Type.Null()]),
  },
  { title: "Transfer" },
);

export const TransferAnswer = Type.Object({ transfer: Transfer }, { title: "TransferAnswer" });

export const TransferHistory = Type.Object(
  { account: WalletSummary, transfers: Type.Array(Transfer, { description: "Newest first" }), pagination: Pagination },
  { title: "TransferHistory" },
);

export type Transfer = Static<typeof Transfer>;
export type TransferHistory = Static<typeof TransferHistory>;
