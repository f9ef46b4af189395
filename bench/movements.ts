import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type PgbenchBaseline, pgbenchTpcB, type SqliteBaseline, sqliteOneCommitPerMovement } from "./lib/baselines.js";
import { runScenario } from "./lib/cleanup.js";
import { createDatabase, type StoreKind } from "./lib/database.js";
import { type BenchTenant, createTenant, deposit, inParallel, jsonHeaders, request, verify } from "./lib/fixtures.js";
import { type LoadResult, measure, round } from "./lib/load.js";
import { type ActivitySample, sampleActivity } from "./lib/pg-activity.js";
import { type ProfileSummary, profileMarkdown, summarizeProfiles } from "./lib/profile.js";
import { flags, log, machine, markdownTable, positiveInteger, publish, storeKind, verdict } from "./lib/report.js";
import { processTree, startWalletServer, waitIdle } from "./lib/server.js";
import { countSyncs } from "./lib/syncs.js";

/**
 * Durable movements through HTTP: POST /wallets/transfer-to-user/ and /wallets/withdraw-to-master/
 * alternating over many wallets from many connections, so that group commit can batch them;
 * 200 answers per second are counted. In the same run, the baseline: one commit per movement on
 * SQLite, or pgbench's TPC-B on the same PostgreSQL. Afterwards the ledger is verified
 * (`cli verify`) and every acknowledged movement is found in the wallets' transfer histories.
 *
 *   npm run bench:movements -- --store sqlite|postgres [--workers 1,2] [--duration 15] [--connections 200]
 */

const options = flags("movements", {
  store: { type: "string", default: "sqlite", description: "sqlite or postgres" },
  workers: { type: "string", description: "comma-separated WORKERS values to run, one server run each (sqlite: 1, postgres: 1,2)" },
  wallets: { type: "string", default: "1000", description: "wallets the movements are spread over" },
  duration: { type: "string", default: "15", description: "seconds measured per HTTP run" },
  warmup: { type: "string", default: "2", description: "seconds of discarded load before each measurement" },
  connections: { type: "string", default: "200", description: "autocannon connections" },
  "baseline-seconds": { type: "string", default: "15", description: "seconds of the baseline (SQLite loop or pgbench -T)" },
  "pgbench-scale": { type: "string", default: "10", description: "pgbench -i -s" },
  "pgbench-clients": { type: "string", default: "8", description: "pgbench -c" },
  "pgbench-threads": { type: "string", default: "2", description: "pgbench -j" },
  profile: { type: "boolean", description: "CPU-profile the server (node --cpu-prof) and print its top frames" },
});

const TARGET_SQLITE_PER_SECOND = 5000;
const TARGET_PGBENCH_MULTIPLE = 3;
const CURRENCY = "USDTTRC20";
const WALLET_FUNDING = "100.00";
const MOVEMENT_AMOUNT = "0.01";

interface HttpRun {
  workers: number;
  movementsPerSecond: number;
  load: LoadResult;
  setupMovements: number;
  acknowledged: number;
  inHistories: number;
  verify: { ok: boolean };
  /** Error log lines of the server during the run (set-up, load, the counting afterwards). */
  serverErrors: { count: number; first: string[] };
  /** SQLite only, where perf works: the server's sync calls, and movements per sync (mean batch size). */
  commits?: { syncsPerSecond: number; movementsPerSync: number };
  /** PostgreSQL only: what the database's backends were doing during the load (incl. warm-up). */
  pgActivity?: ActivitySample;
  profiles?: ProfileSummary[];
}

runScenario(async () => {
  const store = storeKind(options.store);
  const workerList = (options.workers || (store === "postgres" ? "1,2" : "1")).split(",").map((text) => positiveInteger(text, "workers"));
  const wallets = positiveInteger(options.wallets, "wallets");
  const baselineSeconds = positiveInteger(options["baseline-seconds"], "baseline-seconds");

  const baseline: SqliteBaseline | PgbenchBaseline =
    store === "sqlite"
      ? await sqliteOneCommitPerMovement(baselineSeconds, wallets)
      : await pgbenchTpcB({
          scale: positiveInteger(options["pgbench-scale"], "pgbench-scale"),
          clients: positiveInteger(options["pgbench-clients"], "pgbench-clients"),
          threads: positiveInteger(options["pgbench-threads"], "pgbench-threads"),
          seconds: baselineSeconds,
        });
  const baselinePerSecond = "tps" in baseline ? baseline.tps : baseline.perSecond;
  log(`baseline: ${baselinePerSecond}/s`);

  const runs: HttpRun[] = [];
  for (const workers of workerList) runs.push(await httpRun(store, workers, wallets));

  const best = runs.reduce((a, b) => (b.movementsPerSecond > a.movementsPerSecond ? b : a));
  const target =
    store === "sqlite"
      ? {
          target: `>= ${TARGET_SQLITE_PER_SECOND}/s`,
          value: best.movementsPerSecond,
          met: best.movementsPerSecond >= TARGET_SQLITE_PER_SECOND,
        }
      : {
          target: `>= ${TARGET_PGBENCH_MULTIPLE}x pgbench TPC-B tps`,
          value: round(best.movementsPerSecond / baselinePerSecond, 2),
          met: best.movementsPerSecond >= TARGET_PGBENCH_MULTIPLE * baselinePerSecond,
        };
  const valid = runs.every((run) => run.verify.ok && run.inHistories >= run.acknowledged && run.load.non2xx === 0);
  const result = {
    scenario: "movements",
    store,
    settings: {
      wallets,
      connections: positiveInteger(options.connections, "connections"),
      seconds: positiveInteger(options.duration, "duration"),
      warmupSeconds: Number(options.warmup),
      amount: MOVEMENT_AMOUNT,
      baselineSeconds,
    },
    machine: machine(),
    baseline,
    runs: runs.map(({ profiles: _profiles, ...run }) => run),
    ratioToBaseline: round(best.movementsPerSecond / baselinePerSecond, 2),
    target,
    ...(runs.some((run) => run.profiles)
      ? { profiles: Object.fromEntries(runs.map((run) => [`workers=${run.workers}`, run.profiles])) }
      : {}),
  };
  const baselineName =
    store === "sqlite" ? "SQLite, one commit per movement (in-process loop)" : `pgbench TPC-B (${(baseline as PgbenchBaseline).command})`;
  const markdown = [
    `### Durable movements, ${store} (${wallets} wallets, ${result.settings.connections} connections, ${result.settings.seconds} s)`,
    "",
    markdownTable(
      ["what", "movements/s (tps)", "p50 ms", "p99 ms", "server cores", "PostgreSQL cores", "other cores", "verify", "server syncs"],
      [
        [baselineName, baselinePerSecond, "", "", "", "", "otherCores" in baseline ? baseline.otherCores : "", "", ""],
        ...runs.map((run) => [
          `HTTP, WORKERS=${run.workers}`,
          run.movementsPerSecond,
          run.load.latencyMs.p50,
          run.load.latencyMs.p99,
          run.load.server?.cpuCores ?? "",
          run.load.machine.postgresCores,
          run.load.machine.otherCores,
          `${run.verify.ok ? "ok" : "FAILED"}; ${run.inHistories}/${run.acknowledged} acknowledged found; ${run.serverErrors.count} server errors`,
          run.commits ? `${run.commits.syncsPerSecond}/s (${run.commits.movementsPerSync} movements each)` : "",
        ]),
      ],
    ),
    "",
    `best HTTP run / baseline = ${result.ratioToBaseline}; target ${target.target}: ${verdict(target.met)} (${target.value})`,
    ...runs.flatMap((run) =>
      run.pgActivity
        ? [
            "",
            `WORKERS=${run.workers}, PostgreSQL backends on average: ${Object.entries(run.pgActivity.meanBackends)
              .map(([what, mean]) => `${what} ${mean}`)
              .join(", ")}`,
          ]
        : [],
    ),
    ...runs.flatMap((run) => (run.profiles ? ["", `WORKERS=${run.workers}:`, profileMarkdown(run.profiles)] : [])),
  ].join("\n");
  publish(`movements-${store}`, options.json, result, markdown);
  return valid;
});

async function httpRun(store: StoreKind, workers: number, walletCount: number): Promise<HttpRun> {
  log(`HTTP run on ${store}, WORKERS=${workers}: setting up a fresh database`);
  const database = await createDatabase(store, "movements");
  const tenant = await createTenant(database.url);
  const profileDir = options.profile === "true" ? mkdtempSync(join(tmpdir(), "wallet-bench-profile-")) : undefined;
  const server = await startWalletServer({ databaseUrl: database.url, workers, cpuProfileDir: profileDir });

  const externalIds = Array.from({ length: walletCount }, (_, index) => `player-${index}`);
  await deposit(server.url, tenant, { master: true }, CURRENCY, "100000000", "bench-master-funding");
  await inParallel(externalIds, 50, async (externalId) => {
    await request(server.url, "POST", "/wallets/", tenant.apiKey, { name: `Player ${externalId}`, external_id: externalId }, 201);
    await movement(server.url, tenant, "transfer-to-user", externalId, WALLET_FUNDING);
  });
  log(`${walletCount} wallets created and funded with ${WALLET_FUNDING} ${CURRENCY} each`);

  const activity = store === "postgres" ? await sampleActivity(database.name) : undefined;
  const seconds = positiveInteger(options.duration, "duration");
  let syncs: Promise<number | null> = Promise.resolve(null);
  let counter = 0;
  const load = await measure({
    url: server.url,
    connections: positiveInteger(options.connections, "connections"),
    pipelining: 1,
    warmupSeconds: Number(options.warmup),
    seconds,
    server,
    // SQLite syncs in the server process; PostgreSQL in its own (counted there, for the whole cluster).
    onMeasureStart: () => {
      syncs = store === "sqlite" ? countSyncs(processTree(server.pid), seconds - 1) : Promise.resolve(null);
    },
    request: {
      method: "POST",
      path: "/wallets/transfer-to-user/",
      headers: jsonHeaders(tenant.apiKey),
      next: () => {
        counter += 1;
        const externalId = externalIds[Math.floor(Math.random() * externalIds.length)] as string;
        return {
          path: counter % 2 === 0 ? "/wallets/transfer-to-user/" : "/wallets/withdraw-to-master/",
          body: JSON.stringify({ external_id: externalId, currency: CURRENCY, amount: MOVEMENT_AMOUNT }),
        };
      },
    },
  });
  const pgActivity = await activity?.stop();
  const syncCount = await syncs;
  // Counted over the first (seconds - 1) s of the measurement.
  const commits =
    syncCount === null
      ? undefined
      : { syncsPerSecond: round(syncCount / (seconds - 1), 0), movementsPerSync: round(load.rps / (syncCount / (seconds - 1)), 1) };
  if (commits) log(`server fsync/fdatasync calls: ${JSON.stringify(commits)}`);
  if (pgActivity) log(`PostgreSQL backends of the run, on average: ${JSON.stringify(pgActivity.meanBackends)}`);
  const acknowledged = load.ok + (load.warmup?.ok ?? 0);
  log(
    `WORKERS=${workers}: ${load.rps} movements/s, p50 ${load.latencyMs.p50} ms, p99 ${load.latencyMs.p99} ms, ` +
      `status ${JSON.stringify(load.statusCodes)}, errors ${load.errors}, server ${JSON.stringify(load.server)}, machine ${JSON.stringify(load.machine)}`,
  );

  // Requests still queued when the load stopped finish now; then count what the ledger holds.
  await waitIdle(server);
  let inHistories = 0;
  await inParallel(externalIds, 20, async (externalId) => {
    const history = await request<{ pagination: { total: number } }>(server.url, "POST", "/wallets/transfer-history/", tenant.apiKey, {
      external_id: externalId,
      limit: 1,
    });
    inHistories += history.json.pagination.total;
  });
  const setupMovements = walletCount;
  inHistories -= setupMovements;
  const serverErrors = server.errorLines();
  if (serverErrors.length > 0) log(`the server logged ${serverErrors.length} errors; the first: ${serverErrors[0]?.slice(0, 600)}`);
  await server.stop();
  const report = await verify(database.url);
  log(`verify: ${JSON.stringify(report)}; ${inHistories} movements in the histories, ${acknowledged} acknowledged`);
  await database.drop();
  const profiles = profileDir ? summarizeProfiles(profileDir) : undefined;
  return {
    workers,
    movementsPerSecond: load.rps,
    load,
    setupMovements,
    acknowledged,
    inHistories,
    verify: report,
    serverErrors: { count: serverErrors.length, first: serverErrors.slice(0, 3).map((line) => line.slice(0, 2000)) },
    ...(commits ? { commits } : {}),
    ...(pgActivity ? { pgActivity } : {}),
    ...(profiles ? { profiles } : {}),
  };
}

function movement(
  baseUrl: string,
  tenant: BenchTenant,
  route: "transfer-to-user" | "withdraw-to-master",
  externalId: string,
  amount: string,
) {
  return request(baseUrl, "POST", `/wallets/${route}/`, tenant.apiKey, { external_id: externalId, currency: CURRENCY, amount });
}
