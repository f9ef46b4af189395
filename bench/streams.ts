import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runScenario } from "./lib/cleanup.js";
import { createDatabase, type StoreKind } from "./lib/database.js";
import { type BenchTenant, createTenant, deposit, inParallel, jsonHeaders, request } from "./lib/fixtures.js";
import { machineBusySeconds, median, round, waitForQuiet } from "./lib/load.js";
import { type OpenLoopResult, openLoop } from "./lib/open-loop.js";
import { type ProfileSummary, profileMarkdown, summarizeProfiles } from "./lib/profile.js";
import { flags, log, machine, markdownTable, positiveInteger, publish, storeKind, verdict } from "./lib/report.js";
import {
  commandCpuSeconds,
  cpuSecondsBetween,
  type ServerProcess,
  sleep,
  startWalletServer,
  treeCpuSeconds,
  waitIdle,
} from "./lib/server.js";
import { type StreamClientStats, type StreamClients, startStreamClients } from "./lib/stream-clients.js";

/**
 * Bounded event streams (issue 10): what thousands of `GET /wallets/events/` clients of one tenant
 * cost the server, each against the same run without streams. Two servers, each on a fresh
 * database, are up at once (one with the stream clients, one without) and measured in alternating
 * turns; medians are taken over the turns in which the rest of the machine stayed quiet.
 *
 * (a) Paused streams: N clients connect and never read while E events commit (POST /batches/,
 *     one after another); then the clients go. Each cycle: server RSS peak (sampled every 100 ms
 *     from before the streams open until the server is idle after the commits), the time the
 *     commits take, and RSS once the clients have gone. Several cycles on one server show whether
 *     memory comes back (stays flat) once streams have come and gone.
 * (b) Reading streams: N clients read everything while balance reads and transfers arrive at fixed
 *     rates (open loop, bench/lib/open-loop.ts): balance-read p99, how long events take to reach
 *     the streams, and every stream must receive every event.
 *
 *   npm run bench:streams -- --store sqlite|postgres [--streams 2000] [--events 10000]
 *
 * The stream caps are raised through the settings (STREAMS_PER_TENANT, STREAMS_MAX); the
 * slow-consumer limits keep their defaults.
 */

const options = flags("streams", {
  store: { type: "string", default: "sqlite", description: "sqlite or postgres" },
  streams: { type: "string", default: "2000", description: "stream clients, all of one tenant" },
  events: { type: "string", default: "10000", description: "(a) events committed while the paused streams are connected" },
  "batch-size": { type: "string", default: "1000", description: "(a) movements per POST /batches/" },
  cycles: { type: "string", default: "3", description: "(a) open, commit, close this many times on each server" },
  wallets: { type: "string", default: "100", description: "wallets the movements and balance reads are spread over" },
  "read-rate": { type: "string", default: "200", description: "(b) balance reads per second (open loop)" },
  "move-rate": { type: "string", default: "50", description: "(b) transfers per second during the reads (open loop)" },
  duration: { type: "string", default: "10", description: "(b) seconds of measured reads and transfers per round" },
  rounds: { type: "string", default: "5", description: "(b) alternating rounds on each server" },
  warmup: { type: "string", default: "2", description: "(b) seconds of the same load before the rounds, discarded" },
  scenario: { type: "string", default: "both", description: "paused, reading or both" },
  profile: { type: "boolean", description: "CPU-profile the servers with streams (node --cpu-prof) and print their top frames" },
});

const TARGETS = { memoryMiB: 300, commitRatio: 1.2, p99Ratio: 2 };
const CURRENCY = "USDTTRC20";
const CAPS = { STREAMS_PER_TENANT: "1000000", STREAMS_MAX: "1000000" };
const QUIET_CORES = Number(process.env.BENCH_QUIET_CORES ?? "0.25");

const settings = {
  streams: positiveInteger(options.streams, "streams"),
  events: positiveInteger(options.events, "events"),
  batchSize: positiveInteger(options["batch-size"], "batch-size"),
  cycles: positiveInteger(options.cycles, "cycles"),
  wallets: positiveInteger(options.wallets, "wallets"),
  readRate: positiveInteger(options["read-rate"], "read-rate"),
  moveRate: positiveInteger(options["move-rate"], "move-rate"),
  seconds: positiveInteger(options.duration, "duration"),
  rounds: positiveInteger(options.rounds, "rounds"),
  warmupSeconds: Number(options.warmup),
  caps: CAPS,
  quietCores: QUIET_CORES,
};

const externalIdOf = (index: number) => `stream-player-${index}`;
const randomWallet = () => externalIdOf(Math.floor(Math.random() * settings.wallets));

runScenario(async () => {
  const store = storeKind(options.store);
  const which = options.scenario;
  if (!["paused", "reading", "both"].includes(which)) throw new Error("--scenario must be paused, reading or both");
  const paused = which === "reading" ? undefined : await pausedScenario(store);
  const reading = which === "paused" ? undefined : await readingScenario(store);

  const rows: (string | number)[][] = [];
  const targets: Record<string, { target: string; value: number; met: boolean }> = {};
  if (paused) {
    const [without, withStreams] = paused;
    const memory = round(withStreams.rssPeakMiB - without.rssPeakMiB, 1);
    const ratio = round(withStreams.commitSeconds / without.commitSeconds);
    targets.pausedMemoryMiB = { target: `<= ${TARGETS.memoryMiB} MiB above`, value: memory, met: memory <= TARGETS.memoryMiB };
    targets.pausedCommitRatio = { target: `<= ${TARGETS.commitRatio}x`, value: ratio, met: ratio <= TARGETS.commitRatio };
    const each = (side: PausedSide, pick: (cycle: PausedCycle) => number) => side.cycles.map(pick).join(" / ");
    rows.push(
      [
        `(a) ${settings.streams} paused streams, ${settings.events} events`,
        "server RSS peak MiB (highest of the cycles)",
        without.rssPeakMiB,
        withStreams.rssPeakMiB,
        `+${memory}`,
        `${targets.pausedMemoryMiB.target}: ${verdict(targets.pausedMemoryMiB.met)}`,
      ],
      [
        "",
        `commit time s (median, ${without.cyclesUsed}; ${withStreams.cyclesUsed})`,
        without.commitSeconds,
        withStreams.commitSeconds,
        `${ratio}x`,
        `${targets.pausedCommitRatio.target}: ${verdict(targets.pausedCommitRatio.met)}`,
      ],
      [
        "",
        "each cycle: commit time s",
        each(without, (cycle) => cycle.commitSeconds),
        each(withStreams, (cycle) => cycle.commitSeconds),
        "",
        "",
      ],
      ["", "each cycle: RSS peak MiB", each(without, (cycle) => cycle.rssPeakMiB), each(withStreams, (cycle) => cycle.rssPeakMiB), "", ""],
      [
        "",
        "each cycle: RSS after the clients left MiB",
        each(without, (cycle) => cycle.rssAfterCloseMiB),
        each(withStreams, (cycle) => cycle.rssAfterCloseMiB),
        "",
        "",
      ],
      [
        "",
        "each cycle: server CPU s, first commit until idle",
        each(without, (cycle) => cycle.serverCpuSeconds),
        each(withStreams, (cycle) => cycle.serverCpuSeconds),
        "",
        "",
      ],
      [
        "",
        "each cycle: other cores during the commits",
        each(without, (cycle) => cycle.usage.otherCores),
        each(withStreams, (cycle) => cycle.usage.otherCores),
        "",
        "",
      ],
    );
  }
  if (reading) {
    const [without, withStreams] = reading;
    const ratio = round(withStreams.p99Ms / without.p99Ms);
    targets.readingP99Ratio = { target: `<= ${TARGETS.p99Ratio}x`, value: ratio, met: ratio <= TARGETS.p99Ratio };
    const each = (side: ReadingSide, pick: (round: ReadingRound) => number) => side.rounds.map(pick).join(" / ");
    const delivery = withStreams.delivered.deliveryMs;
    rows.push(
      [
        `(b) ${settings.streams} reading streams, ${settings.readRate} reads/s + ${settings.moveRate} transfers/s`,
        `balance read p99 ms (median, ${without.roundsUsed}; ${withStreams.roundsUsed})`,
        without.p99Ms,
        withStreams.p99Ms,
        `${ratio}x`,
        `${targets.readingP99Ratio.target}: ${verdict(targets.readingP99Ratio.met)}`,
      ],
      [
        "",
        "each round: balance read p99 ms",
        each(without, (r) => r.reads.latencyMs.p99),
        each(withStreams, (r) => r.reads.latencyMs.p99),
        "",
        "",
      ],
      ["", "balance read p50 ms (median)", without.p50Ms, withStreams.p50Ms, "", ""],
      ["", "transfer p99 ms (median)", without.moveP99Ms, withStreams.moveP99Ms, "", ""],
      ["", "each round: server cores", each(without, (r) => r.usage.serverCores), each(withStreams, (r) => r.usage.serverCores), "", ""],
      ["", "each round: stream clients' cores", "", each(withStreams, (r) => r.usage.clientCores), "", ""],
      ["", "each round: other cores", each(without, (r) => r.usage.otherCores), each(withStreams, (r) => r.usage.otherCores), "", ""],
      [
        "",
        "event created → first / last stream has it, p50 / p99 ms",
        "",
        delivery ? `${delivery.first.p50} / ${delivery.first.p99}; ${delivery.last.p50} / ${delivery.last.p99}` : "",
        "",
        "",
      ],
      [
        "",
        "events delivered",
        "",
        `${withStreams.delivered.minEvents} of ${withStreams.expectedEvents} to every stream`,
        "",
        withStreams.delivered.minEvents >= withStreams.expectedEvents ? "all" : "MISSING",
      ],
    );
  }
  const result = { scenario: "streams", store, settings, machine: machine(), targets, paused, reading };
  const profiled = [...(paused ?? []), ...(reading ?? [])].filter((side) => side.profiles);
  const markdown = [
    `### Event streams, ${store}`,
    "",
    markdownTable(["scenario", "measure", "without streams", "with streams", "difference", "target"], rows),
    ...profiled.flatMap((side) => ["", `server with ${side.streams} streams:`, profileMarkdown(side.profiles ?? [])]),
  ].join("\n");
  publish(`streams-${store}`, options.json, result, markdown);
  const failures = [...(paused ?? []), ...(reading ?? [])].reduce((sum, side) => sum + side.failures, 0);
  const delivered = reading ? reading[1].delivered.minEvents >= reading[1].expectedEvents : true;
  return failures === 0 && delivered;
});

// ---- set-up and measurement helpers ----

interface Side {
  streams: number;
  server: ServerProcess;
  tenant: BenchTenant;
  clients: StreamClients | undefined;
  profileDir: string | undefined;
  drop(): Promise<void>;
}

/** A fresh database and server, a funded master account and funded wallets, and the stream client process. */
async function prepare(store: StoreKind, label: string, streams: number): Promise<Side> {
  const database = await createDatabase(store, label);
  const tenant = await createTenant(database.url);
  const profileDir = options.profile === "true" && streams > 0 ? mkdtempSync(join(tmpdir(), "wallet-bench-profile-")) : undefined;
  const server = await startWalletServer({ databaseUrl: database.url, env: CAPS, cpuProfileDir: profileDir });
  await deposit(server.url, tenant, { master: true }, CURRENCY, "100000000", `${label}-master`);
  const externalIds = Array.from({ length: settings.wallets }, (_, index) => externalIdOf(index));
  await inParallel(externalIds, 20, async (externalId) => {
    await request(server.url, "POST", "/wallets/", tenant.apiKey, { name: externalId, external_id: externalId }, 201);
    await request(server.url, "POST", "/wallets/transfer-to-user/", tenant.apiKey, {
      external_id: externalId,
      currency: CURRENCY,
      amount: "1000",
    });
  });
  const clients = streams > 0 ? startStreamClients(server.url, tenant.apiKey) : undefined;
  return {
    streams,
    server,
    tenant,
    clients,
    profileDir,
    async drop() {
      await clients?.stop();
      await server.stop();
      await database.drop();
    },
  };
}

/** Where the machine's CPU went, in cores (1.0 = one core busy). */
interface Usage {
  serverCores: number;
  /** The stream client process. */
  clientCores: number;
  /** This process: the open-loop load generator. */
  loadGeneratorCores: number;
  postgresCores: number;
  /** Everything else on the machine: noise. */
  otherCores: number;
}

function usageMeter(side: Side): () => Usage {
  const started = performance.now();
  const machineBefore = machineBusySeconds();
  const serverBefore = side.server.cpuSeconds();
  const clientBefore = side.clients ? treeCpuSeconds(side.clients.pid) : 0;
  const postgresBefore = commandCpuSeconds("postgres");
  const selfBefore = process.cpuUsage();
  return () => {
    const seconds = (performance.now() - started) / 1000;
    const server = side.server.cpuSeconds() - serverBefore;
    const client = side.clients ? treeCpuSeconds(side.clients.pid) - clientBefore : 0;
    const postgres = cpuSecondsBetween(postgresBefore, commandCpuSeconds("postgres"));
    const self = process.cpuUsage(selfBefore);
    const selfSeconds = (self.user + self.system) / 1e6;
    const other = Math.max(0, machineBusySeconds() - machineBefore - server - client - postgres - selfSeconds);
    return {
      serverCores: round(server / seconds, 2),
      clientCores: round(client / seconds, 2),
      loadGeneratorCores: round(selfSeconds / seconds, 2),
      postgresCores: round(postgres / seconds, 2),
      otherCores: round(other / seconds, 2),
    };
  };
}

/** The turns in which the rest of the machine stayed quiet, or all of them if none did. */
function quiet<T extends { usage: Usage }>(turns: T[]): T[] {
  const kept = turns.filter((turn) => turn.usage.otherCores <= QUIET_CORES);
  return kept.length > 0 ? kept : turns;
}

const usedLabel = (turns: { usage: Usage }[], what: string) => {
  const kept = turns.filter((turn) => turn.usage.otherCores <= QUIET_CORES).length;
  return kept > 0 ? `${kept} of ${turns.length} quiet ${what}` : `${turns.length} ${what}, none quiet`;
};

/** Samples the server's resident memory every 100 ms; `stop` returns the highest value seen. */
function rssSampler(server: ServerProcess) {
  let peak = server.rssMiB();
  const timer = setInterval(() => {
    peak = Math.max(peak, server.rssMiB());
  }, 100);
  return () => {
    clearInterval(timer);
    return round(Math.max(peak, server.rssMiB()), 1);
  };
}

// ---- (a) paused streams ----

interface PausedCycle {
  opened: number;
  rssWithStreamsIdleMiB: number;
  /** Highest RSS from before the streams opened until the server was idle after the commits. */
  rssPeakMiB: number;
  rssAfterCommitsMiB: number;
  /** After the clients have gone (2 s, then until the server is idle). */
  rssAfterCloseMiB: number;
  commitSeconds: number;
  batchSeconds: number[];
  /** Server CPU from the first commit until it was idle again (stream writes after the commits included). */
  serverCpuSeconds: number;
  /** From the last commit until the server was idle. */
  busyAfterCommitsSeconds: number;
  /** During the commits. */
  usage: Usage;
  failures: number;
}

interface PausedSide {
  profiles?: ProfileSummary[];
  streams: number;
  rssStartMiB: number;
  cycles: PausedCycle[];
  cyclesUsed: string;
  rssPeakMiB: number;
  commitSeconds: number;
  failures: number;
  serverErrors: number;
}

async function pausedScenario(store: StoreKind): Promise<[PausedSide, PausedSide]> {
  log(`(a) paused streams, ${store}: preparing a server without streams and one for ${settings.streams}`);
  const sides = [await prepare(store, "streams-paused", 0), await prepare(store, "streams-paused", settings.streams)] as const;
  const rssStart = sides.map((side) => round(side.server.rssMiB(), 1));
  const cycles: PausedCycle[][] = [[], []];
  for (let cycle = 0; cycle < settings.cycles; cycle += 1) {
    for (const index of cycle % 2 === 0 ? [0, 1] : [1, 0]) {
      const side = sides[index] as Side;
      const result = await pausedCycle(side);
      log(`(a) cycle ${cycle + 1}, ${side.streams} streams: ${JSON.stringify(result)}`);
      cycles[index]?.push(result);
    }
  }
  const summaries = [];
  for (const [index, side] of sides.entries()) {
    const serverErrors = side.server.errorLines().length;
    await side.drop();
    const own = cycles[index] as PausedCycle[];
    summaries.push({
      ...(side.profileDir ? { profiles: summarizeProfiles(side.profileDir) } : {}),
      streams: side.streams,
      rssStartMiB: rssStart[index] as number,
      cycles: own,
      cyclesUsed: usedLabel(own, "cycles"),
      rssPeakMiB: Math.max(...own.map((cycle) => cycle.rssPeakMiB)),
      commitSeconds: round(median(quiet(own).map((cycle) => cycle.commitSeconds))),
      failures: own.reduce((sum, cycle) => sum + cycle.failures, 0) + serverErrors,
      serverErrors,
    });
  }
  return summaries as [PausedSide, PausedSide];
}

/** Streams open (paused), events commit, the clients go. */
async function pausedCycle(side: Side): Promise<PausedCycle> {
  const { server, tenant, clients } = side;
  await waitIdle(server);
  const rssPeak = rssSampler(server);
  let opened = 0;
  if (clients) opened = (await clients.open(side.streams, "paused")).opened;
  await waitIdle(server);
  const rssWithStreamsIdleMiB = round(server.rssMiB(), 1);
  await waitForQuiet();
  const usage = usageMeter(side);
  const cpuBefore = server.cpuSeconds();
  const batchSeconds: number[] = [];
  let failures = side.streams - opened;
  let committed = 0;
  const started = performance.now();
  while (committed < settings.events) {
    const size = Math.min(settings.batchSize, settings.events - committed);
    const movements = Array.from({ length: size }, () => ({
      type: "transfer_to_user",
      external_id: randomWallet(),
      currency: CURRENCY,
      amount: "0.01",
    }));
    const batchStarted = performance.now();
    const answer = await request<{ succeeded: number }>(server.url, "POST", "/batches/", tenant.apiKey, { movements });
    batchSeconds.push(round((performance.now() - batchStarted) / 1000));
    failures += size - answer.json.succeeded;
    committed += size;
  }
  const commitSeconds = round((performance.now() - started) / 1000);
  const commitUsage = usage();
  // What the streams are sent after the last commit counts too.
  const committedAt = performance.now();
  await waitIdle(server);
  const busyAfterCommitsSeconds = round((performance.now() - committedAt) / 1000, 2);
  const serverCpuSeconds = round(server.cpuSeconds() - cpuBefore, 2);
  const rssAfterCommitsMiB = round(server.rssMiB(), 1);
  const rssPeakMiB = rssPeak();
  await clients?.close();
  await sleep(2000);
  await waitIdle(server);
  return {
    opened,
    rssWithStreamsIdleMiB,
    rssPeakMiB,
    rssAfterCommitsMiB,
    rssAfterCloseMiB: round(server.rssMiB(), 1),
    commitSeconds,
    batchSeconds,
    serverCpuSeconds,
    busyAfterCommitsSeconds,
    usage: commitUsage,
    failures,
  };
}

// ---- (b) reading streams ----

interface ReadingRound {
  reads: OpenLoopResult;
  moves: OpenLoopResult;
  usage: Usage;
  rssPeakMiB: number;
}

interface ReadingSide {
  profiles?: ProfileSummary[];
  streams: number;
  opened: number;
  rounds: ReadingRound[];
  roundsUsed: string;
  p99Ms: number;
  p50Ms: number;
  moveP99Ms: number;
  expectedEvents: number;
  delivered: StreamClientStats;
  failures: number;
  serverErrors: number;
}

async function readingScenario(store: StoreKind): Promise<[ReadingSide, ReadingSide]> {
  log(`(b) reading streams, ${store}: preparing a server without streams and one with ${settings.streams}`);
  const sides = [await prepare(store, "streams-reading", 0), await prepare(store, "streams-reading", settings.streams)] as const;
  const opened = [0, (await (sides[1].clients as StreamClients).open(settings.streams, "reading")).opened];
  log(`(b) opened ${opened[1]} reading streams`);
  const moved = [0, 0];
  const rounds: ReadingRound[][] = [[], []];
  for (const [index, side] of sides.entries()) {
    await waitIdle(side.server);
    if (settings.warmupSeconds > 0) moved[index] = (moved[index] as number) + (await load(side, settings.warmupSeconds))[1].ok;
  }
  for (let turn = 0; turn < settings.rounds; turn += 1) {
    for (const index of turn % 2 === 0 ? [0, 1] : [1, 0]) {
      const side = sides[index] as Side;
      await waitIdle(side.server);
      await waitForQuiet();
      const usage = usageMeter(side);
      const rssPeak = rssSampler(side.server);
      const [reads, moves] = await load(side, settings.seconds);
      const result = { reads, moves, usage: usage(), rssPeakMiB: rssPeak() };
      moved[index] = (moved[index] as number) + moves.ok;
      log(
        `(b) round ${turn + 1}, ${side.streams} streams: reads ${JSON.stringify(reads.latencyMs)}, transfers ${JSON.stringify(moves.latencyMs)}, ${JSON.stringify(result.usage)}`,
      );
      rounds[index]?.push(result);
    }
  }
  // Every stream must have every event of the run (each transfer is one event).
  let delivered: StreamClientStats = { open: 0, ended: 0, events: 0, minEvents: 0 };
  const clients = sides[1].clients as StreamClients;
  const deadline = Date.now() + 60_000;
  for (;;) {
    delivered = await clients.stats();
    if (delivered.minEvents >= (moved[1] as number) || Date.now() > deadline) break;
    await sleep(200);
  }
  const summaries = [];
  for (const [index, side] of sides.entries()) {
    const serverErrors = side.server.errorLines().length;
    await side.drop();
    const own = rounds[index] as ReadingRound[];
    const used = quiet(own);
    const failures =
      own.reduce((sum, r) => sum + r.reads.non2xx + r.reads.errors + r.moves.non2xx + r.moves.errors, 0) +
      serverErrors +
      (side.streams - (opened[index] as number)) +
      (side.streams > 0 ? delivered.ended : 0);
    summaries.push({
      ...(side.profileDir ? { profiles: summarizeProfiles(side.profileDir) } : {}),
      streams: side.streams,
      opened: opened[index] as number,
      rounds: own,
      roundsUsed: usedLabel(own, "rounds"),
      p99Ms: round(median(used.map((r) => r.reads.latencyMs.p99))),
      p50Ms: round(median(used.map((r) => r.reads.latencyMs.p50))),
      moveP99Ms: round(median(used.map((r) => r.moves.latencyMs.p99))),
      expectedEvents: moved[index] as number,
      delivered: side.streams > 0 ? delivered : { open: 0, ended: 0, events: 0, minEvents: 0 },
      failures,
      serverErrors,
    });
  }
  return summaries as [ReadingSide, ReadingSide];
}

/** Balance reads and transfers at their fixed rates, at once, for `seconds`. */
function load(side: Side, seconds: number): Promise<[OpenLoopResult, OpenLoopResult]> {
  const headers = jsonHeaders(side.tenant.apiKey);
  return Promise.all([
    openLoop({
      url: side.server.url,
      rate: settings.readRate,
      seconds,
      next: () => ({ method: "POST", path: "/wallets/balances/", headers, body: JSON.stringify({ external_id: randomWallet() }) }),
    }),
    openLoop({
      url: side.server.url,
      rate: settings.moveRate,
      seconds,
      next: () => ({
        method: "POST",
        path: "/wallets/transfer-to-user/",
        headers,
        body: JSON.stringify({ external_id: randomWallet(), currency: CURRENCY, amount: "0.01" }),
      }),
    }),
  ]);
}
