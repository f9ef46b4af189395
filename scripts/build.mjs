// npm run build: compiles src/ to dist/ (tsc -p tsconfig.build.json: ES modules for plain
// `node dist/main.js`) and builds the dashboard into dashboard/dist/ (Vite).
// npm install runs it as `prepare` with --prepare: the dashboard only, and nothing at all when
// the development tools are absent (`npm ci --omit=dev` on a machine that ships a built tree).
import { build, hasTool } from "./build-state.mjs";

const prepare = process.argv.includes("--prepare");

try {
  if (prepare) {
    if (hasTool("vite")) await build({ parts: ["dashboard"] });
    else process.stderr.write("prepare: vite is not installed (production install); the dashboard is not rebuilt\n");
  } else {
    if (!hasTool("tsc") || !hasTool("vite"))
      throw new Error("npm run build needs the development dependencies: run npm ci (without --omit=dev) first");
    await build();
  }
} catch (error) {
  process.stderr.write(`build failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
