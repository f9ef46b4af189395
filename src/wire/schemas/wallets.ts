import { type Static, Type } from "typebox";
import { Amount, CurrencyCode, Timestamp, Uuid, WalletId } from "./common.js";
import { Exclusion } from "./limits.js";

export const Balance = Type.Object(
  {
    currency: CurrencyCode,
    amount: Amount,
    pending_amount: Amount,
    available_balance: Amount,
  },
  {
    title: "Balance",
    description:
      "One currency of an account: amount = posted + credits pending; pending_amount = credits pending + debits pending; " +
      "available_balance = posted - debits pending (what the player can spend now).",
  },
);

/**
 * A wallet's ids and names. The specification answers it as `account` ("Wallet account
 * details"), so the wire keeps that word, field and component name alike; inside the service an
 * account is only a ledger account, and this is a wallet summary.
 */
export const WalletSummary = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    external_id: Type.String(),
    wallet_id: WalletId,
  },
  { title: "AccountSummary" },
);

/** What a wallet and a wallet of GET /wallets/ both show. */
const walletFields = {
  ...WalletSummary.properties,
  created: Timestamp,
  updated: Timestamp,
  balances: Type.Array(Balance, { description: "The wallet's currencies in the order they were first used" }),
};

export const Wallet = Type.Object(
  {
    ...walletFields,
    exclusion: Type.Union([Exclusion, Type.Null()], {
      description: "The time-out or self-exclusion in force (GET /wallets/{id}/limits/ shows the limits); null when none",
    }),
  },
  { title: "Wallet" },
);

/** A wallet as GET /wallets/ lists it: the wallet, and whether a deposit to it is still confirming. */
export const WalletListEntry = Type.Object(
  {
    ...walletFields,
    has_pending_deposits: Type.Boolean({
      description:
        "A deposit to one of the wallet's currencies is still confirming (GET /wallets/{id}/deposits/?status=pending lists them)",
    }),
  },
  { title: "WalletListEntry" },
);

/** A page of wallets. DESIGN 1.5 names the list `accounts`, a word the wire keeps. */
export const WalletPage = Type.Object(
  { accounts: Type.Array(WalletListEntry), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() },
  { title: "WalletPage" },
);

/** The specification's "Get Wallet Balance" answer. */
export const WalletBalances = Type.Object({ account: WalletSummary, balances: Type.Array(Balance) }, { title: "WalletBalances" });

export const MasterBalances = Type.Object({ balances: Type.Array(Balance) }, { title: "MasterBalances" });

export type Balance = Static<typeof Balance>;
export type WalletSummary = Static<typeof WalletSummary>;
export type Wallet = Static<typeof Wallet>;
export type WalletListEntry = Static<typeof WalletListEntry>;
export type WalletPage = Static<typeof WalletPage>;
export type WalletBalances = Static<typeof WalletBalances>;
export type MasterBalances = Static<typeof MasterBalances>;
