import * as crypto from "node:crypto";
import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { isUuid } from "../ids.js";
import { DEFAULT_LIMIT_COOLING_OFF_SECONDS } from "../ledger/limits.js";
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
/**
 * SHA-256 in hex. The one-shot `crypto.hash` (Node 20.12 and later; looked up at run time, as
 * the service runs on any Node 20) costs 1 µs where a Hash object costs 2.5 µs.
 */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: "hex") => string }).hash;
export const hashSecret: (value: string) => string = oneShotHash
  ? (value) => oneShotHash("sha256", value, "hex")
  : (value) => createHash("sha256").update(value).digest("hex");

/**
 * API keys this process keeps in memory, at most: beyond, the one seen first is dropped (and
 * looked up again when it comes back). Far more than the keys of a service's tenants; each
 * entry is a hash and a principal, about 300 bytes.
 */
export const MAX_REMEMBERED_API_KEYS = 10_000;

const revokedKey = () => new AppError("unauthorized", "Invalid or revoked API key");

export class CredentialService {
  /**
   * API keys this process has authenticated, by hash. What a key is (its id, tenant and scopes)
   * never changes, so remembering it is always right; whether it is still unrevoked can change
   * at any moment in another process, so a remembered key is used only where the request's own
   * database statement checks that (`authenticateApiKey`).
   */
  readonly #keys = new Map<string, Principal>();

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
    await this.store.insertTenant({
      id: tenantId,
      name,
      createdAt,
      unknownRollback: "succeed",
      limitCoolingOffSeconds: DEFAULT_LIMIT_COOLING_OFF_SECONDS,
    });
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

  /**
   * Revokes the key in the database; every process refuses it from the moment this returns:
   * processes that remember it learn it from the statement of their next request with it.
   */
  async revokeApiKey(id: string) {
    // The id comes from a command line: one without a key id's form names no key.
    if (!isUuid(id) || !(await this.store.revokeApiKey(id, new Date().toISOString()))) throw new AppError("not_found", "API key not found");
    this.#forget(id);
    return { id, revoked: true as const };
  }

  /**
   * The principal of an API key. With `checkedByRead`, the route's own statement checks that
   * the key is still unrevoked (the balance read joins the key's row, store/balances.ts) and
   * calls `refuseRevokedKey` if not: a key this process has seen is then answered from memory,
   * with no query. Otherwise the key's row is read now, as every other route needs: a revoked
   * key must be refused before anything else happens.
   */
  authenticateApiKey(apiKey: string, checkedByRead = false): Principal | Promise<Principal> {
    const keyHash = hashSecret(apiKey);
    if (checkedByRead) {
      // Given at once, not as a promise: the HTTP hooks then go on in the same turn (http/auth.ts).
      const remembered = this.#keys.get(keyHash);
      if (remembered) return remembered;
    }
    return this.#lookUpApiKey(keyHash);
  }

  async #lookUpApiKey(keyHash: string): Promise<Principal> {
    const key = await this.store.findApiKeyByHash(keyHash);
    if (!key || key.revokedAt !== null) {
      this.#keys.delete(keyHash);
      throw revokedKey();
    }
    const principal: Principal = {
      kind: key.tenantId === null ? "system" : "tenant",
      tenantId: key.tenantId,
      credentialId: key.id,
      scopes: new Set(key.scopes),
      identity: `key:${key.id}`,
    };
    if (!this.#keys.has(keyHash) && this.#keys.size >= MAX_REMEMBERED_API_KEYS) {
      const oldest = this.#keys.keys().next();
      if (!oldest.done) this.#keys.delete(oldest.value);
    }
    this.#keys.set(keyHash, principal);
    return principal;
  }

  /**
   * A statement that checked the request's API key found it revoked (by another process, or
   * before this one remembered it): it is forgotten, and the request refused as the key lookup
   * would have refused it.
   */
  refuseRevokedKey(principal: Principal): never {
    if (principal.credentialId !== null) this.#forget(principal.credentialId);
    throw revokedKey();
  }

  /** Revocations are rare: a scan of the remembered keys costs less than a second index. */
  #forget(keyId: string): void {
    for (const [keyHash, principal] of this.#keys) if (principal.credentialId === keyId) this.#keys.delete(keyHash);
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
