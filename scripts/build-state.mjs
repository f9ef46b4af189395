// What `npm run build` produces and whether it is current; shared by scripts/build.mjs and
// scripts/start.mjs. Plain JavaScript: it must run where only the run-time dependencies are
// installed (`npm ci --omit=dev`), without tsx or TypeScript.
//
// Two parts, each with its sources and a stamp written last by its successful build (the newest
// source time it compiled): the server (src/ -> dist/, tsc) and the dashboard (dashboard/ ->
// dashboard/dist/, Vite). A part is rebuilt only when stale, so `npm start` after `npm install`
// (whose `prepare` built the dashboard) compiles the server alone and leaves the dashboard's
// files, which a running server may be serving, in place.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const DIST = join(ROOT, "dist");
const LOCK = join(DIST, ".build-lock");
const LOCK_WAIT_MS = 10 * 60_000;

const PARTS = {
  server: {
    sources: ["src", "package.json", "tsconfig.json", "tsconfig.build.json"],
    output: join(DIST, "main.js"),
    stamp: join(DIST, ".server-stamp.json"),
  },
  dashboard: {
    // The dashboard imports the wire format's types from src/wire/.
    sources: ["dashboard", "src/wire", "package.json"],
    output: join(ROOT, "dashboard", "dist", "index.html"),
    stamp: join(DIST, ".dashboard-stamp.json"),
  },
};
/** Kept when dist/ is emptied for a new server build. */
const KEPT_IN_DIST = new Set([LOCK, PARTS.dashboard.stamp]);
/** Build outputs inside source directories, and directories whose own time a build changes. */
const NOT_SOURCES = new Set([join(ROOT, "dashboard", "dist"), join(ROOT, "dashboard", "node_modules")]);
const OWN_TIME_IGNORED = new Set([join(ROOT, "dashboard")]);

export const TOOLS = {
  tsc: join(ROOT, "node_modules", "typescript", "bin", "tsc"),
  vite: join(ROOT, "node_modules", "vite", "bin", "vite.js"),
};

/** Whether a development tool is installed (it is not after `npm ci --omit=dev`). */
export const hasTool = (name) => existsSync(TOOLS[name]);

/** The newest modification time under a path (a directory's own time changes when a file is deleted). */
function newest(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat || NOT_SOURCES.has(path)) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let time = OWN_TIME_IGNORED.has(path) ? 0 : stat.mtimeMs;
  for (const entry of readdirSync(path)) time = Math.max(time, newest(join(path, entry)));
  return time;
}

const sourceTime = (part) => Math.max(...PARTS[part].sources.map((name) => newest(join(ROOT, name))));

function partIsCurrent(part) {
  if (!existsSync(PARTS[part].output)) return false;
  try {
    const stamp = JSON.parse(readFileSync(PARTS[part].stamp, "utf8"));
    return typeof stamp.sourceTime === "number" && stamp.sourceTime >= sourceTime(part);
  } catch {
    return false;
  }
}

/** The server in dist/ (and, with `dashboard`, the dashboard too) is a build of the sources as they are now. */
export const isCurrent = ({ dashboard = true } = {}) => partIsCurrent("server") && (!dashboard || partIsCurrent("dashboard"));

/** dist/ holds some build of the server, current or not. */
export const isBuilt = () => existsSync(PARTS.server.output);

/** Runs a tool with its output on stderr, so that a caller's stdout stays clean; a SIGTERM stops it too. */
function runTool(name, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TOOLS[name], ...args], { cwd: ROOT, stdio: ["ignore", process.stderr, process.stderr] });
    const stop = (signal) => child.kill(signal);
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      if (code === 0) resolve();
      else reject(new Error(`${name} ${args.join(" ")} failed (${signal ?? `exit code ${code}`})`));
    });
  });
}

const BUILDERS = {
  async server() {
    // Everything of the last server build goes: no module of a deleted source outlives it.
    for (const entry of readdirSync(DIST))
      if (!KEPT_IN_DIST.has(join(DIST, entry))) rmSync(join(DIST, entry), { recursive: true, force: true });
    await runTool("tsc", ["-p", "tsconfig.build.json"]);
  },
  async dashboard() {
    await runTool("vite", ["build", "--config", "dashboard/vite.config.ts"]);
  },
};

/**
 * Builds the parts named (both by default), each followed by its stamp; with `onlyIfStale`, a
 * part that is current (another process may have just built it) is left alone. One build at a
 * time: a lock directory in dist/.
 */
export async function build({ parts = ["server", "dashboard"], onlyIfStale = false } = {}) {
  await withLock(async () => {
    for (const part of parts) {
      if (onlyIfStale && partIsCurrent(part)) continue;
      const time = sourceTime(part);
      rmSync(PARTS[part].stamp, { force: true });
      await BUILDERS[part]();
      writeFileSync(PARTS[part].stamp, `${JSON.stringify({ sourceTime: time, builtAt: new Date().toISOString() })}\n`);
    }
  });
}

async function withLock(work) {
  mkdirSync(DIST, { recursive: true });
  const started = Date.now();
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
    }
    const owner = Number(readFileSync(join(LOCK, "pid"), { encoding: "utf8", flag: "a+" }) || "0");
    if (owner > 0 && !alive(owner)) {
      rmSync(LOCK, { recursive: true, force: true });
      continue;
    }
    if (Date.now() - started > LOCK_WAIT_MS) throw new Error(`another build holds ${LOCK}; remove it if no build is running`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  writeFileSync(join(LOCK, "pid"), String(process.pid));
  try {
    return await work();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}
