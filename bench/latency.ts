import { Agent, request as httpRequest } from "node:http";
import { runScenario } from "./lib/cleanup.js";
import { createDatabase } from "./lib/database.js";
import { type BenchTenant, createTenant, deposit, inParallel, jsonHeaders, request, type VerifyReport, verify } from "./lib/fixtures.js";
import { machineBusySeconds, round, waitForQuiet } from "./lib/load.js";
import { type OpenLoopRequest, type OpenLoopResult, openLoop } from "./lib/open-loop.js";
import { flags, log, machine, markdownTable, positiveInteger, publish, storeKind, verdict } from "./lib/report.js";
import { commandCpuSeconds, cpuSecondsBetween, type ServerProcess, startBareServer, startWalletServer } from "./lib/server.js";

/**
 * Latency at fixed arrival rates (issue 13): bets (POST /games/bets/, the call of a game round)
 * and balance reads (POST /wallets/balances/) sent open loop (bench/lib/open-loop.ts), each
 * latency measured from the moment its request was due, on keep-alive sockets, against one
 * server process on a fresh database with funded wallets. Closed-loop tools, and autocannon's
 * `overallRate`, send bursts and wait for answers before sending more, which overstates some
 * latencies and hides others; a fixed arrival rate is what a casino's traffic looks like.
 *
 * In the same run, for comparison: one bet at a time (a single client that sends the next bet
 * when the previous one is answered: the floor of a bet's latency, with no queueing at all), and
 * the bare Fastify route of bench/bare-server.ts answering the same balance JSON at the same
 * rates (what Node and Fastify alone cost). The ledger is verified at the end, and every
 * acknowledged bet must be in it.
 *
 *   npm run bench:latency -- --store sqlite|postgres [--rates 500,1000,2000] [--reads-rates 500,1000,2000] [--seconds 10]
 */

const options = flags("latency", {
  store: { type: "string", default: "sqlite", description: "sqlite or postgres" },
  rates: { type: "string", default: "500,1000,2000", description: "bets per second, one measurement each" },
  "reads-rates": { type: "string", description: "balance reads per second, one measurement each (default: --rates)" },
  seconds: { type: "string", default: "10", description: "seconds measured per rate and scenario" },
  warmup: { type: "string", default: "2", description: "seconds of discarded load at the same rate before each measurement" },
  "single-seconds": { type: "string", description: "seconds of one bet at a time (default: --seconds)" },
  wallets: { type: "string", default: "500", description: "funded wallets the bets and reads are spread over" },
  workers: { type: "string", default: "1", description: "WORKERS of the wallet server and of the bare route (cluster processes)" },
  port: { type: "string", default: "28000", description: "first port of the band the servers listen on (127.0.0.1)" },
});

const CURRENCY = "USDTTRC20";
const BET_AMOUNT = "0.01";
const BETS_PER_WALLET_FUNDED = 100_000 / 0.01;
/** Connections at most per load; a request due while all are busy waits, and its latency shows it. */
const MAX_SOCKETS = 256;

/** Issue 13's targets, each checked when its rate was measured. */
const TARGETS = {
  sqlite: { bets1000: { p50: 2, p99: 6 }, bets2000P99: 10, reads5000P99: 1.5, readCpuRatio: 2.0 },
  postgres: { bets1000: { p50: 4, p99: 15 }, bets2000P99: 30, reads5000P99: 15, readCpuRatio: 3.0 },
} as const;

/** Where the machine's CPU went during one measurement, in cores (1.0 = one core busy). */
interface Usage {
  serverCores: number;
  /** Server CPU time per 2xx answer, microseconds. */
  serverCpuUsPerRequest: number;
  loadGeneratorCores: number;
  postgresCores: number;
  /** Everything else on the machine (other jobs): noise. */
  otherCores: number;
}

type Measured = OpenLoopResult & { usage: Usage };

interface Single {
  seconds: number;
  ok: number;
  failed: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number; mean: number };
}

runScenario(async () => {
  const store = storeKind(options.store);
  const rates = rateList(options.rates, "rates");
  const readRates = rateList(options["reads-rates"] || options.rates, "reads-rates");
  const seconds = positiveNumber(options.seconds, "seconds");
  const warmup = Number(options.warmup);
  if (!(warmup >= 0)) throw new Error(`--warmup must be 0 or more, got ${options.warmup}`);
  const singleSeconds = positiveNumber(options["single-seconds"] || options.seconds, "single-seconds");
  const wallets = positiveInteger(options.wallets, "wallets");
  const workers = positiveInteger(options.workers, "workers");
  const firstPort = positiveInteger(options.port, "port");

  // Every wallet must be able to pay every bet it will get: the most the run can send (a bet at
  // a time cannot go faster than one per 0.1 ms here) spread evenly, with room to spare.
  const plannedBets = rates.reduce((sum, rate) => sum + rate * (seconds + warmup), 0) + singleSeconds * 10_000;
  if (plannedBets / wallets > BETS_PER_WALLET_FUNDED / 10)
    throw new Error(`${plannedBets} bets over ${wallets} wallets would drain them: use more wallets or fewer bets`);

  log(`latency on ${store}: setting up a fresh database`);
  const database = await createDatabase(store, "latency");
  const tenant = await createTenant(database.url);
  const real = await startWalletServer({ databaseUrl: database.url, workers, firstPort });
  const externalIds = Array.from({ length: wallets }, (_, index) => `latency-player-${index}`);
  await fund(real.url, tenant, externalIds);

  const readBody = (index: number) => JSON.stringify({ external_id: externalIds[index % wallets] });
  const answer = await request(real.url, "POST", "/wallets/balances/", tenant.apiKey, JSON.parse(readBody(0)));
  // Port after the wallet server's: freePortInBand skips the ones taken.
  const bare = await startBareServer(answer.text, workers, undefined, firstPort + 1);
  const bareAnswer = await request(bare.url, "POST", "/wallets/balances/", tenant.apiKey, JSON.parse(readBody(0)));
  if (bareAnswer.text !== answer.text) throw new Error(`bare server answers ${bareAnswer.text}, real answers ${answer.text}`);
  log(`both servers answer ${answer.text.length} bytes: ${answer.text}`);
  const ledgerBefore = await verify(database.url);

  const headers = jsonHeaders(tenant.apiKey);
  let betNumber = 0;
  let acknowledgedBets = 0;
  // Bets answered otherwise than 2xx, warm-ups included: such a bet may or may not have committed.
  let failedBets = 0;
  // Each bet has its own transaction_id and round, and consecutive bets go to different wallets.
  const nextBet = (): OpenLoopRequest => {
    betNumber += 1;
    return {
      method: "POST",
      path: "/games/bets/",
      headers,
      body: JSON.stringify({
        external_id: externalIds[betNumber % wallets],
        currency: CURRENCY,
        amount: BET_AMOUNT,
        transaction_id: `latency-bet-${betNumber}`,
        round_id: `latency-round-${betNumber}`,
      }),
    };
  };
  const nextRead = (index: number): OpenLoopRequest => ({ method: "POST", path: "/wallets/balances/", headers, body: readBody(index) });

  log(`one bet at a time for ${singleSeconds} s`);
  await waitForQuiet();
  const counted = <T extends { ok: number; failed: number }>(result: T) => {
    acknowledgedBets += result.ok;
    failedBets += result.failed;
    return result;
  };
  if (warmup > 0) counted(await oneAtATime(real.url, nextBet, warmup));
  const single = counted(await oneAtATime(real.url, nextBet, singleSeconds));
  log(`one bet at a time: ${JSON.stringify(single)}`);

  const bets: Measured[] = [];
  for (const rate of rates) {
    const result = await atRate(real, rate, seconds, warmup, nextBet, (warm) => counted({ ok: warm.ok, failed: warm.sent - warm.ok }));
    counted({ ok: result.ok, failed: result.sent - result.ok });
    bets.push(result);
    log(`bets at ${rate}/s: ${summary(result)}`);
  }

  const reads: Measured[] = [];
  const bareReads: Measured[] = [];
  for (const [index, rate] of readRates.entries()) {
    // Alternating which goes first spreads any drift of the machine over both sides.
    const order = index % 2 === 0 ? (["real", "bare"] as const) : (["bare", "real"] as const);
    for (const side of order) {
      const result = await atRate(side === "real" ? real : bare, rate, seconds, warmup, nextRead);
      (side === "real" ? reads : bareReads).push(result);
      log(`${side} balance reads at ${rate}/s: ${summary(result)}`);
    }
  }

  const serverErrors = real.errorLines().length + bare.errorLines().length;
  await bare.stop();
  await real.stop();
  log("verifying the ledger");
  const ledger = await verify(database.url);
  await database.drop();

  // Each bet is one transfer: every acknowledged one must be in the ledger, and with no failed
  // bets (which may or may not have committed) nothing else.
  const transfersAdded = transferCount(ledger) - transferCount(ledgerBefore);
  const betsInLedger = {
    acknowledged: acknowledgedBets,
    failed: failedBets,
    transfersAdded,
    ok: Number.isNaN(transfersAdded) || (failedBets === 0 ? transfersAdded === acknowledgedBets : transfersAdded >= acknowledgedBets),
  };
  const targets = targetsOf(store, bets, reads, bareReads);
  const failures = [...bets, ...reads, ...bareReads].reduce((sum, result) => sum + result.non2xx + result.errors, 0) + single.failed;

  const result = {
    scenario: "latency",
    store,
    settings: { rates, readRates, seconds, warmup, singleSeconds, wallets, workers, betAmount: BET_AMOUNT, maxSockets: MAX_SOCKETS },
    machine: machine(),
    oneBetAtATime: single,
    bets,
    reads,
    bareReads,
    targets,
    failedRequests: failures,
    serverErrors,
    betsInLedger,
    verify: ledger,
  };
  const row = (scenario: string, measured: Measured) => [
    scenario,
    measured.rate,
    measured.ok,
    measured.non2xx + measured.errors,
    measured.latencyMs.p50,
    measured.latencyMs.p95,
    measured.latencyMs.p99,
    measured.latencyMs.max,
    measured.usage.serverCpuUsPerRequest,
    measured.usage.serverCores,
    measured.usage.postgresCores,
    measured.usage.loadGeneratorCores,
    measured.usage.otherCores,
    measured.sendLagMs.p99,
  ];
  const markdown = [
    `### Latency, ${store}: open loop at fixed rates, ${seconds} s each after ${warmup} s of warm-up, ${wallets} wallets, keep-alive sockets`,
    "",
    markdownTable(
      [
        "scenario",
        "rate/s",
        "2xx",
        "failed",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "server CPU µs/req",
        "server cores",
        "PostgreSQL cores",
        "load generator cores",
        "other cores",
        "send lag p99 ms",
      ],
      [
        [
          "one bet at a time (1 client, closed loop)",
          round(single.ok / single.seconds, 0),
          single.ok,
          single.failed,
          single.latencyMs.p50,
          single.latencyMs.p95,
          single.latencyMs.p99,
          single.latencyMs.max,
          "",
          "",
          "",
          "",
          "",
          "",
        ],
        ...bets.map((measured) => row("bets POST /games/bets/", measured)),
        ...readRates.flatMap((_, index) => [
          row("balance reads POST /wallets/balances/", reads[index] as Measured),
          row("bare Fastify route, same answer", bareReads[index] as Measured),
        ]),
      ],
    ),
    "",
    ...targets.map(
      (target) =>
        `- ${target.what}: ${target.value ?? "not measured"} (target ${target.target}): ${target.met === undefined ? "-" : verdict(target.met)}`,
    ),
    "",
    `Failed requests: ${failures}; server error lines: ${serverErrors}; acknowledged bets ${acknowledgedBets}, transfers added ${transfersAdded}; ` +
      `verify: ${ledger.ok ? "ok" : "FAILED"}`,
  ].join("\n");
  publish(`latency-${store}`, options.json, result, markdown);
  return ledger.ok && betsInLedger.ok && failures === 0 && serverErrors === 0;
});

/** The master account, then every wallet created and given enough for all its bets. */
async function fund(url: string, tenant: BenchTenant, externalIds: string[]): Promise<void> {
  log(`funding the master account and ${externalIds.length} wallets`);
  await deposit(url, tenant, { master: true }, CURRENCY, String(100_000 * externalIds.length * 2), "latency-master");
  await inParallel(externalIds, 20, async (externalId) => {
    await request(url, "POST", "/wallets/", tenant.apiKey, { name: externalId, external_id: externalId }, 201);
    await request(url, "POST", "/wallets/transfer-to-user/", tenant.apiKey, {
      external_id: externalId,
      currency: CURRENCY,
      amount: "100000",
    });
  });
}

/**
 * One open-loop measurement: a warm-up at the same rate on the same keep-alive sockets (its
 * answers discarded), then the measured run, with the CPU every party used meanwhile.
 */
async function atRate(
  server: ServerProcess,
  rate: number,
  seconds: number,
  warmup: number,
  next: (index: number) => OpenLoopRequest,
  onWarmup?: (result: OpenLoopResult) => void,
): Promise<Measured> {
  await waitForQuiet();
  const agent = new Agent({ keepAlive: true, maxSockets: MAX_SOCKETS });
  try {
    if (warmup > 0) onWarmup?.(await openLoop({ url: server.url, rate, seconds: warmup, next, agent }));
    const serverBefore = server.cpuSeconds();
    const machineBefore = machineBusySeconds();
    const postgresBefore = commandCpuSeconds("postgres");
    const selfBefore = process.cpuUsage();
    const result = await openLoop({ url: server.url, rate, seconds, next, agent });
    const serverSeconds = server.cpuSeconds() - serverBefore;
    const self = process.cpuUsage(selfBefore);
    const selfSeconds = (self.user + self.system) / 1e6;
    const postgresSeconds = cpuSecondsBetween(postgresBefore, commandCpuSeconds("postgres"));
    const machineSeconds = machineBusySeconds() - machineBefore;
    const elapsed = result.seconds;
    return {
      ...result,
      usage: {
        serverCores: round(serverSeconds / elapsed, 2),
        serverCpuUsPerRequest: round((serverSeconds / result.ok) * 1e6, 1),
        loadGeneratorCores: round(selfSeconds / elapsed, 2),
        postgresCores: round(postgresSeconds / elapsed, 2),
        otherCores: round(Math.max(0, machineSeconds - selfSeconds - serverSeconds - postgresSeconds) / elapsed, 2),
      },
    };
  } finally {
    agent.destroy();
  }
}

/** A single client on one keep-alive socket: each bet is sent when the previous one is answered. */
async function oneAtATime(url: string, next: () => OpenLoopRequest, seconds: number): Promise<Single> {
  const target = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  let failed = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  try {
    while (performance.now() < end) {
      const { method, path, headers, body } = next();
      const sent = performance.now();
      const status = await new Promise<number>((resolve) => {
        const outgoing = httpRequest({ host: target.hostname, port: target.port, method, path, headers, agent }, (response) => {
          response.resume();
          response.once("end", () => resolve(response.statusCode ?? 0));
        });
        outgoing.once("error", () => resolve(0));
        outgoing.end(body);
      });
      if (status >= 200 && status < 300) latencies.push(performance.now() - sent);
      else failed += 1;
    }
  } finally {
    agent.destroy();
  }
  latencies.sort((a, b) => a - b);
  const at = (quantile: number) =>
    latencies.length === 0 ? Number.NaN : (latencies[Math.min(latencies.length - 1, Math.ceil(quantile * latencies.length) - 1)] as number);
  const mean = latencies.reduce((sum, value) => sum + value, 0) / latencies.length;
  return {
    seconds: round((performance.now() - started) / 1000, 2),
    ok: latencies.length,
    failed,
    latencyMs: { p50: round(at(0.5)), p95: round(at(0.95)), p99: round(at(0.99)), max: round(at(1)), mean: round(mean) },
  };
}

interface Target {
  what: string;
  target: string;
  value?: number;
  met?: boolean;
}

function targetsOf(store: "sqlite" | "postgres", bets: Measured[], reads: Measured[], bareReads: Measured[]): Target[] {
  const goal = TARGETS[store];
  const at = (list: Measured[], rate: number) => list.find((measured) => measured.rate === rate);
  const check = (what: string, limit: number, value: number | undefined): Target =>
    value === undefined ? { what, target: `<= ${limit}` } : { what, target: `<= ${limit}`, value, met: value <= limit };
  // CPU per request is compared at the highest read rate: at low rates the server's timers and
  // idle wake-ups weigh on every request, on both servers, but not alike.
  const highest = reads.reduce<Measured | undefined>((best, measured) => (!best || measured.rate > best.rate ? measured : best), undefined);
  const highestBare = highest && at(bareReads, highest.rate);
  const cpuRatio =
    highest && highestBare ? round(highest.usage.serverCpuUsPerRequest / highestBare.usage.serverCpuUsPerRequest, 2) : undefined;
  return [
    check("bets at 1000/s: p50 ms", goal.bets1000.p50, at(bets, 1000)?.latencyMs.p50),
    check("bets at 1000/s: p99 ms", goal.bets1000.p99, at(bets, 1000)?.latencyMs.p99),
    check("bets at 2000/s: p99 ms", goal.bets2000P99, at(bets, 2000)?.latencyMs.p99),
    check("balance reads at 5000/s: p99 ms", goal.reads5000P99, at(reads, 5000)?.latencyMs.p99),
    check(`balance reads${highest ? ` at ${highest.rate}/s` : ""}: server CPU per request, real / bare route`, goal.readCpuRatio, cpuRatio),
  ];
}

const summary = (result: Measured) =>
  `${result.ok}/${result.sent} ok, latency ${JSON.stringify(result.latencyMs)}, send lag ${JSON.stringify(result.sendLagMs)}, ${JSON.stringify(result.usage)}`;

function transferCount(report: VerifyReport): number {
  return typeof report.transfers === "number" ? report.transfers : Number.NaN;
}

function rateList(text: string, name: string): number[] {
  const rates = text.split(",").map((part) => positiveInteger(part.trim(), name));
  if (rates.length === 0) throw new Error(`--${name} needs at least one rate`);
  return rates;
}

function positiveNumber(text: string, name: string): number {
  const value = Number(text);
  if (!(value > 0) || !Number.isFinite(value)) throw new Error(`--${name} must be a positive number, got ${text}`);
  return value;
}
