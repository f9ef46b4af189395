/**
 * A typed TypeScript client of the wallet service: the types are generated from its OpenAPI
 * document (sdk/schema.d.ts, `npm run sdk:generate`) and the calls go through openapi-fetch, so
 * every path, parameter, body and answer is checked by the compiler.
 *
 *   const wallet = createWalletClient({ baseUrl: "https://wallet.example", apiKey: process.env.API_KEY });
 *   const { data, error } = await wallet.POST("/wallets/balances/", { body: { external_id: "player-12345" } });
 *
 * Node 20 or newer (global fetch); it needs `openapi-fetch` and nothing of the service.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import createClient, { type Client, type Middleware } from "openapi-fetch";
import type { components, paths, webhooks } from "./schema.js";

export type { components, paths, webhooks } from "./schema.js";

/** The named objects of the API: `Schemas["Balance"]`, `Schemas["Transfer"]`, `Schemas["Error"]`... */
export type Schemas = components["schemas"];

/** A webhook body: one of the event payloads, told apart by `type`. */
export type WebhookEvent = {
  [Type in keyof webhooks]: webhooks[Type]["post"]["requestBody"]["content"]["application/json"];
}[keyof webhooks];

/** A `data:` line of the live stream (GET /wallets/events/): an event with its sequence number. */
export type StreamEvent = Schemas["StreamEvent"];

export type WalletClient = Client<paths, "application/json">;

export interface WalletClientOptions {
  /** The service's base URL, e.g. `https://wallet.example` (no trailing path). */
  baseUrl: string;
  /** A tenant API key (sent as X-API-Key), or a system key for the chain watcher or payout system. */
  apiKey?: string;
  /**
   * An OAuth 2.0 access token (sent as Authorization: Bearer), or a function that returns a
   * current one before each request (see `requestToken`).
   */
  token?: string | (() => string | Promise<string>);
  /** Another fetch, e.g. one with a proxy or timeouts. */
  fetch?: (request: Request) => Promise<Response>;
}

/** A client of every route of the service, authenticated with an API key or a token. */
export function createWalletClient(options: WalletClientOptions): WalletClient {
  if ((options.apiKey === undefined) === (options.token === undefined)) throw new Error("give either apiKey or token");
  const client = createClient<paths, "application/json">({
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const { apiKey, token } = options;
  const credential: Middleware = {
    async onRequest({ request }) {
      if (apiKey !== undefined) request.headers.set("X-API-Key", apiKey);
      else if (token !== undefined) request.headers.set("Authorization", `Bearer ${typeof token === "function" ? await token() : token}`);
      return request;
    },
  };
  client.use(credential);
  return client;
}

export interface TokenRequest {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  /** Space-separated scopes; all of the client's by default. */
  scope?: string;
  fetch?: (request: Request) => Promise<Response>;
}

/** An OAuth 2.0 client credentials token (POST /o/token/, client authentication by HTTP Basic). */
export async function requestToken(request: TokenRequest): Promise<Schemas["Token"]> {
  const client = createClient<paths>({
    baseUrl: request.baseUrl.replace(/\/+$/, ""),
    ...(request.fetch ? { fetch: request.fetch } : {}),
  });
  // RFC 6749 2.3.1: both parts are form-encoded before they are joined.
  const basic = Buffer.from(`${formEncode(request.clientId)}:${formEncode(request.clientSecret)}`).toString("base64");
  const { data, error, response } = await client.POST("/o/token/", {
    body: { grant_type: "client_credentials", ...(request.scope === undefined ? {} : { scope: request.scope }) },
    headers: { Authorization: `Basic ${basic}`, "Content-Type": "application/x-www-form-urlencoded" },
    bodySerializer: (body) => new URLSearchParams(body as Record<string, string>).toString(),
  });
  if (data) return data;
  const reason = error && "error_description" in error ? `${error.error}: ${error.error_description}` : `HTTP ${response.status}`;
  throw new Error(`token request refused (${reason})`);
}

const formEncode = (text: string) => encodeURIComponent(text).replaceAll("%20", "+");

/**
 * Verifies a webhook delivery's `X-Signature: t=<unix seconds>,v1=<hex>` header: v1 must be
 * HMAC-SHA256(secret, "<t>.<raw body>") in hex, compared in constant time, and t no more than
 * `toleranceSeconds` away from now. Pass the raw body exactly as received (before any JSON
 * parsing), then de-duplicate on X-Event-Id.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | undefined,
  rawBody: string | Buffer,
  toleranceSeconds = 300,
  nowSeconds = Date.now() / 1000,
): boolean {
  if (typeof header !== "string") return false;
  const parts = new Map<string, string>();
  for (const part of header.split(",")) {
    const equals = part.indexOf("=");
    if (equals > 0) parts.set(part.slice(0, equals).trim(), part.slice(equals + 1).trim());
  }
  const timestamp = parts.get("t");
  const given = parts.get("v1");
  if (timestamp === undefined || given === undefined || !/^\d{1,12}$/.test(timestamp) || !/^[0-9a-f]{64}$/.test(given)) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) return false;
  const expected = createHmac("sha256", secret).update(`${timestamp}.`).update(rawBody).digest();
  return timingSafeEqual(Buffer.from(given, "hex"), expected);
}
