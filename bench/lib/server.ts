import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { onCleanup } from "./cleanup.js";

/** The server under test runs as its own process, as in production; the load generator runs here. */

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const HOST = "127.0.0.1";
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

export interface ServerProcess {
  pid: number;
  url: string;
  /** Resident memory of the process and its children (cluster workers), in MiB. */
  rssMiB(): number;
  /** CPU time (user + system) of the process and its children so far, in seconds. */
  cpuSeconds(): number;
  /** Log lines at level error or fatal the server has written so far (pino JSON, level >= 50). */
  errorLines(): string[];
  stop(): Promise<void>;
}

export interface WalletServerOptions {
  databaseUrl: string;
  workers?: number;
  /** Writes a V8 CPU profile per process into this directory when the server stops. */
  cpuProfileDir?: string | undefined;
  /** More settings for the server (e.g. the stream caps), on top of the benchmark's own. */
  env?: Record<string, string>;
  /** Listen on the first free port of the band from this one instead of one the kernel picks (see `freePortInBand`). */
  firstPort?: number | undefined;
}

export async function startWalletServer(options: WalletServerOptions): Promise<ServerProcess> {
  const profile = options.cpuProfileDir ? ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  const env = {
    DATABASE_URL: options.databaseUrl,
    WORKERS: String(options.workers ?? 1),
    LOG_LEVEL: "warn",
    RATE_LIMIT_PER_MINUTE: "100000000",
    ...options.env,
  };
  return startNodeProcess([...profile, "--import", "tsx", "src/main.ts"], env, options.firstPort);
}

/** The baseline: a minimal Fastify process answering one POST route with a fixed JSON body. */
export async function startBareServer(body: string, workers = 1, cpuProfileDir?: string, firstPort?: number): Promise<ServerProcess> {
  const profile = cpuProfileDir ? ["--cpu-prof", `--cpu-prof-dir=${cpuProfileDir}`] : [];
  const env = { BARE_BODY: body, WORKERS: String(workers) };
  return startNodeProcess([...profile, "--import", "tsx", "bench/bare-server.ts"], env, firstPort);
}

async function startNodeProcess(args: string[], env: Record<string, string>, firstPort: number | undefined): Promise<ServerProcess> {
  const port = firstPort === undefined ? await freePort() : await freePortInBand(firstPort);
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${args.join(" ")}`);
  // The server's own output goes to our stderr, so stdout stays the result; errors are counted.
  const errorLines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding("utf8");
    let pending = "";
    stream?.on("data", (chunk: string) => {
      process.stderr.write(chunk);
      const lines = (pending + chunk).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) if (/"level":(5|6)\d/.test(line)) errorLines.push(line);
    });
  }
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = onCleanup(() => stopProcess(child, exited));
  const url = `http://${HOST}:${port}`;
  await waitReady(url, child, Number(env.WORKERS ?? "1"));
  return { pid, url, rssMiB: () => treeRssMiB(pid), cpuSeconds: () => treeCpuSeconds(pid), errorLines: () => [...errorLines], stop };
}

async function stopProcess(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const pid = child.pid as number;
  const tree = processTree(pid);
  child.kill("SIGTERM");
  const timedOut = await Promise.race([exited.then(() => false), sleep(STOP_TIMEOUT_MS).then(() => true)]);
  if (!timedOut) return;
  console.error(`process ${pid} did not stop within ${STOP_TIMEOUT_MS} ms; killing it`);
  for (const member of tree) {
    try {
      process.kill(member, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await exited;
}

async function waitReady(url: string, child: ChildProcess, workers: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with code ${child.exitCode} before it was ready`);
    if (Date.now() > deadline) throw new Error(`server at ${url} not ready after ${READY_TIMEOUT_MS} ms`);
    const answered = await fetch(`${url}/__bench_ready__`, { signal: AbortSignal.timeout(1000) }).then(
      () => true,
      () => false,
    );
    // With cluster workers, the port answers as soon as one is up: wait for all of them.
    if (answered && (workers <= 1 || processTree(child.pid as number).length > workers)) {
      if (workers > 1) await sleep(1500);
      return;
    }
    await sleep(100);
  }
}

/** Waits until the server has finished what it was doing (its CPU use stays near zero), up to a limit. */
export async function waitIdle(server: ServerProcess, limitMs = 60_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  let before = server.cpuSeconds();
  while (Date.now() < deadline) {
    await sleep(500);
    const now = server.cpuSeconds();
    if (now - before < 0.02) return;
    before = now;
  }
}

/** Ports tried from a band's first one, so a port still held by a previous run is skipped. */
const BAND_SIZE = 100;

/**
 * The first port from `firstPort` on (within the band) that nothing listens on, nor holds. A port
 * the kernel hands out (`freePort`) is an ephemeral one, and between the probe that finds it free
 * and the child that binds it, an outgoing connection of another job (a test suite running at the
 * same time) can take it: the server then fails with EADDRINUSE. A band below the ephemeral range
 * that no other job uses cannot collide that way.
 */
export async function freePortInBand(firstPort: number): Promise<number> {
  for (let port = firstPort; port < firstPort + BAND_SIZE; port += 1) if (await canListen(port)) return port;
  throw new Error(`no free port in ${firstPort}-${firstPort + BAND_SIZE - 1}`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The pid and every descendant, from /proc. */
export function processTree(pid: number): number[] {
  const result = [pid];
  for (let index = 0; index < result.length; index += 1) {
    const member = result[index] as number;
    const children = `/proc/${member}/task/${member}/children`;
    if (!existsSync(children)) continue;
    try {
      for (const text of readFileSync(children, "utf8").trim().split(/\s+/)) if (text) result.push(Number(text));
    } catch {
      // the process just exited
    }
  }
  return result;
}

/** VmRSS of a process, in KiB; 0 when it is gone. */
export function rssKiB(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

export function treeRssMiB(pid: number): number {
  return processTree(pid).reduce((sum, member) => sum + rssKiB(member), 0) / 1024;
}

/** utime + stime of the process tree, from /proc/PID/stat (in clock ticks of 1/100 s on Linux). */
export function treeCpuSeconds(pid: number): number {
  return processTree(pid).reduce((sum, member) => sum + cpuSecondsOf(member), 0);
}

function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start at index 2 (state).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0; // the process just exited
  }
}

/** CPU time so far of each process with this command name (e.g. the PostgreSQL backends), by pid. */
export function commandCpuSeconds(command: string): Map<number, number> {
  const result = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() === command) result.set(Number(entry), cpuSecondsOf(Number(entry)));
    } catch {
      // the process just exited
    }
  }
  return result;
}

/** CPU used between two commandCpuSeconds snapshots by the processes alive at the second one. */
export function cpuSecondsBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return total;
}

const CLOCK_TICKS_PER_SECOND = 100;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
