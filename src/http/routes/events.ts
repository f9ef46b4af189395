import type { ServerResponse } from "node:http";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { invalidFields } from "../../services/errors.js";
import type { EventService } from "../../services/events.js";
import { walletLookup } from "../../services/wallets.js";
import type { EventRecord } from "../../store/store.js";
import { tenantAuth, tenantOf } from "../auth.js";
import { ExternalIdField, responses, WalletIdField } from "../schemas.js";

const HEARTBEAT_MS = 15_000;
/** A fallback for commits this process is not told about (SQLite shared by several processes). */
const POLL_MS = 1000;
const RECONNECT_MS = 2000;

/**
 * The live balance stream (Server-Sent Events) of a tenant or of one wallet. Events carry their
 * per-tenant sequence number as the SSE id; a client reconnecting with Last-Event-ID gets every
 * event after it, in commit order, with none missing.
 */
export const eventRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { services } = app;
  const open = new Set<ServerResponse>();
  // Streams never end by themselves; ending them lets a shutdown finish. Clients reconnect
  // elsewhere with Last-Event-ID and miss nothing.
  app.addHook("preClose", async () => {
    for (const response of open) response.end();
  });

  app.get(
    "/wallets/events/",
    {
      preHandler: tenantAuth(services, "read"),
      schema: {
        querystring: Type.Object(
          {
            wallet_id: Type.Optional(WalletIdField),
            external_id: Type.Optional(ExternalIdField),
            last_event_id: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
          },
          { additionalProperties: false },
        ),
        response: responses({}),
      },
    },
    async (request, reply) => {
      const tenantId = tenantOf(request);
      const { wallet_id, external_id } = request.query;
      const wallet =
        wallet_id || external_id ? (await services.wallets.get(tenantId, walletLookup({ wallet_id, external_id }))).wallet : undefined;
      const resumeFrom = lastEventId(request.headers["last-event-id"]) ?? request.query.last_event_id;
      const cursor = resumeFrom ?? (await services.events.lastSeq(tenantId));
      reply.hijack();
      reply.raw.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        connection: "keep-alive",
        "x-accel-buffering": "no",
      });
      reply.raw.write(`retry: ${RECONNECT_MS}\n\n`);
      open.add(reply.raw);
      reply.raw.once("close", () => open.delete(reply.raw));
      await new EventStream(services.events, reply.raw, tenantId, wallet?.id, cursor).start();
    },
  );
};

function lastEventId(header: string | string[] | undefined): number | undefined {
  if (header === undefined || Array.isArray(header)) return undefined;
  if (!/^\d{1,15}$/.test(header))
    throw invalidFields("Last-Event-ID must be an event sequence number", { "Last-Event-ID": "must be an event sequence number" });
  return Number(header);
}

/** One client's stream: wakes on commits (and a slow poll), sends what it has not sent yet. */
class EventStream {
  #pumping = false;
  #again = false;
  #closed = false;

  constructor(
    private readonly events: EventService,
    private readonly response: ServerResponse,
    private readonly tenantId: string,
    private readonly walletUuid: string | undefined,
    private cursor: number,
  ) {}

  async start(): Promise<void> {
    const unsubscribe = await this.events.subscribe(this.tenantId, () => void this.#pump());
    const poll = setInterval(() => void this.#pump(), POLL_MS);
    const heartbeat = setInterval(() => this.response.write(": heartbeat\n\n"), HEARTBEAT_MS);
    this.response.once("close", () => {
      this.#closed = true;
      unsubscribe();
      clearInterval(poll);
      clearInterval(heartbeat);
    });
    void this.#pump();
  }

  async #pump(): Promise<void> {
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#again = false;
        const batch = await this.events.after(this.tenantId, this.cursor, this.walletUuid);
        for (const event of batch) await this.#send(event);
        if (batch.length > 0) this.#again = true;
      } while (this.#again && !this.#closed);
    } catch {
      // The client reconnects with its Last-Event-ID and misses nothing.
      this.response.destroy();
    } finally {
      this.#pumping = false;
    }
  }

  async #send(event: EventRecord): Promise<void> {
    if (this.#closed) return;
    const data = `{"seq":${event.seq},${event.payload.slice(1)}`;
    const flushed = this.response.write(`id: ${event.seq}\nevent: ${event.type}\ndata: ${data}\n\n`);
    this.cursor = event.seq;
    // Honour backpressure: a slow client must not make the process buffer the whole outbox.
    if (!flushed) await new Promise((resolve) => this.response.once("drain", resolve));
  }
}
