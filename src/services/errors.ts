/**
 * The closed list of error codes (DESIGN 1.1). Services throw AppError with one of these; the
 * HTTP layer maps each code to its status once. Anything else is a bug, answered as a bare 500.
 */
export const ERROR_CODES = [
  "invalid_request",
  "duplicate_external_id",
  "insufficient_funds",
  "limit_exceeded",
  "player_excluded",
  "unauthorized",
  "forbidden",
  "not_found",
  "conflict",
  "payload_too_large",
  "rate_limited",
  "server_error",
  "unavailable",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class AppError extends Error {
  override name = "AppError";

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/**
 * A request refused for what its fields hold, in the one shape of DESIGN 1.1:
 * `{"fields": [{"field", "problem"}]}`, one problem per field.
 */
export function invalidFields(message: string, problems: Record<string, string>): AppError {
  return new AppError("invalid_request", message, { fields: Object.entries(problems).map(([field, problem]) => ({ field, problem })) });
}

export const walletNotFound = () => new AppError("not_found", "Wallet not found");
