import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";

/**
 * The production start as an operator runs it: `npm start` (which builds dist/ first when it is
 * missing or stale, then runs the compiled JavaScript), stopped with SIGTERM sent to the npm
 * process itself. The server must stop gracefully and free its port within 10 s, leaving no
 * process behind. SQLite only: the store does not matter here, and each start builds nothing
 * twice.
 */

const STOP_WITHIN_MS = 10_000;
/** The first start may compile the whole service and the dashboard. */
const START_WITHIN_MS = 240_000;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function portIsFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** Whether any process of the group npm leads is still alive (npm, its shell, node, workers). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The command lines of the group's processes. */
function groupCommands(pgid: number): string[] {
  return execFileSync("ps", ["-eo", "pgid=,args="], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.split(/\s+/)[0] === String(pgid))
    .map((line) => line.replace(/^\d+\s+/, ""));
}

interface Started {
  child: ChildProcess;
  output: () => string;
  port: number;
}

const running = new Set<number>();
const directories: string[] = [];

after(() => {
  // Whatever a failed test left running is killed (by its own process group).
  for (const pgid of running) if (groupAlive(pgid)) process.kill(-pgid, "SIGKILL");
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

async function npmStart(env: Record<string, string>): Promise<Started> {
  const directory = mkdtempSync(join(tmpdir(), "wallet-start-"));
  directories.push(directory);
  const port = await freePort();
  // Detached: npm leads a process group of its own, so the test can see every process it made.
  const child = spawn("npm", ["start"], {
    cwd: process.cwd(),
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: `sqlite:${join(directory, "wallet.db")}`,
      LOG_LEVEL: "info",
      ...env,
    },
  });
  assert.ok(child.pid);
  running.add(child.pid);
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  const deadline = Date.now() + START_WITHIN_MS;
  for (;;) {
    if (child.exitCode !== null) assert.fail(`npm start exited with ${child.exitCode}:\n${output}`);
    const live = await fetch(`http://127.0.0.1:${port}/health/live`).then(
      (response) => response.status === 200,
      () => false,
    );
    if (live) break;
    if (Date.now() > deadline) assert.fail(`npm start did not answer /health/live in time:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { child, output: () => output, port };
}

/** SIGTERM to the npm process only; resolves with how long it took until everything was gone. */
async function stop({ child, port, output }: Started): Promise<number> {
  const pgid = child.pid ?? 0;
  const started = Date.now();
  process.kill(pgid, "SIGTERM");
  while (groupAlive(pgid) || !(await portIsFree(port))) {
    if (Date.now() - started > STOP_WITHIN_MS) {
      assert.fail(`after SIGTERM to npm, processes or the port were still there after ${STOP_WITHIN_MS} ms:\n${output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  running.delete(pgid);
  return Date.now() - started;
}

describe("npm start", { timeout: START_WITHIN_MS + 60_000 }, () => {
  it("serves from the compiled build and stops on SIGTERM to npm, port free and no process left, within 10 s", async () => {
    const server = await npmStart({});
    const ready = await fetch(`http://127.0.0.1:${server.port}/health/ready`);
    assert.equal(ready.status, 200);
    // npm, and the server in plain Node in place of npm's shell (`exec`): no tsx, no shell between them.
    const commands = groupCommands(server.child.pid ?? 0);
    assert.ok(
      commands.some((command) => /^node scripts\/start\.mjs$/.test(command)),
      commands.join("\n"),
    );
    assert.ok(!commands.some((command) => /tsx|^sh /.test(command)), commands.join("\n"));
    assert.ok(existsSync(join(process.cwd(), "dist", "main.js")), "npm start built dist/ before serving");
    const startup = server
      .output()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.msg === "wallet service started");
    assert.ok(startup, `no startup line in:\n${server.output()}`);
    assert.equal(startup.url, `http://127.0.0.1:${server.port}`);
    assert.equal(startup.dashboard, `http://127.0.0.1:${server.port}/dashboard/`);
    assert.deepEqual(Object.keys(startup.store as object).sort(), ["kind", "location"]);
    assert.equal((startup.store as { kind: string }).kind, "sqlite");

    const elapsed = await stop(server);
    assert.ok(elapsed < STOP_WITHIN_MS);
    assert.match(server.output(), /"msg":"shutting down"/, "the server itself got the signal and shut down gracefully");
  });

  it("with WORKERS=2 and METRICS_PORT, the primary serves every worker's metrics and stops them all on SIGTERM", async () => {
    const metricsPort = await freePort();
    const server = await npmStart({ WORKERS: "2", METRICS_PORT: String(metricsPort), METRICS_HOST: "127.0.0.1" });
    for (let index = 0; index < 4; index += 1) assert.equal((await fetch(`http://127.0.0.1:${server.port}/health/live`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/metrics`)).status, 404, "not on the main port");
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.equal(metrics.status, 200);
    const text = await metrics.text();
    const live = /^wallet_http_requests_total\{method="GET",route="\/health\/live",status="200"\} (\d+)$/m.exec(text);
    // Every request the test made (those that found the server up while it started included), summed over workers.
    assert.ok(live && Number(live[1]) >= 4, text.slice(0, 2000));
    assert.match(text, /^process_cpu_user_seconds_total /m);

    const elapsed = await stop(server);
    assert.ok(elapsed < STOP_WITHIN_MS);
  });
});
