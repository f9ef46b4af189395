// `npm start` and `npm run cli`: runs the service (or, with `cli` first, the command line) in
// this very process, so that npm's SIGTERM reaches the server itself (package.json `exec`s this
// script: no shell stays in between).
// - dist/ current (scripts/build-state.mjs): the compiled JavaScript runs, with plain Node.
// - The server with a stale or missing build: it is built first when the development tools are
//   installed (right after `npm install`); otherwise the existing build runs, with a warning.
// - The command line with a stale build: the TypeScript sources run through tsx when it is
//   installed, so no command waits for a build; otherwise the existing build runs.
// Nothing is written to stdout here: the command line's stdout is its JSON alone.
import cluster from "node:cluster";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build, DIST, hasTool, isBuilt, isCurrent, ROOT } from "./build-state.mjs";

const ENTRY_VARIABLE = "WALLET_START_ENTRY";
const cli = process.argv[2] === "cli";
if (cli) process.argv.splice(2, 1);
const name = cli ? "cli/main" : "main";
const compiled = join(DIST, `${name}.js`);
const source = join(ROOT, "src", `${name}.ts`);

const warn = (message) => process.stderr.write(`${message}\n`);

async function tsxAvailable() {
  try {
    const { register } = await import("tsx/esm/api");
    return register;
  } catch {
    return undefined;
  }
}

/** Which file to run: decided once by the first process; cluster workers run the same one. */
async function entry() {
  const inherited = process.env[ENTRY_VARIABLE];
  if (cluster.isWorker && inherited) return inherited;
  // The command line does not serve the dashboard: only the server's build matters to it.
  if (isCurrent({ dashboard: !cli })) return compiled;
  if (cli) {
    if (await tsxAvailable()) return source;
  } else if (hasTool("tsc") && hasTool("vite")) {
    warn("npm start: the build is missing or older than the sources; building it first (npm run build)");
    await build({ onlyIfStale: true });
    return compiled;
  }
  if (isBuilt()) {
    warn("warning: the build is older than the sources and the development tools are not installed; running it anyway");
    return compiled;
  }
  throw new Error("dist/ is not built: run npm run build (it needs npm ci without --omit=dev)");
}

try {
  const file = await entry();
  process.env[ENTRY_VARIABLE] = file;
  if (file.endsWith(".ts")) (await tsxAvailable())();
  else process.setSourceMapsEnabled(true);
  await import(pathToFileURL(file).href);
} catch (error) {
  warn(`cannot start: ${error instanceof Error ? error.message : String(error)}`);
  if (cli)
    process.stdout.write(
      `${JSON.stringify({ error: { code: "server_error", message: "the command line could not start", details: {} } })}\n`,
    );
  process.exitCode = 1;
}
