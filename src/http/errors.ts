import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from "fastify";
import { InvariantError } from "../ledger/assert.js";
import { AppError, type ErrorCode } from "../services/errors.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** What a route naming one resource answers for an id that names nothing (see `answerMalformedIdsAsUnknown`). */
    notFound?: string;
  }
}

/** The longest path parameter the router matches; every id the service issues is far shorter. */
export const MAX_PARAM_LENGTH = 128;

/** The one place where error codes become HTTP statuses (DESIGN 1.1). */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  invalid_request: 400,
  duplicate_external_id: 400,
  insufficient_funds: 400,
  limit_exceeded: 400,
  player_excluded: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  server_error: 500,
  unavailable: 503,
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
  FST_ERR_BAD_URL: ["invalid_request", "Malformed percent-encoding in the path"],
  FST_ERR_MAX_PARAM_LENGTH: ["invalid_request", `A path parameter is longer than ${MAX_PARAM_LENGTH} characters`],
};

export function toErrorBody(error: FastifyError): { status: number; body: ReturnType<typeof errorBody> } | undefined {
  if (error instanceof AppError) return { status: HTTP_STATUS[error.code], body: errorBody(error.code, error.message, error.details) };
  if (error.validation) return { status: 400, body: validationBody(error.validationContext, error.validation) };
  const known = error.code ? FRAMEWORK_ERRORS[error.code] : undefined;
  if (known) return { status: HTTP_STATUS[known[0]], body: errorBody(known[0], known[1]) };
  if (error instanceof SyntaxError && error.statusCode === 400)
    return { status: 400, body: errorBody("invalid_request", `Malformed JSON body: ${error.message}`) };
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return { status: 400, body: errorBody("invalid_request", "Invalid request") };
  }
  return undefined;
}

type ValidationIssue = NonNullable<FastifyError["validation"]>[number];

/**
 * Ajv's errors in the contract's shape: one problem per field, the first Ajv found (with
 * allErrors off that is the one that stopped it), in words a client developer reads at once.
 */
function validationBody(context: string | undefined, issues: ValidationIssue[]) {
  // A Map, because a field may be called `__proto__`.
  const problems = new Map<string, string>();
  for (const issue of issues) {
    const field = fieldName(context, issue.instancePath, issue.params);
    if (!problems.has(field)) problems.set(field, problemOf(issue));
  }
  const [first] = problems;
  return errorBody("invalid_request", first ? `Invalid ${first[0]}: ${first[1]}` : "Invalid request", {
    fields: [...problems].map(([field, problem]) => ({ field, problem })),
  });
}

function problemOf(issue: ValidationIssue): string {
  if (issue.keyword === "required") return "is required";
  if (issue.keyword === "additionalProperties") return "is not a known field";
  if (issue.keyword === "type") return `must be ${String(issue.params.type).replace(",", " or ")}`;
  return issue.message ?? "is invalid";
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
  app.addHook("onRoute", (route) => {
    routes.add(route.method, route.url);
    answerMalformedIdsAsUnknown(route);
  });

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

  // `GET /wallets/balances/` matches `GET /wallets/:id/` with id "balances"; a path that is also
  // a fixed route of another method is that route asked with the wrong method, not a wallet.
  // Not `async`, so that every other route goes on in the same turn; a hook that answers does not call `done`.
  app.addHook("onRequest", (request, reply, done) => {
    if (request.routeOptions.url?.includes(":")) {
      const path = pathOf(request);
      const fixed = routes.methodsFor(path, "fixed");
      if (fixed.length > 0 && !fixed.includes(request.method)) {
        wrongMethod(reply, request.method, path, fixed);
        return;
      }
    }
    done();
  });

  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const path = pathOf(request);
    const allowed = routes.methodsFor(path, "any");
    if (allowed.length > 0) return wrongMethod(reply, request.method, path, allowed);
    return reply.status(404).send(errorBody("not_found", `No route ${request.method} ${path}`));
  });
}

/**
 * A route naming one resource declares the form of its id (src/http/schemas.ts) and, in
 * `config.notFound`, what it answers for an id that names nothing. A malformed id names nothing
 * either, so it gets that answer, and at the point an unknown one gets it: after the route's
 * credential check, so a caller without one is told 401 as before. Fastify validates before the
 * preHandlers run, so such a route keeps its validation error (attachValidation) and answers it
 * itself: any other problem before the credential check, as on every route, a malformed id after.
 */
function answerMalformedIdsAsUnknown(route: RouteOptions): void {
  const notFound = route.config?.notFound;
  if (notFound === undefined) return;
  route.attachValidation = true;
  route.preHandler = [refuseInvalidInput, ...[route.preHandler ?? []].flat(), refuseMalformedId(notFound)];
}

/** An id that does not have its form: the first problem Ajv found in the path is its pattern. */
const isMalformedId = (error: FastifyRequest["validationError"]) =>
  error?.validationContext === "params" && error.validation[0]?.keyword === "pattern";

async function refuseInvalidInput(request: FastifyRequest): Promise<void> {
  if (request.validationError && !isMalformedId(request.validationError)) throw request.validationError;
}

const refuseMalformedId = (message: string) =>
  async function refuseMalformedId(request: FastifyRequest): Promise<void> {
    if (request.validationError) throw new AppError("not_found", message);
  };

const pathOf = (request: FastifyRequest) => request.url.split("?")[0] ?? "/";

function wrongMethod(reply: FastifyReply, method: string, path: string, allowed: string[]) {
  return reply
    .header("Allow", allowed.join(", "))
    .status(404)
    .send(
      errorBody("not_found", `Method ${method} is not supported on ${path}; use ${allowed.join(" or ")}`, { allowed_methods: allowed }),
    );
}

/**
 * Fastify's router refuses some URLs before any route runs (a malformed percent escape, an
 * over-long parameter); this answers them in the contract's envelope instead of Fastify's own.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const known = toErrorBody(error) ?? { status: 400, body: errorBody("invalid_request", "Invalid request") };
  // No onRequest hook runs before the router refuses a URL, so the request id is answered here.
  return reply.header("x-request-id", request.id).status(known.status).send(known.body);
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (a bad method token, headers
 * over the limit, a malformed request line) still get the envelope, written to the socket by
 * hand because there is no request object; the connection is closed after it.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === "ECONNRESET" || socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, code, message]: [number, ErrorCode, string] =
    error.code === "HPE_HEADER_OVERFLOW"
      ? [HTTP_STATUS.payload_too_large, "payload_too_large", "Request headers are too large"]
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [HTTP_STATUS.invalid_request, "invalid_request", "The request was not received in time"]
        : [HTTP_STATUS.invalid_request, "invalid_request", "Malformed HTTP request"];
  const body = JSON.stringify(errorBody(code, message));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Remembers the registered routes so that a known path asked with the wrong method gets a
 * message naming the right one, instead of a bare "not found".
 */
class RouteTable {
  readonly #routes: { method: string; pattern: RegExp; fixed: boolean }[] = [];

  add(method: string | string[], url: string): void {
    const source = url.replace(/\/$/, "").replace(/:[^/]+/g, "[^/]+");
    const pattern = new RegExp(`^${source}/?$`);
    const fixed = !/[:*]/.test(url);
    for (const one of [method].flat()) if (one !== "HEAD") this.#routes.push({ method: one, pattern, fixed });
  }

  /** The methods of the routes matching a path: all of them, or only those without parameters. */
  methodsFor(path: string, which: "any" | "fixed"): string[] {
    const matching = this.#routes.filter((route) => (which === "any" || route.fixed) && route.pattern.test(path));
    return [...new Set(matching.map((route) => route.method))];
  }
}
