import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Summarizes V8 CPU profiles (node --cpu-prof): where the busy time went (idle excluded), by
 * function (self time), by package or source file (self time), and the inclusive time of the
 * project's own functions (time with them on the stack).
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  busySeconds: number;
  idlePercent: number;
  /** Percentages below are of busy time. */
  selfByFunction: { frame: string; percent: number }[];
  selfByModule: { module: string; percent: number }[];
  inclusiveSrc: { frame: string; percent: number }[];
}

/** One summary per profiled process or thread that did real work (not tsx's loader thread). */
export function summarizeProfiles(directory: string, top = 15): ProfileSummary[] {
  return readdirSync(directory)
    .filter((name) => name.endsWith(".cpuprofile"))
    .map((name) => summarize(join(directory, name), top))
    .filter((summary) => summary.busySeconds > 1 && summary.idlePercent < 95);
}

function summarize(file: string, top: number): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const selfTime = new Map<number, number>();
  profile.samples.forEach((id, index) => {
    selfTime.set(id, (selfTime.get(id) ?? 0) + Math.max(0, profile.timeDeltas[index] ?? 0));
  });

  let idle = 0;
  let busy = 0;
  const functions = new Map<string, number>();
  const modules = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, time: number) => map.set(key, (map.get(key) ?? 0) + time);
  for (const [id, time] of selfTime) {
    const node = byId.get(id);
    if (!node) continue;
    if (node.callFrame.functionName === "(idle)" && node.callFrame.url === "") {
      idle += time;
      continue;
    }
    busy += time;
    add(functions, frameName(node), time);
    add(modules, moduleOf(node), time);
    // Each project frame on the stack once, however deep the recursion.
    const seen = new Set<string>();
    for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
      const ancestor = byId.get(current);
      if (!ancestor?.callFrame.url.includes("/src/")) continue;
      const name = frameName(ancestor);
      if (seen.has(name)) continue;
      seen.add(name);
      add(inclusive, name, time);
    }
  }
  const total = busy || 1;
  const percent = (time: number) => Math.round((time / total) * 1000) / 10;
  const ranked = (map: Map<string, number>) => [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  return {
    file,
    busySeconds: Math.round(busy / 1e4) / 100,
    idlePercent: Math.round((idle / (idle + busy || 1)) * 1000) / 10,
    selfByFunction: ranked(functions).map(([frame, time]) => ({ frame, percent: percent(time) })),
    selfByModule: ranked(modules).map(([module, time]) => ({ module, percent: percent(time) })),
    inclusiveSrc: ranked(inclusive).map(([frame, time]) => ({ frame, percent: percent(time) })),
  };
}

function frameName(node: ProfileNode): string {
  const { functionName, url } = node.callFrame;
  const where = shortUrl(url);
  return `${functionName || "(anonymous)"}${where ? ` ${where}` : ""}`;
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf("node_modules/");
  if (modules !== -1) return url.slice(modules + "node_modules/".length);
  const source = url.indexOf("/src/");
  if (source !== -1) return url.slice(source + 1);
  return url.replace(/^file:\/\//, "");
}

function moduleOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (url === "") return functionName.startsWith("(") ? functionName : `(native) ${functionName}`;
  const modules = url.lastIndexOf("node_modules/");
  if (modules !== -1) {
    const parts = url.slice(modules + "node_modules/".length).split("/");
    return (parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]) ?? url;
  }
  const source = url.indexOf("/src/");
  if (source !== -1) return url.slice(source + 1);
  if (url.startsWith("node:")) return url.split("/").slice(0, 2).join("/");
  return url;
}

/** The top frames of each summary as markdown lists. */
export function profileMarkdown(summaries: ProfileSummary[], top = 10): string {
  return summaries
    .map((summary) =>
      [
        `CPU profile of the server (${summary.busySeconds} s busy, ${summary.idlePercent}% idle); percentages of busy time.`,
        "",
        `Self time by function: ${summary.selfByFunction
          .slice(0, top)
          .map((entry) => `${entry.frame} ${entry.percent}%`)
          .join("; ")}`,
        "",
        `Self time by module: ${summary.selfByModule
          .slice(0, top)
          .map((entry) => `${entry.module} ${entry.percent}%`)
          .join("; ")}`,
        "",
        `Inclusive time of src/ functions: ${summary.inclusiveSrc
          .slice(0, top)
          .map((entry) => `${entry.frame} ${entry.percent}%`)
          .join("; ")}`,
      ].join("\n"),
    )
    .join("\n\n");
}
