import type { FastifyRequest } from "fastify";
import type { Principal } from "../services/credentials.js";
import { AppError } from "../services/errors.js";
import type { Services } from "../services/services.js";
import type { Scope } from "../store/store.js";

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | null;
    /** The request's credential, read once (see `authenticationOf`). */
    authentication: Promise<Authentication> | null;
  }
}

/** A credential read: who it is, or why it was refused (answered by the route, if it needs one). */
export type Authentication = { principal: Principal; error?: undefined } | { principal?: undefined; error: unknown };

const BEARER = /^Bearer\s+(\S+)$/i;

/**
 * Reads the request's credential once. The rate limiter asks first (in onRequest, to count a
 * valid credential under its identity and anything else under the client's address); the
 * route's tenantAuth or systemAuth then gets the same answer without a second lookup.
 */
export function authenticationOf(services: Services, request: FastifyRequest): Promise<Authentication> {
  request.authentication ??= authenticate(services, request).then(
    (principal) => ({ principal }),
    (error: unknown) => ({ error }),
  );
  return request.authentication;
}

async function authenticated(services: Services, request: FastifyRequest): Promise<Principal> {
  const { principal, error } = await authenticationOf(services, request);
  if (principal === undefined) throw error;
  return principal;
}

/** Reads X-API-Key or an OAuth bearer token (the specification's two methods). */
async function authenticate(services: Services, request: FastifyRequest): Promise<Principal> {
  const apiKey = request.headers["x-api-key"];
  if (typeof apiKey === "string" && apiKey !== "") return services.credentials.authenticateApiKey(apiKey);
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    const token = BEARER.exec(authorization)?.[1];
    if (!token) throw new AppError("unauthorized", "Authorization header must be: Bearer <access_token>");
    return services.credentials.authenticateToken(token);
  }
  throw new AppError("unauthorized", "Missing credentials: send X-API-Key or Authorization: Bearer <access_token>");
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

type AuthPreHandler = ((request: FastifyRequest) => Promise<void>) & { [CREDENTIAL_REQUIREMENT]: CredentialRequirement };

/** A preHandler for tenant routes: authenticated, tenant-bound, with every scope named. */
export const tenantAuth = (services: Services, ...scopes: Scope[]): AuthPreHandler =>
  Object.assign(
    async (request: FastifyRequest): Promise<void> => {
      const principal = await authenticated(services, request);
      if (principal.kind !== "tenant" || principal.tenantId === null) {
        throw new AppError("forbidden", "This route needs a tenant credential, not a system key");
      }
      assertScopes(principal, scopes);
      request.principal = principal;
    },
    { [CREDENTIAL_REQUIREMENT]: { kind: "tenant" as const, scopes } },
  );

/** A preHandler for routes of the service's operator: system keys only. */
export const systemAuth = (services: Services, ...scopes: Scope[]): AuthPreHandler =>
  Object.assign(
    async (request: FastifyRequest): Promise<void> => {
      const principal = await authenticated(services, request);
      if (principal.kind !== "system")
        throw new AppError("forbidden", "This route needs a system key; tenant credentials cannot report deposits");
      assertScopes(principal, scopes);
      request.principal = principal;
    },
    { [CREDENTIAL_REQUIREMENT]: { kind: "system" as const, scopes } },
  );

/** The tenant of an authenticated tenant request. */
export function tenantOf(request: FastifyRequest): string {
  const tenantId = request.principal?.tenantId;
  if (!tenantId) throw new Error("tenant route ran without tenant authentication");
  return tenantId;
}
