import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { storageFloor } from "./lib/batch-floor.js";
import { runScenario } from "./lib/cleanup.js";
import { createDatabase } from "./lib/database.js";
import { diskUsage, type Growth, growth } from "./lib/disk-usage.js";
import { createTenant, deposit, inParallel, jsonHeaders, request, verify } from "./lib/fixtures.js";
import { type LoadResult, measure, median, round } from "./lib/load.js";
import { profileMarkdown, summarizeProfiles } from "./lib/profile.js";
import { flags, log, machine, markdownTable, positiveInteger, publish, storeKind, verdict } from "./lib/report.js";
import { type ServerProcess, startWalletServer } from "./lib/server.js";

/**
 * Casino money movement: durable bets per second through POST /games/bets/ (each its own
 * transaction_id, answered after its group commit), then bulk settlement through POST /batches/
 * (8 190 payouts per request, one transaction each), movements per second. The ledger is
 * verified afterwards. Then the storage floor: the same rows written straight through the driver
 * (bench/lib/batch-floor.ts), the most any code on top of this schema could reach here.
 *
 * Bytes on disk per movement: before the payout batches come batches of game movements (bets and
 * their wins, through POST /batches/), and the database is measured before and after each kind
 * (bench/lib/disk-usage.ts): total bytes per movement, and per table the bytes per row added,
 * indexes included. The game batches come first so that the storage floor, which copies the
 * last rows written, copies payouts as before.
 *
 *   npm run bench:games -- --store sqlite|postgres [--duration 10] [--connections 100] [--batches 5] [--game-batches 2] [--profile]
 *
 * --duration 0 skips the bets and measures batches only.
 */

const options = flags("games", {
  store: { type: "string", default: "sqlite", description: "sqlite or postgres" },
  wallets: { type: "string", default: "1000", description: "wallets the bets and payouts are spread over" },
  duration: { type: "string", default: "10", description: "seconds of measured bets" },
  warmup: { type: "string", default: "2", description: "seconds of discarded bets before the measurement" },
  connections: { type: "string", default: "100", description: "autocannon connections for the bets" },
  batches: { type: "string", default: "5", description: "batch requests measured, one after another" },
  "game-batches": { type: "string", default: "2", description: "batch requests of bets and wins (bytes per game movement); 0 skips them" },
  "batch-size": { type: "string", default: "8190", description: "movements per batch request" },
  profile: { type: "boolean", description: "CPU-profile the server (node --cpu-prof) and print its top frames" },
});

const TARGETS = { sqlite: 100_000, postgres: 30_000 };
const CURRENCY = "USDTTRC20";

runScenario(async () => {
  const store = storeKind(options.store);
  const wallets = positiveInteger(options.wallets, "wallets");
  const batchSize = positiveInteger(options["batch-size"], "batch-size");
  const database = await createDatabase(store, "games");
  const tenant = await createTenant(database.url);
  const profileDir = options.profile === "true" ? mkdtempSync(join(tmpdir(), "wallet-bench-profile-")) : undefined;
  const server = await startWalletServer({ databaseUrl: database.url, cpuProfileDir: profileDir });
  const externalIds = Array.from({ length: wallets }, (_, index) => `bench-player-${index}`);
  log(`funding the master account and ${wallets} wallets`);
  await deposit(server.url, tenant, { master: true }, CURRENCY, "1000000000", "bench-master");
  await inParallel(externalIds, 20, async (externalId) => {
    await request(server.url, "POST", "/wallets/", tenant.apiKey, { name: externalId, external_id: externalId }, 201);
    await request(server.url, "POST", "/wallets/transfer-to-user/", tenant.apiKey, {
      external_id: externalId,
      currency: CURRENCY,
      amount: "100000",
    });
  });

  const bets = Number(options.duration) > 0 ? await measureBets(server, tenant.apiKey, externalIds) : undefined;

  const gameBatchCount = nonNegativeInteger(options["game-batches"], "game-batches");
  const beforeGames = await diskUsage(database);
  const games = gameBatchCount > 0 ? await gameBatches(server.url, tenant.apiKey, externalIds, gameBatchCount, batchSize) : undefined;
  const beforePayouts = games ? await diskUsage(database) : beforeGames;

  log(`batches of ${batchSize}`);
  const batchSeconds: number[] = [];
  for (let round_ = 0; round_ < positiveInteger(options.batches, "batches"); round_ += 1) {
    const movements = Array.from({ length: batchSize }, (_, index) => ({
      type: "transfer_to_user",
      external_id: externalIds[index % wallets],
      currency: CURRENCY,
      amount: "0.01",
    }));
    const started = performance.now();
    const answer = await request<{ succeeded: number }>(server.url, "POST", "/batches/", tenant.apiKey, { movements });
    batchSeconds.push((performance.now() - started) / 1000);
    if (answer.json.succeeded !== batchSize) throw new Error(`a batch committed ${answer.json.succeeded} of ${batchSize}`);
  }
  const afterPayouts = await diskUsage(database);
  const payoutMovements = batchSize * positiveInteger(options.batches, "batches");
  const bytes = {
    ...(games ? { gameMovements: growth(beforeGames, beforePayouts, games.movements) } : {}),
    payouts: growth(beforePayouts, afterPayouts, payoutMovements),
  };
  await server.stop();
  const profiles = profileDir ? summarizeProfiles(profileDir) : undefined;
  const ledger = await verify(database.url);
  const floor = await storageFloor(database, batchSize, positiveInteger(options.batches, "batches"));
  await database.drop();

  const batchPerSecond = round(batchSize / median(batchSeconds), 0);
  const result = {
    scenario: "games",
    store,
    machine: machine(),
    bets: bets && {
      perSecond: round(bets.rps, 0),
      latencyMs: bets.latencyMs,
      non2xx: bets.non2xx,
      errors: bets.errors,
      server: bets.server,
      machineUsage: bets.machine,
    },
    batches: { size: batchSize, secondsEach: batchSeconds.map((seconds) => round(seconds)), medianMovementsPerSecond: batchPerSecond },
    gameBatches: games && {
      size: batchSize,
      secondsEach: games.secondsEach.map((seconds) => round(seconds)),
      medianMovementsPerSecond: round(batchSize / median(games.secondsEach), 0),
    },
    bytesOnDisk: bytes,
    storageFloor: floor,
    target: { batchMovementsPerSecond: TARGETS[store], met: batchPerSecond >= TARGETS[store] },
    verify: ledger.ok,
    ...(profiles ? { profiles } : {}),
  };
  const markdown = markdownTable(
    ["store", "durable bets/s", "bet p50 ms", "bet p99 ms", "batch movements/s (median)", "storage floor movements/s", "target", "verify"],
    [
      [
        store,
        bets ? round(bets.rps, 0) : "-",
        bets?.latencyMs.p50 ?? "-",
        bets?.latencyMs.p99 ?? "-",
        batchPerSecond,
        `${floor.medianMovementsPerSecond} (batch = ${Math.round((batchPerSecond / floor.medianMovementsPerSecond) * 100)}%)`,
        `${TARGETS[store]} ${verdict(result.target.met)}`,
        ledger.ok ? "ok" : "FAILED",
      ],
    ],
  );
  const sections = [markdown, "", ...bytesMarkdown(bytes), ...(profiles ? ["", profileMarkdown(profiles)] : [])];
  publish("games", options.json, result, sections.join("\n"));
  return ledger.ok && (bets?.non2xx ?? 0) === 0;
});

/** Durable bets per second: each its own transaction_id, answered after its group commit. */
function measureBets(server: ServerProcess, apiKey: string, externalIds: string[]): Promise<LoadResult> {
  log("bets");
  let betNumber = 0;
  return measure({
    url: server.url,
    connections: positiveInteger(options.connections, "connections"),
    pipelining: 1,
    warmupSeconds: Number(options.warmup),
    seconds: Number(options.duration),
    server,
    request: {
      method: "POST",
      path: "/games/bets/",
      headers: jsonHeaders(apiKey),
      body: () => {
        betNumber += 1;
        const externalId = externalIds[betNumber % externalIds.length];
        return JSON.stringify({
          external_id: externalId,
          currency: CURRENCY,
          amount: "0.01",
          transaction_id: `bet-${betNumber}`,
          round_id: `round-${betNumber}`,
        });
      },
    },
  });
}

function nonNegativeInteger(text: string, name: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`--${name} must be a whole number, 0 or more, got ${text}`);
  return value;
}

/**
 * Batches of game movements, as a casino settles rounds in bulk: each bet is followed by its win
 * (same wallet, same round), so half the movements are bets and half are wins, and every bet
 * ends settled, as most do. Each has its own transaction_id, distinct from the bets above.
 */
async function gameBatches(url: string, apiKey: string, externalIds: string[], count: number, size: number) {
  log(`game batches: ${count} of ${size} bets and wins`);
  const secondsEach: number[] = [];
  for (let batch = 0; batch < count; batch += 1) {
    const movements = Array.from({ length: size }, (_, index) => {
      const pair = batch * Math.ceil(size / 2) + Math.floor(index / 2);
      const common = {
        external_id: externalIds[pair % externalIds.length],
        currency: CURRENCY,
        amount: "0.01",
        round_id: `batch-round-${pair}`,
      };
      return index % 2 === 0
        ? { type: "bet", ...common, transaction_id: `batch-bet-${pair}` }
        : { type: "win", ...common, transaction_id: `batch-win-${pair}`, bet_transaction_id: `batch-bet-${pair}` };
    });
    const started = performance.now();
    const answer = await request<{ succeeded: number }>(url, "POST", "/batches/", apiKey, { movements });
    secondsEach.push((performance.now() - started) / 1000);
    if (answer.json.succeeded !== size) throw new Error(`a game batch committed ${answer.json.succeeded} of ${size}`);
  }
  return { movements: count * size, secondsEach };
}

/** One table per kind of movement: bytes per movement, and where they went. */
function bytesMarkdown(bytes: { gameMovements?: Growth; payouts: Growth }): string[] {
  const section = (title: string, measured: Growth) => [
    `Bytes on disk per ${title}: ${measured.bytesPerMovement} (${measured.movements} movements, ${measured.bytesAdded} bytes added; files: ${measured.filesBytesPerMovement} per movement)`,
    "",
    markdownTable(
      ["table", "rows added", "bytes per movement", "bytes per row added", "of which table", "of which indexes", "average bytes per row"],
      measured.tables.map((table) => [
        table.table,
        table.rowsAdded,
        table.bytesPerMovement,
        table.bytesPerRow ?? "-",
        table.tableBytesPerRow ?? "-",
        table.indexBytesPerRow ?? "-",
        table.averageBytesPerRow ?? "-",
      ]),
    ),
    "",
  ];
  return [
    ...(bytes.gameMovements ? section("game movement (bets and wins through POST /batches/)", bytes.gameMovements) : []),
    ...section("payout (transfer_to_user through POST /batches/)", bytes.payouts),
  ];
}
