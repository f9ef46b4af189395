import { createHash } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { assert } from "../ledger/assert.js";
import { invalidFields } from "../services/errors.js";
import type { Once, Written } from "../services/idempotency.js";
import { isEmptyObject } from "./bodies.js";

const MAX_KEY_LENGTH = 255;
const KEY_PATTERN = /^[\x21-\x7e]+$/;

/**
 * The Idempotency-Key header, if sent, checked for form. The input rules call this on every
 * route, so a malformed key is refused everywhere rather than ignored where keys do not apply.
 */
export function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const key = request.headers["idempotency-key"];
  if (key === undefined) return undefined;
  if (typeof key !== "string" || key.length > MAX_KEY_LENGTH || !KEY_PATTERN.test(key)) {
    const problem = `must be 1 to ${MAX_KEY_LENGTH} printable ASCII characters`;
    throw invalidFields(`Idempotency-Key ${problem}`, { "Idempotency-Key": problem });
  }
  return key;
}

/**
 * Reads the Idempotency-Key header of a mutating request. Keys belong to the credential's owner
 * (the tenant, or the system key itself: two payout systems never share keys), and the
 * fingerprint covers the method, the concrete path with its ids and the parsed body, so the same
 * key on another resource (void hold Y after hold X) or with another body is a conflict, never a
 * replay of someone else's answer. Bodies are compared parsed, with keys sorted, so key order and
 * whitespace do not matter.
 */
export function onceOf(request: FastifyRequest): Once | undefined {
  const key = idempotencyKeyOf(request);
  if (key === undefined) return undefined;
  const principal = request.principal;
  assert(principal != null, "an idempotent route ran without authentication");
  const scope = principal.tenantId ?? `system:${principal.credentialId}`;
  const asked = [
    request.method,
    request.routeOptions.url ?? request.url,
    canonicalJson(request.params),
    canonicalJson(isEmptyObject(request.body) ? undefined : request.body),
  ];
  const fingerprint = createHash("sha256").update(asked.join("\u0000")).digest("hex");
  return { scope, key, fingerprint };
}

/** JSON with object keys sorted at every level: one text per parsed value. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value ?? null, (_key, item: unknown) =>
    item !== null && typeof item === "object" && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0)))
      : item,
  );
}

/** Marks a replayed answer, as Stripe and the IETF Idempotency-Key draft clients expect. */
export function writtenValue<T>(reply: FastifyReply, written: Written<T>): T {
  if (written.replayed) void reply.header("Idempotency-Replayed", "true");
  return written.value;
}
