import { Agent } from "node:http";
import { runScenario } from "./lib/cleanup.js";
import { createDatabase } from "./lib/database.js";
import { type BenchTenant, createTenant, deposit, inParallel, jsonHeaders, request, type VerifyReport, verify } from "./lib/fixtures.js";
import { machineBusySeconds, median, round, waitForQuiet } from "./lib/load.js";
import { type OpenLoopRequest, type OpenLoopResult, openLoop } from "./lib/open-loop.js";
import { flags, log, machine, markdownTable, positiveInteger, publish, storeKind, verdict } from "./lib/report.js";
import { commandCpuSeconds, cpuSecondsBetween, type ServerProcess, startWalletServer } from "./lib/server.js";

/**
 * What safer-gambling limits cost a bet (issue 14 item 6): server CPU per bet on wallets with
 * limits set in the bet currency against the same on wallets without any, target ratio <= 1.10.
 *
 * One server process on one fresh database, two wallet populations of the same size, created and
 * funded alike: "without" has no limits, "with" has loss_day, loss_week, loss_month, wager_day,
 * max_stake and deposit_day set in the bet currency, all generous enough that no bet is refused
 * (every bet goes through the whole check and is counted in every bucket). One process rather
 * than two: both populations share the JIT, the caches, the database and its growth, so the
 * only difference between the sides is the limits. Bets go through POST /games/bets/ at a fixed
 * arrival rate (open loop, bench/lib/open-loop.ts, keep-alive sockets), each its own
 * transaction_id, consecutive bets on different wallets of the side, in rounds that alternate
 * A-B-B-A (A = without, B = with; the pattern repeated --cycles times), so that any drift of the
 * machine or of the database weighs on both sides alike. Before each round: the quiet-machine
 * wait (bench/lib/load.ts waitForQuiet), then a short warm-up at the same rate on the same side.
 * Server CPU time per bet comes from /proc (the server's process tree), the figure least
 * disturbed by other jobs; medians are taken over the rounds in which the rest of the machine
 * stayed below BENCH_QUIET_CORES when both sides had such rounds, else over all rounds of both.
 * Latency p50/p99: the median over the same rounds of each round's own percentile. The ratio is
 * also given cycle by cycle ((B1 + B2) / (A1 + A2) of each A-B-B-A) with its median.
 *
 * Afterwards: no bet may have been refused (every answer 2xx, warm-ups included); the limits of
 * every wallet with limits must have counted every one of its bets (wager and loss of the day,
 * through GET /wallets/{id}/limits/) and the wallets without must still have none; the server
 * is stopped, `cli verify` replays the ledger, and every acknowledged bet must be a transfer in it.
 *
 *   npm run bench:limits -- --store sqlite|postgres [--rate 500] [--seconds 10] [--cycles 3] [--wallets 500]
 */

const options = flags("limits", {
  store: { type: "string", default: "sqlite", description: "sqlite or postgres" },
  rate: { type: "string", default: "500", description: "bets per second in every round (open loop)" },
  seconds: { type: "string", default: "10", description: "seconds measured per round" },
  warmup: { type: "string", default: "2", description: "seconds of discarded bets at the same rate on the same side before each round" },
  "first-warmup": { type: "string", default: "5", description: "seconds of discarded bets on each side before the first round" },
  cycles: { type: "string", default: "3", description: "A-B-B-A cycles (4 rounds each: 2 without limits, 2 with)" },
  wallets: { type: "string", default: "500", description: "wallets per side (with and without limits)" },
  port: { type: "string", default: "47600", description: "first port of the band the server listens on (127.0.0.1)" },
});

const CURRENCY = "USDTTRC20";
const BET_AMOUNT = "0.01";
const FUNDING = "100000";
/** All generous: no bet of the run comes near them (a wallet gets well under 10 000 bets of 0.01). */
const LIMITS = {
  loss_day: "1000000",
  loss_week: "5000000",
  loss_month: "20000000",
  wager_day: "1000000",
  max_stake: "1000",
  deposit_day: "1000000000",
} as const;
const TARGET_RATIO = 1.1;
const QUIET_CORES = Number(process.env.BENCH_QUIET_CORES ?? "0.25");
const MAX_SOCKETS = 256;

type Side = "without" | "with";

interface Usage {
  serverCores: number;
  /** Wallet server CPU time (its process tree) per 2xx answer, microseconds. */
  serverCpuUsPerBet: number;
  /** PostgreSQL's processes (the whole cluster, other jobs' backends too) per 2xx answer, microseconds; 0 on SQLite. */
  postgresCpuUsPerBet: number;
  loadGeneratorCores: number;
  postgresCores: number;
  /** Everything else on the machine (other jobs): noise. */
  otherCores: number;
}

type Round = OpenLoopResult & { side: Side; round: number; quiet: boolean; usage: Usage };

interface Population {
  side: Side;
  externalIds: string[];
  walletIds: string[];
  nextBet: number;
  acknowledged: number;
  /** Answers other than 2xx and connection errors, warm-ups included: refused bets. */
  failed: number;
}

runScenario(async () => {
  const store = storeKind(options.store);
  const rate = positiveInteger(options.rate, "rate");
  const seconds = positiveNumber(options.seconds, "seconds");
  const warmup = nonNegativeNumber(options.warmup, "warmup");
  const firstWarmup = nonNegativeNumber(options["first-warmup"], "first-warmup");
  const cycles = positiveInteger(options.cycles, "cycles");
  const wallets = positiveInteger(options.wallets, "wallets");
  const firstPort = positiveInteger(options.port, "port");
  if (firstPort < 47600 || firstPort > 47699) throw new Error(`--port must be in 47600-47699, got ${firstPort}`);

  log(`limits on ${store}: setting up a fresh database`);
  const database = await createDatabase(store, "limits");
  const tenant = await createTenant(database.url);
  const server = await startWalletServer({ databaseUrl: database.url, firstPort });
  const without = await population(server.url, tenant, "without", wallets, false);
  const withLimits = await population(server.url, tenant, "with", wallets, true);
  const ledgerBefore = await verify(database.url);

  const headers = jsonHeaders(tenant.apiKey);
  const nextBet = (side: Population) => (): OpenLoopRequest => {
    side.nextBet += 1;
    const number = side.nextBet;
    return {
      method: "POST",
      path: "/games/bets/",
      headers,
      body: JSON.stringify({
        external_id: side.externalIds[number % side.externalIds.length],
        currency: CURRENCY,
        amount: BET_AMOUNT,
        transaction_id: `limits-${side.side}-bet-${number}`,
        round_id: `limits-${side.side}-round-${number}`,
      }),
    };
  };
  const count = (side: Population, result: OpenLoopResult) => {
    side.acknowledged += result.ok;
    side.failed += result.sent - result.ok;
  };

  if (firstWarmup > 0) {
    for (const side of [without, withLimits]) {
      log(`first warm-up: ${firstWarmup} s of bets on the wallets ${side.side} limits`);
      const agent = new Agent({ keepAlive: true, maxSockets: MAX_SOCKETS });
      try {
        count(side, await openLoop({ url: server.url, rate, seconds: firstWarmup, next: nextBet(side), agent }));
      } finally {
        agent.destroy();
      }
    }
  }

  const rounds: Round[] = [];
  const order: Side[] = [];
  for (let cycle = 0; cycle < cycles; cycle += 1) order.push("without", "with", "with", "without");
  for (const [index, sideName] of order.entries()) {
    const side = sideName === "with" ? withLimits : without;
    const measured = await measureRound(store, server, side, rate, seconds, warmup, nextBet(side), count);
    const result: Round = { ...measured, side: sideName, round: index + 1 };
    rounds.push(result);
    log(`round ${index + 1}/${order.length} (${sideName} limits): ${summary(result)}`);
  }

  log("checking what the limits counted");
  const limitsCheck = await checkLimits(server.url, tenant.apiKey, without, withLimits);
  const serverErrors = server.errorLines().length;
  await server.stop();
  log("verifying the ledger");
  const ledger = await verify(database.url);
  await database.drop();

  const acknowledged = without.acknowledged + withLimits.acknowledged;
  const failed = without.failed + withLimits.failed;
  const transfersAdded = transferCount(ledger) - transferCount(ledgerBefore);
  const betsInLedger = {
    acknowledged,
    failed,
    transfersAdded,
    ok: Number.isNaN(transfersAdded) || (failed === 0 ? transfersAdded === acknowledged : transfersAdded >= acknowledged),
  };

  // Quiet rounds only when both sides have some: a bet's CPU depends on how many share a group
  // commit, which depends on the load, so a median over one side's quiet rounds against one over
  // the other side's busy ones would compare the machine's states, not the limits.
  const quietOnly = (["without", "with"] as const).every((side) => rounds.some((r) => r.side === side && r.quiet));
  const sides = { without: sideSummary(rounds, "without", quietOnly), with: sideSummary(rounds, "with", quietOnly) };
  const ratio = round(sides.with.serverCpuUsPerBet / sides.without.serverCpuUsPerBet, 3);
  // The same ratio cycle by cycle ((B1 + B2) / (A1 + A2) of each A-B-B-A): how much it moved.
  const cycleRatios = Array.from({ length: cycles }, (_, cycle) => {
    const own = rounds.slice(cycle * 4, cycle * 4 + 4);
    const sum = (side: Side) => own.filter((r) => r.side === side).reduce((total, r) => total + r.usage.serverCpuUsPerBet, 0);
    return round(sum("with") / sum("without"), 3);
  });
  const noneRefused = failed === 0;
  const ok = noneRefused && limitsCheck.ok && ledger.ok && betsInLedger.ok && serverErrors === 0;

  const result = {
    scenario: "limits",
    store,
    settings: {
      design: "one server process, two wallet populations (without / with limits), rounds A-B-B-A",
      rate,
      seconds,
      warmup,
      firstWarmup,
      cycles,
      walletsPerSide: wallets,
      betAmount: BET_AMOUNT,
      currency: CURRENCY,
      limits: LIMITS,
      quietCores: QUIET_CORES,
      maxSockets: MAX_SOCKETS,
    },
    machine: machine(),
    sides,
    ratio,
    cycleRatios,
    medianCycleRatio: round(median(cycleRatios), 3),
    target: { ratio: TARGET_RATIO, met: ratio <= TARGET_RATIO },
    rounds,
    refusedBets: { without: without.failed, with: withLimits.failed },
    limitsCheck,
    serverErrors,
    betsInLedger,
    verify: ledger,
  };
  const sideRow = (name: string, side: SideSummary) => [
    name,
    side.roundsUsed,
    side.serverCpuUsPerBet,
    side.postgresCpuUsPerBet,
    side.latencyMs.p50,
    side.latencyMs.p99,
    side.serverCores,
    side.otherCores,
    side.sendLagP99Ms,
  ];
  const markdown = [
    `### Limits, ${store}: bets at ${rate}/s open loop, ${seconds} s rounds A-B-B-A x ${cycles}, ${wallets} wallets per side, one server`,
    "",
    markdownTable(
      [
        "wallets",
        "rounds used",
        "server CPU µs/bet (median)",
        "PostgreSQL CPU µs/bet",
        "p50 ms",
        "p99 ms",
        "server cores",
        "other cores",
        "send lag p99 ms",
      ],
      [sideRow("without limits", sides.without), sideRow("with 6 limits in the bet currency", sides.with)],
    ),
    "",
    `- server CPU per bet, with / without limits: ${ratio} (target <= ${TARGET_RATIO}): ${verdict(ratio <= TARGET_RATIO)}; per A-B-B-A cycle: ${cycleRatios.join(", ")} (median ${round(median(cycleRatios), 3)})`,
    `- each round (side: server CPU µs/bet, other cores): ${rounds
      .map((r) => `${r.side === "with" ? "B" : "A"} ${r.usage.serverCpuUsPerBet} (${r.usage.otherCores})`)
      .join(", ")}`,
    `- refused bets: ${failed} (without ${without.failed}, with ${withLimits.failed}); limits counted every bet: ${limitsCheck.ok ? "yes" : `NO (${limitsCheck.problems.join("; ")})`}`,
    `- acknowledged bets ${acknowledged}, transfers added ${transfersAdded}; server error lines ${serverErrors}; verify: ${ledger.ok ? "ok" : "FAILED"}`,
  ].join("\n");
  publish(`limits-${store}`, options.json, result, markdown);
  return ok;
});

/** Wallets created alike; the ones with limits get them before their funding (which they count as a deposit). */
async function population(url: string, tenant: BenchTenant, side: Side, wallets: number, limited: boolean): Promise<Population> {
  log(`creating and funding ${wallets} wallets ${side} limits`);
  await deposit(url, tenant, { master: true }, CURRENCY, String(Number(FUNDING) * wallets * 2), `limits-master-${side}`);
  const externalIds = Array.from({ length: wallets }, (_, index) => `limits-${side}-player-${index}`);
  const walletIds: string[] = new Array(wallets);
  await inParallel(
    externalIds.map((externalId, index) => ({ externalId, index })),
    20,
    async ({ externalId, index }) => {
      const created = await request<{ wallet_id: string }>(
        url,
        "POST",
        "/wallets/",
        tenant.apiKey,
        { name: externalId, external_id: externalId },
        201,
      );
      walletIds[index] = created.json.wallet_id;
      if (limited) {
        const answer = await request<CurrencyLimits>(
          url,
          "PUT",
          `/wallets/${created.json.wallet_id}/limits/${CURRENCY}/`,
          tenant.apiKey,
          LIMITS,
        );
        const set = answer.json.limits.length;
        if (set !== Object.keys(LIMITS).length || answer.json.pending_changes.length !== 0)
          throw new Error(`limits of ${externalId} not all in force at once: ${answer.text}`);
      }
      await request(url, "POST", "/wallets/transfer-to-user/", tenant.apiKey, {
        external_id: externalId,
        currency: CURRENCY,
        amount: FUNDING,
      });
    },
  );
  return { side, externalIds, walletIds, nextBet: 0, acknowledged: 0, failed: 0 };
}

interface LimitView {
  limit: string;
  window: string | null;
  amount: string;
  used: string | null;
}

interface CurrencyLimits {
  currency: string;
  limits: LimitView[];
  pending_changes: unknown[];
  held_amount: string;
}

/**
 * Every bet on a wallet with limits must have been counted (wager and loss of the day: the run is
 * far shorter than the window), and the wallets without must still have no limits at all.
 */
async function checkLimits(url: string, apiKey: string, without: Population, withLimits: Population) {
  const problems: string[] = [];
  const used = { wager: 0n, loss: 0n };
  await inParallel(withLimits.walletIds, 20, async (walletId) => {
    const answer = await request<{ currencies: CurrencyLimits[] }>(url, "GET", `/wallets/${walletId}/limits/`, apiKey);
    const limits = answer.json.currencies.find((currency) => currency.currency === CURRENCY)?.limits ?? [];
    for (const kind of ["wager", "loss"] as const) {
      const view = limits.find((limit) => limit.limit === kind && limit.window === "day");
      if (view?.used == null) problems.push(`${walletId}: no ${kind}/day usage`);
      else used[kind] += micros(view.used);
    }
    if (limits.length !== Object.keys(LIMITS).length) problems.push(`${walletId}: ${limits.length} limits`);
  });
  await inParallel(without.walletIds, 20, async (walletId) => {
    const answer = await request<{ currencies: CurrencyLimits[] }>(url, "GET", `/wallets/${walletId}/limits/`, apiKey);
    if (answer.json.currencies.some((currency) => currency.limits.length > 0)) problems.push(`${walletId} (without) has limits`);
  });
  const expected = BigInt(withLimits.acknowledged) * micros(BET_AMOUNT);
  for (const kind of ["wager", "loss"] as const)
    if (used[kind] !== expected) problems.push(`${kind}/day used ${used[kind]} µ${CURRENCY}, expected ${expected}`);
  return {
    ok: problems.length === 0,
    betsOnLimitedWallets: withLimits.acknowledged,
    wagerDayUsed: formatMicros(used.wager),
    lossDayUsed: formatMicros(used.loss),
    expected: formatMicros(expected),
    problems: problems.slice(0, 20),
  };
}

/** One round: quiet wait, warm-up on the same side and sockets, then the measured bets with the CPU every party used. */
async function measureRound(
  store: "sqlite" | "postgres",
  server: ServerProcess,
  side: Population,
  rate: number,
  seconds: number,
  warmup: number,
  next: () => OpenLoopRequest,
  count: (side: Population, result: OpenLoopResult) => void,
): Promise<Omit<Round, "side" | "round">> {
  await waitForQuiet();
  const agent = new Agent({ keepAlive: true, maxSockets: MAX_SOCKETS });
  try {
    if (warmup > 0) count(side, await openLoop({ url: server.url, rate, seconds: warmup, next, agent }));
    const serverBefore = server.cpuSeconds();
    const machineBefore = machineBusySeconds();
    const postgresBefore = store === "postgres" ? commandCpuSeconds("postgres") : undefined;
    const selfBefore = process.cpuUsage();
    const result = await openLoop({ url: server.url, rate, seconds, next, agent });
    const serverSeconds = server.cpuSeconds() - serverBefore;
    const self = process.cpuUsage(selfBefore);
    const selfSeconds = (self.user + self.system) / 1e6;
    // On SQLite the PostgreSQL cluster only serves other jobs: it counts as the rest of the machine.
    const postgresSeconds = postgresBefore ? cpuSecondsBetween(postgresBefore, commandCpuSeconds("postgres")) : 0;
    const machineSeconds = machineBusySeconds() - machineBefore;
    count(side, result);
    const elapsed = result.seconds;
    const otherCores = round(Math.max(0, machineSeconds - selfSeconds - serverSeconds - postgresSeconds) / elapsed, 2);
    return {
      ...result,
      quiet: otherCores <= QUIET_CORES,
      usage: {
        serverCores: round(serverSeconds / elapsed, 2),
        serverCpuUsPerBet: round((serverSeconds / result.ok) * 1e6, 1),
        postgresCpuUsPerBet: round((postgresSeconds / result.ok) * 1e6, 1),
        loadGeneratorCores: round(selfSeconds / elapsed, 2),
        postgresCores: round(postgresSeconds / elapsed, 2),
        otherCores,
      },
    };
  } finally {
    agent.destroy();
  }
}

interface SideSummary {
  /** "2 of 6 quiet rounds", or "all 6 rounds (0 quiet)" when either side had none. */
  roundsUsed: string;
  serverCpuUsPerBet: number;
  postgresCpuUsPerBet: number;
  latencyMs: { p50: number; p99: number };
  serverCores: number;
  otherCores: number;
  sendLagP99Ms: number;
  /** The same medians over every round of the side, quiet or not. */
  allRounds: { serverCpuUsPerBet: number; p50: number; p99: number; otherCores: number };
}

function sideSummary(rounds: Round[], side: Side, quietOnly: boolean): SideSummary {
  const own = rounds.filter((r) => r.side === side);
  const quiet = own.filter((r) => r.quiet);
  const used = quietOnly ? quiet : own;
  const med = (list: Round[], value: (r: Round) => number) => round(median(list.map(value)), 3);
  return {
    roundsUsed: quietOnly ? `${quiet.length} of ${own.length} quiet rounds` : `all ${own.length} rounds (${quiet.length} quiet)`,
    serverCpuUsPerBet: med(used, (r) => r.usage.serverCpuUsPerBet),
    postgresCpuUsPerBet: med(used, (r) => r.usage.postgresCpuUsPerBet),
    latencyMs: { p50: med(used, (r) => r.latencyMs.p50), p99: med(used, (r) => r.latencyMs.p99) },
    serverCores: med(used, (r) => r.usage.serverCores),
    otherCores: med(used, (r) => r.usage.otherCores),
    sendLagP99Ms: med(used, (r) => r.sendLagMs.p99),
    allRounds: {
      serverCpuUsPerBet: med(own, (r) => r.usage.serverCpuUsPerBet),
      p50: med(own, (r) => r.latencyMs.p50),
      p99: med(own, (r) => r.latencyMs.p99),
      otherCores: med(own, (r) => r.usage.otherCores),
    },
  };
}

const summary = (r: Round) =>
  `${r.ok}/${r.sent} ok, latency ${JSON.stringify(r.latencyMs)}, send lag ${JSON.stringify(r.sendLagMs)}, ${JSON.stringify(r.usage)}`;

/** A decimal string in millionths (USDTTRC20 has 6 decimals). */
function micros(text: string): bigint {
  const [whole = "0", fraction = ""] = text.split(".");
  if (fraction.length > 6) throw new Error(`more than 6 decimals: ${text}`);
  return BigInt(whole) * 1_000_000n + BigInt(fraction.padEnd(6, "0") || "0");
}

function formatMicros(value: bigint): string {
  const fraction = (value % 1_000_000n).toString().padStart(6, "0");
  return `${value / 1_000_000n}.${fraction}`;
}

function transferCount(report: VerifyReport): number {
  return typeof report.transfers === "number" ? report.transfers : Number.NaN;
}

function positiveNumber(text: string, name: string): number {
  const value = Number(text);
  if (!(value > 0) || !Number.isFinite(value)) throw new Error(`--${name} must be a positive number, got ${text}`);
  return value;
}

function nonNegativeNumber(text: string, name: string): number {
  const value = Number(text);
  if (!(value >= 0) || !Number.isFinite(value)) throw new Error(`--${name} must be 0 or more, got ${text}`);
  return value;
}
