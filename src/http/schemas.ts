import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { type TSchema, Type } from "typebox";
import { ErrorResponse, UUID_PATTERN, WALLET_REFERENCE_PATTERN } from "../wire/schemas.js";

/** Shared TypeBox schemas of the input: every body closed to unknown fields, every string bounded. */

/** The app as a route plugin gets it: each request is typed from its route's TypeBox schemas. */
export type RouteApp = Parameters<FastifyPluginAsyncTypebox>[0];

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

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
  title: "AmountInput",
  type: ["string", "number"],
  minLength: 1,
  maxLength: 40,
  description:
    'A positive decimal amount: a decimal string (preferred, "25.50") or a JSON number (kept exact, however many digits). ' +
    "At most the currency's decimals; no exponent, no sign. Answers always write amounts as decimal strings (Amount).",
  examples: ["25.50", 10],
});

/**
 * The Idempotency-Key header, declared by every route that changes something (and so shown on
 * those operations in the OpenAPI document). Its form is checked on every route by the input
 * rules first (src/http/idempotency.ts), so this schema never refuses anything itself.
 */
export const IdempotencyHeaders = Type.Object({
  "Idempotency-Key": Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      pattern: "^[\\x21-\\x7e]+$",
      description:
        "Makes the request safe to retry: the first result is stored with its effect and replayed with Idempotency-Replayed: " +
        "true. Scoped to the credential's owner, the method, the concrete path with its ids and the parsed body; the same key " +
        "on another request, or while the first is in flight, is 409 conflict.",
    }),
  ),
});

/**
 * Path parameters carry the form of the id they name, so that a malformed id is refused at the
 * edge and never reaches a store. A route naming one resource says in `config.notFound` what it
 * answers for an unknown id; a malformed one gets the same answer (src/http/errors.ts). Longer
 * than 64 characters is still 400 (DESIGN 1.1: over-long parameters), as it was before ids had a
 * form.
 */
const idParams = (pattern: string, description?: string) =>
  Type.Object({ id: Type.String({ maxLength: 64, pattern, ...(description ? { description } : {}) }) }, { additionalProperties: false });

/** A hold, a withdrawal, a webhook endpoint or an event, by the UUID the service gave it. */
export const UuidParams = idParams(UUID_PATTERN);
export const WalletParams = idParams(WALLET_REFERENCE_PATTERN, "The wallet's wallet_id or id");

export const WalletIds = {
  wallet_id: Type.Optional(WalletIdField),
  external_id: Type.Optional(ExternalIdField),
};

export const TransactionIdField = Type.String({ minLength: 1, maxLength: 128 });

/** An RFC 3339 time with its offset, e.g. `2026-12-01T00:00:00Z` or `2026-12-01T02:00:00+02:00`. */
export const TimeField = (description: string) =>
  Type.String({
    pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$",
    maxLength: 40,
    description,
  });
