import { Agent, request as httpRequest } from "node:http";
import { round } from "./load.js";

/**
 * Open-loop load: requests are sent at a fixed arrival rate whatever the answers do, and each
 * latency is measured from the moment the request was due, not from when a connection was free
 * (no coordinated omission: a stalled server shows in the latencies instead of slowing the load
 * down). Several such loads can run at once against one server (reads during movements).
 *
 * A request can also go out up to a millisecond early: Node's timers count whole milliseconds and
 * may fire before the exact moment, and a request due within the next millisecond is sent at once
 * rather than after a timer that cannot wait less than one. Such a request is timed from when it
 * was sent: timed from its due moment, its latency would come out up to a millisecond short,
 * which is most of a bare route's.
 */

export interface OpenLoopRequest {
  method: "GET" | "POST";
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface OpenLoopSpec {
  url: string;
  /** Requests per second. */
  rate: number;
  seconds: number;
  /** Called for every request, in order. */
  next: (index: number) => OpenLoopRequest;
  /** Connections at most; a request due while all are busy waits for one (and its latency shows it). */
  maxSockets?: number;
  /**
   * Keep-alive sockets to send on, kept open after the run (the caller destroys the agent): a
   * warm-up run on the same agent leaves its connections open for the measured run, so the
   * measured run does not pay for opening them. Without it, the run opens and closes its own.
   */
  agent?: Agent;
}

export interface OpenLoopResult {
  rate: number;
  seconds: number;
  sent: number;
  ok: number;
  non2xx: number;
  errors: number;
  statusCodes: Record<string, number>;
  latencyMs: { p50: number; p90: number; p95: number; p99: number; max: number; mean: number };
  /**
   * How late the generator sent its requests (time from due to sent, 0 for one sent early): when
   * this grows, the load generator itself was short of CPU, and part of the latencies above is its
   * own delay.
   */
  sendLagMs: { p50: number; p99: number; max: number };
}

export async function openLoop(spec: OpenLoopSpec): Promise<OpenLoopResult> {
  const target = new URL(spec.url);
  if (target.hostname !== "127.0.0.1") throw new Error(`open-loop load only targets 127.0.0.1, not ${target.hostname}`);
  const agent = spec.agent ?? new Agent({ keepAlive: true, maxSockets: spec.maxSockets ?? 256 });
  const total = Math.round(spec.rate * spec.seconds);
  const latencies: number[] = [];
  const lags: number[] = [];
  const statusCodes: Record<string, number> = {};
  let errors = 0;
  let non2xx = 0;
  const inFlight: Promise<void>[] = [];
  const started = performance.now();
  const send = (index: number, due: number) =>
    new Promise<void>((resolve) => {
      const { method, path, headers, body } = spec.next(index);
      const start = Math.min(due, performance.now());
      const request = httpRequest({ host: target.hostname, port: target.port, method, path, headers, agent }, (response) => {
        response.resume();
        response.once("end", () => {
          const status = response.statusCode ?? 0;
          statusCodes[status] = (statusCodes[status] ?? 0) + 1;
          if (status >= 200 && status < 300) latencies.push(performance.now() - start);
          else non2xx += 1;
          resolve();
        });
      });
      request.once("error", () => {
        errors += 1;
        resolve();
      });
      request.end(body);
      lags.push(Math.max(0, performance.now() - due));
    });
  for (let index = 0; index < total; index += 1) {
    const due = started + (index * 1000) / spec.rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    inFlight.push(send(index, due));
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - started) / 1000;
  if (!spec.agent) agent.destroy();
  latencies.sort((a, b) => a - b);
  lags.sort((a, b) => a - b);
  const count = latencies.length;
  const at = (quantile: number, values = latencies) =>
    values.length === 0 ? Number.NaN : (values[Math.min(values.length - 1, Math.ceil(quantile * values.length) - 1)] as number);
  const mean = count === 0 ? Number.NaN : latencies.reduce((sum, value) => sum + value, 0) / count;
  return {
    rate: spec.rate,
    seconds: round(elapsed, 2),
    sent: total,
    ok: count,
    non2xx,
    errors,
    statusCodes,
    latencyMs: {
      p50: round(at(0.5)),
      p90: round(at(0.9)),
      p95: round(at(0.95)),
      p99: round(at(0.99)),
      max: round(at(1)),
      mean: round(mean),
    },
    sendLagMs: { p50: round(at(0.5, lags)), p99: round(at(0.99, lags)), max: round(at(1, lags)) },
  };
}
