import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { loadConfig } from "../../src/config.js";
import { createServices } from "../../src/services/services.js";
import { verifyLedger } from "../../src/services/verify.js";
import { openStore } from "../../src/store/open.js";
import { createTestDatabase, type TestDatabase } from "../helpers.js";

// Below Linux's ephemeral range (32768-60999), so no outgoing connection of another test holds it;
// each file draws from a band of its own.
const PORT = 21_000 + Math.floor(Math.random() * 1000);

/** A crash (SIGKILL, no shutdown) loses no write that was acknowledged. */
describe("durability", () => {
  let database: TestDatabase;
  let apiKey = "";
  let tenantId = "";

  before(async () => {
    database = await createTestDatabase();
    const store = await openStore(database.url);
    const services = await createServices(store, { ...loadConfig({}), databaseUrl: database.url });
    const tenant = await services.credentials.createTenant("Crash Casino");
    apiKey = tenant.apiKey;
    tenantId = tenant.tenantId;
    await services.wallets.create(tenantId, "Crash Player", "crash-player");
    await services.deposits.report({
      tenantId,
      lookup: undefined,
      currency: "USDTTRC20",
      amount: "100000",
      txHash: "fund",
      confirmations: 99,
    });
    await store.close();
  });
  after(() => database.drop());

  it("keeps every acknowledged movement after the server is killed mid-load", async () => {
    const server = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      env: { ...process.env, DATABASE_URL: database.url, PORT: String(PORT), HOST: "127.0.0.1", LOG_LEVEL: "silent" },
      stdio: "ignore",
    });
    const exited = new Promise((resolve) => server.once("exit", resolve));
    for (let attempt = 0; attempt < 150; attempt += 1) {
      if (
        await fetch(`http://127.0.0.1:${PORT}/wallets/`).then(
          () => true,
          () => false,
        )
      )
        break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const acknowledged: string[] = [];
    const send = async (): Promise<void> => {
      for (;;) {
        const response = await fetch(`http://127.0.0.1:${PORT}/wallets/transfer-to-user/`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-api-key": apiKey },
          body: JSON.stringify({ external_id: "crash-player", currency: "USDTTRC20", amount: "1" }),
        }).catch(() => undefined);
        if (!response) return;
        const body = (await response.json().catch(() => undefined)) as { transfer?: { id: string } } | undefined;
        if (response.status === 200 && body?.transfer) acknowledged.push(body.transfer.id);
        if (acknowledged.length >= 300) server.kill("SIGKILL");
      }
    };
    await Promise.all(Array.from({ length: 32 }, send));
    await exited;
    assert.ok(acknowledged.length >= 300);

    const store = await openStore(database.url);
    try {
      const wallet = await store.findWalletWithAccounts(tenantId, { by: "external_id", value: "crash-player" });
      assert.ok(wallet);
      const history = await store.listTransfers({ tenantId, walletUuid: wallet.wallet.uuid, limit: 100_000, offset: 0 });
      const stored = new Set(history.transfers.map((transfer) => transfer.id));
      const lost = acknowledged.filter((id) => !stored.has(id));
      assert.deepEqual(lost, [], `${lost.length} acknowledged movements were lost`);
      const [account] = wallet.accounts;
      assert.equal(account?.creditsPosted, BigInt(history.total) * 1_000_000n);
      assert.equal((await verifyLedger(store)).ok, true);
    } finally {
      await store.close();
    }
  });
});
