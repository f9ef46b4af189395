import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Counter, Histogram, Registry } from "prom-client";
import { RequestMetrics } from "../../src/http/request-metrics.js";

/**
 * The HTTP request metrics are counted apart from prom-client (src/http/request-metrics.ts), for
 * speed; what a scrape reads must stay exactly what prom-client's Counter and Histogram wrote.
 */

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const NAMES = { requests: "wallet_http_requests_total", duration: "wallet_http_request_duration_seconds" };
const HELP = { requests: "requests help", duration: "duration help" };

function both() {
  const reference = new Registry();
  const labelNames = ["method", "route", "status"] as const;
  const counter = new Counter({ name: NAMES.requests, help: HELP.requests, labelNames, registers: [reference] });
  const histogram = new Histogram({ name: NAMES.duration, help: HELP.duration, labelNames, buckets: BUCKETS, registers: [reference] });
  const registry = new Registry();
  const metrics = new RequestMetrics(registry, NAMES, HELP, BUCKETS);
  const observe = (method: string, route: string, status: number, seconds: number) => {
    const labels = { method, route, status: String(status) };
    counter.inc(labels);
    histogram.observe(labels, seconds);
    metrics.observe(method, route, status, seconds);
  };
  return { reference, registry, observe };
}

describe("HTTP request metrics", () => {
  it("write the exposition and the cluster's JSON of prom-client's Counter and Histogram, byte for byte", async () => {
    const { reference, registry, observe } = both();
    assert.equal(await registry.metrics(), await reference.metrics());
    // Values on a bound, between bounds, above every bound; labels that need escaping.
    for (const [method, route, status, seconds] of [
      ["POST", "/wallets/balances/", 200, 0.0004],
      ["POST", "/wallets/balances/", 200, 0.0005],
      ["POST", "/wallets/balances/", 200, 0.003],
      ["GET", "unmatched", 404, 20],
      ["POST", "/wallets/balances/", 401, 0.001],
      ["GET", '/a"b\\c\nd', 200, 0.5],
    ] as const)
      observe(method, route, status, seconds);
    assert.equal(await registry.metrics(), await reference.metrics());
    const json = async (of: Registry) => JSON.parse(JSON.stringify(await of.getMetricsAsJSON())) as unknown;
    assert.deepEqual(await json(registry), await json(reference));
  });

  it("starts again from zero when the registry's metrics are reset", async () => {
    const { reference, registry, observe } = both();
    observe("GET", "/x", 200, 0.01);
    reference.resetMetrics();
    registry.resetMetrics();
    assert.equal(await registry.metrics(), await reference.metrics());
  });
});
