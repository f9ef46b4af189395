import type { EventType } from "../../store/store.js";

/** An outbox event as streams and polling read it: its JSON rendered once (services/views.ts `eventJson`). */
export interface OutboxEvent {
  seq: number;
  type: EventType;
  walletUuid: string | null;
  /** The event's JSON, without its seq. */
  payload: string;
}

/**
 * Bytes of frames a stream writes at once (one write, one chunk). After a write the connection
 * did not take whole, nothing more is written until it has, so this (plus the kernel's socket
 * buffer) is the most one stream can have queued.
 */
export const PASS_BYTES = 32 * 1024;

const HEARTBEAT = Buffer.from(": heartbeat\n\n");
const CRLF = Buffer.from("\r\n");

/** One frame per event, built once and written to every stream that wants it. */
export function sseFrame(event: OutboxEvent): Buffer {
  return Buffer.from(`id: ${event.seq}\nevent: ${event.type}\ndata: {"seq":${event.seq},${event.payload.slice(1)}\n\n`);
}

/**
 * SSE frames as they go on the connection: one HTTP/1.1 chunk when the response is chunked. Built
 * once per pass and shared by every stream at the same position, so that a commit costs each
 * stream one write of ready bytes.
 */
export function onTheWire(frames: readonly Buffer[], bytes: number, chunked: boolean): Buffer {
  if (!chunked) return frames.length === 1 ? (frames[0] as Buffer) : Buffer.concat(frames, bytes);
  const head = Buffer.from(`${bytes.toString(16)}\r\n`, "latin1");
  return Buffer.concat([head, ...frames, CRLF], head.length + bytes + CRLF.length);
}

/** The heartbeat comment, framed once for each kind of response. */
export const HEARTBEATS = { chunked: onTheWire([HEARTBEAT], HEARTBEAT.length, true), plain: HEARTBEAT };
