import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { InvariantError } from "../ledger/assert.js";
import { AppError, type ErrorCode } from "../services/errors.js";

/** The one place where error codes become HTTP statuses (DESIGN 1.1). */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  invalid_request: 400,
  duplicate_external_id: 400,
  insufficient_funds: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  server_error: 500,
};

export function errorBody(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
  return { error: { code, message, details } };
}

/** Fastify's own errors that a client can cause, and what the contract calls them. */
const FRAMEWORK_ERRORS: Record<string, [ErrorCode, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ["payload_too_large", "Request body is too large"],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ["invalid_request", "Content-Type must be application/json"],
  FST_ERR_CTP_EMPTY_JSON_BODY: ["invalid_request", "Request body is empty"],
  FST_ERR_CTP_INVALID_JSON_BODY: ["invalid_request", "Malformed JSON body"],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ["invalid_request", "Content-Length does not match the body"],
};

export function toErrorBody(error: FastifyError): { status: number; body: ReturnType<typeof errorBody> } | undefined {
  if (error instanceof AppError) return { status: HTTP_STATUS[error.code], body: errorBody(error.code, error.message, error.details) };
  if (error.validation) {
    const fields = error.validation.map((issue) => ({
      field: fieldName(error.validationContext, issue.instancePath, issue.params),
      problem: issue.message ?? "is invalid",
    }));
    const first = fields[0];
    const message = first ? `Invalid ${first.field}: ${first.problem}` : "Invalid request";
    return { status: 400, body: errorBody("invalid_request", message, { fields }) };
  }
  const known = error.code ? FRAMEWORK_ERRORS[error.code] : undefined;
  if (known) return { status: HTTP_STATUS[known[0]], body: errorBody(known[0], known[1]) };
  if (error instanceof SyntaxError && error.statusCode === 400)
    return { status: 400, body: errorBody("invalid_request", `Malformed JSON body: ${error.message}`) };
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return { status: 400, body: errorBody("invalid_request", "Invalid request") };
  }
  return undefined;
}

function fieldName(context: string | undefined, path: string, params: Record<string, unknown>): string {
  const base = path.replace(/^\//, "").replaceAll("/", ".");
  const extra =
    typeof params.additionalProperty === "string"
      ? params.additionalProperty
      : typeof params.missingProperty === "string"
        ? params.missingProperty
        : "";
  const name = [base, extra].filter(Boolean).join(".");
  return name || context || "body";
}

export interface ErrorHandlingOptions {
  /** Called after answering a broken invariant; the default stops the process (TigerStyle). */
  onInvariantBroken: (error: InvariantError) => void;
}

export function installErrorHandling(app: FastifyInstance, options: ErrorHandlingOptions): void {
  const routes = new RouteTable();
  app.addHook("onRoute", (route) => routes.add(route.method, route.url));

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const known = toErrorBody(error);
    if (known) return reply.status(known.status).send(known.body);
    if (error instanceof InvariantError) {
      request.log.fatal({ err: error }, "ledger invariant broken");
      void reply.status(500).send(errorBody("server_error", "Internal server error"));
      options.onInvariantBroken(error);
      return reply;
    }
    request.log.error({ err: error }, "unexpected error");
    return reply.status(500).send(errorBody("server_error", "Internal server error"));
  });

  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split("?")[0] ?? "/";
    const allowed = routes.methodsFor(path);
    if (allowed.length > 0) {
      void reply.header("Allow", allowed.join(", "));
      return reply.status(404).send(
        errorBody("not_found", `Method ${request.method} is not supported on ${path}; use ${allowed.join(" or ")}`, {
          allowed_methods: allowed,
        }),
      );
    }
    return reply.status(404).send(errorBody("not_found", `No route ${request.method} ${path}`));
  });
}

/**
 * Remembers the registered routes so that a known path asked with the wrong method gets a
 * message naming the right one, instead of a bare "not found".
 */
class RouteTable {
  readonly #routes: { method: string; pattern: RegExp }[] = [];

  add(method: string | string[], url: string): void {
    const source = url.replace(/\/$/, "").replace(/:[^/]+/g, "[^/]+");
    const pattern = new RegExp(`^${source}/?$`);
    for (const one of [method].flat()) if (one !== "HEAD") this.#routes.push({ method: one, pattern });
  }

  methodsFor(path: string): string[] {
    return [...new Set(this.#routes.filter((route) => route.pattern.test(path)).map((route) => route.method))];
  }
}
