import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { AppError } from "../../services/errors.js";
import { withTimeout } from "../../store/operator.js";
import { ErrorResponse } from "../../wire/schemas.js";
import { responses } from "../schemas.js";

/**
 * Liveness and readiness for load balancers and orchestrators. Neither takes a credential or
 * counts against a rate limit, and both log only warnings (a probe every few seconds would
 * otherwise fill the log).
 * - `GET /health/live`: 200 while the process can answer at all.
 * - `GET /health/ready`: 200 when the database answers within two seconds and has every
 *   migration this build ships; 503 `unavailable` when it does not, and from the moment a
 *   shutdown begins, so that traffic moves elsewhere while requests in flight finish.
 */

const PING_TIMEOUT_MS = 2000;

export type NotReadyReason = "shutting_down" | "database_unreachable" | "migrations_pending";

const probe = { config: { rateLimit: false as const }, logLevel: "warn" as const };

export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { operator } = app.services;
  let shuttingDown = false;
  app.addHook("preClose", async () => {
    shuttingDown = true;
  });

  app.get(
    "/health/live",
    { ...probe, schema: { response: responses({ 200: Type.Object({ status: Type.Literal("live") }) }) } },
    async () => ({ status: "live" as const }),
  );

  app.get(
    "/health/ready",
    { ...probe, schema: { response: responses({ 200: Type.Object({ status: Type.Literal("ready") }), 503: ErrorResponse }) } },
    async (request) => {
      if (shuttingDown) throw notReady("shutting_down", "The server is shutting down");
      let schema: Awaited<ReturnType<typeof operator.ping>>;
      try {
        schema = await withTimeout(operator.ping(), PING_TIMEOUT_MS, `the database did not answer within ${PING_TIMEOUT_MS} ms`);
      } catch (error) {
        request.log.warn({ err: error }, "not ready: the database does not answer");
        throw notReady("database_unreachable", "The database does not answer");
      }
      if (schema.migrationsApplied < schema.migrationsExpected) {
        throw notReady("migrations_pending", `The database has ${schema.migrationsApplied} of ${schema.migrationsExpected} migrations`);
      }
      return { status: "ready" as const };
    },
  );
};

const notReady = (reason: NotReadyReason, message: string) => new AppError("unavailable", message, { reason });
