import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { errorBody } from "./errors.js";

/**
 * The separate metrics listener (METRICS_PORT): a bare HTTP server that answers `GET /metrics`
 * and nothing else, on an address of its own (METRICS_HOST, 127.0.0.1 by default), so a scraper
 * reaches it while the public port never serves it. With METRICS_TOKEN as well, the token is
 * required here too. The primary of a cluster runs one for all its workers (main.ts).
 */

export interface RenderedMetrics {
  contentType: string;
  body: string;
}

export interface MetricsListenerOptions {
  host: string;
  port: number;
  token: string | undefined;
  render: () => Promise<RenderedMetrics>;
  onError: (error: unknown) => void;
}

export interface MetricsListener {
  /** Where it listens, e.g. http://127.0.0.1:9464/metrics. */
  readonly url: string;
  close(): Promise<void>;
}

/** Whether an Authorization header carries the token, compared in constant time. */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const sent = /^Bearer\s+(\S+)$/i.exec(authorization ?? "")?.[1];
  if (sent === undefined) return false;
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(sent), digest(token));
}

export async function startMetricsListener(options: MetricsListenerOptions): Promise<MetricsListener> {
  const server = createServer((request, response) => void answer(options, request, response));
  // A scraper keeps its connection open between scrapes; closing must not wait for it.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function answer(options: MetricsListenerOptions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = (request.url ?? "/").split("?")[0];
  if (path !== "/metrics" || (request.method !== "GET" && request.method !== "HEAD")) {
    return json(response, 404, errorBody("not_found", "This listener serves only GET /metrics"));
  }
  if (options.token !== undefined && !bearerMatches(request.headers.authorization, options.token)) {
    response.setHeader("www-authenticate", 'Bearer realm="metrics"');
    return json(response, 401, errorBody("unauthorized", "Metrics need Authorization: Bearer <METRICS_TOKEN>"));
  }
  try {
    const { contentType, body } = await options.render();
    response.writeHead(200, { "content-type": contentType, "cache-control": "no-store" });
    response.end(request.method === "HEAD" ? undefined : body);
  } catch (error) {
    options.onError(error);
    json(response, 500, errorBody("server_error", "Internal server error"));
  }
}

function json(response: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  response.end(text);
}
