// The structure rules of src/, checked by `npm test` before the tests run:
// - no import cycle, type-only imports included: a cycle of types still ties modules that should
//   build on each other in one direction (madge reads every import and export of every file);
// - no file over MAX_LINES lines (TigerStyle: a file a reader can hold at once).
// Prints what breaks a rule and exits 1; prints one line and exits 0 when all hold.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import madge from "madge";

const SOURCE = "src";
const MAX_LINES = 400;

const graph = await madge(SOURCE, {
  fileExtensions: ["ts"],
  tsConfig: "tsconfig.json",
  detectiveOptions: { ts: { skipTypeImports: false, mixedImports: true }, es6: { skipTypeImports: false } },
});
const problems = [];
for (const cycle of graph.circular()) problems.push(`import cycle: ${[...cycle, cycle[0]].join(" -> ")}`);
// An import madge could not resolve is an edge it did not see: a cycle could hide behind it.
for (const file of graph.warnings().skipped) problems.push(`import not resolved, so not checked for cycles: ${file}`);

const files = readdirSync(SOURCE, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
for (const entry of files) {
  const path = join(entry.parentPath, entry.name);
  const lines = readFileSync(path, "utf8").split("\n").length - 1;
  if (lines > MAX_LINES) problems.push(`${relative(".", path)} has ${lines} lines (at most ${MAX_LINES})`);
}

if (problems.length > 0) {
  for (const problem of problems) console.error(problem);
  process.exit(1);
}
console.log(`structure: ${Object.keys(graph.obj()).length} modules in ${SOURCE}/, no import cycle, none over ${MAX_LINES} lines`);
