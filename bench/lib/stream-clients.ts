import { fork } from "node:child_process";
import { connect, type Socket } from "node:net";
import { setPriority } from "node:os";
import { fileURLToPath } from "node:url";
import { onCleanup } from "./cleanup.js";

/**
 * Many `GET /wallets/events/` clients in a process of their own (so that reading thousands of
 * sockets does not disturb the load generator's clock): raw HTTP/1.1 over 127.0.0.1, either
 * paused (connected, never reading: the kernel's buffers fill and then the server's writes block)
 * or reading everything and keeping the last event id per stream. The parent drives it over IPC.
 */

export type StreamMode = "paused" | "reading";

export interface StreamClientStats {
  open: number;
  /** Connections that ended (the server closed them), among those that read. */
  ended: number;
  /** Events received, over all reading streams. */
  events: number;
  /** Fewest events one reading stream has received. */
  minEvents: number;
  /**
   * From an event's `created_at` (set in its transaction, just before the commit) until the first
   * and until the last reading stream had it, ms: p50, p99, max over the events.
   */
  deliveryMs?: { first: Percentiles; last: Percentiles };
}

export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

const CLIENT_NICENESS = 10;

type Command = { id: number } & (
  | { cmd: "open"; url: string; apiKey: string; count: number; mode: StreamMode; concurrency: number }
  | { cmd: "stats" }
  | { cmd: "close" }
);

export interface StreamClients {
  /** The client process, for its CPU time. */
  pid: number;
  /** Opens `count` streams; resolves with how many the server accepted and refused. */
  open(count: number, mode: StreamMode): Promise<{ opened: number; refused: number; failed: number; statuses: Record<string, number> }>;
  stats(): Promise<StreamClientStats>;
  /** Closes every stream (resets the connections). */
  close(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the client process for one server and tenant. */
export function startStreamClients(url: string, apiKey: string): StreamClients {
  const child = fork(fileURLToPath(import.meta.url), ["--child"], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  // In production the clients are other machines; here they share the cores with the server and
  // the load generator, so they run at a lower priority and take what is left.
  if (child.pid !== undefined) setPriority(child.pid, CLIENT_NICENESS);
  const waiting = new Map<number, (value: unknown) => void>();
  let next = 0;
  child.on("message", (message: { id: number; result: unknown }) => {
    waiting.get(message.id)?.(message.result);
    waiting.delete(message.id);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const ask = <T>(command: Record<string, unknown>) =>
    new Promise<T>((resolve, reject) => {
      if (child.exitCode !== null) {
        reject(new Error("the stream client process has exited"));
        return;
      }
      next += 1;
      waiting.set(next, resolve as (value: unknown) => void);
      child.send({ ...command, id: next });
    });
  const stop = onCleanup(async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    await exited;
  });
  return {
    pid: child.pid ?? 0,
    open: (count, mode) => ask({ cmd: "open", url, apiKey, count, mode, concurrency: 64 }),
    stats: () => ask({ cmd: "stats" }),
    close: () => ask({ cmd: "close" }),
    stop,
  };
}

// ---- the child process ----

interface Client {
  socket: Socket;
  mode: StreamMode;
  events: number;
  lastId: number;
  ended: boolean;
  status: number;
  head: string;
  /** The start of a frame whose id line (or `created_at`) the last read cut off. */
  carry: Buffer | undefined;
}

const clients = new Set<Client>();
/** Per event id: when it was created, and when the first and the last reading stream had it. */
const deliveries = new Map<number, { created: number; first: number; last: number }>();
const ID = Buffer.from("id: ");
const CREATED_AT = Buffer.from('"created_at":"');
/**
 * One read buffer for every socket (`onread`): each read is handled before the next, and nothing
 * is allocated per read, so thousands of streams cost this process as little as possible.
 */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/** Connects one stream; resolves with the HTTP status once the response head has arrived. */
function openOne(url: URL, apiKey: string, mode: StreamMode): Promise<number> {
  return new Promise((resolve) => {
    let client: Client | undefined;
    const socket = connect({
      host: url.hostname,
      port: Number(url.port),
      onread: { buffer: READ_BUFFER, callback: (bytes: number, buffer: Uint8Array) => received(client as Client, buffer as Buffer, bytes) },
    });
    client = { socket, mode, events: 0, lastId: 0, ended: false, status: 0, head: "", carry: undefined };
    const own = client;
    socket.on("error", () => undefined);
    socket.once("close", () => {
      own.ended = true;
      if (own.status === 0) resolve(-1);
    });
    socket.once("headers", (status: number) => resolve(status));
    socket.write(`GET /wallets/events/ HTTP/1.1\r\nHost: ${url.host}\r\nX-API-Key: ${apiKey}\r\nAccept: text/event-stream\r\n\r\n`);
  });
}

function received(client: Client, buffer: Buffer, bytes: number): boolean {
  let data = buffer.subarray(0, bytes);
  if (client.status === 0) {
    client.head += data.toString("latin1");
    const end = client.head.indexOf("\r\n\r\n");
    if (end < 0) return true;
    client.status = Number(client.head.slice(9, 12));
    const rest = Buffer.from(client.head.slice(end + 4), "latin1");
    client.head = "";
    client.socket.emit("headers", client.status);
    if (client.status !== 200) {
      client.socket.destroy();
      return false;
    }
    clients.add(client);
    if (client.mode === "paused") {
      client.socket.pause();
      return false;
    }
    data = rest;
  }
  if (client.carry) {
    data = Buffer.concat([client.carry, data]);
    client.carry = undefined;
  }
  // Event ids grow; searched in the raw bytes (Buffer.indexOf), a frame cut off is kept for the next read.
  const now = Date.now();
  for (let at = data.indexOf(ID); at >= 0; at = data.indexOf(ID, at + ID.length)) {
    const end = data.indexOf(0x0a, at);
    if (end < 0) {
      client.carry = Buffer.from(data.subarray(at));
      break;
    }
    const id = Number(data.toString("latin1", at + ID.length, end));
    if (!(id > client.lastId)) continue;
    const seen = deliveries.get(id);
    if (seen) seen.last = now;
    else {
      const created = data.indexOf(CREATED_AT, end);
      const createdEnd = created < 0 ? -1 : data.indexOf(0x22, created + CREATED_AT.length);
      if (createdEnd < 0) {
        client.carry = Buffer.from(data.subarray(at));
        break;
      }
      deliveries.set(id, { created: Date.parse(data.toString("latin1", created + CREATED_AT.length, createdEnd)), first: now, last: now });
    }
    client.lastId = id;
    client.events += 1;
  }
  // "id: " itself may be cut off: its first bytes are kept (3 bytes can never hold a whole one).
  if (!client.carry) client.carry = Buffer.from(data.subarray(Math.max(0, data.length - (ID.length - 1))));
  return true;
}

function percentiles(values: number[]): Percentiles {
  const sorted = values.sort((a, b) => a - b);
  const at = (quantile: number) => sorted[Math.min(sorted.length - 1, Math.ceil(quantile * sorted.length) - 1)] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99), max: at(1) };
}

async function handle(command: Command): Promise<unknown> {
  switch (command.cmd) {
    case "open": {
      const url = new URL(command.url);
      if (url.hostname !== "127.0.0.1") throw new Error("stream clients only connect to 127.0.0.1");
      const statuses: Record<string, number> = {};
      let started = 0;
      const worker = async () => {
        while (started < command.count) {
          started += 1;
          const status = await openOne(url, command.apiKey, command.mode);
          statuses[status] = (statuses[status] ?? 0) + 1;
        }
      };
      await Promise.all(Array.from({ length: command.concurrency }, worker));
      return {
        opened: statuses[200] ?? 0,
        refused: statuses[429] ?? 0,
        failed: command.count - (statuses[200] ?? 0) - (statuses[429] ?? 0),
        statuses,
      };
    }
    case "stats": {
      const reading = [...clients].filter((client) => client.mode === "reading");
      return {
        open: [...clients].filter((client) => !client.ended).length,
        ended: reading.filter((client) => client.ended).length,
        events: reading.reduce((sum, client) => sum + client.events, 0),
        minEvents: reading.length === 0 ? 0 : Math.min(...reading.map((client) => client.events)),
        ...(deliveries.size > 0
          ? {
              deliveryMs: {
                first: percentiles([...deliveries.values()].map((seen) => seen.first - seen.created)),
                last: percentiles([...deliveries.values()].map((seen) => seen.last - seen.created)),
              },
            }
          : {}),
      } satisfies StreamClientStats;
    }
    case "close": {
      for (const client of clients) client.socket.resetAndDestroy();
      clients.clear();
      deliveries.clear();
      return null;
    }
  }
}

if (process.argv.includes("--child")) {
  process.on("message", (command: Command) => {
    void handle(command).then((result) => process.send?.({ id: command.id, result }));
  });
  process.on("disconnect", () => process.exit(0));
}
