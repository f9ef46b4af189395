import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runScenario } from "./lib/cleanup.js";
import { createDatabase } from "./lib/database.js";
import { createTenant, deposit, jsonHeaders, request } from "./lib/fixtures.js";
import { type LoadResult, measure, median, quietRounds, round, roundsLabel } from "./lib/load.js";
import { profileMarkdown, summarizeProfiles } from "./lib/profile.js";
import { flags, log, machine, markdownTable, positiveInteger, publish, storeKind, verdict } from "./lib/report.js";
import { type ServerProcess, startBareServer, startWalletServer } from "./lib/server.js";

/**
 * Balance reads: the real POST /wallets/balances/ (API key, rate limit, validation, database)
 * against a bare Fastify route answering the same JSON, same autocannon settings, in the same
 * run, alternating A-B / B-A over several rounds; the medians and their ratios are reported.
 *
 *   npm run bench:balances -- --store sqlite|postgres [--rounds 3] [--duration 10] [--connections 50]
 */

const options = flags("balances", {
  store: { type: "string", default: "sqlite", description: "sqlite or postgres" },
  rounds: { type: "string", default: "3", description: "A-B rounds; the median of each side is reported" },
  duration: { type: "string", default: "10", description: "seconds measured per side and round" },
  warmup: { type: "string", default: "2", description: "seconds of discarded load before each measurement" },
  connections: { type: "string", default: "50", description: "autocannon connections" },
  pipelining: { type: "string", default: "1", description: "autocannon pipelining" },
  workers: { type: "string", default: "1", description: "WORKERS of both servers (cluster processes)" },
  by: { type: "string", default: "external_id", description: "look the wallet up by external_id or wallet_id" },
  profile: { type: "boolean", description: "CPU-profile the real server (node --cpu-prof) and print its top frames" },
});

const TARGET_RPS_RATIO = { sqlite: 0.9, postgres: 0.6 } as const;
const TARGET_P99_RATIO = 1.5;

const row = (side: Side) => [side.rps, side.p50Ms, side.p99Ms, side.cpuUsPerRequest, side.rssMaxMiB, side.postgresCores, side.otherCores];

interface Side {
  /** Rounds the medians are taken over: those measured while the machine was otherwise quiet (or all). */
  rounds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerRequest: number;
  rssMaxMiB: number;
  /** Medians, in cores, during the measurements: PostgreSQL's processes, everything else (noise). */
  postgresCores: number;
  otherCores: number;
}

runScenario(async () => {
  const store = storeKind(options.store);
  const rounds = positiveInteger(options.rounds, "rounds");
  const workers = positiveInteger(options.workers, "workers");
  if (options.by !== "external_id" && options.by !== "wallet_id") throw new Error("--by must be external_id or wallet_id");
  const load = {
    connections: positiveInteger(options.connections, "connections"),
    pipelining: positiveInteger(options.pipelining, "pipelining"),
    seconds: positiveInteger(options.duration, "duration"),
    warmupSeconds: Number(options.warmup),
  };

  log(`balances on ${store}: setting up a fresh database`);
  const database = await createDatabase(store, "balances");
  const tenant = await createTenant(database.url);
  const profileDir = options.profile === "true" ? mkdtempSync(join(tmpdir(), "wallet-bench-profile-")) : undefined;
  const real = await startWalletServer({ databaseUrl: database.url, workers, cpuProfileDir: profileDir && join(profileDir, "real") });
  // The specification's example wallet: USDTTRC20 400 confirmed + 100 confirming, and BTC 0.025.
  const created = await request<{ wallet_id: string; external_id: string }>(
    real.url,
    "POST",
    "/wallets/",
    tenant.apiKey,
    { name: "Player 12345", external_id: "player-12345" },
    201,
  );
  const wallet = { external_id: created.json.external_id };
  await deposit(real.url, tenant, wallet, "USDTTRC20", "400", "bench-t1", 19);
  await deposit(real.url, tenant, wallet, "USDTTRC20", "100", "bench-t2", 3);
  await deposit(real.url, tenant, wallet, "BTC", "0.025", "bench-b1", 2);
  const requestBody = JSON.stringify(options.by === "wallet_id" ? { wallet_id: created.json.wallet_id } : wallet);
  const answer = await request(real.url, "POST", "/wallets/balances/", tenant.apiKey, JSON.parse(requestBody));
  const bare = await startBareServer(answer.text, workers, profileDir && join(profileDir, "bare"));
  const bareAnswer = await request(bare.url, "POST", "/wallets/balances/", tenant.apiKey, JSON.parse(requestBody));
  if (bareAnswer.text !== answer.text) throw new Error(`bare server answers ${bareAnswer.text}, real answers ${answer.text}`);
  log(`both servers answer ${answer.text.length} bytes: ${answer.text}`);

  const run = async (name: "real" | "bare", server: ServerProcess): Promise<LoadResult> => {
    const result = await measure({
      ...load,
      url: server.url,
      server,
      request: { method: "POST", path: "/wallets/balances/", headers: jsonHeaders(tenant.apiKey), body: requestBody },
    });
    log(
      `${name}: ${result.rps} req/s, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, non-2xx ${result.non2xx}, ` +
        `errors ${result.errors}, server ${JSON.stringify(result.server)}, machine ${JSON.stringify(result.machine)}`,
    );
    return result;
  };

  const results: { real: LoadResult[]; bare: LoadResult[] } = { real: [], bare: [] };
  for (let index = 0; index < rounds; index += 1) {
    log(`round ${index + 1}/${rounds}`);
    const order = index % 2 === 0 ? (["real", "bare"] as const) : (["bare", "real"] as const);
    for (const name of order) results[name].push(await run(name, name === "real" ? real : bare));
  }
  const serverErrors = real.errorLines().length + bare.errorLines().length;
  await bare.stop();
  await real.stop();
  await database.drop();

  const side = (list: LoadResult[]): Side => ({
    rounds: list.length,
    rps: round(median(list.map((result) => result.rps)), 0),
    p50Ms: round(median(list.map((result) => result.latencyMs.p50))),
    p99Ms: round(median(list.map((result) => result.latencyMs.p99))),
    cpuUsPerRequest: median(list.map((result) => result.server?.cpuUsPerRequest ?? Number.NaN)),
    rssMaxMiB: Math.max(...list.map((result) => result.server?.rssMaxMiB ?? 0)),
    postgresCores: median(list.map((result) => result.machine.postgresCores)),
    otherCores: median(list.map((result) => result.machine.otherCores)),
  });
  const realSide = side(quietRounds(results.real));
  const bareSide = side(quietRounds(results.bare));
  const rpsRatio = round(realSide.rps / bareSide.rps);
  const p99Ratio = round(realSide.p99Ms / bareSide.p99Ms);
  const failures = [...results.real, ...results.bare].reduce((sum, result) => sum + result.non2xx + result.errors + result.timeouts, 0);
  const targets = {
    rpsRatio: { target: `>= ${TARGET_RPS_RATIO[store]}`, value: rpsRatio, met: rpsRatio >= TARGET_RPS_RATIO[store] },
    p99Ratio: { target: `<= ${TARGET_P99_RATIO}`, value: p99Ratio, met: p99Ratio <= TARGET_P99_RATIO },
  };
  const profiles = profileDir
    ? { real: summarizeProfiles(join(profileDir, "real")), bare: summarizeProfiles(join(profileDir, "bare")) }
    : undefined;

  const result = {
    scenario: "balances",
    store,
    settings: { ...load, rounds, workers, lookupBy: options.by, responseBytes: answer.text.length },
    machine: machine(),
    real: realSide,
    bare: bareSide,
    ratios: { rps: rpsRatio, p50: round(realSide.p50Ms / bareSide.p50Ms), p99: p99Ratio },
    targets,
    failedRequests: failures,
    serverErrors,
    rounds: { real: results.real, bare: results.bare },
    ...(profiles ? { profiles } : {}),
  };
  const markdown = [
    `### Balance reads, ${store}: medians (real: ${roundsLabel(results.real)}; bare: ${roundsLabel(results.bare)}), ${load.connections} connections, ${load.seconds} s each`,
    "",
    markdownTable(
      ["server", "req/s", "p50 ms", "p99 ms", "server CPU µs/req", "RSS max MiB", "PostgreSQL cores", "other cores"],
      [
        ["real POST /wallets/balances/", ...row(realSide)],
        ["bare Fastify route", ...row(bareSide)],
        [
          "ratio real/bare",
          rpsRatio,
          round(realSide.p50Ms / bareSide.p50Ms, 2),
          p99Ratio,
          round(realSide.cpuUsPerRequest / bareSide.cpuUsPerRequest, 2),
          "",
          "",
          "",
        ],
      ],
    ),
    "",
    `req/s ratio ${rpsRatio} (target ${targets.rpsRatio.target}): ${verdict(targets.rpsRatio.met)}; ` +
      `p99 ratio ${p99Ratio} (target ${targets.p99Ratio.target}): ${verdict(targets.p99Ratio.met)}; failed requests: ${failures}`,
    ...(profiles ? ["", "Real server:", profileMarkdown(profiles.real), "", "Bare server:", profileMarkdown(profiles.bare)] : []),
  ].join("\n");
  publish(`balances-${store}`, options.json, result, markdown);
  return failures === 0 && serverErrors === 0;
});
