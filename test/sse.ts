import { Contract } from "./contract.js";

/**
 * A minimal Server-Sent Events client over fetch, for tests: headers (X-API-Key) included. Every
 * event's data is checked against the service's OpenAPI document (StreamEvent, and the payload
 * of its type under `webhooks`, closed); `waitFor` fails on the first that does not match.
 */
export interface StreamEvent {
  id: string;
  type: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary event JSON.
  data: any;
  receivedAt: number;
}

export interface EventClient {
  events: StreamEvent[];
  /** Resolves once `count` events have arrived (or rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<StreamEvent[]>;
  close(): void;
}

/** The document of the server a stream comes from, read once per origin. */
const contracts = new Map<string, Promise<Contract>>();
function contractOf(url: string): Promise<Contract> {
  const origin = new URL(url).origin;
  let contract = contracts.get(origin);
  if (!contract) {
    contract = fetch(`${origin}/openapi.json`).then(async (response) => {
      if (response.status !== 200) throw new Error(`${origin}/openapi.json answered ${response.status}`);
      return Contract.from((await response.json()) as Record<string, unknown>).prepareEvents();
    });
    contracts.set(origin, contract);
  }
  return contract;
}

export async function openStream(url: string, headers: Record<string, string>): Promise<EventClient> {
  const contract = await contractOf(url);
  const problems: string[] = [];
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  if (response.status !== 200 || !response.body) throw new Error(`stream answered ${response.status}: ${await response.text()}`);
  const events: StreamEvent[] = [];
  const waiters: (() => void)[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = Object.fromEntries(
            block
              .split("\n")
              .filter((line) => !line.startsWith(":"))
              .map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 2)]),
          );
          if (fields.data !== undefined) {
            const event = { id: fields.id ?? "", type: fields.event ?? "message", data: JSON.parse(fields.data), receivedAt: Date.now() };
            const problem = contract.eventProblem(event.data, { stream: true });
            if (problem) problems.push(`event ${event.id} (${event.type}): ${problem}`);
            else if (event.type !== event.data.type || event.id !== String(event.data.seq))
              problems.push(`event ${event.id} (${event.type}): the SSE id and event name must be the data's seq and type`);
            events.push(event);
            for (const wake of waiters.splice(0)) wake();
          }
          end = buffer.indexOf("\n\n");
        }
      }
    } catch {
      // Closed by the test.
    }
  })();
  return {
    events,
    async waitFor(count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (events.length < count || problems.length > 0) {
        if (problems.length > 0) throw new Error(`an event is off the OpenAPI document: ${problems.join("; ")}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`expected ${count} events, got ${events.length}: ${events.map((event) => event.type).join(", ")}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, left);
        });
      }
      return events.slice(0, count);
    },
    close: () => controller.abort(),
  };
}
