import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { isUuid } from "../ids.js";
import type { Scope, Store } from "../store/store.js";
import { AppError } from "./errors.js";

/**
 * API keys, system keys and OAuth 2.0 client credentials (DESIGN 1.4). Secrets are high-entropy
 * random strings, shown once and stored only as SHA-256 hashes: with 256 random bits a slow
 * password hash adds nothing but latency to every request.
 */

export const TENANT_SCOPES: readonly Scope[] = ["read", "write"];
export const SYSTEM_SCOPES: readonly Scope[] = ["deposits", "withdrawals"];
const TOKEN_ISSUER = "casino-wallet";
const TOKEN_ALGORITHM = "HS256";

export interface Principal {
  kind: "tenant" | "system";
  /** null only for system credentials. */
  tenantId: string | null;
  /** The API key's id (null for an OAuth token): a system key's Idempotency-Keys are its own. */
  credentialId: string | null;
  scopes: ReadonlySet<Scope>;
  /**
   * Whom rate limits count this credential as: `key:<api key id>`, or `client:<client id>` for
   * every token of one OAuth client (minting new tokens does not reset the count).
   */
  identity: string;
}

export interface IssuedToken {
  accessToken: string;
  expiresInSeconds: number;
  scope: string;
}

/** RFC 6749 section 5.2 errors; the token route answers them in the RFC's own format. */
export class OAuthError extends Error {
  constructor(
    readonly error: "invalid_request" | "invalid_client" | "invalid_grant" | "invalid_scope" | "unsupported_grant_type",
    readonly description: string,
  ) {
    super(description);
  }
}

const secret = (prefix: string) => `${prefix}_${randomBytes(32).toString("base64url")}`;
export const hashSecret = (value: string) => createHash("sha256").update(value).digest("hex");

export class CredentialService {
  constructor(
    private readonly store: Store,
    private readonly tokenKey: Uint8Array,
    private readonly tokenTtlSeconds: number,
  ) {}

  /** Reads the token signing secret from configuration, or generates and keeps one in the store. */
  static async tokenKey(store: Store, configured: string | undefined): Promise<Uint8Array> {
    const value = configured ?? (await store.getOrInsertSetting("token_signing_secret", randomBytes(32).toString("base64url")));
    return new TextEncoder().encode(value);
  }

  async createTenant(name: string) {
    const tenantId = randomUUID();
    const createdAt = new Date().toISOString();
    await this.store.insertTenant({ id: tenantId, name, createdAt, unknownRollback: "succeed" });
    const key = await this.createApiKey(tenantId, TENANT_SCOPES);
    const clientId = `cl_${randomBytes(12).toString("hex")}`;
    const clientSecret = secret("cs");
    await this.store.insertClient({ clientId, tenantId, secretHash: hashSecret(clientSecret), scopes: [...TENANT_SCOPES], createdAt });
    return { tenantId, apiKey: key.apiKey, clientId, clientSecret };
  }

  async createApiKey(tenantId: string, scopes: readonly Scope[]) {
    if (!isUuid(tenantId) || !(await this.store.findTenant(tenantId))) throw new AppError("not_found", "Tenant not found");
    assertScopes(scopes, TENANT_SCOPES);
    return this.#insertKey(tenantId, scopes, "wk");
  }

  async createSystemKey(scopes: readonly Scope[]) {
    assertScopes(scopes, SYSTEM_SCOPES);
    return this.#insertKey(null, scopes, "wsk");
  }

  async #insertKey(tenantId: string | null, scopes: readonly Scope[], prefix: string) {
    const id = randomUUID();
    const apiKey = secret(prefix);
    await this.store.insertApiKey({
      id,
      tenantId,
      keyHash: hashSecret(apiKey),
      scopes: [...scopes],
      createdAt: new Date().toISOString(),
      revokedAt: null,
    });
    return { id, apiKey };
  }

  /**
   * Gives an OAuth client a new secret, shown once; the old one stops working at once (tokens
   * already issued with it live out their TOKEN_TTL_SECONDS).
   */
  async rotateClientSecret(clientId: string) {
    const clientSecret = secret("cs");
    if (!(await this.store.operator.setClientSecret(clientId, hashSecret(clientSecret))))
      throw new AppError("not_found", "OAuth client not found");
    return { clientId, clientSecret };
  }

  async revokeApiKey(id: string) {
    // The id comes from a command line: one without a key id's form names no key.
    if (!isUuid(id) || !(await this.store.revokeApiKey(id, new Date().toISOString()))) throw new AppError("not_found", "API key not found");
    return { id, revoked: true as const };
  }

  async authenticateApiKey(apiKey: string): Promise<Principal> {
    const key = await this.store.findApiKeyByHash(hashSecret(apiKey));
    if (!key || key.revokedAt !== null) throw new AppError("unauthorized", "Invalid or revoked API key");
    return {
      kind: key.tenantId === null ? "system" : "tenant",
      tenantId: key.tenantId,
      credentialId: key.id,
      scopes: new Set(key.scopes),
      identity: `key:${key.id}`,
    };
  }

  async issueToken(clientId: string, clientSecret: string, requestedScope: string | undefined): Promise<IssuedToken> {
    const client = await this.store.findClient(clientId);
    if (!client || !sameHash(client.secretHash, hashSecret(clientSecret))) {
      throw new OAuthError("invalid_client", "Client authentication failed");
    }
    const requested = requestedScope === undefined ? client.scopes : (requestedScope.split(" ").filter(Boolean) as Scope[]);
    if (requested.length === 0 || requested.some((scope) => !client.scopes.includes(scope))) {
      throw new OAuthError("invalid_scope", `Allowed scopes: ${client.scopes.join(" ")}`);
    }
    const scope = [...new Set(requested)].join(" ");
    const accessToken = await new SignJWT({ scope, tid: client.tenantId })
      .setProtectedHeader({ alg: TOKEN_ALGORITHM, typ: "JWT" })
      .setIssuer(TOKEN_ISSUER)
      .setSubject(client.clientId)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime(`${this.tokenTtlSeconds}s`)
      .sign(this.tokenKey);
    return { accessToken, expiresInSeconds: this.tokenTtlSeconds, scope };
  }

  async authenticateToken(token: string): Promise<Principal> {
    try {
      // Pinning the algorithm refuses `alg: none` and any key-confusion attempt.
      const { payload } = await jwtVerify(token, this.tokenKey, { algorithms: [TOKEN_ALGORITHM], issuer: TOKEN_ISSUER });
      const { tid, scope, sub } = payload;
      if (typeof tid !== "string" || typeof scope !== "string") throw new AppError("unauthorized", "Invalid token");
      // Every token this service issues names its client; one signed without (by a holder of the secret) counts as its tenant.
      const identity = typeof sub === "string" ? `client:${sub}` : `tenant:${tid}`;
      return { kind: "tenant", tenantId: tid, credentialId: null, scopes: new Set(scope.split(" ") as Scope[]), identity };
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw new AppError("unauthorized", "Token expired");
      if (error instanceof joseErrors.JOSEError || error instanceof AppError) throw new AppError("unauthorized", "Invalid token");
      throw error;
    }
  }
}

function assertScopes(scopes: readonly Scope[], allowed: readonly Scope[]): void {
  if (scopes.length === 0 || scopes.some((scope) => !allowed.includes(scope))) {
    throw new AppError("invalid_request", `Scopes must be among: ${allowed.join(", ")}`, { scopes });
  }
}

function sameHash(left: string, right: string): boolean {
  return left.length === right.length && timingSafeEqual(Buffer.from(left), Buffer.from(right));
}
