import type { FastifyReply, FastifyRequest } from "fastify";
import type { Principal } from "../services/credentials.js";
import { AppError } from "../services/errors.js";
import type { Services } from "../services/services.js";
import type { Scope } from "../store/store.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * The route's own database statement checks that the request's API key is still unrevoked
     * (the balance read, store/balances.ts), so a key this process has seen needs no query of
     * its own (services/credentials.ts `authenticateApiKey`).
     */
    apiKeyCheckedByRead?: boolean;
  }
  interface FastifyRequest {
    principal: Principal | null;
    /** The request's credential, read once (see `authenticationOf`): the answer, or the read in flight. */
    authentication: Authentication | Promise<Authentication> | null;
  }
}

/** A credential read: who it is, or why it was refused (answered by the route, if it needs one). */
export type Authentication = { principal: Principal; error?: undefined } | { principal?: undefined; error: unknown };

const BEARER = /^Bearer\s+(\S+)$/i;

/**
 * Reads the request's credential once. The request-id hook asks first (to name the tenant on
 * every log line), then the rate limiter (in onRequest, to count a valid credential under its
 * identity and anything else under the client's address); the route's tenantAuth or systemAuth
 * then gets the same answer without a second lookup.
 *
 * The answer is given at once, not as a promise, when it needs no I/O: an API key the process
 * remembers on a route whose read checks it (services/credentials.ts), or a missing or
 * malformed credential. The hooks then go on in the same turn: each promise and microtask of
 * the async path cost about 1 µs a hook, several percent of a balance read.
 */
export function authenticationOf(services: Services, request: FastifyRequest): Authentication | Promise<Authentication> {
  const known = request.authentication;
  if (known !== null) return known;
  let authentication: Authentication | Promise<Authentication>;
  try {
    const principal = authenticate(services, request);
    authentication =
      principal instanceof Promise
        ? principal.then(
            (found): Authentication => (request.authentication = { principal: found }),
            (error: unknown): Authentication => (request.authentication = { error }),
          )
        : { principal };
  } catch (error) {
    authentication = { error };
  }
  request.authentication = authentication;
  return authentication;
}

/** Reads X-API-Key or an OAuth bearer token (the specification's two methods). */
function authenticate(services: Services, request: FastifyRequest): Principal | Promise<Principal> {
  const apiKey = request.headers["x-api-key"];
  if (typeof apiKey === "string" && apiKey !== "")
    return services.credentials.authenticateApiKey(apiKey, request.routeOptions.config?.apiKeyCheckedByRead === true);
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    const token = BEARER.exec(authorization)?.[1];
    if (!token) throw new AppError("unauthorized", "Authorization header must be: Bearer <access_token>");
    return services.credentials.authenticateToken(token);
  }
  throw new AppError("unauthorized", "Missing credentials: send X-API-Key or Authorization: Bearer <access_token>");
}

/**
 * Runs `use` with the request's credential: in this turn when it is known, else once it is
 * read. For Fastify hooks written without `async`, which go on synchronously when `use` has
 * run and `done` is called, or wait for the promise returned: the same hook, without a promise
 * and a microtask on the fast path.
 */
export function withAuthentication(
  services: Services,
  request: FastifyRequest,
  use: (authentication: Authentication) => void,
  done: () => void,
): Promise<void> | undefined {
  const authentication = authenticationOf(services, request);
  if (authentication instanceof Promise) return authentication.then(use);
  use(authentication);
  done();
  return undefined;
}

function assertScopes(principal: Principal, scopes: readonly Scope[]): void {
  const missing = scopes.filter((scope) => !principal.scopes.has(scope));
  if (missing.length > 0) {
    throw new AppError("forbidden", `This credential lacks the required scope: ${missing.join(", ")}`, {
      required_scopes: scopes,
      missing_scopes: missing,
    });
  }
}

/** What a route's preHandler asks of the credential: the OpenAPI document's security of the route. */
export interface CredentialRequirement {
  kind: "tenant" | "system";
  scopes: readonly Scope[];
}

export const CREDENTIAL_REQUIREMENT: unique symbol = Symbol("credential requirement");

type AuthPreHandler = ((request: FastifyRequest, reply: FastifyReply, done: () => void) => Promise<void> | undefined) & {
  [CREDENTIAL_REQUIREMENT]: CredentialRequirement;
};

function authenticated(authentication: Authentication): Principal {
  if (authentication.principal === undefined) throw authentication.error;
  return authentication.principal;
}

/** A preHandler for tenant routes: authenticated, tenant-bound, with every scope named. */
export const tenantAuth = (services: Services, ...scopes: Scope[]): AuthPreHandler =>
  Object.assign(
    (request: FastifyRequest, _reply: FastifyReply, done: () => void) =>
      withAuthentication(
        services,
        request,
        (authentication) => {
          const principal = authenticated(authentication);
          if (principal.kind !== "tenant" || principal.tenantId === null) {
            throw new AppError("forbidden", "This route needs a tenant credential, not a system key");
          }
          assertScopes(principal, scopes);
          request.principal = principal;
        },
        done,
      ),
    { [CREDENTIAL_REQUIREMENT]: { kind: "tenant" as const, scopes } },
  );

/** A preHandler for routes of the service's operator: system keys only. */
export const systemAuth = (services: Services, ...scopes: Scope[]): AuthPreHandler =>
  Object.assign(
    (request: FastifyRequest, _reply: FastifyReply, done: () => void) =>
      withAuthentication(
        services,
        request,
        (authentication) => {
          const principal = authenticated(authentication);
          if (principal.kind !== "system")
            throw new AppError("forbidden", "This route needs a system key; tenant credentials cannot report deposits");
          assertScopes(principal, scopes);
          request.principal = principal;
        },
        done,
      ),
    { [CREDENTIAL_REQUIREMENT]: { kind: "system" as const, scopes } },
  );

/** The credential of an authenticated request. */
export function principalOf(request: FastifyRequest): Principal {
  const principal = request.principal;
  if (!principal) throw new Error("route ran without authentication");
  return principal;
}

/** The tenant of an authenticated tenant request. */
export function tenantOf(request: FastifyRequest): string {
  const tenantId = request.principal?.tenantId;
  if (!tenantId) throw new Error("tenant route ran without tenant authentication");
  return tenantId;
}
