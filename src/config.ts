import { parseAllowedTarget, type ResolveHost } from "./services/webhook-targets.js";

/** Configuration from the environment, read once at start, with the defaults of DESIGN 1.6. */
export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  tokenSecret: string | undefined;
  tokenTtlSeconds: number;
  currenciesFile: string | undefined;
  bodyLimitBytes: number;
  rateLimitPerMinute: number;
  logLevel: string;
  /** How long an Idempotency-Key's result is kept and replayed (at least 24 h by default). */
  idempotencyRetentionHours: number;
  /** Bodies of the batch endpoint may be larger: up to 8 190 movements. */
  batchBodyLimitBytes: number;
  /** How often each process looks for expired holds and idempotency keys. */
  sweepIntervalMs: number;
  /** Webhook retries: first delay (doubling each time) and how long to keep trying. */
  webhookBackoffBaseMs: number;
  webhookRetryHours: number;
  webhookTimeoutMs: number;
  webhookPollIntervalMs: number;
  /** Webhook targets may be http:// as well as https:// (WEBHOOK_ALLOW_HTTP). */
  webhookAllowHttp: boolean;
  /**
   * CIDR ranges a webhook may target whatever their class (WEBHOOK_ALLOWED_TARGETS): opens
   * loopback for tests or a private network for an in-house receiver. Everything else must be
   * a public address.
   */
  webhookAllowedTargets: string[];
  /**
   * Not from the environment: how webhook host names are resolved, for registration and
   * delivery alike (default `dns.promises.lookup`). Tests put a fake DNS here; it lives in the
   * configuration because both the services and the dispatcher are built from it.
   */
  webhookResolveHost?: ResolveHost;
}

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): Config {
  return {
    port: integer(environment, "PORT", 3000),
    host: environment.HOST ?? "0.0.0.0",
    databaseUrl: environment.DATABASE_URL ?? "sqlite:./data/wallet.db",
    tokenSecret: environment.TOKEN_SECRET || undefined,
    tokenTtlSeconds: integer(environment, "TOKEN_TTL_SECONDS", 3600),
    currenciesFile: environment.CURRENCIES_FILE || undefined,
    bodyLimitBytes: integer(environment, "BODY_LIMIT_BYTES", 64 * 1024),
    rateLimitPerMinute: integer(environment, "RATE_LIMIT_PER_MINUTE", 600_000),
    logLevel: environment.LOG_LEVEL ?? "info",
    idempotencyRetentionHours: integer(environment, "IDEMPOTENCY_RETENTION_HOURS", 24),
    batchBodyLimitBytes: integer(environment, "BATCH_BODY_LIMIT_BYTES", 4 * 1024 * 1024),
    sweepIntervalMs: integer(environment, "SWEEP_INTERVAL_MS", 1000),
    webhookBackoffBaseMs: integer(environment, "WEBHOOK_BACKOFF_BASE_MS", 10_000),
    webhookRetryHours: integer(environment, "WEBHOOK_RETRY_HOURS", 24),
    webhookTimeoutMs: integer(environment, "WEBHOOK_TIMEOUT_MS", 5000),
    webhookPollIntervalMs: integer(environment, "WEBHOOK_POLL_INTERVAL_MS", 1000),
    webhookAllowHttp: boolean(environment, "WEBHOOK_ALLOW_HTTP"),
    webhookAllowedTargets: cidrList(environment, "WEBHOOK_ALLOWED_TARGETS"),
  };
}

function integer(environment: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = environment[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got ${text}`);
  return value;
}

function boolean(environment: NodeJS.ProcessEnv, name: string): boolean {
  const text = (environment[name] ?? "").trim().toLowerCase();
  if (text === "" || text === "false" || text === "0") return false;
  if (text === "true" || text === "1") return true;
  throw new Error(`${name} must be true, false, 1 or 0, got ${environment[name]}`);
}

/** A comma-separated list of CIDR ranges; a malformed entry stops startup rather than being ignored. */
function cidrList(environment: NodeJS.ProcessEnv, name: string): string[] {
  const entries = (environment[name] ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  for (const entry of entries) parseAllowedTarget(entry);
  return entries;
}
