import { Ajv } from "ajv";
import Fastify, { type FastifyInstance, type FastifyServerOptions } from "fastify";
import type { Config } from "../config.js";
import type { Services } from "../services/services.js";
import { installJsonParser } from "./bodies.js";
import { clientErrorHandler, frameworkErrors, installErrorHandling, MAX_PARAM_LENGTH } from "./errors.js";
import { installInputRules } from "./input.js";
import { installMetrics, metricsRoutes } from "./metrics.js";
import { installOpenApi } from "./openapi.js";
import { installRateLimit } from "./rate-limit.js";
import { installRequestIds, requestIdOptions } from "./request-ids.js";
import { batchRoutes } from "./routes/batches.js";
import { dashboardRoutes } from "./routes/dashboard.js";
import { depositRoutes } from "./routes/deposits.js";
import { eventRoutes } from "./routes/events.js";
import { gameRoutes } from "./routes/games.js";
import { healthRoutes } from "./routes/health.js";
import { holdRoutes } from "./routes/holds.js";
import { limitRoutes } from "./routes/limits.js";
import { oauthMetadataRoutes } from "./routes/oauth-metadata.js";
import { tokenRoutes } from "./routes/token.js";
import { transferRoutes } from "./routes/transfers.js";
import { walletRoutes } from "./routes/wallets.js";
import { webhookRoutes } from "./routes/webhooks.js";
import { withdrawalRoutes } from "./routes/withdrawals.js";

declare module "fastify" {
  interface FastifyInstance {
    services: Services;
    config: AppConfig;
  }
}

type AppConfig = Pick<
  Config,
  "bodyLimitBytes" | "rateLimitPerMinute" | "batchBodyLimitBytes" | "metricsToken" | "metricsPort" | "metricsHost" | "publicUrl"
>;

/**
 * The HTTP layer: plugins and routes over the use cases. It builds nothing that outlives a
 * request except its metrics; the store, the use cases and the background workers come from
 * the composition root (src/runtime.ts), which the caller closes after the app.
 */
export interface AppOptions {
  services: Services;
  config: AppConfig;
  logger?: FastifyServerOptions["logger"];
  onInvariantBroken?: (error: Error) => void;
}

/**
 * Bodies are validated strictly: unknown fields and wrong types are refused, not stripped or
 * coerced (Fastify's defaults would silently accept `{"wallet_id": 5}`). Query strings are the
 * exception: everything there arrives as text, so numbers are coerced.
 */
function validatorCompiler() {
  const strict = new Ajv({ removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false, strict: false });
  const coercing = new Ajv({ removeAdditional: false, coerceTypes: true, useDefaults: true, allErrors: false, strict: false });
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) => (httpPart === "querystring" ? coercing : strict).compile(schema);
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.config.bodyLimitBytes,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors,
    clientErrorHandler,
    return503OnClosing: false,
    ...requestIdOptions,
  });
  app.decorate("services", options.services);
  app.decorate("config", options.config);
  app.decorateRequest("principal", null);
  app.decorateRequest("authentication", null);
  // First, so that every answer carries its request id and every log line its tenant.
  installRequestIds(app, options.services);
  installMetrics(app, options.services, options.config);
  app.setValidatorCompiler(validatorCompiler());
  installErrorHandling(app, { onInvariantBroken: options.onInvariantBroken ?? (() => process.exit(70)) });
  installJsonParser(app);
  installInputRules(app);
  await installRateLimit(app, options.services, options.config.rateLimitPerMinute);
  // Before every route: the document is generated from the routes registered after it.
  await installOpenApi(app);
  await app.register(tokenRoutes);
  await app.register(walletRoutes);
  await app.register(limitRoutes);
  await app.register(transferRoutes);
  await app.register(depositRoutes);
  await app.register(gameRoutes);
  await app.register(holdRoutes);
  await app.register(withdrawalRoutes);
  await app.register(batchRoutes);
  await app.register(eventRoutes);
  await app.register(webhookRoutes);
  await app.register(dashboardRoutes);
  await app.register(healthRoutes);
  await app.register(oauthMetadataRoutes);
  await app.register(metricsRoutes);
  return app;
}
