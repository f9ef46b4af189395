import { type TSchema, Type } from "typebox";

/** Shared TypeBox schemas: every body closed to unknown fields, every string bounded. */

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Object({}, { additionalProperties: true }),
    }),
  },
  { additionalProperties: false },
);

/** The error statuses a route can answer besides its success. */
export const ERROR_RESPONSES = {
  400: ErrorResponse,
  401: ErrorResponse,
  403: ErrorResponse,
  404: ErrorResponse,
  409: ErrorResponse,
  413: ErrorResponse,
  429: ErrorResponse,
  500: ErrorResponse,
} as const;

export const responses = <S extends Record<number, TSchema>>(success: S) => ({ ...success, ...ERROR_RESPONSES });

// Text rules (no control characters, no lone surrogates, valid UTF-8) hold for every string of
// every route and are enforced once, in src/http/input.ts, rather than by a pattern per field.
export const WalletIdField = Type.String({ minLength: 1, maxLength: 64, description: "The system-assigned wallet identifier" });
export const ExternalIdField = Type.String({ minLength: 1, maxLength: 128, description: "Your unique identifier for the wallet" });
export const CurrencyField = Type.String({ minLength: 2, maxLength: 16, pattern: "^[A-Za-z0-9]+$" });
/**
 * One JSON Schema type list rather than anyOf: a refused amount then has one problem ("must
 * NOT have more than 40 characters"), not one per alternative.
 */
export const AmountField = Type.Unsafe<string | number>({
  type: ["string", "number"],
  minLength: 1,
  maxLength: 40,
  description: "A positive decimal, as a string (preferred) or a JSON number",
});

export const WalletIds = {
  wallet_id: Type.Optional(WalletIdField),
  external_id: Type.Optional(ExternalIdField),
};

export const Balance = Type.Object({
  currency: Type.String(),
  amount: Type.String(),
  pending_amount: Type.String(),
  available_balance: Type.String(),
});

export const AccountSummary = Type.Object({
  id: Type.String(),
  name: Type.String(),
  external_id: Type.String(),
  wallet_id: Type.String(),
});

export const Wallet = Type.Object({
  id: Type.String(),
  name: Type.String(),
  external_id: Type.String(),
  wallet_id: Type.String(),
  created: Type.String(),
  updated: Type.String(),
  balances: Type.Array(Balance),
});

export const TransferStatusField = Type.Union([Type.Literal("posted"), Type.Literal("pending"), Type.Literal("voided")]);
export const TransferTypeField = Type.Union([
  Type.Literal("to_sub"),
  Type.Literal("to_master"),
  Type.Literal("deposit"),
  Type.Literal("bet"),
  Type.Literal("win"),
  Type.Literal("rollback"),
  Type.Literal("hold"),
  Type.Literal("withdrawal"),
]);

export const Transfer = Type.Object({
  id: Type.String(),
  transfer_type: TransferTypeField,
  currency: Type.String(),
  amount: Type.String(),
  status: TransferStatusField,
  created_at: Type.String(),
});

export const GameTransaction = Type.Object({
  transaction_id: Type.String(),
  type: Type.Union([Type.Literal("bet"), Type.Literal("win"), Type.Literal("rollback")]),
  round_id: Type.String(),
  bet_transaction_id: Type.Union([Type.String(), Type.Null()]),
  currency: Type.Union([Type.String(), Type.Null()]),
  amount: Type.String(),
  status: Type.String(),
  created_at: Type.String(),
});

export const GameAnswer = Type.Object({ transaction: GameTransaction, balance: Type.Union([Balance, Type.Null()]) });

export const TransactionIdField = Type.String({ minLength: 1, maxLength: 128 });

export const Hold = Type.Object({
  id: Type.String(),
  status: Type.Union([Type.Literal("pending"), Type.Literal("posted"), Type.Literal("voided"), Type.Literal("expired")]),
  currency: Type.String(),
  amount: Type.String(),
  captured_amount: Type.String(),
  reference: Type.Union([Type.String(), Type.Null()]),
  expires_at: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
});

export const Withdrawal = Type.Object({
  id: Type.String(),
  status: Type.Union([Type.Literal("pending"), Type.Literal("completed"), Type.Literal("failed")]),
  currency: Type.String(),
  amount: Type.String(),
  address: Type.String(),
  tx_hash: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
  updated_at: Type.String(),
});

export const Deposit = Type.Object({
  id: Type.String(),
  status: Type.Union([Type.Literal("pending"), Type.Literal("confirmed"), Type.Literal("dropped")]),
  confirmations: Type.Integer(),
  required_confirmations: Type.Integer(),
  currency: Type.String(),
  amount: Type.String(),
  tx_hash: Type.String(),
  created_at: Type.String(),
});
