import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Principal } from "../services/credentials.js";
import type { Services } from "../services/services.js";
import { withAuthentication } from "./auth.js";

/**
 * Request ids: an incoming `X-Request-Id` that is a plausible id (1 to 128 characters of
 * letters, digits, `.`, `_`, `:` and `-`) is kept, so a casino can follow one call through its
 * own logs and ours; anything else is replaced by a fresh UUID. The id is answered in
 * `X-Request-Id` on every response and carried by every log line of the request (`reqId`), and
 * once the credential is known, by the tenant's id (`tenantId`) or the system key's
 * (`systemKeyId`).
 */

export const REQUEST_ID_HEADER = "x-request-id";
const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Fastify's constructor options for request ids: the header is read here, not by Fastify, to validate it. */
export const requestIdOptions = {
  requestIdHeader: false as const,
  genReqId(request: IncomingMessage): string {
    const incoming = request.headers[REQUEST_ID_HEADER];
    return typeof incoming === "string" && VALID_REQUEST_ID.test(incoming) ? incoming : randomUUID();
  },
};

/**
 * Installs the hook; call it first, so that even a request refused by a later hook answers its
 * id. One hook without `async`: it goes on in the same turn when the credential is known.
 */
export function installRequestIds(app: FastifyInstance, services: Services): void {
  app.addHook("onRequest", (request, reply, done) => {
    // On the raw response, so that it also goes out with a response written by hand (an event stream).
    reply.raw.setHeader(REQUEST_ID_HEADER, request.id);
    // The credential is read once per request (auth.ts); the rate limiter of every rate-limited
    // route reads it anyway, so asking here costs nothing more. Routes without a rate limit
    // (health, metrics) take no credential.
    if (request.routeOptions.config?.rateLimit === false) return done();
    return withAuthentication(
      services,
      request,
      ({ principal }) => {
        if (principal) bindPrincipal(request, reply, principal);
      },
      done,
    );
  });
}

/** What pino's loggers have besides Fastify's logger interface. */
type Bindable = FastifyRequest["log"] & { setBindings?: (bindings: Record<string, unknown>) => void };

/**
 * Every later line of the request names who made it; the reply's logger writes the "request
 * completed" line. Fastify gives each request a child logger of its own, so the bindings are
 * added to it in place (pino's `setBindings`): a child of that child cost 4 µs a request, 5% of
 * a balance read's server CPU, most of it V8 turning the request's logger into a prototype.
 * Without pino (no logger: the null logger, shared), a child as before.
 */
function bindPrincipal(request: FastifyRequest, reply: FastifyReply, principal: Principal): void {
  const bindings = principal.tenantId !== null ? { tenantId: principal.tenantId } : { systemKeyId: principal.credentialId };
  const log = request.log as Bindable;
  if (typeof log.setBindings === "function" && reply.log === log) {
    log.setBindings(bindings);
    return;
  }
  request.log = request.log.child(bindings);
  reply.log = request.log;
}
