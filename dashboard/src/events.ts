import type { StreamEvent } from "../../src/wire/events.js";

/** One balance change from GET /wallets/events/ (`wallet` is null for the tenant's master account). */
export type WalletEvent = StreamEvent;

export type StreamState = "connecting" | "live" | "reconnecting";

export interface StreamHandlers {
  onEvent(event: WalletEvent): void;
  onState(state: StreamState): void;
  /**
   * The stream (re)connected. It carries only what happens from now on (or since the last event
   * seen), so a change between a view's last read and this moment is not in it: views reload.
   */
  onConnected(): void;
  onUnauthorized(): void;
}

interface SseMessage {
  event: string;
  data: string;
}

const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;

/**
 * A server-sent events parser (the WHATWG event-stream format). Chunks may split lines
 * anywhere, so an incomplete last line waits for the next chunk.
 */
export class SseParser {
  #buffer = "";
  #event = "";
  #data: string[] = [];
  /** An id line counts only once its event is complete, or a drop mid-event would skip that event on resuming. */
  #pendingId: string | undefined;
  lastEventId: string | undefined;
  retryMs: number | undefined;

  constructor(private readonly onMessage: (message: SseMessage) => void) {}

  push(chunk: string): void {
    this.#buffer += chunk;
    // A chunk ending in CR may be half of a CRLF, so that CR waits for the next chunk.
    const complete = this.#buffer.endsWith("\r") ? this.#buffer.length - 1 : this.#buffer.length;
    const lines = this.#buffer.slice(0, complete).split(/\r\n|\r|\n/);
    this.#buffer = (lines.pop() ?? "") + this.#buffer.slice(complete);
    for (const line of lines) this.#line(line);
  }

  /** Forgets a half-received event of a dropped connection; the server sends it again after Last-Event-ID. */
  reset(): void {
    this.#buffer = "";
    this.#event = "";
    this.#data = [];
    this.#pendingId = this.lastEventId;
  }

  #line(line: string): void {
    if (line === "") {
      this.#dispatch();
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") this.#event = value;
    else if (field === "data") this.#data.push(value);
    else if (field === "id" && !value.includes("\0")) this.#pendingId = value;
    else if (field === "retry" && /^\d+$/.test(value)) this.retryMs = Number(value);
  }

  #dispatch(): void {
    this.lastEventId = this.#pendingId;
    if (this.#data.length > 0) this.onMessage({ event: this.#event || "message", data: this.#data.join("\n") });
    this.#event = "";
    this.#data = [];
  }
}

/**
 * Follows the tenant's balance events. EventSource cannot send the X-API-Key header, so this
 * reads the stream with fetch and reconnects after a drop with Last-Event-ID, which lets the
 * server replay what was missed.
 */
export class EventStream {
  readonly #abort = new AbortController();

  constructor(
    private readonly key: string,
    private readonly handlers: StreamHandlers,
  ) {}

  start(): void {
    void this.#run();
  }

  stop(): void {
    this.#abort.abort();
  }

  async #run(): Promise<void> {
    const { signal } = this.#abort;
    const parser = new SseParser((message) => this.#message(message));
    let retryMs = FIRST_RETRY_MS;
    this.handlers.onState("connecting");
    while (!signal.aborted) {
      try {
        const headers: Record<string, string> = { "x-api-key": this.key, accept: "text/event-stream" };
        if (parser.lastEventId !== undefined) headers["last-event-id"] = parser.lastEventId;
        const response = await fetch("/wallets/events/", { headers, signal, cache: "no-store" });
        if (response.status === 401) {
          this.handlers.onUnauthorized();
          return;
        }
        if (response.ok && response.body) {
          this.handlers.onState("live");
          this.handlers.onConnected();
          retryMs = parser.retryMs ?? FIRST_RETRY_MS;
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) parser.push(chunk.value);
        }
      } catch {
        // A network error or a dropped stream: both end in the reconnect below.
      }
      if (signal.aborted) return;
      parser.reset();
      this.handlers.onState("reconnecting");
      // Jitter keeps many dashboards from reconnecting in lockstep after a server restart.
      await sleep(retryMs * (0.75 + Math.random() / 2), signal);
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    }
  }

  #message(message: SseMessage): void {
    // Every balance event is named by its type; an unnamed message is not one of them.
    if (message.event === "message") return;
    this.handlers.onEvent(JSON.parse(message.data) as WalletEvent);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const wake = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    signal.addEventListener("abort", wake);
  });
}
