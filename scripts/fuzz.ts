/**
 * The hostile-input suite at larger sizes and other seeds:
 *
 *   npm run fuzz -- --store sqlite|postgres --requests N --seed S [--concurrency C]
 *
 * Starts the app on a fresh database of that store (PostgreSQL on TEST_POSTGRES_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres), runs the setup of test/hostile/harness.ts, sends
 * N generated requests (every one with a defect) and checks every answer and the state after.
 * Prints one JSON summary on stdout (requests, by status, by category, failures with samples);
 * exits 1 on any failure. Only 127.0.0.1 is contacted.
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    store: { type: "string", default: "sqlite" },
    requests: { type: "string", default: "10000" },
    seed: { type: "string", default: "1" },
    concurrency: { type: "string", default: "8" },
    text: { type: "boolean", default: false },
  },
});

const store = values.store;
if (store !== "sqlite" && store !== "postgres") usage(`--store must be sqlite or postgres, not ${store}`);
const requests = Number(values.requests);
const seed = Number(values.seed);
const concurrency = Number(values.concurrency);
if (!Number.isSafeInteger(requests) || requests < 1) usage("--requests must be a positive integer");
if (!Number.isSafeInteger(seed)) usage("--seed must be an integer");
if (!Number.isSafeInteger(concurrency) || concurrency < 1) usage("--concurrency must be a positive integer");

// test/helpers.ts reads TEST_STORE when it is first imported: set it before the harness loads.
process.env.TEST_STORE = store;
const { formatReport, runHostile, startHostile } = await import("../test/hostile/harness.js");

const context = await startHostile();
let failed = true;
try {
  const report = await runHostile(context, { seed, requests, concurrency });
  failed = !report.ok;
  if (values.text) process.stderr.write(`${formatReport(report)}\n`);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} finally {
  await context.close();
}
process.exit(failed ? 1 : 0);

function usage(problem: string): never {
  process.stderr.write(`${problem}\nusage: npm run fuzz -- --store sqlite|postgres --requests N --seed S [--concurrency C] [--text]\n`);
  process.exit(2);
}
