import type { ServerResponse } from "node:http";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyBaseLogger, FastifyReply } from "fastify";
import { type Static, Type } from "typebox";
import { AppError, invalidFields } from "../../services/errors.js";
import {
  type EventStreams,
  type LiveStream,
  STREAM_RETRY_AFTER_SECONDS,
  type StreamSink,
  type StreamSlot,
} from "../../services/event-streams.js";
import type { Services } from "../../services/services.js";
import { walletLookup } from "../../services/wallets.js";
import { EventStreamResponse } from "../../wire/events.js";
import { tenantAuth, tenantOf } from "../auth.js";
import { ExternalIdField, responses, WalletIdField } from "../schemas.js";

const RECONNECT_MS = 2000;

const EventsQuery = Type.Object(
  {
    wallet_id: Type.Optional(WalletIdField),
    external_id: Type.Optional(ExternalIdField),
    last_event_id: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
  },
  { additionalProperties: false },
);

/**
 * The live balance stream (Server-Sent Events) of a tenant or of one wallet. Events carry their
 * per-tenant sequence number as the SSE id; a client reconnecting with Last-Event-ID gets every
 * event after it, in commit order, with none missing.
 */
export const eventRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { services } = app;
  const open = new Map<ServerResponse, LiveStream>();
  // Streams never end by themselves; ending them lets a shutdown finish. Clients reconnect
  // elsewhere with Last-Event-ID and miss nothing.
  app.addHook("preClose", async () => {
    for (const [response, stream] of open) {
      stream.close();
      response.end();
    }
  });

  app.get(
    "/wallets/events/",
    {
      preHandler: tenantAuth(services, "read"),
      schema: {
        summary: "Live event stream (Server-Sent Events) of the tenant or one wallet",
        operationId: "streamEvents",
        tags: ["Events"],
        querystring: EventsQuery,
        response: responses({ 200: EventStreamResponse }),
      },
    },
    async (request, reply) => {
      const stream = await openStream(services, tenantOf(request), request.query, request.headers["last-event-id"], reply);
      reply.hijack();
      if (reply.raw.destroyed) stream.close();
      else serve(reply.raw, stream, open, request.log);
    },
  );
};

/**
 * Takes a stream slot and opens the stream after the event the client last saw. The slot is
 * taken before anything is awaited, so concurrent requests are counted exactly; a client gone
 * before the stream starts gives its slot back at once.
 */
async function openStream(
  services: Services,
  tenantId: string,
  query: Static<typeof EventsQuery>,
  lastEventIdHeader: string | string[] | undefined,
  reply: FastifyReply,
): Promise<LiveStream> {
  const slot = reserveSlot(services.events.streams, tenantId, reply);
  let stream: LiveStream | undefined;
  reply.raw.once("close", () => {
    if (stream) stream.close();
    else slot.release();
  });
  try {
    const { wallet_id, external_id } = query;
    const wallet =
      wallet_id || external_id ? (await services.wallets.get(tenantId, walletLookup({ wallet_id, external_id }))).wallet : undefined;
    const resumeFrom = lastEventId(lastEventIdHeader) ?? query.last_event_id;
    stream = await services.events.streams.open(slot, wallet?.uuid, resumeFrom);
    return stream;
  } catch (error) {
    slot.release();
    throw error;
  }
}

/** A slot among the open streams; a refusal tells the client when to try again. */
function reserveSlot(streams: EventStreams, tenantId: string, reply: FastifyReply): StreamSlot {
  try {
    return streams.reserve(tenantId);
  } catch (error) {
    if (error instanceof AppError && error.code === "rate_limited") void reply.header("retry-after", String(STREAM_RETRY_AFTER_SECONDS));
    throw error;
  }
}

/** Sends the stream's head and starts writing its events; the response is open until the client leaves. */
function serve(raw: ServerResponse, stream: LiveStream, open: Map<ServerResponse, LiveStream>, log: FastifyBaseLogger): void {
  raw.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache, no-transform",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  raw.write(`retry: ${RECONNECT_MS}\n\n`);
  open.set(raw, stream);
  raw.once("close", () => open.delete(raw));
  stream.attach(responseSink(raw, log));
}

function lastEventId(header: string | string[] | undefined): number | undefined {
  if (header === undefined || Array.isArray(header)) return undefined;
  if (!/^\d{1,15}$/.test(header))
    throw invalidFields("Last-Event-ID must be an event sequence number", { "Last-Event-ID": "must be an event sequence number" });
  return Number(header);
}

/**
 * The stream writes to the response's socket through this, with bytes already framed as HTTP
 * chunks (`onTheWire`): the response would hold every write back until the next tick (it corks
 * the socket), while on the socket a write the kernel takes at once leaves nothing behind, so the
 * stream can tell a client that reads (write after write is taken whole) from one that does not
 * (the rest stays in the process) without waiting for a drain.
 */
function responseSink(raw: ServerResponse, log: FastifyBaseLogger): StreamSink {
  const socket = raw.socket;
  // Writes complete in order: once as many have completed as were made, nothing waits. One
  // callback for all of them, so that a write allocates nothing of ours.
  let made = 0;
  let completed = 0;
  let drained: (() => void) | undefined;
  const written = () => {
    completed += 1;
    if (completed === made && drained) {
      const call = drained;
      drained = undefined;
      call();
    }
  };
  return {
    chunked: raw.chunkedEncoding,
    write(bytes, onDrained) {
      // A response that is ending or gone takes nothing more; its close event ends the stream.
      if (!socket || socket.destroyed || raw.writableEnded || raw.destroyed) return true;
      made += 1;
      socket.write(bytes, written);
      if (socket.writableLength === 0) return true;
      drained = onDrained;
      return false;
    },
    disconnect(reason) {
      log.info({ reason }, "event stream disconnected; the client resumes with Last-Event-ID");
      // A reset rather than a close: the kernel drops what the client did not read at once,
      // instead of keeping it (up to a few MB) until the client reads or the connection times out.
      if (socket && !socket.destroyed) socket.resetAndDestroy();
      else raw.destroy();
    },
  };
}
