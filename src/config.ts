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
  /**
   * Who may read GET /metrics. METRICS_TOKEN: a bearer token the scraper must send. METRICS_PORT:
   * /metrics is served on a listener of its own, on METRICS_HOST (127.0.0.1 unless set), and not
   * on the main port. With neither, metrics are not served at all: they tell an outsider too much
   * about tenants' traffic to be open by default.
   */
  metricsToken: string | undefined;
  metricsPort: number | undefined;
  metricsHost: string;
  /**
   * PUBLIC_URL: the service's base URL as clients reach it (e.g. https://wallet.example.com), the
   * OAuth issuer of /.well-known/oauth-authorization-server. Without it the URL is taken from the
   * request's Host header, which is right for direct access but not behind a TLS-ending proxy.
   */
  publicUrl: string | undefined;
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
  /**
   * Not from the environment, for tests only: the time safer-gambling limits count by
   * (milliseconds since the epoch), so that a test can roll a window without waiting a day.
   */
  limitsClock?: () => number;
  /**
   * Live event streams (GET /wallets/events/), counted per process. STREAMS_PER_TENANT (50): a
   * casino back end needs one stream per consuming process and a few for dashboards, so 50 is
   * generous while keeping one tenant from taking the whole process (20 tenants reach the global
   * cap). STREAMS_MAX (1000): an open stream costs a few KB in the process, but each commit writes
   * to every stream of its tenant, and a client that stops reading parks up to a few MB in the
   * kernel's socket buffers (about 4 MB on loopback), so a thousand keeps both within what one
   * small process and host absorb (bench:streams measures 2 000).
   */
  streamsPerTenant: number;
  streamsMax: number;
  /**
   * STREAM_MAX_LAG_EVENTS (10 000): how many of its tenant's events a stream whose connection is
   * not draining may fall behind before it is disconnected; also the most events a tenant's shared
   * window keeps (about 8 MB of frames, held only while a stream is that far behind). One commit can
   * carry a whole batch (8 190 events), so a healthy client must be able to be a batch behind while
   * its socket drains; a client further behind does better to reconnect with Last-Event-ID and catch
   * up from the outbox a page at a time.
   */
  streamMaxLagEvents: number;
  /**
   * STREAM_MAX_STALL_MS (10 000): how long a stream's connection may refuse writes before it is
   * disconnected. A reading client drains its socket within milliseconds; ten seconds of no
   * progress means it is gone or stuck, and its slot is better given back.
   */
  streamMaxStallMs: number;
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
    metricsToken: metricsToken(environment),
    metricsPort: environment.METRICS_PORT ? integer(environment, "METRICS_PORT", 0) : undefined,
    metricsHost: environment.METRICS_HOST || "127.0.0.1",
    publicUrl: publicUrl(environment),
    idempotencyRetentionHours: integer(environment, "IDEMPOTENCY_RETENTION_HOURS", 24),
    batchBodyLimitBytes: integer(environment, "BATCH_BODY_LIMIT_BYTES", 4 * 1024 * 1024),
    sweepIntervalMs: integer(environment, "SWEEP_INTERVAL_MS", 1000),
    webhookBackoffBaseMs: integer(environment, "WEBHOOK_BACKOFF_BASE_MS", 10_000),
    webhookRetryHours: integer(environment, "WEBHOOK_RETRY_HOURS", 24),
    webhookTimeoutMs: integer(environment, "WEBHOOK_TIMEOUT_MS", 5000),
    webhookPollIntervalMs: integer(environment, "WEBHOOK_POLL_INTERVAL_MS", 1000),
    webhookAllowHttp: boolean(environment, "WEBHOOK_ALLOW_HTTP"),
    webhookAllowedTargets: cidrList(environment, "WEBHOOK_ALLOWED_TARGETS"),
    streamsPerTenant: integer(environment, "STREAMS_PER_TENANT", 50),
    streamsMax: integer(environment, "STREAMS_MAX", 1000),
    streamMaxLagEvents: integer(environment, "STREAM_MAX_LAG_EVENTS", 10_000),
    streamMaxStallMs: integer(environment, "STREAM_MAX_STALL_MS", 10_000),
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

/** A bearer token worth the name: a short one could be guessed by a scraper's neighbours. */
function metricsToken(environment: NodeJS.ProcessEnv): string | undefined {
  const token = environment.METRICS_TOKEN;
  if (!token) return undefined;
  if (!/^[\x21-\x7e]{16,256}$/.test(token)) throw new Error("METRICS_TOKEN must be 16 to 256 printable ASCII characters without spaces");
  return token;
}

/** An http(s) base URL without query or fragment, kept without its trailing slash. */
function publicUrl(environment: NodeJS.ProcessEnv): string | undefined {
  const text = environment.PUBLIC_URL;
  if (!text) return undefined;
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:") || url.search || url.hash || url.username || url.password)
    throw new Error(`PUBLIC_URL must be an http(s) URL without credentials, query or fragment, got ${text}`);
  return url.href.replace(/\/+$/, "");
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
