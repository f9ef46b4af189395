import type { FastifyInstance, FastifyRequest } from "fastify";
import { invalidFields } from "../services/errors.js";
import { isEmptyObject, parseForm } from "./bodies.js";
import { idempotencyKeyOf } from "./idempotency.js";

/**
 * The input rules of DESIGN 1.1, applied once, at the edge, to every route before its schema:
 * text is taken exactly as sent or refused, and a route that takes no body refuses one. Doing it
 * here rather than in each store means no client string can reach a database that cannot hold
 * it (PostgreSQL text refuses NUL and lone surrogates with a 500-class driver error).
 */

/** Unicode control characters (C0, DEL, C1): never part of an id, a name, a reference or a URL. */
const CONTROL = /\p{Cc}/u;
/** Deep enough for every body the schemas accept (a batch is three levels deep). */
const MAX_DEPTH = 32;

/** The hooks are not `async`: a refusal is thrown, and otherwise the request goes on in the same turn. */
export function installInputRules(app: FastifyInstance): void {
  app.addHook("onRequest", (request, _reply, done) => {
    const queryAt = request.url.indexOf("?");
    // Fastify's query parser keeps a malformed escape such as %ff as literal text; here it is refused.
    if (queryAt >= 0) parseForm(request.url.slice(queryAt + 1), "query");
    done();
  });
  app.addHook("preValidation", (request, _reply, done) => {
    // An unknown route answers 404 whatever it was sent.
    if (!request.is404) assertInput(request);
    done();
  });
}

function assertInput(request: FastifyRequest): void {
  assertText(request.params, "");
  assertText(request.query, "");
  assertText(request.body, "");
  idempotencyKeyOf(request);
  // Routes without any schema (the dashboard's files) are pages, not API calls.
  if (request.routeOptions.schema === undefined) return;
  assertQueryShape(request);
  assertBodyShape(request);
}

/** The same rule for text that arrives elsewhere, such as the credentials of an HTTP Basic header. */
export function assertTextField(value: string, field: string): string {
  assertText(value, field);
  return value;
}

/**
 * Refuses the first string (value or property name) that is not well-formed text. Objects are
 * walked by key, and a field's path is written only for what is walked into: no array of
 * entries and no path string per field of a body that passes (a third of this check's cost).
 */
function assertText(value: unknown, path: string, depth = 0): void {
  if (depth > MAX_DEPTH) throw invalidFields("Request is nested too deeply", { [path || "body"]: "is nested too deeply" });
  if (typeof value === "string") {
    const problem = textProblem(value);
    if (problem) throw invalidFields(`Invalid ${path || "body"}: ${problem}`, { [path || "body"]: problem });
    return;
  }
  if (value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index += 1) assertText(value[index], fieldPath(path, index), depth + 1);
    return;
  }
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const problem = textProblem(key);
    if (problem) throw invalidFields(`Invalid field name: ${problem}`, { [path || "body"]: `has a field name that ${problem}` });
    const item = (value as Record<string, unknown>)[key];
    // A field that is neither text nor nested has nothing to check (and no path to write),
    // unless it is one level too deep.
    if (typeof item === "string" || (item !== null && typeof item === "object") || depth >= MAX_DEPTH)
      assertText(item, fieldPath(path, key), depth + 1);
  }
}

const fieldPath = (path: string, key: string | number): string => (path === "" ? String(key) : `${path}.${key}`);

function textProblem(text: string): string | undefined {
  if (!text.isWellFormed()) return "contains a lone surrogate (not valid Unicode text)";
  if (CONTROL.test(text)) return "contains a control character";
  return undefined;
}

/** An integer in a query string, written as one: no sign games, exponents, fractions or hex. */
const QUERY_INTEGER = /^(0|[1-9][0-9]{0,15})$/;

/**
 * Query strings arrive as text and the schema coerces them, which alone would read `limit=1e1`,
 * `offset=0x10` or `limit=20.0` as numbers. Here an integer parameter must be written as one, and a
 * route without a query schema takes no query parameters (they would be silently ignored).
 */
function assertQueryShape(request: FastifyRequest): void {
  const query = request.query as Record<string, unknown>;
  const schema = request.routeOptions.schema?.querystring as { properties?: Record<string, { type?: unknown }> } | undefined;
  for (const name in query) {
    if (!Object.hasOwn(query, name)) continue;
    const value = query[name];
    const property = schema?.properties?.[name];
    if (!property) throw invalidFields(`Unknown query parameter ${name}`, { [name]: "is not a known query parameter" });
    if (property.type === "integer" && typeof value === "string" && !QUERY_INTEGER.test(value))
      throw invalidFields(`Invalid ${name}: must be an integer`, { [name]: "must be an integer, written in decimal digits" });
  }
}

/**
 * A route without a body schema takes no body: a body there would be silently ignored (a void
 * with an amount, a delete with `dry_run`). No body, an empty one and `{}` are accepted, since
 * many HTTP clients send `{}` with every POST. A route with a body schema needs one.
 */
function assertBodyShape(request: FastifyRequest): void {
  const takesBody = request.routeOptions.schema?.body !== undefined;
  const body = request.body;
  if (takesBody) {
    if (body === undefined) throw invalidFields("A JSON body is required", { body: "is required" });
    return;
  }
  const sentBytes = Number(request.headers["content-length"] ?? 0) > 0 || request.headers["transfer-encoding"] !== undefined;
  const empty = body === undefined ? !sentBytes : isEmptyObject(body);
  if (!empty)
    throw invalidFields(`${request.method} ${request.routeOptions.url} takes no body`, { body: "must be empty: this route takes no body" });
}
