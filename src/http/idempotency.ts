import { createHash } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { AppError } from "../services/errors.js";
import type { Once, Written } from "../services/idempotency.js";

const MAX_KEY_LENGTH = 255;
const KEY_PATTERN = /^[\x21-\x7e]+$/;

/**
 * Reads the Idempotency-Key header of a mutating request. The fingerprint covers the route and
 * the parsed body, so the same key with another request is told apart from a true repeat.
 */
export function onceOf(request: FastifyRequest): Once | undefined {
  const key = request.headers["idempotency-key"];
  if (key === undefined) return undefined;
  if (typeof key !== "string" || key.length > MAX_KEY_LENGTH || !KEY_PATTERN.test(key)) {
    throw new AppError("invalid_request", `Idempotency-Key must be 1 to ${MAX_KEY_LENGTH} printable ASCII characters`, {
      header: "Idempotency-Key",
    });
  }
  const scope = request.principal?.tenantId ?? "system";
  const fingerprint = createHash("sha256")
    .update(`${request.method} ${request.routeOptions.url ?? request.url}\u0000${JSON.stringify(request.body ?? null)}`)
    .digest("hex");
  return { scope, key, fingerprint };
}

/** Marks a replayed answer, as Stripe and the IETF Idempotency-Key draft clients expect. */
export function writtenValue<T>(reply: FastifyReply, written: Written<T>): T {
  if (written.replayed) void reply.header("Idempotency-Replayed", "true");
  return written.value;
}
