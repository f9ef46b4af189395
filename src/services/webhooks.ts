import { createHmac, randomBytes, randomUUID } from "node:crypto";
import type { DeliveryStatus, Store, WebhookEndpointRecord } from "../store/store.js";
import { AppError } from "./errors.js";
import type { Idempotency, Once, Written } from "./idempotency.js";
import type { WebhookTargetPolicy } from "./webhook-targets.js";

/**
 * Webhook endpoints of a tenant. Each gets its own signing secret; every event is POSTed with
 * `X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`, the recipe
 * Stripe made familiar, so receivers can verify origin and reject replays by the timestamp.
 */

export const MAX_ENDPOINTS_PER_TENANT = 10;

export function signature(secret: string, timestampSeconds: number, body: string): string {
  const digest = createHmac("sha256", secret).update(`${timestampSeconds}.${body}`).digest("hex");
  return `t=${timestampSeconds},v1=${digest}`;
}

export class WebhookService {
  constructor(
    private readonly store: Store,
    private readonly idempotency: Idempotency,
    private readonly targets: WebhookTargetPolicy,
  ) {}

  async create(tenantId: string, url: string, once?: Once): Promise<Written<WebhookEndpointRecord>> {
    // https only (unless allowed), public addresses only: see webhook-targets.ts.
    await this.targets.checkUrl(url);
    if ((await this.store.listWebhookEndpoints(tenantId)).length >= MAX_ENDPOINTS_PER_TENANT) {
      throw new AppError("invalid_request", `A tenant has at most ${MAX_ENDPOINTS_PER_TENANT} webhook endpoints`);
    }
    const endpoint: WebhookEndpointRecord = {
      id: randomUUID(),
      tenantId,
      url,
      secret: `whsec_${randomBytes(32).toString("base64url")}`,
      createdAt: new Date().toISOString(),
      disabledAt: null,
    };
    return this.idempotency.write(once, async (tx) => {
      await tx.insertWebhookEndpoint(endpoint);
      return endpoint;
    });
  }

  list(tenantId: string): Promise<WebhookEndpointRecord[]> {
    return this.store.listWebhookEndpoints(tenantId);
  }

  remove(tenantId: string, id: string, once?: Once): Promise<Written<{ id: string }>> {
    return this.idempotency.write(once, async (tx) => {
      if (!(await tx.disableWebhookEndpoint(tenantId, id, new Date().toISOString()))) {
        throw new AppError("not_found", "Webhook endpoint not found");
      }
      return { id };
    });
  }

  deliveries(tenantId: string, status: DeliveryStatus | undefined, limit: number, offset: number) {
    return this.store.listDeliveries(tenantId, status, limit, offset);
  }

  redeliver(tenantId: string, eventId: string, once?: Once): Promise<Written<number>> {
    return this.idempotency.write(once, async (tx) => {
      const queued = await tx.redeliver(tenantId, eventId, new Date().toISOString());
      if (queued === 0) throw new AppError("not_found", "No delivery of this event exists");
      return queued;
    });
  }
}
