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
  };
}

function integer(environment: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = environment[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got ${text}`);
  return value;
}
