import { type Static, Type } from "typebox";
import { ERROR_CODES } from "../../services/errors.js";

// Scalars and the error envelope: what every resource's schemas are built from.

/**
 * An amount as the service writes it (DESIGN 1.2): a decimal string, trailing zeros trimmed but
 * never fewer than two decimals. Inputs are looser: see AmountField in src/http/schemas.ts.
 */
export const Amount = Type.String({
  title: "Amount",
  pattern: "^-?[0-9]+\\.[0-9]{2,}$",
  description:
    "An exact decimal amount as a string: trailing zeros trimmed, never fewer than two decimals " +
    '("500.00", "0.025", "0.123456789012345678"). Never a JSON number.',
  examples: ["500.00", "0.025"],
});

/** A currency code of the registry, upper case. */
export const CurrencyCode = Type.String({
  title: "CurrencyCode",
  pattern: "^[A-Z0-9]+$",
  description: "A currency code of the service's registry, upper case (BTC, ETH, USDTTRC20...)",
  examples: ["USDTTRC20"],
});

export const Timestamp = Type.String({ format: "date-time", description: "An RFC 3339 time in UTC" });
export const Uuid = Type.String({ format: "uuid" });

// The forms of the ids a client sends back, as JSON Schema patterns (anchored where used).
/** A UUID's text form, in either case (PostgreSQL's uuid type reads both). */
const UUID_FORM = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
/** `w_` followed by at least 12 lower-case letters or digits (DESIGN 1.5). */
const WALLET_ID_FORM = "w_[a-z0-9]{12,}";

/** An id the service issued: a transfer, hold, withdrawal, event or webhook endpoint, or a wallet's `id`. */
export const UUID_PATTERN = `^${UUID_FORM}$`;
/** A wallet as a path names it: its `wallet_id` or its `id` (DESIGN 1.5). */
export const WALLET_REFERENCE_PATTERN = `^(${WALLET_ID_FORM}|${UUID_FORM})$`;

export const WalletId = Type.String({
  title: "WalletId",
  pattern: `^${WALLET_ID_FORM}$`,
  description: "The system-assigned wallet identifier",
});

export const Pagination = Type.Object({ total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() }, { title: "Pagination" });

export const ErrorCode = Type.Unsafe<(typeof ERROR_CODES)[number]>({
  type: "string",
  enum: [...ERROR_CODES],
  title: "ErrorCode",
  description: "The closed list of error codes (DESIGN 1.1), each with one HTTP status",
});

export const ErrorBody = Type.Object(
  {
    code: ErrorCode,
    message: Type.String({ minLength: 1 }),
    details: Type.Object(
      {},
      {
        additionalProperties: true,
        description:
          "Always an object. A validation error names its fields: " +
          '`{"fields": [{"field": "wallet_id", "problem": "must be a string"}]}`; ' +
          "insufficient_funds carries the available balance.",
      },
    ),
  },
  { title: "ErrorBody" },
);

/** Every error of every route but the token endpoint (which speaks RFC 6749). */
export const ErrorResponse = Type.Object(
  { error: ErrorBody },
  { title: "Error", additionalProperties: false, description: 'The one error envelope: {"error": {"code", "message", "details"}}' },
);

export type Amount = Static<typeof Amount>;
export type ErrorResponse = Static<typeof ErrorResponse>;
export type ErrorBody = Static<typeof ErrorBody>;
