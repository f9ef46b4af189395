import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { onCleanup } from "./cleanup.js";
import { processTree, ROOT, type ServerProcess, sleep, treeCpuSeconds, treeRssMiB, type WalletServerOptions } from "./server.js";

/**
 * The wallet server and the bare route started as in bench/lib/server.ts (same command, same
 * settings), but on a port taken from a fixed band instead of one the kernel picks. A port the
 * kernel hands out is an ephemeral one, and between the probe that finds it free and the child
 * that binds it, an outgoing connection of another job (a test suite running at the same time)
 * can take it: the server then fails with EADDRINUSE. A band below the ephemeral range that no
 * other job uses cannot collide that way.
 */

const HOST = "127.0.0.1";
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;
/** Ports tried from the band's first one, so a port still held by a previous run is skipped. */
const BAND_SIZE = 100;

export async function startWalletServerInBand(firstPort: number, options: WalletServerOptions): Promise<ServerProcess> {
  const profile = options.cpuProfileDir ? ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  return startInBand(firstPort, [...profile, "--import", "tsx", "src/main.ts"], {
    DATABASE_URL: options.databaseUrl,
    WORKERS: String(options.workers ?? 1),
    LOG_LEVEL: "warn",
    RATE_LIMIT_PER_MINUTE: "100000000",
    ...options.env,
  });
}

/** The baseline of bench/bare-server.ts: one POST route answering a fixed JSON body. */
export async function startBareServerInBand(firstPort: number, body: string, workers = 1): Promise<ServerProcess> {
  return startInBand(firstPort, ["--import", "tsx", "bench/bare-server.ts"], { BARE_BODY: body, WORKERS: String(workers) });
}

/** The first port from `firstPort` on (within the band) that nothing listens on, nor holds. */
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

async function startInBand(firstPort: number, args: string[], env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePortInBand(firstPort);
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
  console.error(`process ${pid} did not stop within ${STOP_TIMEOUT_MS} ms; killing it and its children`);
  for (const member of tree) {
    try {
      process.kill(member, "SIGKILL");
    } catch {
      // It exited meanwhile.
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
    // With cluster workers the port answers as soon as one is up, so wait for all of them.
    if (answered && (workers <= 1 || processTree(child.pid as number).length > workers)) {
      if (workers > 1) await sleep(1500);
      return;
    }
    await sleep(100);
  }
}
