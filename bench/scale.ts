import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BULK_AMOUNT, externalIdOf, type LoadStats, loadThroughStore, loadWithSql } from "./lib/bulk-load.js";
import { runScenario } from "./lib/cleanup.js";
import { type BenchDatabase, createDatabase } from "./lib/database.js";
import { createTenant, jsonHeaders, request, verify } from "./lib/fixtures.js";
import { type LoadResult, measure, median, quietRounds, round, roundsLabel } from "./lib/load.js";
import { profileMarkdown, summarizeProfiles } from "./lib/profile.js";
import { flags, log, machine, markdownTable, positiveInteger, publish, storeKind, verdict } from "./lib/report.js";
import { type ServerProcess, startWalletServer } from "./lib/server.js";

/**
 * Scale: balance reads of random wallets in a database of 1 000 wallets and in one of 1 000 000
 * (bulk-loaded, not through the API), one server process on each, measured in alternating
 * rounds, and the servers' resident memory under that load. Target: p99 at the large scale
 * within 1.2x of the small one.
 *
 *   npm run bench:scale -- --store sqlite|postgres [--wallets 1000000] [--small 1000] [--load store|sql]
 */

const options = flags("scale", {
  store: { type: "string", default: "sqlite", description: "sqlite or postgres" },
  wallets: { type: "string", default: "1000000", description: "wallets at the large scale" },
  small: { type: "string", default: "1000", description: "wallets at the small scale" },
  load: { type: "string", default: "sql", description: "how the wallets beyond the small scale are loaded: store (Store.write) or sql" },
  duration: { type: "string", default: "10", description: "seconds measured per scale and round" },
  rounds: { type: "string", default: "3", description: "alternating rounds (small, large / large, small); medians are reported" },
  warmup: { type: "string", default: "2", description: "seconds of discarded load before each measurement" },
  connections: { type: "string", default: "50", description: "autocannon connections" },
  verify: { type: "boolean", description: "run `cli verify` on the loaded ledger at the end" },
  profile: { type: "boolean", description: "CPU-profile the server (node --cpu-prof) and print its top frames" },
});

const TARGET_P99_RATIO = 1.2;

runScenario(async () => {
  const store = storeKind(options.store);
  const large = positiveInteger(options.wallets, "wallets");
  const small = positiveInteger(options.small, "small");
  const rounds = positiveInteger(options.rounds, "rounds");
  if (small >= large) throw new Error("--small must be below --wallets");
  const method = options.load;
  if (method !== "store" && method !== "sql") throw new Error("--load must be store or sql");

  log(`scale on ${store}: a database with ${small} wallets and one with ${large}`);
  const populations: Population[] = [];
  for (const wallets of [small, large]) {
    const database = await createDatabase(store, "scale");
    const tenant = await createTenant(database.url);
    log(`${wallets}: loading ${small} wallets through the store`);
    const loads = [await loadThroughStore(database.url, tenant.tenantId, 0, small)];
    if (wallets > small) {
      log(`${wallets}: loading ${wallets - small} more wallets (${method})`);
      loads.push(
        method === "sql"
          ? await loadWithSql(database.url, tenant.tenantId, small, wallets)
          : await loadThroughStore(database.url, tenant.tenantId, small, wallets),
      );
    }
    log(`${wallets}: loaded ${JSON.stringify(loads)}`);
    populations.push({ wallets, database, apiKey: tenant.apiKey, loads, results: [] });
  }

  const profileDir = options.profile === "true" ? mkdtempSync(join(tmpdir(), "wallet-bench-profile-")) : undefined;
  for (const population of populations) {
    const server = await startWalletServer({
      databaseUrl: population.database.url,
      cpuProfileDir: profileDir && join(profileDir, String(population.wallets)),
    });
    const probe = await request<{ balances: { amount: string }[] }>(server.url, "POST", "/wallets/balances/", population.apiKey, {
      external_id: externalIdOf(population.wallets - 1),
    });
    if (probe.json.balances[0]?.amount !== `${BULK_AMOUNT / 1_000_000n}.00`) throw new Error(`unexpected balance: ${probe.text}`);
    population.server = server;
    population.rssStartMiB = round(server.rssMiB(), 1);
  }
  for (let index = 0; index < rounds; index += 1) {
    log(`round ${index + 1}/${rounds}`);
    const order = index % 2 === 0 ? populations : [...populations].reverse();
    for (const population of order) population.results.push(await readBalances(population));
  }
  const serverErrors = populations.reduce((sum, population) => sum + (population.server?.errorLines().length ?? 0), 0);
  for (const population of populations) await population.server?.stop();

  const largest = populations[1] as Population;
  let report: { ok: boolean } | undefined;
  if (options.verify === "true") {
    log(`verifying the ledger of ${large} wallets`);
    report = await verify(largest.database.url);
    log(`verify: ${JSON.stringify(report)}`);
  }
  for (const population of populations) await population.database.drop();

  const sides = populations.map((population) => ({
    wallets: population.wallets,
    roundsUsed: roundsLabel(population.results),
    rps: round(median(quietRounds(population.results).map((result) => result.rps)), 0),
    p50Ms: round(median(quietRounds(population.results).map((result) => result.latencyMs.p50))),
    p99Ms: round(median(quietRounds(population.results).map((result) => result.latencyMs.p99))),
    cpuUsPerRequest: round(median(quietRounds(population.results).map((result) => result.server?.cpuUsPerRequest ?? Number.NaN)), 1),
    rssStartMiB: population.rssStartMiB ?? 0,
    rssMaxMiB: Math.max(...population.results.map((result) => result.server?.rssMaxMiB ?? 0)),
    postgresCores: median(quietRounds(population.results).map((result) => result.machine.postgresCores)),
    otherCores: median(quietRounds(population.results).map((result) => result.machine.otherCores)),
    loads: population.loads,
    rounds: population.results,
    ...(profileDir ? { profiles: summarizeProfiles(join(profileDir, String(population.wallets))) } : {}),
  }));
  const [first, second] = sides as [(typeof sides)[number], (typeof sides)[number]];
  const p99Ratio = round(second.p99Ms / first.p99Ms);
  const target = { target: `<= ${TARGET_P99_RATIO}`, value: p99Ratio, met: p99Ratio <= TARGET_P99_RATIO };
  const result = {
    scenario: "scale",
    store,
    settings: {
      connections: positiveInteger(options.connections, "connections"),
      seconds: positiveInteger(options.duration, "duration"),
      warmupSeconds: Number(options.warmup),
      rounds,
      load: method,
    },
    machine: machine(),
    populations: sides.map(({ profiles: _profiles, ...side }) => side),
    ratios: {
      p99: p99Ratio,
      p50: round(second.p50Ms / first.p50Ms),
      rps: round(second.rps / first.rps),
      cpuPerRequest: round(second.cpuUsPerRequest / first.cpuUsPerRequest),
    },
    target,
    serverErrors,
    ...(report ? { verify: report } : {}),
    ...(profileDir ? { profiles: Object.fromEntries(sides.map((side) => [`wallets=${side.wallets}`, side.profiles])) } : {}),
  };
  const markdown = [
    `### Scale, ${store}: balance reads of random wallets, medians (${populations.map((population) => `${population.wallets}: ${roundsLabel(population.results)}`).join("; ")}), ${result.settings.connections} connections, ${result.settings.seconds} s each`,
    "",
    markdownTable(
      [
        "wallets",
        "req/s",
        "p50 ms",
        "p99 ms",
        "server CPU µs/req",
        "RSS at start MiB",
        "RSS max under load MiB",
        "PostgreSQL cores",
        "other cores",
      ],
      sides.map((side) => [
        side.wallets.toLocaleString("en-US"),
        side.rps,
        side.p50Ms,
        side.p99Ms,
        side.cpuUsPerRequest,
        side.rssStartMiB,
        side.rssMaxMiB,
        side.postgresCores,
        side.otherCores,
      ]),
    ),
    "",
    `bulk load of the large database: ${second.loads.map((load) => `${load.wallets} wallets by ${load.method} in ${load.seconds} s (${load.walletsPerSecond}/s)`).join("; ")}`,
    "",
    `p99 ratio ${large}/${small} wallets = ${p99Ratio} (target ${target.target}): ${verdict(target.met)}` +
      (report ? `; verify of the large ledger: ${report.ok ? "ok" : "FAILED"}` : ""),
    ...sides.flatMap((side) => (side.profiles ? ["", `${side.wallets} wallets:`, profileMarkdown(side.profiles)] : [])),
  ].join("\n");
  publish(`scale-${store}`, options.json, result, markdown);
  const failures = populations.flatMap((population) => population.results).reduce((sum, run) => sum + run.non2xx + run.errors, 0);
  return failures === 0 && serverErrors === 0 && (report?.ok ?? true);
});

interface Population {
  wallets: number;
  database: BenchDatabase;
  apiKey: string;
  loads: LoadStats[];
  server?: ServerProcess;
  rssStartMiB?: number;
  results: LoadResult[];
}

/** Reads random wallets' balances under load. */
async function readBalances(population: Population): Promise<LoadResult> {
  const { wallets, server, apiKey } = population;
  if (!server) throw new Error("server not started");
  const load = await measure({
    url: server.url,
    connections: positiveInteger(options.connections, "connections"),
    pipelining: 1,
    warmupSeconds: Number(options.warmup),
    seconds: positiveInteger(options.duration, "duration"),
    server,
    request: {
      method: "POST",
      path: "/wallets/balances/",
      headers: jsonHeaders(apiKey),
      body: () => JSON.stringify({ external_id: externalIdOf(Math.floor(Math.random() * wallets)) }),
    },
  });
  log(
    `${wallets} wallets: ${load.rps} req/s, p50 ${load.latencyMs.p50} ms, p99 ${load.latencyMs.p99} ms, ` +
      `status ${JSON.stringify(load.statusCodes)}, server ${JSON.stringify(load.server)}, machine ${JSON.stringify(load.machine)}`,
  );
  return load;
}
