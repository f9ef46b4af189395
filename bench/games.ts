import { runScenario } from "./lib/cleanup.js";
import { createDatabase } from "./lib/database.js";
import { createTenant, deposit, inParallel, jsonHeaders, request, verify } from "./lib/fixtures.js";
import { measure, median, round } from "./lib/load.js";
import { flags, log, machine, markdownTable, positiveInteger, publish, storeKind, verdict } from "./lib/report.js";
import { startWalletServer } from "./lib/server.js";

/**
 * Casino money movement: durable bets per second through POST /games/bets/ (each its own
 * transaction_id, answered after its group commit), then bulk settlement through POST /batches/
 * (8 190 payouts per request, one transaction each), movements per second. The ledger is
 * verified afterwards.
 *
 *   npm run bench:games -- --store sqlite|postgres [--duration 10] [--connections 100] [--batches 5]
 */

const options = flags("games", {
  store: { type: "string", default: "sqlite", description: "sqlite or postgres" },
  wallets: { type: "string", default: "1000", description: "wallets the bets and payouts are spread over" },
  duration: { type: "string", default: "10", description: "seconds of measured bets" },
  warmup: { type: "string", default: "2", description: "seconds of discarded bets before the measurement" },
  connections: { type: "string", default: "100", description: "autocannon connections for the bets" },
  batches: { type: "string", default: "5", description: "batch requests measured, one after another" },
  "batch-size": { type: "string", default: "8190", description: "movements per batch request" },
});

const TARGETS = { sqlite: 100_000, postgres: 30_000 };
const CURRENCY = "USDTTRC20";

runScenario(async () => {
  const store = storeKind(options.store);
  const wallets = positiveInteger(options.wallets, "wallets");
  const batchSize = positiveInteger(options["batch-size"], "batch-size");
  const database = await createDatabase(store, "games");
  const tenant = await createTenant(database.url);
  const server = await startWalletServer({ databaseUrl: database.url });
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

  log("bets");
  let betNumber = 0;
  const bets = await measure({
    url: server.url,
    connections: positiveInteger(options.connections, "connections"),
    pipelining: 1,
    warmupSeconds: Number(options.warmup),
    seconds: Number(options.duration),
    server,
    request: {
      method: "POST",
      path: "/games/bets/",
      headers: jsonHeaders(tenant.apiKey),
      body: () => {
        betNumber += 1;
        const externalId = externalIds[betNumber % wallets];
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
  await server.stop();
  const ledger = await verify(database.url);
  await database.drop();

  const batchPerSecond = round(batchSize / median(batchSeconds), 0);
  const result = {
    scenario: "games",
    store,
    machine: machine(),
    bets: {
      perSecond: round(bets.rps, 0),
      latencyMs: bets.latencyMs,
      non2xx: bets.non2xx,
      errors: bets.errors,
      server: bets.server,
      machineUsage: bets.machine,
    },
    batches: { size: batchSize, secondsEach: batchSeconds.map((seconds) => round(seconds)), medianMovementsPerSecond: batchPerSecond },
    target: { batchMovementsPerSecond: TARGETS[store], met: batchPerSecond >= TARGETS[store] },
    verify: ledger.ok,
  };
  const markdown = markdownTable(
    ["store", "durable bets/s", "bet p50 ms", "bet p99 ms", "batch movements/s (median)", "target", "verify"],
    [
      [
        store,
        result.bets.perSecond,
        bets.latencyMs.p50,
        bets.latencyMs.p99,
        batchPerSecond,
        `${TARGETS[store]} ${verdict(result.target.met)}`,
        ledger.ok ? "ok" : "FAILED",
      ],
    ],
  );
  publish("games", options.json, result, markdown);
  return ledger.ok && bets.non2xx === 0;
});
