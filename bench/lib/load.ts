import { readFileSync } from "node:fs";
import autocannon from "autocannon";
import { log } from "./report.js";
import { commandCpuSeconds, cpuSecondsBetween, sleep } from "./server.js";

/**
 * One load-generator run (autocannon, in this process) against a server process. Throughput
 * counts only 2xx answers; latency percentiles come from every 2xx answer's own time, kept at
 * microsecond resolution (autocannon's own histogram rounds to whole milliseconds).
 */

export interface RequestSpec {
  method: "GET" | "POST";
  path: string;
  headers: Record<string, string>;
  /** A fixed body, or a function called for every request (e.g. a random wallet). */
  body?: string | (() => string);
  /** Called for every request instead: its own path and body (e.g. alternating routes). */
  next?: () => { path: string; body: string };
}

export interface LoadSpec {
  url: string;
  connections: number;
  pipelining: number;
  /** Seconds of load whose answers are discarded before the measurement. */
  warmupSeconds: number;
  seconds: number;
  request: RequestSpec;
  /** The server process under load: its memory and CPU time are sampled during the measurement. */
  server?: { rssMiB(): number; cpuSeconds(): number };
  /** Called when the measured part (after the warm-up) starts. */
  onMeasureStart?: () => void;
}

export interface ServerUsage {
  /** Highest resident memory seen (sampled every 250 ms), MiB. */
  rssMaxMiB: number;
  /** CPU time of the server divided by the measured time: 1.0 is one core busy. */
  cpuCores: number;
  /** Server CPU time per 2xx answer, microseconds. */
  cpuUsPerRequest: number;
}

/** Where the machine's CPU went during the measurement, in cores (1.0 = one core busy). */
export interface MachineUsage {
  /** This process: the load generator. */
  loadGeneratorCores: number;
  /** The PostgreSQL server's processes (the whole cluster: other databases' backends too). */
  postgresCores: number;
  /** Everything else on the machine (other jobs, kernel threads): noise. */
  otherCores: number;
}

export interface LoadResult {
  seconds: number;
  /** 2xx answers per second. */
  rps: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  server?: ServerUsage;
  machine: MachineUsage;
  /** The warm-up's own figures, when there was one. */
  warmup?: Omit<LoadResult, "warmup">;
}

export async function measure(spec: LoadSpec): Promise<LoadResult> {
  await waitForQuiet();
  const warmup = spec.warmupSeconds > 0 ? await runOnce(spec, spec.warmupSeconds, false) : undefined;
  const result = await runOnce(spec, spec.seconds, true);
  return warmup ? { ...result, warmup } : result;
}

function runOnce(spec: LoadSpec, seconds: number, sample: boolean): Promise<LoadResult> {
  const { body } = spec.request;
  const request: autocannon.Request = {
    method: spec.request.method,
    path: spec.request.path,
    headers: spec.request.headers,
    ...(typeof body === "string" ? { body } : {}),
    ...(typeof body === "function" ? { setupRequest: (request: autocannon.Request) => ({ ...request, body: body() }) } : {}),
  };
  const { next } = spec.request;
  if (next) request.setupRequest = (request: autocannon.Request) => ({ ...request, ...next() });
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  const statusCodes: Record<string, number> = {};
  return new Promise((resolve, reject) => {
    const { server } = spec;
    let rssMaxMiB = 0;
    const cpuBefore = sample && server ? server.cpuSeconds() : 0;
    if (sample) spec.onMeasureStart?.();
    const machineBefore = machineBusySeconds();
    const postgresBefore = commandCpuSeconds("postgres");
    const selfBefore = process.cpuUsage();
    const ticker =
      sample && server
        ? setInterval(() => {
            rssMaxMiB = Math.max(rssMaxMiB, server.rssMiB());
          }, 250)
        : undefined;
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        pipelining: spec.pipelining,
        duration: seconds,
        timeout: 30,
        requests: [request],
      },
      (error, result) => {
        if (ticker) clearInterval(ticker);
        if (error) {
          reject(error);
          return;
        }
        const sorted = latencies.subarray(0, count).sort();
        const at = (quantile: number) =>
          count === 0 ? Number.NaN : (sorted[Math.min(count - 1, Math.ceil(quantile * count) - 1)] as number);
        let total = 0;
        for (const value of sorted) total += value;
        const elapsed = result.duration;
        const cpu = sample && server ? server.cpuSeconds() - cpuBefore : 0;
        const self = process.cpuUsage(selfBefore);
        const selfSeconds = (self.user + self.system) / 1e6;
        const machineSeconds = machineBusySeconds() - machineBefore;
        const postgresSeconds = cpuSecondsBetween(postgresBefore, commandCpuSeconds("postgres"));
        resolve({
          machine: {
            loadGeneratorCores: round(selfSeconds / elapsed, 2),
            postgresCores: round(postgresSeconds / elapsed, 2),
            otherCores: round(Math.max(0, machineSeconds - selfSeconds - cpu - postgresSeconds) / elapsed, 2),
          },
          ...(sample && server
            ? {
                server: {
                  rssMaxMiB: round(rssMaxMiB, 1),
                  cpuCores: round(cpu / elapsed, 2),
                  cpuUsPerRequest: round((cpu / count) * 1e6, 1),
                },
              }
            : {}),
          seconds: round(elapsed, 2),
          rps: round(count / elapsed, 0),
          ok: count,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          statusCodes,
          latencyMs: { p50: round(at(0.5)), p90: round(at(0.9)), p99: round(at(0.99)), max: round(at(1)), mean: round(total / count) },
        });
      },
    );
    instance.on("response", (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
      if (statusCode < 200 || statusCode > 299) return;
      if (count === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[count] = responseTime;
      count += 1;
    });
  });
}

export const round = (value: number, digits = 3) => {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
};

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/** Busy CPU time of the whole machine so far (all but idle and iowait), from /proc/stat. */
export function machineBusySeconds(): number {
  const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return (user + nice + system + irq + softirq + steal) / 100;
}

const QUIET_CORES = Number(process.env.BENCH_QUIET_CORES ?? "0.25");

/**
 * The rounds measured while the rest of the machine stayed below BENCH_QUIET_CORES, or all of
 * them when none did: medians over rounds use these (every round stays in the JSON result).
 */
export function quietRounds(results: LoadResult[]): LoadResult[] {
  const quiet = results.filter(isQuiet);
  return quiet.length > 0 ? quiet : results;
}

export const isQuiet = (result: LoadResult) => result.machine.otherCores <= QUIET_CORES;

/** "2 of 3 quiet rounds", or "3 rounds, none quiet". */
export function roundsLabel(results: LoadResult[]): string {
  const quiet = results.filter(isQuiet).length;
  return quiet > 0 ? `${quiet} of ${results.length} quiet rounds` : `${results.length} rounds, none quiet`;
}
const QUIET_WAIT_SECONDS = Number(process.env.BENCH_QUIET_WAIT_SECONDS ?? "120");

/**
 * Other jobs on this small machine skew every figure: before a measurement, wait (up to
 * BENCH_QUIET_WAIT_SECONDS) until the rest of the machine uses less than BENCH_QUIET_CORES.
 */
export async function waitForQuiet(): Promise<void> {
  const deadline = Date.now() + QUIET_WAIT_SECONDS * 1000;
  for (let attempt = 0; ; attempt += 1) {
    const before = machineBusySeconds();
    const self = process.cpuUsage();
    await sleep(1000);
    const usage = process.cpuUsage(self);
    const others = machineBusySeconds() - before - (usage.user + usage.system) / 1e6;
    if (others < QUIET_CORES) return;
    if (Date.now() > deadline) {
      log(`the machine is still busy (${round(others, 2)} cores used by other processes); measuring anyway`);
      return;
    }
    if (attempt % 10 === 0) log(`waiting for the machine to be quiet (${round(others, 2)} cores used by other processes)`);
  }
}
