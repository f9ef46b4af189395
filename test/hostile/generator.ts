import { createHmac } from "node:crypto";
import { LIMIT_NAMES } from "../../src/ledger/limits.js";

/**
 * A deterministic, seeded generator of hostile HTTP requests over every route of the README's
 * API table. Every request carries at least one defect, so the only correct answer is a 4xx
 * and no state changes. Requests name the real resources of the setup phase (wallets, holds,
 * withdrawals, the webhook endpoint, Idempotency-Keys already used), so that the defect, not an
 * unknown id, is what each one tests. Same fixture and seed, same requests.
 */

export const CATEGORIES = [
  "encoding",
  "types",
  "unknown_fields",
  "body_on_bodyless",
  "key_reuse",
  "path",
  "oversized",
  "credentials",
] as const;
export type Category = (typeof CATEGORIES)[number];

export interface HostileRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
  category: Category;
  /** The route under test as the README names it, e.g. `POST /holds/{id}/void/`. */
  route: string;
  /** What is wrong with this request, in a few words. */
  defect: string;
  /** The status the contract (DESIGN 1.1) names for this defect, where it names exactly one. */
  expect?: number;
  /** True where a wrongly accepted request would open a never-ending stream (SSE). */
  stream?: boolean;
}

/** The resources and credentials the setup phase created; the generator only names them. */
export interface Fixture {
  tenantId: string;
  apiKey: string;
  /** A valid OAuth access token of the tenant (scopes read, write). */
  token: string;
  /** A token of the tenant signed with the real key, already expired. */
  expiredToken: string;
  readOnlyKey: string;
  writeOnlyKey: string;
  revokedKey: string;
  otherTenantKey: string;
  systemDepositsKey: string;
  systemWithdrawalsKey: string;
  clientId: string;
  clientSecret: string;
  otherClientId: string;
  currency: string;
  /** Wallets with funds in `currency` (at least two). */
  wallets: FixtureWallet[];
  pendingHoldIds: string[];
  settledHoldIds: string[];
  pendingWithdrawalIds: string[];
  settledWithdrawalIds: string[];
  webhookId: string;
  /** The local receiver's base URL, ending with `/`. */
  webhookUrl: string;
  /** An event with a delivery, for redelivery. */
  eventId: string;
  /** Bets with neither a win nor a rollback. */
  openBets: { transactionId: string; roundId: string; wallet: FixtureWallet }[];
  /** Requests the setup sent with an Idempotency-Key (see keyedPlan). */
  keyed: KeyedRequest[];
  bodyLimitBytes: number;
  batchBodyLimitBytes: number;
}

export interface FixtureWallet {
  id: string;
  walletId: string;
  externalId: string;
}

export type Credential = "tenant" | "system-deposits" | "system-withdrawals" | "client";

/** A request of the setup phase sent with an Idempotency-Key, and valid requests reusing that key. */
export interface KeyedRequest {
  key: string;
  route: string;
  method: "POST" | "DELETE";
  path: string;
  body: Json;
  credential: Credential;
  reuse: KeyReuse[];
}

export interface KeyReuse {
  route: string;
  path: string;
  body: Json;
  defect: string;
}

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies here are built and mutated freely.
export type Json = any;

/** A JSON value written verbatim: numbers a parser cannot hold, or invalid JSON on purpose. */
export class RawJson {
  constructor(readonly text: string) {}
}

/** A JSON string with raw bytes spliced in: invalid UTF-8 inside an otherwise valid body. */
export class RawBytes {
  constructor(
    readonly before: string,
    readonly bytes: readonly number[],
    readonly after: string,
  ) {}
}

// ---------------------------------------------------------------------------------------------
// Randomness: mulberry32, seeded, never Math.random.

export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export class Rng {
  readonly #next: () => number;

  constructor(seed: number) {
    this.#next = mulberry32(seed);
  }

  float(): number {
    return this.#next();
  }

  int(below: number): number {
    return Math.floor(this.#next() * below);
  }

  chance(probability: number): boolean {
    return this.#next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("pick from an empty list");
    return items[this.int(items.length)] as T;
  }

  shuffle<T>(items: readonly T[]): T[] {
    const copy = [...items];
    for (let index = copy.length - 1; index > 0; index -= 1) {
      const other = this.int(index + 1);
      [copy[index], copy[other]] = [copy[other] as T, copy[index] as T];
    }
    return copy;
  }

  token(length: number, alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"): string {
    let text = "";
    for (let index = 0; index < length; index += 1) text += alphabet[this.int(alphabet.length)];
    return text;
  }
}

// ---------------------------------------------------------------------------------------------
// JSON with raw parts.

/** Writes a body; a string when it is valid UTF-8, a Buffer when raw bytes were spliced in. */
export function encodeJson(value: Json): string | Buffer {
  const parts: Buffer[] = [];
  let raw = false;
  const write = (item: Json): void => {
    if (item instanceof RawJson) parts.push(Buffer.from(item.text, "utf8"));
    else if (item instanceof RawBytes) {
      raw = true;
      parts.push(Buffer.from(JSON.stringify(item.before).slice(0, -1), "utf8"));
      parts.push(Buffer.from(item.bytes));
      parts.push(Buffer.from(JSON.stringify(item.after).slice(1), "utf8"));
    } else if (Array.isArray(item)) {
      parts.push(Buffer.from("["));
      item.forEach((element, index) => {
        if (index > 0) parts.push(Buffer.from(","));
        write(element);
      });
      parts.push(Buffer.from("]"));
    } else if (item !== null && typeof item === "object") {
      parts.push(Buffer.from("{"));
      Object.keys(item).forEach((key, index) => {
        if (index > 0) parts.push(Buffer.from(","));
        parts.push(Buffer.from(`${JSON.stringify(key)}:`, "utf8"));
        write(item[key]);
      });
      parts.push(Buffer.from("}"));
    } else parts.push(Buffer.from(JSON.stringify(item) ?? "null", "utf8"));
  };
  write(value);
  const buffer = Buffer.concat(parts);
  return raw ? buffer : buffer.toString("utf8");
}

const clone = (value: Json): Json => structuredClone(value);

/** Sets a property as an own, enumerable one (so that `__proto__` stays a key, not a prototype). */
function withKey(target: Json, key: string, value: Json): Json {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  return target;
}

type Path = (string | number)[];

function setAt(body: Json, path: Path, value: Json): Json {
  const copy = clone(body);
  let cursor = copy;
  for (const step of path.slice(0, -1)) cursor = cursor[step];
  withKey(cursor, String(path[path.length - 1]), value);
  return copy;
}

function getAt(body: Json, path: Path): Json {
  let cursor = body;
  for (const step of path) cursor = cursor[step];
  return cursor;
}

/** Every primitive or array leaf of a body, with its path. */
function leaves(body: Json, prefix: Path = []): Path[] {
  const found: Path[] = [];
  for (const [key, value] of Object.entries(body)) {
    const path = [...prefix, key];
    found.push(path);
    if (!Array.isArray(value)) continue;
    value.forEach((item, index) => {
      if (item && typeof item === "object") found.push(...leaves(item, [...path, index]));
    });
  }
  return found;
}

const pathName = (path: Path) => path.map((step) => (typeof step === "number" ? `[${step}]` : step)).join(".");

// ---------------------------------------------------------------------------------------------
// The routes of the README's API table, each with a valid template the defects are applied to.

interface Template {
  /** Path with the real resource id already in it. */
  path: string;
  query?: Record<string, string>;
  body?: Json;
  /** The token route also takes form bodies. */
  form?: boolean;
  headers?: Record<string, string>;
}

interface RouteSpec {
  route: string;
  method: string;
  /** Path with `{id}` where a resource id goes. */
  pattern: string;
  credential: Credential;
  scopes: ("read" | "write")[];
  /** The real id the template names, when the path has one. */
  param?: (fx: Fixture, rng: Rng) => string;
  /** A valid request (the id, if any, is put in by the caller). */
  template: (fx: Fixture, rng: Rng, n: number) => Omit<Template, "path">;
  takesBody: boolean;
  mutating: boolean;
  /** Accepts an Idempotency-Key today (the others must still refuse a malformed one). */
  idempotent?: boolean;
  /** Query parameters that are integers, and their valid range. */
  queryIntegers?: Record<string, [number, number | undefined]>;
  /** Body fields that are integers, and their valid range (added when the template lacks them). */
  bodyIntegers?: Record<string, [number, number]>;
  /** Body fields where null is a valid value (a limit's removal), so no wrong type. */
  nullableFields?: readonly string[];
  /** Names other tenants' credentials would not find (a resource or a wallet of this tenant). */
  namesResource: boolean;
  stream?: boolean;
}

const pickWallet = (fx: Fixture, rng: Rng) => rng.pick(fx.wallets);
const walletRef = (fx: Fixture, rng: Rng) => {
  const wallet = pickWallet(fx, rng);
  return rng.chance(0.5) ? { wallet_id: wallet.walletId } : { external_id: wallet.externalId };
};
const smallAmount = (rng: Rng): Json => rng.pick(["1", "0.5", "1.25", 1, "2"]);
const optional = (rng: Rng, entries: Record<string, Json>): Record<string, Json> =>
  Object.fromEntries(Object.entries(entries).filter(() => rng.chance(0.5)));

const anyHold = (fx: Fixture, rng: Rng) => rng.pick([...fx.pendingHoldIds, ...fx.settledHoldIds]);
const anyWithdrawal = (fx: Fixture, rng: Rng) => rng.pick([...fx.pendingWithdrawalIds, ...fx.settledWithdrawalIds]);
const walletParam = (fx: Fixture, rng: Rng) => {
  const wallet = pickWallet(fx, rng);
  return rng.chance(0.7) ? wallet.walletId : wallet.id;
};

export const ROUTES: RouteSpec[] = [
  {
    route: "POST /o/token/",
    method: "POST",
    pattern: "/o/token/",
    credential: "client",
    scopes: [],
    takesBody: true,
    mutating: false,
    namesResource: false,
    template: (fx, rng) => {
      const basic = rng.chance(0.4);
      const body: Json = { grant_type: "client_credentials" };
      if (!basic) Object.assign(body, { client_id: fx.clientId, client_secret: fx.clientSecret });
      if (rng.chance(0.3)) body.scope = rng.pick(["read", "write", "read write"]);
      const headers: Record<string, string> = basic ? { authorization: basicAuth(fx.clientId, fx.clientSecret) } : {};
      return { body, form: rng.chance(0.5), headers };
    },
  },
  {
    route: "POST /wallets/",
    method: "POST",
    pattern: "/wallets/",
    credential: "tenant",
    scopes: ["write"],
    takesBody: true,
    mutating: true,
    idempotent: true,
    namesResource: false,
    template: (_fx, _rng, n) => ({ body: { name: `Hostile player ${n}`, external_id: `hostile-new-${n}` } }),
  },
  {
    route: "GET /wallets/",
    method: "GET",
    pattern: "/wallets/",
    credential: "tenant",
    scopes: ["read"],
    takesBody: false,
    mutating: false,
    namesResource: false,
    queryIntegers: { limit: [1, 100], offset: [0, 1_000_000_000] },
    template: (_fx, rng) => ({ query: optional(rng, { limit: "10", offset: "0", search: rng.pick(["Player", "hostile", "setup"]) }) }),
  },
  {
    route: "GET /wallets/{id}/",
    method: "GET",
    pattern: "/wallets/{id}/",
    credential: "tenant",
    scopes: ["read"],
    takesBody: false,
    mutating: false,
    namesResource: true,
    param: walletParam,
    template: () => ({}),
  },
  {
    route: "GET /wallets/{id}/deposits/",
    method: "GET",
    pattern: "/wallets/{id}/deposits/",
    credential: "tenant",
    scopes: ["read"],
    takesBody: false,
    mutating: false,
    namesResource: true,
    param: walletParam,
    queryIntegers: { limit: [1, 100] },
    template: (_fx, rng) => ({ query: optional(rng, { status: rng.pick(["pending", "confirmed", "dropped"]), limit: "10" }) }),
  },
  {
    route: "PUT /wallets/{id}/limits/{currency}/",
    method: "PUT",
    // The fixture's currency: the generator's `{id}` is the wallet, the currency stays valid.
    pattern: "/wallets/{id}/limits/USDTTRC20/",
    credential: "tenant",
    scopes: ["write"],
    takesBody: true,
    mutating: true,
    idempotent: true,
    namesResource: true,
    param: walletParam,
    nullableFields: LIMIT_NAMES,
    // Generous limits, so that a request that wrongly went through would show in the snapshot
    // (the limits view) without refusing the other routes' valid requests.
    template: (_fx, rng) => ({
      body: { loss_day: rng.pick(["100000", "250000.5"]), ...optional(rng, { max_stake: "50000", deposit_week: null }) },
    }),
  },
  {
    route: "GET /wallets/{id}/limits/",
    method: "GET",
    pattern: "/wallets/{id}/limits/",
    credential: "tenant",
    scopes: ["read"],
    takesBody: false,
    mutating: false,
    namesResource: true,
    param: walletParam,
    template: () => ({}),
  },
  {
    route: "POST /wallets/{id}/exclusions/",
    method: "POST",
    pattern: "/wallets/{id}/exclusions/",
    credential: "tenant",
    scopes: ["write"],
    takesBody: true,
    mutating: true,
    idempotent: true,
    namesResource: true,
    param: walletParam,
    bodyIntegers: { duration_days: [1, 42] },
    template: (_fx, rng) => ({ body: { kind: "timeout", duration_days: rng.pick([1, 7, 42]) } }),
  },
  {
    route: "POST /wallets/balances/",
    method: "POST",
    pattern: "/wallets/balances/",
    credential: "tenant",
    scopes: ["read", "write"],
    takesBody: true,
    mutating: false,
    namesResource: true,
    template: (fx, rng) => ({ body: walletRef(fx, rng) }),
  },
  {
    route: "POST /wallets/transfer-to-user/",
    method: "POST",
    pattern: "/wallets/transfer-to-user/",
    credential: "tenant",
    scopes: ["write"],
    takesBody: true,
    mutating: true,
    idempotent: true,
    namesResource: true,
    template: (fx, rng) => ({ body: { ...walletRef(fx, rng), currency: fx.currency, amount: smallAmount(rng) } }),
  },
  {
    route: "POST /wallets/withdraw-to-master/",
    method: "POST",
    pattern: "/wallets/withdraw-to-master/",
    credential: "tenant",
    scopes: ["write"],
    takesBody: true,
    mutating: true,
    idempotent: true,
    namesResource: true,
    template: (fx, rng) => ({ body: { ...walletRef(fx, rng), currency: fx.currency, amount: smallAmount(rng) } }),
  },
  {
    route: "POST /wallets/transfer-history/",
    method: "POST",
    pattern: "/wallets/transfer-history/",
    credential: "tenant",
    scopes: ["read"],
    takesBody: true,
    mutating: false,
    namesResource: true,
    bodyIntegers: { limit: [1, 100], offset: [0, 1_000_000_000] },
    template: (fx, rng) => ({
      body: {
        ...walletRef(fx, rng),
        ...optional(rng, {
          status: rng.pick(["posted", "pending", "voided"]),
          transfer_type: rng.pick(["to_sub", "to_master", "bet", "hold", "deposit"]),
          currency: fx.currency,
          limit: 10,
          offset: 0,
        }),
      },
    }),
  },
  {
    route: "GET /master/balances/",
    method: "GET",
    pattern: "/master/balances/",
    credential: "tenant",
    scopes: ["read"],
    takesBody: false,
    mutating: false,
    namesResource: false,
    template: () => ({}),
  },
  {
    route: "POST /deposits/",
    method: "POST",
    pattern: "/deposits/",
    credential: "system-deposits",
    scopes: [],
    takesBody: true,
    mutating: true,
    idempotent: true,
    namesResource: false,
    bodyIntegers: { confirmations: [0, 1_000_000_000] },
    template: (fx, rng, n) => ({
      body: {
        tenant_id: fx.tenantId,
        ...(rng.chance(0.2) ? { master: true } : walletRef(fx, rng)),
        currency: fx.currency,
        amount: rng.pick(["5", "0.25", 3]),
        tx_hash: `hostile-deposit-${n}`,
        confirmations: rng.int(40),
        ...(rng.chance(0.2) ? { status: "confirmed" } : {}),
      },
    }),
  },
  {
    route: "POST /games/bets/",
    method: "POST",
    pattern: "/games/bets/",
    credential: "tenant",
    scopes: ["write"],
    takesBody: true,
    mutating: true,
    idempotent: true,
    namesResource: true,
    template: (fx, rng, n) => ({
      body: {
        ...walletRef(fx, rng),
        transaction_id: `hostile-bet-${n}`,
        round_id: `hostile-round-${n}`,
        currency: fx.currency,
        amount: smallAmount(rng),
      },
    }),
  },
  {
    route: "POST /games/wins/",
    method: "POST",
    pattern: "/games/wins/",
    credential: "tenant",
    scopes: ["write"],
    takesBody: true,
    mutating: true,
    idempotent: true,
    namesResource: true,
    template: (fx, rng, n) => {
      const bet = rng.pick(fx.openBets);
      return {
        body: {
          ...(rng.chance(0.5) ? { wallet_id: bet.wallet.walletId } : { external_id: bet.wallet.externalId }),
          transaction_id: `hostile-win-${n}`,
          round_id: bet.roundId,
          bet_transaction_id: bet.transactionId,
          currency: fx.currency,
          amount: rng.pick(["2", "0.75", 3]),
        },
      };
    },
  },
  {
    route: "POST /games/rollbacks/",
    method: "POST",
    pattern: "/games/rollbacks/",
    credential: "tenant",
    scopes: ["write"],
    takesBody: true,
    mutating: true,
    idempotent: true,
    namesResource: true,
    template: (fx, rng, n) => {
      const bet = rng.pick(fx.openBets);
      return {
        body: {
          ...(rng.chance(0.5) ? { wallet_id: bet.wallet.walletId } : { external_id: bet.wallet.externalId }),
          transaction_id: `hostile-rollback-${n}`,
          round_id: bet.roundId,
          bet_transaction_id: bet.transactionId,
          currency: fx.currency,
        },
      };
    },
  },
  {
    route: "POST /holds/",
    method: "POST",
    pattern: "/holds/",
    credential: "tenant",
    scopes: ["write"],
    takesBody: true,
    mutating: true,
    idempotent: true,
    namesResource: true,
    bodyIntegers: { timeout_seconds: [1, 30 * 24 * 3600] },
    template: (fx, rng, n) => ({
      body: {
        ...walletRef(fx, rng),
        currency: fx.currency,
        amount: smallAmount(rng),
        ...optional(rng, { timeout_seconds: 600, reference: `hostile-ref-${n}` }),
      },
    }),
  },
  {
    route: "POST /holds/{id}/capture/",
    method: "POST",
    pattern: "/holds/{id}/capture/",
    credential: "tenant",
    scopes: ["write"],
    takesBody: true,
    mutating: true,
    idempotent: true,
    namesResource: true,
    param: (fx, rng) => rng.pick(fx.pendingHoldIds),
    template: (_fx, rng) => ({ body: rng.chance(0.7) ? { amount: rng.pick(["1", "0.5", 1]) } : {} }),
  },
  {
    route: "POST /holds/{id}/void/",
    method: "POST",
    pattern: "/holds/{id}/void/",
    credential: "tenant",
    scopes: ["write"],
    takesBody: false,
    mutating: true,
    idempotent: true,
    namesResource: true,
    param: (fx, rng) => rng.pick(fx.pendingHoldIds),
    template: () => ({}),
  },
  {
    route: "GET /holds/{id}/",
    method: "GET",
    pattern: "/holds/{id}/",
    credential: "tenant",
    scopes: ["read"],
    takesBody: false,
    mutating: false,
    namesResource: true,
    param: anyHold,
    template: () => ({}),
  },
  {
    route: "POST /withdrawals/",
    method: "POST",
    pattern: "/withdrawals/",
    credential: "tenant",
    scopes: ["write"],
    takesBody: true,
    mutating: true,
    idempotent: true,
    namesResource: true,
    template: (fx, rng, n) => ({
      body: { ...walletRef(fx, rng), currency: fx.currency, amount: smallAmount(rng), address: `THostile${n}` },
    }),
  },
  {
    route: "GET /withdrawals/{id}/",
    method: "GET",
    pattern: "/withdrawals/{id}/",
    credential: "tenant",
    scopes: ["read"],
    takesBody: false,
    mutating: false,
    namesResource: true,
    param: anyWithdrawal,
    template: () => ({}),
  },
  {
    route: "GET /system/withdrawals/",
    method: "GET",
    pattern: "/system/withdrawals/",
    credential: "system-withdrawals",
    scopes: [],
    takesBody: false,
    mutating: false,
    namesResource: false,
    queryIntegers: { limit: [1, 100], offset: [0, 1_000_000_000] },
    template: (_fx, rng) => ({ query: optional(rng, { status: rng.pick(["pending", "completed", "failed"]), limit: "50", offset: "0" }) }),
  },
  {
    route: "POST /system/withdrawals/{id}/result/",
    method: "POST",
    pattern: "/system/withdrawals/{id}/result/",
    credential: "system-withdrawals",
    scopes: [],
    takesBody: true,
    mutating: true,
    idempotent: true,
    namesResource: false,
    param: (fx, rng) => rng.pick(fx.pendingWithdrawalIds),
    template: (_fx, rng, n) => ({
      body: rng.chance(0.5) ? { status: "completed", tx_hash: `hostile-payout-${n}` } : { status: "failed" },
    }),
  },
  {
    route: "POST /batches/",
    method: "POST",
    pattern: "/batches/",
    credential: "tenant",
    scopes: ["write"],
    takesBody: true,
    mutating: true,
    idempotent: true,
    namesResource: false,
    template: (fx, rng, n) => {
      const movements: Json[] = [{ type: "transfer_to_user", ...walletRef(fx, rng), currency: fx.currency, amount: smallAmount(rng) }];
      if (rng.chance(0.5)) {
        movements.push({
          type: "bet",
          ...walletRef(fx, rng),
          currency: fx.currency,
          amount: "1",
          transaction_id: `hostile-batch-bet-${n}`,
          round_id: `hostile-batch-round-${n}`,
          ...(rng.chance(0.5) ? { group: `g${n}` } : {}),
        });
      }
      return { body: { movements } };
    },
  },
  {
    route: "GET /wallets/events/",
    method: "GET",
    pattern: "/wallets/events/",
    credential: "tenant",
    scopes: ["read"],
    takesBody: false,
    mutating: false,
    namesResource: true,
    stream: true,
    queryIntegers: { last_event_id: [0, Number.MAX_SAFE_INTEGER] },
    template: (fx, rng) => {
      const wallet = pickWallet(fx, rng);
      const which = rng.int(3);
      const query: Record<string, string> =
        which === 0 ? { wallet_id: wallet.walletId } : which === 1 ? { external_id: wallet.externalId } : { wallet_id: wallet.walletId };
      if (rng.chance(0.3)) query.last_event_id = "0";
      return { query };
    },
  },
  {
    route: "POST /webhooks/",
    method: "POST",
    pattern: "/webhooks/",
    credential: "tenant",
    scopes: ["write"],
    takesBody: true,
    mutating: true,
    namesResource: false,
    template: (fx, _rng, n) => ({ body: { url: `${fx.webhookUrl}hostile-${n}` } }),
  },
  {
    route: "GET /webhooks/",
    method: "GET",
    pattern: "/webhooks/",
    credential: "tenant",
    scopes: ["read"],
    takesBody: false,
    mutating: false,
    namesResource: false,
    template: () => ({}),
  },
  {
    route: "DELETE /webhooks/{id}/",
    method: "DELETE",
    pattern: "/webhooks/{id}/",
    credential: "tenant",
    scopes: ["write"],
    takesBody: false,
    mutating: true,
    namesResource: true,
    param: (fx) => fx.webhookId,
    template: () => ({}),
  },
  {
    route: "GET /webhooks/deliveries/",
    method: "GET",
    pattern: "/webhooks/deliveries/",
    credential: "tenant",
    scopes: ["read"],
    takesBody: false,
    mutating: false,
    namesResource: false,
    queryIntegers: { limit: [1, 100], offset: [0, 1_000_000_000] },
    template: (_fx, rng) => ({ query: optional(rng, { status: rng.pick(["pending", "delivered", "failed"]), limit: "10", offset: "0" }) }),
  },
  {
    route: "POST /webhooks/events/{id}/redeliver/",
    method: "POST",
    pattern: "/webhooks/events/{id}/redeliver/",
    credential: "tenant",
    scopes: ["write"],
    takesBody: false,
    mutating: true,
    namesResource: true,
    param: (fx) => fx.eventId,
    template: () => ({}),
  },
];

/** The methods each path pattern answers (a wrong method on it is a defect). */
const METHODS_BY_PATTERN = new Map<string, Set<string>>();
for (const spec of ROUTES) {
  const methods = METHODS_BY_PATTERN.get(spec.pattern) ?? new Set<string>();
  methods.add(spec.method);
  METHODS_BY_PATTERN.set(spec.pattern, methods);
}

// ---------------------------------------------------------------------------------------------
// Building a request from a template.

interface Draft {
  spec: RouteSpec;
  /** The path segment put where `{id}` is, already percent-encoded as it goes on the wire. */
  segment: string | undefined;
  query: [string, string][] | undefined;
  /** Raw query text instead of `query`, for bad encodings. */
  rawQuery?: string;
  body: Json;
  form: boolean;
  headers: Record<string, string>;
  /** The payload as sent, when a defect writes it directly. */
  payload?: string | Buffer;
  method: string;
  path?: string;
}

function draftOf(spec: RouteSpec, fx: Fixture, rng: Rng, n: number): Draft {
  const template = spec.template(fx, rng, n);
  const segment = spec.param ? encodeURIComponent(spec.param(fx, rng)) : undefined;
  return {
    spec,
    segment,
    query: template.query ? Object.entries(template.query) : undefined,
    body: template.body === undefined ? undefined : clone(template.body),
    form: template.form ?? false,
    headers: { ...credentialHeaders(spec.credential, fx, rng), ...template.headers },
    method: spec.method,
  };
}

function credentialHeaders(credential: Credential, fx: Fixture, rng: Rng): Record<string, string> {
  switch (credential) {
    case "tenant":
      return rng.chance(0.75) ? { "x-api-key": fx.apiKey } : { authorization: `Bearer ${fx.token}` };
    case "system-deposits":
      return { "x-api-key": fx.systemDepositsKey };
    case "system-withdrawals":
      return { "x-api-key": fx.systemWithdrawalsKey };
    case "client":
      return {};
  }
}

function pathOf(draft: Draft): string {
  if (draft.path !== undefined) return draft.path;
  return draft.spec.pattern.replace("{id}", draft.segment ?? "");
}

function finish(draft: Draft, category: Category, defect: string, expect?: number): HostileRequest {
  const headers = { ...draft.headers };
  let payload = draft.payload;
  if (payload === undefined && draft.body !== undefined) {
    if (draft.form) {
      payload = formEncode(draft.body);
      headers["content-type"] ??= "application/x-www-form-urlencoded";
    } else {
      payload = encodeJson(draft.body);
      headers["content-type"] ??= "application/json";
    }
  }
  for (const [name, value] of Object.entries(headers)) if (value === OMIT) delete headers[name];
  const query = draft.rawQuery ?? (draft.query && draft.query.length > 0 ? draft.query.map(([k, v]) => `${k}=${v}`).join("&") : "");
  const request: HostileRequest = {
    method: draft.method,
    url: `${pathOf(draft)}${query ? `?${query}` : ""}`,
    headers,
    category,
    route: draft.spec.route,
    defect,
  };
  if (payload !== undefined) request.payload = payload;
  if (expect !== undefined) request.expect = expect;
  if (draft.spec.stream && draft.method === "GET") request.stream = true;
  return request;
}

/** A header value that removes the header (a defect "without Content-Type"). */
const OMIT = "\u0000omit";

function formEncode(body: Json): string | Buffer {
  const parts: Buffer[] = [];
  Object.entries(body).forEach(([key, value], index) => {
    if (index > 0) parts.push(Buffer.from("&"));
    parts.push(Buffer.from(`${formComponent(key)}=`));
    if (value instanceof RawBytes) {
      parts.push(Buffer.from(formComponent(value.before)), Buffer.from(value.bytes), Buffer.from(formComponent(value.after)));
    } else if (value instanceof RawJson) parts.push(Buffer.from(formComponent(value.text)));
    else parts.push(Buffer.from(formComponent(typeof value === "string" ? value : JSON.stringify(value))));
  });
  const buffer = Buffer.concat(parts);
  return Object.values(body).some((value) => value instanceof RawBytes) ? buffer : buffer.toString("utf8");
}

/** Percent-encodes like encodeURIComponent, but writes a lone surrogate as its (invalid) 3-byte form. */
function formComponent(text: string): string {
  let result = "";
  for (const character of text) {
    const code = character.codePointAt(0) ?? 0;
    if (code >= 0xd800 && code <= 0xdfff) {
      const bytes = [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)];
      result += bytes.map((byte) => `%${byte.toString(16).toUpperCase()}`).join("");
    } else result += encodeURIComponent(character);
  }
  return result;
}

function basicAuth(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`, "utf8").toString("base64")}`;
}

// ---------------------------------------------------------------------------------------------
// The defects, by category. Each returns undefined where it does not apply to a route.

type Mutator = (spec: RouteSpec, fx: Fixture, rng: Rng, n: number) => HostileRequest | undefined;

const INVALID_UTF8: readonly { bytes: number[]; name: string }[] = [
  { bytes: [0xff], name: "byte 0xff" },
  { bytes: [0xfe, 0xff], name: "bytes 0xfe 0xff" },
  { bytes: [0xc3], name: "truncated 2-byte sequence" },
  { bytes: [0xe2, 0x82], name: "truncated 3-byte sequence" },
  { bytes: [0xf0, 0x9f, 0x98], name: "truncated 4-byte sequence" },
  { bytes: [0x80], name: "lone continuation byte" },
  { bytes: [0xc0, 0xaf], name: "overlong encoding" },
  { bytes: [0xed, 0xa0, 0x80], name: "UTF-8-encoded surrogate" },
  { bytes: [0xf4, 0x90, 0x80, 0x80], name: "code point above U+10FFFF" },
];
const INVALID_UTF8_PERCENT = ["%FF", "%fe", "%C3", "%E0%A4", "%E2%82", "%F0%9F%98", "%80", "%C0%AF", "%ED%A0%80", "%F4%90%80%80"];
const LONE_SURROGATES = ["\ud800", "\udfff", "\udbff", "\udc00\ud800"];
/** C0, DEL and C1 (DESIGN 1.1: "NUL or another control character"). */
const CONTROL_CHARACTERS = [
  "\u0000",
  "\u0001",
  "\u0007",
  "\u0008",
  "\t",
  "\n",
  "\r",
  "\u000b",
  "\u001b",
  "\u001f",
  "\u007f",
  "\u0085",
  "\u009f",
];
const CONTROL_PERCENT = ["%00", "%01", "%07", "%09", "%0A", "%0D", "%1B", "%1F", "%7F", "%00%00", "%C2%85", "%C2%9F"];

const hex = (character: string) => `U+${(character.codePointAt(0) ?? 0).toString(16).padStart(4, "0")}`;

function splice(value: string, insert: string, rng: Rng): string {
  const at = rng.pick([0, Math.floor(value.length / 2), value.length]);
  return value.slice(0, at) + insert + value.slice(at);
}

function stringLeaves(body: Json): Path[] {
  return body && typeof body === "object" ? leaves(body).filter((path) => typeof getAt(body, path) === "string") : [];
}

/** encoding: bytes that are not UTF-8, lone surrogates, NUL and other control characters. */
const encoding: Mutator = (spec, fx, rng, n) => {
  const draft = draftOf(spec, fx, rng, n);
  const options: (() => HostileRequest | undefined)[] = [];
  const strings = stringLeaves(draft.body);
  if (spec.takesBody && strings.length > 0) {
    options.push(() => {
      const path = rng.pick(strings);
      const value = String(getAt(draft.body, path));
      const bad = rng.pick(INVALID_UTF8);
      const at = rng.int(value.length + 1);
      draft.body = setAt(draft.body, path, new RawBytes(value.slice(0, at), bad.bytes, value.slice(at)));
      return finish(draft, "encoding", `invalid UTF-8 (${bad.name}) in ${pathName(path)}`, 400);
    });
    options.push(() => {
      const path = rng.pick(strings);
      const surrogate = rng.pick(LONE_SURROGATES);
      draft.body = setAt(draft.body, path, splice(String(getAt(draft.body, path)), surrogate, rng));
      return finish(draft, "encoding", `lone surrogate ${[...surrogate].map(hex).join(" ")} in ${pathName(path)}`, 400);
    });
    options.push(() => {
      const path = rng.pick(strings);
      const control = rng.pick(CONTROL_CHARACTERS);
      draft.body = setAt(draft.body, path, splice(String(getAt(draft.body, path)), control, rng));
      return finish(draft, "encoding", `control character ${hex(control)} in ${pathName(path)}`, 400);
    });
    if (!draft.form) {
      options.push(() => {
        const path = rng.pick(strings);
        const control = rng.pick(["\u0000", "\u0001", "\n", "\u001f"]);
        const value = String(getAt(draft.body, path));
        draft.body = setAt(draft.body, path, new RawJson(`"${value}${control}"`));
        return finish(draft, "encoding", `unescaped control character ${hex(control)} inside a JSON string`, 400);
      });
      options.push(() => {
        draft.headers["content-type"] = rng.pick([
          "text/plain",
          "application/x-www-form-urlencoded",
          "multipart/form-data; boundary=x",
          OMIT,
        ]);
        return finish(
          draft,
          "encoding",
          `JSON body sent as ${draft.headers["content-type"] === OMIT ? "no Content-Type" : draft.headers["content-type"]}`,
          // The token route reads form bodies too: there the JSON text is a form without credentials (401).
          spec.route === "POST /o/token/" ? undefined : 400,
        );
      });
    }
  }
  if (spec.route === "POST /o/token/") {
    options.push(() => {
      const control = rng.pick(["\u0000", "\u0001", "\u007f", "\n"]);
      delete draft.headers.authorization;
      draft.body = { ...draft.body, client_id: splice(fx.clientId, control, rng), client_secret: fx.clientSecret };
      return finish(draft, "encoding", `control character ${hex(control)} in client_id (${draft.form ? "form" : "JSON"})`);
    });
    options.push(() => {
      delete draft.headers.authorization;
      draft.body = { ...draft.body, client_id: fx.clientId, client_secret: fx.clientSecret };
      draft.form = true;
      const id = `${fx.clientId}${rng.pick(["%00", "%FF", "%ED%A0%80", "%zz", "%"])}`;
      draft.payload = `grant_type=client_credentials&client_id=${id}&client_secret=${encodeURIComponent(fx.clientSecret)}`;
      draft.headers["content-type"] = "application/x-www-form-urlencoded";
      return finish(draft, "encoding", "bad percent-encoding or NUL in a form client_id");
    });
  }
  if (spec.queryIntegers || draft.query) {
    options.push(() => {
      const fields = [...(draft.query ?? []).map(([key]) => key), ...Object.keys(spec.queryIntegers ?? {})];
      const stringFields = queryStringFields(spec);
      const field = rng.pick(stringFields.length > 0 && rng.chance(0.7) ? stringFields : fields);
      const value = rng.pick([...CONTROL_PERCENT, ...INVALID_UTF8_PERCENT]);
      setQuery(draft, field, `${rng.pick(["", "a", "hostile"])}${value}`);
      return finish(draft, "encoding", `${value} in query ${field}`, 400);
    });
  }
  if (spec.method === "GET" && !spec.param && !spec.queryIntegers && !draft.query) {
    options.push(() => {
      draft.rawQuery = `${rng.pick(["x", "search", "limit"])}=${rng.pick(CONTROL_PERCENT)}`;
      return finish(draft, "encoding", "control character in a query parameter of a route without one", 400);
    });
  }
  if (spec.param) {
    options.push(() => {
      const value = rng.pick([...CONTROL_PERCENT, ...INVALID_UTF8_PERCENT]);
      draft.segment = rng.chance(0.5) ? value : `${draft.segment}${value}`;
      return finish(draft, "encoding", `${value} in the path parameter`, 400);
    });
  }
  if (spec.stream) {
    options.push(() => {
      draft.headers["last-event-id"] = rng.pick(["1\u00ff", "abc", "-1", "1.5", "1e3", "99999999999999999999", "0x10", "\u00e9"]);
      return finish(draft, "encoding", `Last-Event-ID ${JSON.stringify(draft.headers["last-event-id"])}`, 400);
    });
  }
  if (spec.mutating) {
    options.push(() => {
      const value = rng.pick(["key\u00ff", "key with space", "key\tTab", "\u00e9t\u00e9", "x".repeat(256), "key\u0080", "k\u007f"]);
      draft.headers["idempotency-key"] = value;
      return finish(
        draft,
        "encoding",
        `Idempotency-Key ${JSON.stringify(value.length > 40 ? `${value.slice(0, 10)}…(${value.length})` : value)}`,
        400,
      );
    });
  }
  return options.length > 0 ? rng.pick(options)() : undefined;
};

function queryStringFields(spec: RouteSpec): string[] {
  switch (spec.route) {
    case "GET /wallets/":
      return ["search"];
    case "GET /wallets/events/":
      return ["wallet_id", "external_id"];
    case "GET /wallets/{id}/deposits/":
    case "GET /system/withdrawals/":
    case "GET /webhooks/deliveries/":
      return ["status"];
    default:
      return [];
  }
}

function setQuery(draft: Draft, field: string, value: string): void {
  draft.query = [...(draft.query ?? []).filter(([key]) => key !== field), [field, value]];
}

const BAD_IDS: readonly Json[] = [
  0,
  7,
  -1,
  1.5,
  new RawJson("12345678901234567890"),
  new RawJson("1e400"),
  new RawJson("1e999999"),
  new RawJson("-0"),
  new RawJson("2.0"),
  true,
  false,
  null,
  [],
  ["x"],
  {},
  { id: "x" },
];
const BAD_AMOUNTS: readonly Json[] = [
  "-1",
  "-0.01",
  "1e2",
  "1E2",
  "0x10",
  "1.1234567",
  "abc",
  "",
  "1,5",
  " 1",
  "Infinity",
  "NaN",
  new RawJson("-1"),
  new RawJson("1e2"),
  new RawJson("1.5e3"),
  new RawJson("1e400"),
  new RawJson("1.1234567"),
  true,
  null,
  [],
  ["1"],
  {},
];
const BAD_AMOUNT_TYPES: readonly Json[] = [true, false, null, [], ["1"], {}, { amount: "1" }];
const BAD_BOOLEANS: readonly Json[] = ["true", 1, 0, null, [], {}, "yes"];
const BAD_ARRAYS: readonly Json[] = [{}, "x", null, [], [1], [null], [[]], 1, ["transfer_to_user"]];
const BAD_BODIES: readonly Json[] = [[], "x", 1, null, true, new RawJson("[{}]")];

function badIntegers([minimum, maximum]: [number, number | undefined]): Json[] {
  const values: Json[] = [1.5, new RawJson("2.0"), new RawJson("1e1"), new RawJson("1E2"), "10", "1", true, null, [], {}, [5]];
  values.push(minimum - 1, new RawJson("1e400"), new RawJson("12345678901234567890"));
  if (maximum !== undefined) values.push(maximum + 1);
  return values;
}

function badQueryIntegers([minimum, maximum]: [number, number | undefined]): string[] {
  const values = [
    "1.5",
    "20.0",
    "1e1",
    "2E1",
    "0x10",
    "abc",
    "ten",
    "Infinity",
    "NaN",
    "true",
    "null",
    "%5B%5D",
    "1e400",
    "99999999999999999999",
  ];
  values.push(String(minimum - 1));
  if (maximum !== undefined) values.push(String(maximum + 1));
  return values;
}

/** types: numbers, booleans, arrays, objects and null where strings go; bad integers and amounts. */
const types: Mutator = (spec, fx, rng, n) => {
  const draft = draftOf(spec, fx, rng, n);
  // A form body has no types: everything in it is text.
  draft.form = false;
  const options: (() => HostileRequest)[] = [];
  if (spec.takesBody && draft.body && typeof draft.body === "object") {
    const all = leaves(draft.body);
    if (all.length > 0)
      options.push(() => {
        const path = rng.pick(all);
        const current = getAt(draft.body, path);
        const name = String(path[path.length - 1]);
        const integerRange = spec.bodyIntegers?.[name];
        let value: Json;
        // In a batch a bad amount value is that movement's failure (200, one result each); a wrong type refuses the batch.
        if (name === "amount") value = rng.pick(path.length > 1 ? BAD_AMOUNT_TYPES : BAD_AMOUNTS);
        else if (integerRange) value = rng.pick(badIntegers(integerRange));
        else if (typeof current === "boolean") value = rng.pick(BAD_BOOLEANS);
        else if (Array.isArray(current)) value = rng.pick(BAD_ARRAYS);
        else value = rng.pick(spec.nullableFields?.includes(name) ? BAD_IDS.filter((bad) => bad !== null) : BAD_IDS);
        draft.body = setAt(draft.body, path, value);
        return finish(draft, "types", `${pathName(path)} = ${describe(value)}`, spec.route === "POST /o/token/" ? undefined : 400);
      });
    if (spec.bodyIntegers) {
      options.push(() => {
        const [name, range] = rng.pick(Object.entries(spec.bodyIntegers ?? {}));
        const value = rng.pick(badIntegers(range));
        draft.body = setAt(draft.body, [name], value);
        return finish(draft, "types", `${name} = ${describe(value)}`, 400);
      });
    }
    options.push(() => {
      draft.body = rng.pick(BAD_BODIES);
      return finish(draft, "types", `whole body is ${describe(draft.body)}`, spec.route === "POST /o/token/" ? undefined : 400);
    });
  }
  if (spec.queryIntegers) {
    options.push(() => {
      const [name, range] = rng.pick(Object.entries(spec.queryIntegers ?? {}));
      const value = rng.pick(badQueryIntegers(range));
      setQuery(draft, name, value);
      return finish(draft, "types", `query ${name}=${value}`, 400);
    });
    options.push(() => {
      const [name] = rng.pick(Object.entries(spec.queryIntegers ?? {}));
      draft.query = [...(draft.query ?? []).filter(([key]) => key !== name), [name, "5"], [name, "6"]];
      return finish(draft, "types", `query ${name} given twice`, 400);
    });
  }
  const stringFields = queryStringFields(spec);
  if (stringFields.length > 0) {
    options.push(() => {
      const field = rng.pick(stringFields);
      const value = rng.pick(["1", "true", "null", "%5B%5D", "PENDING", "x".repeat(129)]);
      if (field === "status" || value.length > 128) {
        setQuery(draft, field, value);
        return finish(draft, "types", `query ${field}=${value.length > 20 ? `${value.slice(0, 8)}…(${value.length})` : value}`, 400);
      }
      draft.query = [...(draft.query ?? []).filter(([key]) => key !== field), [field, "a"], [field, "b"]];
      return finish(draft, "types", `query ${field} given twice`, 400);
    });
  }
  if (spec.param) {
    options.push(() => {
      const value = rng.pick(["12345678901234567890", "1e400", "true", "null", "%5B%5D", "%7B%7D", "-1", "0"]);
      draft.segment = value;
      return finish(draft, "types", `path parameter ${value}`);
    });
  }
  return options.length > 0 ? rng.pick(options)() : undefined;
};

function describe(value: Json): string {
  if (value instanceof RawJson) return value.text;
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

const UNKNOWN_KEYS = [
  "extra",
  "__proto__",
  "constructor",
  "dry_run",
  "metadata",
  "id",
  "Wallet_ID",
  "amount ",
  "tenant_id",
  "callback_url",
];
const UNKNOWN_VALUES: readonly Json[] = [1, "x", true, {}, null, { polluted: true }, []];

/** unknown_fields: extra fields at the top level, inside batch movements, and in query strings. */
const unknownFields: Mutator = (spec, fx, rng, n) => {
  if (spec.route === "POST /o/token/") return undefined; // RFC 6749 3.2: unknown parameters are ignored
  const draft = draftOf(spec, fx, rng, n);
  const options: (() => HostileRequest)[] = [];
  if (spec.takesBody && draft.body && typeof draft.body === "object") {
    options.push(() => {
      const key = rng.pick(UNKNOWN_KEYS.filter((name) => !Object.hasOwn(draft.body, name)));
      const value = rng.pick(UNKNOWN_VALUES);
      draft.body = withKey(clone(draft.body), key, clone(value));
      return finish(draft, "unknown_fields", `unknown field ${JSON.stringify(key)}`, 400);
    });
  }
  if (Array.isArray(draft.body?.movements)) {
    options.push(() => {
      const key = rng.pick(["extra", "__proto__", "tenant_id", "status", "memo"]);
      const index = rng.int(draft.body.movements.length);
      draft.body = clone(draft.body);
      withKey(draft.body.movements[index], key, rng.pick(UNKNOWN_VALUES));
      return finish(draft, "unknown_fields", `unknown field ${JSON.stringify(key)} in movements[${index}]`, 400);
    });
  }
  if (spec.method === "GET") {
    options.push(() => {
      const name = rng.pick(["foo", "Limit", "wallet", "callback", "expand", "debug"]);
      draft.query = [...(draft.query ?? []), [name, rng.pick(["1", "true", "x"])]];
      return finish(draft, "unknown_fields", `unknown query parameter ${name}`, 400);
    });
  }
  return options.length > 0 ? rng.pick(options)() : undefined;
};

/** body_on_bodyless: a body on GET routes, void, DELETE and redeliver. */
const bodyOnBodyless: Mutator = (spec, fx, rng, n) => {
  if (spec.takesBody) return undefined;
  const draft = draftOf(spec, fx, rng, n);
  const variant = rng.int(8);
  if (variant <= 3) {
    const body = rng.pick<Json>([{ amount: "1" }, { dry_run: true }, [], null, { limit: 1 }, "x", { "": "" }, [{}]]);
    draft.payload = JSON.stringify(body);
    draft.headers["content-type"] = "application/json";
    return finish(draft, "body_on_bodyless", `JSON body ${describe(body)}`, 400);
  }
  if (variant === 4) {
    draft.payload = "amount=1";
    draft.headers["content-type"] = "application/x-www-form-urlencoded";
    return finish(draft, "body_on_bodyless", "form body amount=1", 400);
  }
  if (variant === 5) {
    draft.payload = "hello";
    draft.headers["content-type"] = "text/plain";
    return finish(draft, "body_on_bodyless", "text/plain body", 400);
  }
  if (variant === 6) {
    draft.payload = '{"amount":"1"}';
    return finish(draft, "body_on_bodyless", "JSON body without Content-Type", 400);
  }
  draft.payload = Buffer.from([0x7b, 0xff, 0x7d]);
  draft.headers["content-type"] = "application/octet-stream";
  return finish(draft, "body_on_bodyless", "octet-stream body", 400);
};

/** key_reuse: an Idempotency-Key of the setup sent again on another resource, route or body. */
const keyReuse: Mutator = (spec, fx, rng) => {
  const candidates = fx.keyed.flatMap((keyed) =>
    keyed.reuse.filter((reuse) => reuse.route === spec.route).map((reuse) => ({ keyed, reuse })),
  );
  if (candidates.length === 0) return undefined;
  const { keyed, reuse } = rng.pick(candidates);
  const credentials = credentialHeaders(keyed.credential, fx, rng);
  const draft: Draft = {
    spec,
    segment: undefined,
    query: undefined,
    body: reuse.body === undefined ? undefined : clone(reuse.body),
    form: false,
    headers: { ...credentials, "idempotency-key": keyed.key },
    method: spec.method,
    path: reuse.path,
  };
  return finish(draft, "key_reuse", `key of ${keyed.route} reused: ${reuse.defect}`, 409);
};

const ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/** path: bad percent-encoding, over-long parameters, wrong methods, paths that are not routes. */
const pathDefects: Mutator = (spec, fx, rng, n) => {
  const draft = draftOf(spec, fx, rng, n);
  const options: (() => HostileRequest)[] = [];
  const wrong = ALL_METHODS.filter((method) => !METHODS_BY_PATTERN.get(spec.pattern)?.has(method));
  options.push(() => {
    draft.method = rng.pick(wrong);
    if (draft.method === "GET" || rng.chance(0.5)) {
      draft.body = undefined;
      draft.payload = undefined;
    }
    return finish(draft, "path", `wrong method ${draft.method} on ${spec.pattern}`, 404);
  });
  if (spec.pattern === "/wallets/balances/") {
    options.push(() => {
      draft.method = "GET";
      draft.body = undefined;
      return finish(draft, "path", "GET /wallets/balances/", 404);
    });
  }
  if (spec.param) {
    options.push(() => {
      const bad = rng.pick(["%ff", "%E0%A4", "%zz", "%", "%0", "%G0", "%C0%AF", "%ED%A0%80", "%%", "%u0041"]);
      draft.segment = rng.chance(0.5) ? bad : `${draft.segment}${bad}`;
      return finish(draft, "path", `bad percent-encoding ${bad} in the path parameter`, 400);
    });
    options.push(() => {
      const length = rng.pick([65, 100, 128, 129, 200, 1000, 4000]);
      const real = decodeURIComponent(draft.segment ?? "");
      draft.segment = (real + rng.token(length)).slice(0, length);
      return finish(draft, "path", `path parameter of ${length} characters`, length > 128 ? 400 : undefined);
    });
    options.push(() => {
      const real = draft.segment ?? "";
      const variant = rng.pick([`${real}%2Fx`, `${real}%2F..%2F`, "..", "%2e%2e", `${real}/extra`]);
      draft.segment = variant;
      return finish(draft, "path", `path parameter ${variant.replace(real, "<id>")}`);
    });
  } else {
    options.push(() => {
      const bad = rng.pick(["%ff", "%zz", "%E0%A4", "%"]);
      const base = pathOf(draft).replace(/\/$/, "");
      draft.path = `${base}${bad}/`;
      return finish(draft, "path", `bad percent-encoding ${bad} appended to ${spec.pattern}`);
    });
  }
  options.push(() => {
    const base = pathOf(draft);
    const variant = rng.pick(["upper", "double", "suffix"]);
    draft.path = variant === "upper" ? base.toUpperCase() : variant === "double" ? `/${base}` : `${base}extra/`;
    return finish(
      draft,
      "path",
      `not a route: ${variant === "upper" ? "upper case" : variant === "double" ? "leading //" : "extra segment"}`,
      404,
    );
  });
  if (draft.query || spec.queryIntegers) {
    options.push(() => {
      const field = rng.pick([...(draft.query ?? []).map(([key]) => key), ...Object.keys(spec.queryIntegers ?? {})]);
      const bad = rng.pick(["%zz", "%", "%ff", "%E0%A4"]);
      setQuery(draft, field, `1${bad}`);
      return finish(draft, "path", `bad percent-encoding ${bad} in query ${field}`, 400);
    });
  }
  return rng.pick(options)();
};

/** oversized: bodies over the route's limit (whitespace, long strings, multi-byte characters). */
const oversized: Mutator = (spec, fx, rng, n) => {
  const draft = draftOf(spec, fx, rng, n);
  const limit = spec.route === "POST /batches/" ? fx.batchBodyLimitBytes : fx.bodyLimitBytes;
  const over = limit + 1 + rng.int(2048);
  if (!spec.takesBody || draft.body === undefined) {
    draft.payload = `{"pad":"${"x".repeat(over)}"}`;
    draft.headers["content-type"] = "application/json";
    return finish(draft, "oversized", `${over}-byte body on a route without one`);
  }
  const variant = rng.int(3);
  if (draft.form) {
    const base = formEncode(draft.body).toString();
    draft.payload = `${base}&pad=${"x".repeat(over - base.length)}`;
    draft.headers["content-type"] = "application/x-www-form-urlencoded";
    return finish(draft, "oversized", `form body of ${over} bytes`, 413);
  }
  const base = encodeJson(draft.body).toString();
  if (variant === 0) {
    draft.payload = `${base.slice(0, -1)}${" ".repeat(over - base.length)}}`;
    draft.headers["content-type"] = "application/json";
    return finish(draft, "oversized", `valid JSON padded with whitespace to ${over} bytes`, 413);
  }
  const strings = stringLeaves(draft.body);
  const path = strings.length > 0 ? rng.pick(strings) : ["pad"];
  if (variant === 1) {
    draft.body = setAt(draft.body, path, "x".repeat(over));
    return finish(draft, "oversized", `${pathName(path)} of ${over} characters`, 413);
  }
  const characters = Math.ceil(over / 3);
  draft.body = setAt(draft.body, path, "€".repeat(characters));
  return finish(draft, "oversized", `${pathName(path)} of ${characters} three-byte characters (${characters * 3} bytes)`, 413);
};

function jwt(header: object, payload: object, secret: string | undefined): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const unsigned = `${part(header)}.${part(payload)}`;
  if (secret === undefined) return `${unsigned}.`;
  return `${unsigned}.${createHmac("sha256", secret).update(unsigned).digest("base64url")}`;
}

/** credentials: missing, garbage, forged, expired, revoked, of the wrong kind, scope or tenant. */
const credentials: Mutator = (spec, fx, rng, n) => {
  const draft = draftOf(spec, fx, rng, n);
  if (spec.credential === "client") return clientCredentialDefect(draft, fx, rng);
  delete draft.headers["x-api-key"];
  delete draft.headers.authorization;
  const claims = { scope: "read write", tid: fx.tenantId, iss: "casino-wallet", sub: fx.clientId, exp: 4_102_444_800 };
  const options: [string, Record<string, string>, number][] = [
    ["no credential", {}, 401],
    ["random X-API-Key", { "x-api-key": `wk_${rng.token(43, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")}` }, 401],
    ["X-API-Key with Latin-1 bytes", { "x-api-key": `wk_\u00ff\u00fe${rng.token(10)}\u0080` }, 401],
    ["X-API-Key with a tab inside", { "x-api-key": `wk_${rng.token(8)}\t${rng.token(8)}` }, 401],
    ["real X-API-Key truncated", { "x-api-key": fx.apiKey.slice(0, -1) }, 401],
    ["real X-API-Key with a byte appended", { "x-api-key": `${fx.apiKey}${rng.pick(["x", "\u00ff", "="])}` }, 401],
    ["real X-API-Key upper-cased", { "x-api-key": fx.apiKey.toUpperCase() }, 401],
    ["X-API-Key of 8000 characters", { "x-api-key": `wk_${"A".repeat(8000)}` }, 401],
    ["revoked X-API-Key", { "x-api-key": fx.revokedKey }, 401],
    ["Authorization: Bearer without a token", { authorization: "Bearer" }, 401],
    ["Authorization: Bearer garbage", { authorization: `Bearer ${rng.token(24)}` }, 401],
    ["Authorization: Bearer a.b.c", { authorization: "Bearer a.b.c" }, 401],
    ["Authorization: Bearer with two tokens", { authorization: `Bearer ${fx.token} ${fx.token}` }, 401],
    ["alg:none JWT", { authorization: `Bearer ${jwt({ alg: "none", typ: "JWT" }, claims, undefined)}` }, 401],
    ["HS256 JWT signed with another secret", { authorization: `Bearer ${jwt({ alg: "HS256", typ: "JWT" }, claims, rng.token(32))}` }, 401],
    ["expired token", { authorization: `Bearer ${fx.expiredToken}` }, 401],
    ["real token with a byte appended", { authorization: `Bearer ${fx.token}x` }, 401],
    ["API key sent as a Bearer token", { authorization: `Bearer ${fx.apiKey}` }, 401],
    ["Basic credentials on an API route", { authorization: basicAuth(fx.clientId, fx.clientSecret) }, 401],
    ["Authorization scheme Token", { authorization: `Token ${fx.apiKey}` }, 401],
  ];
  if (spec.credential === "tenant") {
    options.push(["system key (deposits) on a tenant route", { "x-api-key": fx.systemDepositsKey }, 403]);
    options.push(["system key (withdrawals) on a tenant route", { "x-api-key": fx.systemWithdrawalsKey }, 403]);
    if (spec.scopes.includes("write")) options.push(["read-only key on a write route", { "x-api-key": fx.readOnlyKey }, 403]);
    if (spec.scopes.includes("read")) options.push(["write-only key on a read route", { "x-api-key": fx.writeOnlyKey }, 403]);
    if (spec.namesResource && spec.route !== "POST /batches/")
      options.push(["another tenant's key on this tenant's resource", { "x-api-key": fx.otherTenantKey }, 404]);
  } else {
    options.push(["tenant key on a system route", { "x-api-key": fx.apiKey }, 403]);
    options.push(["tenant token on a system route", { authorization: `Bearer ${fx.token}` }, 403]);
    options.push(["another tenant's key on a system route", { "x-api-key": fx.otherTenantKey }, 403]);
    const otherSystem = spec.credential === "system-deposits" ? fx.systemWithdrawalsKey : fx.systemDepositsKey;
    options.push(["system key without the route's scope", { "x-api-key": otherSystem }, 403]);
  }
  const [defect, headers, status] = rng.pick(options);
  Object.assign(draft.headers, headers);
  return finish(draft, "credentials", defect, status);
};

function clientCredentialDefect(draft: Draft, fx: Fixture, rng: Rng): HostileRequest {
  delete draft.headers.authorization;
  const body = { grant_type: "client_credentials" } as Json;
  const inBody = (clientId: string, clientSecret: string) => ({ ...body, client_id: clientId, client_secret: clientSecret });
  const basic = (text: string) => `Basic ${Buffer.from(text, "utf8").toString("base64")}`;
  const options: [string, Json, Record<string, string>][] = [
    ["Basic with bad base64", body, { authorization: rng.pick(["Basic !!!", "Basic ====", "Basic a", "Basic ***"]) }],
    ["Basic without a colon", body, { authorization: basic(fx.clientId) }],
    ["Basic with bad percent-encoding", body, { authorization: basic(`${fx.clientId}%zz:${fx.clientSecret}`) }],
    ["Basic with a lone %", body, { authorization: basic(`${fx.clientId}:${fx.clientSecret}%`) }],
    ["Basic with NUL in the client id", body, { authorization: basic(`${fx.clientId}\u0000:${fx.clientSecret}`) }],
    ["Basic with %00 in the client id", body, { authorization: basic(`${fx.clientId}%00:${fx.clientSecret}`) }],
    ["Basic with Latin-1 bytes", body, { authorization: `Basic ${Buffer.from([0xff, 0x3a, 0xfe]).toString("base64")}` }],
    ["Basic with an empty value", body, { authorization: "Basic " }],
    ["Basic with a wrong secret", body, { authorization: basicAuth(fx.clientId, `${fx.clientSecret}x`) }],
    ["Basic with an unknown client", body, { authorization: basicAuth(`cl_${rng.token(24)}`, fx.clientSecret) }],
    ["Basic of another client with this secret", body, { authorization: basicAuth(fx.otherClientId, fx.clientSecret) }],
    ["Basic and a body secret together", inBody(fx.clientId, fx.clientSecret), { authorization: basicAuth(fx.clientId, fx.clientSecret) }],
    ["no client credentials", body, {}],
    ["body with a wrong secret", inBody(fx.clientId, "cs_wrong"), {}],
    ["body with an empty secret", inBody(fx.clientId, ""), {}],
    ["body without a secret", { ...body, client_id: fx.clientId }, {}],
    ["grant_type password", { ...inBody(fx.clientId, fx.clientSecret), grant_type: "password" }, {}],
    ["grant_type missing", { client_id: fx.clientId, client_secret: fx.clientSecret }, {}],
    ["unknown scope", { ...inBody(fx.clientId, fx.clientSecret), scope: "admin" }, {}],
    ["system scope requested by a tenant client", { ...inBody(fx.clientId, fx.clientSecret), scope: "deposits" }, {}],
  ];
  const [defect, payload, headers] = rng.pick(options);
  draft.body = payload;
  Object.assign(draft.headers, headers);
  return finish(draft, "credentials", defect);
}

const MUTATORS: Record<Category, Mutator> = {
  encoding,
  types,
  unknown_fields: unknownFields,
  body_on_bodyless: bodyOnBodyless,
  key_reuse: keyReuse,
  path: pathDefects,
  oversized,
  credentials,
};

/**
 * `count` hostile requests for the fixture. Every (route, category) pair that applies comes up
 * once per cycle, in an order shuffled by the seed, so a few hundred requests already cover all.
 */
export function generate(fx: Fixture, seed: number, count: number): HostileRequest[] {
  const rng = new Rng(seed);
  const probe = new Rng(seed ^ 0x5eed);
  const pairs: [RouteSpec, Category][] = [];
  for (const spec of ROUTES) {
    for (const category of CATEGORIES) if (MUTATORS[category](spec, fx, probe, 0) !== undefined) pairs.push([spec, category]);
  }
  if (pairs.length === 0) throw new Error("no route and category applies to this fixture");
  const requests: HostileRequest[] = [];
  while (requests.length < count) {
    for (const [spec, category] of rng.shuffle(pairs)) {
      if (requests.length >= count) break;
      const request = MUTATORS[category](spec, fx, rng, requests.length);
      if (request) requests.push(request);
    }
  }
  return requests;
}

/** The (route, category) pairs the generator covers for this fixture. */
export function coverage(fx: Fixture): { route: string; category: Category }[] {
  const probe = new Rng(1);
  return ROUTES.flatMap((spec) =>
    CATEGORIES.filter((category) => MUTATORS[category](spec, fx, probe, 0) !== undefined).map((category) => ({
      route: spec.route,
      category,
    })),
  );
}

// ---------------------------------------------------------------------------------------------
// The setup's Idempotency-Keys and the reuses the generator sends.

export interface KeyedBase {
  tenantId: string;
  currency: string;
  wallets: FixtureWallet[];
  /** A pending hold the setup voids with a key, one it captures with a key, one that stays pending. */
  holdToVoid: string;
  holdToCapture: string;
  pendingHold: string;
  /** A pending withdrawal the setup completes with a key, and one that stays pending. */
  withdrawalToComplete: string;
  pendingWithdrawal: string;
  openBet: { transactionId: string; roundId: string; wallet: FixtureWallet };
  /** The local receiver's URL, the live setup endpoint, and an endpoint the setup deletes with a key. */
  webhookUrl: string;
  webhookId: string;
  webhookToDelete: string;
}

/**
 * What the setup sends with an Idempotency-Key (each must succeed), and for each, valid
 * requests that reuse the key on another resource, route or body: each must be 409.
 */
export function keyedPlan(base: KeyedBase): KeyedRequest[] {
  const [first, second] = base.wallets as [FixtureWallet, FixtureWallet];
  const currency = base.currency;
  const movement = (wallet: FixtureWallet, amount: string) => ({ wallet_id: wallet.walletId, currency, amount });
  return [
    {
      key: "setup-wallet-create",
      route: "POST /wallets/",
      method: "POST",
      path: "/wallets/",
      body: { name: "Keyed player", external_id: "setup-keyed-wallet" },
      credential: "tenant",
      reuse: [
        {
          route: "POST /wallets/",
          path: "/wallets/",
          body: { name: "Keyed player", external_id: "setup-keyed-wallet-2" },
          defect: "another body",
        },
      ],
    },
    {
      key: "setup-transfer-to-user",
      route: "POST /wallets/transfer-to-user/",
      method: "POST",
      path: "/wallets/transfer-to-user/",
      body: movement(first, "2"),
      credential: "tenant",
      reuse: [
        {
          route: "POST /wallets/transfer-to-user/",
          path: "/wallets/transfer-to-user/",
          body: movement(second, "2"),
          defect: "another wallet",
        },
        {
          route: "POST /wallets/transfer-to-user/",
          path: "/wallets/transfer-to-user/",
          body: movement(first, "3"),
          defect: "another amount",
        },
        {
          route: "POST /wallets/withdraw-to-master/",
          path: "/wallets/withdraw-to-master/",
          body: movement(first, "2"),
          defect: "same body on another route",
        },
      ],
    },
    {
      key: "setup-withdraw-to-master",
      route: "POST /wallets/withdraw-to-master/",
      method: "POST",
      path: "/wallets/withdraw-to-master/",
      body: movement(second, "1"),
      credential: "tenant",
      reuse: [
        {
          route: "POST /wallets/withdraw-to-master/",
          path: "/wallets/withdraw-to-master/",
          body: movement(first, "1"),
          defect: "another wallet",
        },
        {
          route: "POST /wallets/transfer-to-user/",
          path: "/wallets/transfer-to-user/",
          body: movement(second, "1"),
          defect: "same body on another route",
        },
      ],
    },
    {
      key: "setup-deposit",
      route: "POST /deposits/",
      method: "POST",
      path: "/deposits/",
      body: deposit(base, first, "setup-keyed-deposit"),
      credential: "system-deposits",
      reuse: [
        { route: "POST /deposits/", path: "/deposits/", body: deposit(base, first, "setup-keyed-deposit-2"), defect: "another tx_hash" },
        { route: "POST /deposits/", path: "/deposits/", body: deposit(base, second, "setup-keyed-deposit"), defect: "another wallet" },
      ],
    },
    {
      key: "setup-bet",
      route: "POST /games/bets/",
      method: "POST",
      path: "/games/bets/",
      body: bet(first, currency, "setup-keyed-bet", "setup-keyed-round"),
      credential: "tenant",
      reuse: [
        {
          route: "POST /games/bets/",
          path: "/games/bets/",
          body: bet(first, currency, "setup-keyed-bet-2", "setup-keyed-round"),
          defect: "another transaction_id",
        },
        {
          route: "POST /games/wins/",
          path: "/games/wins/",
          body: {
            wallet_id: base.openBet.wallet.walletId,
            transaction_id: "setup-keyed-win",
            round_id: base.openBet.roundId,
            bet_transaction_id: base.openBet.transactionId,
            currency,
            amount: "1",
          },
          defect: "a win under a bet's key",
        },
        {
          route: "POST /games/rollbacks/",
          path: "/games/rollbacks/",
          body: {
            wallet_id: base.openBet.wallet.walletId,
            transaction_id: "setup-keyed-rollback",
            round_id: base.openBet.roundId,
            bet_transaction_id: base.openBet.transactionId,
            currency,
          },
          defect: "a rollback under a bet's key",
        },
      ],
    },
    {
      key: "setup-hold",
      route: "POST /holds/",
      method: "POST",
      path: "/holds/",
      body: { ...movement(first, "1"), timeout_seconds: 86_400 },
      credential: "tenant",
      reuse: [
        { route: "POST /holds/", path: "/holds/", body: { ...movement(first, "2"), timeout_seconds: 86_400 }, defect: "another amount" },
        { route: "POST /holds/", path: "/holds/", body: { ...movement(second, "1"), timeout_seconds: 86_400 }, defect: "another wallet" },
      ],
    },
    {
      key: "setup-hold-void",
      route: "POST /holds/{id}/void/",
      method: "POST",
      path: `/holds/${base.holdToVoid}/void/`,
      body: undefined,
      credential: "tenant",
      reuse: [
        { route: "POST /holds/{id}/void/", path: `/holds/${base.pendingHold}/void/`, body: undefined, defect: "another hold" },
        {
          route: "POST /holds/{id}/capture/",
          path: `/holds/${base.pendingHold}/capture/`,
          body: {},
          defect: "a capture under a void's key",
        },
      ],
    },
    {
      key: "setup-hold-capture",
      route: "POST /holds/{id}/capture/",
      method: "POST",
      path: `/holds/${base.holdToCapture}/capture/`,
      body: { amount: "1" },
      credential: "tenant",
      reuse: [
        {
          route: "POST /holds/{id}/capture/",
          path: `/holds/${base.pendingHold}/capture/`,
          body: { amount: "1" },
          defect: "another hold, same body",
        },
        {
          route: "POST /holds/{id}/void/",
          path: `/holds/${base.pendingHold}/void/`,
          body: undefined,
          defect: "a void under a capture's key",
        },
      ],
    },
    {
      key: "setup-withdrawal",
      route: "POST /withdrawals/",
      method: "POST",
      path: "/withdrawals/",
      body: { ...movement(first, "1"), address: "TSetupKeyedAddress" },
      credential: "tenant",
      reuse: [
        {
          route: "POST /withdrawals/",
          path: "/withdrawals/",
          body: { ...movement(first, "1"), address: "TSetupOtherAddress" },
          defect: "another address",
        },
        {
          route: "POST /withdrawals/",
          path: "/withdrawals/",
          body: { ...movement(second, "1"), address: "TSetupKeyedAddress" },
          defect: "another wallet",
        },
      ],
    },
    {
      key: "setup-withdrawal-result",
      route: "POST /system/withdrawals/{id}/result/",
      method: "POST",
      path: `/system/withdrawals/${base.withdrawalToComplete}/result/`,
      body: { status: "completed", tx_hash: "setup-keyed-payout" },
      credential: "system-withdrawals",
      reuse: [
        {
          route: "POST /system/withdrawals/{id}/result/",
          path: `/system/withdrawals/${base.pendingWithdrawal}/result/`,
          body: { status: "completed", tx_hash: "setup-keyed-payout" },
          defect: "another withdrawal, same body",
        },
      ],
    },
    {
      key: "setup-webhook-create",
      route: "POST /webhooks/",
      method: "POST",
      path: "/webhooks/",
      body: { url: `${base.webhookUrl}keyed` },
      credential: "tenant",
      reuse: [{ route: "POST /webhooks/", path: "/webhooks/", body: { url: `${base.webhookUrl}keyed-2` }, defect: "another url" }],
    },
    {
      key: "setup-webhook-delete",
      route: "DELETE /webhooks/{id}/",
      method: "DELETE",
      path: `/webhooks/${base.webhookToDelete}/`,
      body: undefined,
      credential: "tenant",
      reuse: [{ route: "DELETE /webhooks/{id}/", path: `/webhooks/${base.webhookId}/`, body: undefined, defect: "another endpoint" }],
    },
    {
      key: "setup-batch",
      route: "POST /batches/",
      method: "POST",
      path: "/batches/",
      body: { movements: [{ type: "transfer_to_user", ...movement(first, "1") }] },
      credential: "tenant",
      reuse: [
        {
          route: "POST /batches/",
          path: "/batches/",
          body: { movements: [{ type: "transfer_to_user", ...movement(second, "1") }] },
          defect: "another wallet",
        },
        {
          route: "POST /wallets/transfer-to-user/",
          path: "/wallets/transfer-to-user/",
          body: movement(first, "1"),
          defect: "a transfer under a batch's key",
        },
      ],
    },
  ];
}

function deposit(base: KeyedBase, wallet: FixtureWallet, txHash: string) {
  return {
    tenant_id: base.tenantId,
    wallet_id: wallet.walletId,
    currency: base.currency,
    amount: "3",
    tx_hash: txHash,
    confirmations: 1000,
  };
}

function bet(wallet: FixtureWallet, currency: string, transactionId: string, roundId: string) {
  return { wallet_id: wallet.walletId, transaction_id: transactionId, round_id: roundId, currency, amount: "1" };
}
