import rateLimit, { type FastifyRateLimitStore, type FastifyRateLimitStoreCtor, normalizeIP } from "@fastify/rate-limit";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { AppError } from "../services/errors.js";
import type { SharedRateLimiter } from "../services/rate-limiter.js";
import type { Services } from "../services/services.js";
import { authenticationOf } from "./auth.js";

/**
 * Rate limiting: `@fastify/rate-limit` for the hook, the headers (`x-ratelimit-limit`,
 * `-remaining`, `-reset`, and `Retry-After` on a 429) and the envelope, counting in the
 * database through `SharedRateLimiter`, so that a limit holds across every process and host
 * sharing it (see there for the bound). A valid credential is counted under its identity (the
 * API key, or the OAuth client of a token); requests with no credential or one that is
 * unknown, revoked, expired or malformed share one count per client address, so inventing keys
 * never buys a fresh allowance.
 */

export const RATE_LIMIT_WINDOW_MS = 60_000;

/** The plugin constructs its store itself; this gives it one counting through the shared limiter. */
function sharedStore(limiter: SharedRateLimiter, onError: (error: unknown) => void): FastifyRateLimitStoreCtor {
  class SharedStore implements FastifyRateLimitStore {
    constructor(
      _options: unknown,
      private readonly namespace = "",
    ) {}

    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number, max: number) {
      limiter.take(this.namespace + key, timeWindow, max).then(
        (decision) => callback(null, { current: decision.current, ttl: decision.ttlMs }),
        (error: unknown) => {
          onError(error);
          callback(error instanceof Error ? error : new Error(String(error)));
        },
      );
    }

    /** A route with its own limit counts apart from the others. */
    child(options: unknown): FastifyRateLimitStore {
      const route = (options as { routeInfo?: { method?: unknown; url?: unknown } }).routeInfo;
      return new SharedStore(options, `${String(route?.method)} ${String(route?.url)}|${this.namespace}`);
    }
  }
  return SharedStore;
}

async function rateLimitKey(services: Services, request: FastifyRequest): Promise<string> {
  const { principal } = await authenticationOf(services, request);
  return principal?.identity ?? `ip:${normalizeIP(request.ip)}`;
}

export async function installRateLimit(app: FastifyInstance, services: Services, maxPerMinute: number): Promise<void> {
  const limiter = services.rateLimits;
  await app.register(rateLimit, {
    max: maxPerMinute,
    timeWindow: RATE_LIMIT_WINDOW_MS,
    store: sharedStore(limiter, (error) => app.log.error({ err: error }, "rate limit counter unavailable; request let through")),
    // Counting in the database must not turn a request into a 500: when the counter cannot be
    // reached the request goes on (and meets the same database, which answers for itself).
    skipOnError: true,
    keyGenerator: (request) => rateLimitKey(services, request),
    errorResponseBuilder: (_request, context) =>
      new AppError("rate_limited", `Too many requests; retry in ${Math.ceil(context.ttl / 1000)} s`, { limit: context.max }),
  });
}
