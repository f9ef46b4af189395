import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { build } from "vite";
import { loadConfig } from "../../src/config.js";
import { createServices } from "../../src/services/services.js";
import { openStore } from "../../src/store/open.js";
import { createTestDatabase, type TestDatabase } from "../helpers.js";

/**
 * The dashboard's acceptance test: a real server process, a real headless Chromium. Sign in,
 * find a player, read the specification's balances, confirm the pending deposit through the
 * API, and watch the row change without a reload.
 */

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
];
/** Where the screenshot goes; DASHBOARD_SCREENSHOT=docs/dashboard.png refreshes the README's. */
const SCREENSHOT = process.env.DASHBOARD_SCREENSHOT ?? join(tmpdir(), "wallet-dashboard.png");
const PORT = 40_000 + Math.floor(Math.random() * 10_000);
const BASE_URL = `http://127.0.0.1:${PORT}`;
const WAIT_MS = 15_000;

const chromiumMissing = !existsSync(CHROMIUM);
const skip =
  chromiumMissing && process.env.CI !== "true" ? `${CHROMIUM} is missing (apt-get install chromium): browser test skipped` : false;

/** Players besides the specification's "Player 12345": name, external id, confirmed deposits. */
const OTHER_PLAYERS: [string, string, [string, string][]][] = [
  ["Ada Lovelace", "player-10001", [["ETH", "1.25"]]],
  ["Grace Hopper", "player-10442", [["USDTTRC20", "1250.00"]]],
  ["Player 12346", "player-12346", [["BTC", "0.0042"]]],
  [
    "Alan Turing",
    "player-20877",
    [
      ["LTC", "18.5"],
      ["USDTTRC20", "75.30"],
      ["TRX", "1200"],
    ],
  ],
  ["Player 31415", "player-31415", []],
];

interface Seed {
  tenantId: string;
  apiKey: string;
  systemKey: string;
}

/** The specification's player plus a few others, so the list and the screenshot look lived in. */
async function seed(databaseUrl: string): Promise<Seed> {
  const store = await openStore(databaseUrl);
  try {
    const services = await createServices(store, { ...loadConfig({}), databaseUrl });
    const tenant = await services.credentials.createTenant("Lucky Casino");
    const systemKey = (await services.credentials.createSystemKey(["deposits"])).apiKey;
    const deposit = (externalId: string | undefined, currency: string, amount: string, txHash: string, confirmations: number) =>
      services.deposits.report({
        tenantId: tenant.tenantId,
        lookup: externalId === undefined ? undefined : { by: "external_id", value: externalId },
        currency,
        amount,
        txHash,
        confirmations,
      });
    await deposit(undefined, "USDTTRC20", "250000", "house-usdt", 19);
    await deposit(undefined, "BTC", "3.5", "house-btc", 2);
    await deposit(undefined, "ETH", "42.75", "house-eth", 12);
    await services.wallets.create(tenant.tenantId, "Player 12345", "player-12345");
    for (const [name, externalId, balances] of OTHER_PLAYERS) {
      await services.wallets.create(tenant.tenantId, name, externalId);
      for (const [currency, amount] of balances) await deposit(externalId, currency, amount, `${externalId}-${currency}`, 1_000);
    }
    await deposit("player-12345", "USDTTRC20", "400", "tron-confirmed", 19);
    await deposit("player-12345", "USDTTRC20", "100", "tron-pending", 3);
    await deposit("player-12345", "BTC", "0.025", "btc-confirmed", 2);
    return { tenantId: tenant.tenantId, apiKey: tenant.apiKey, systemKey };
  } finally {
    await store.close();
  }
}

async function waitUntilServing(): Promise<void> {
  for (let attempt = 0; attempt < 150; attempt += 1) {
    const ready = await fetch(`${BASE_URL}/wallets/`).then(
      (response) => response.status === 401,
      () => false,
    );
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`server on port ${PORT} did not start`);
}

/** The three balance cells of a currency's row, as shown. */
function balanceRow(page: Page, currency: string): Promise<string[]> {
  return page
    .locator(`.balances tr[data-currency="${currency}"] td[data-field]`)
    .allTextContents()
    .then((cells) => cells.map((cell) => cell.trim()));
}

/** Polls until the row shows the expected cells; the failure names what was shown last. */
async function waitForRow(page: Page, currency: string, expected: string[]): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  let shown: string[] = [];
  while (Date.now() < deadline) {
    shown = await balanceRow(page, currency);
    if (shown.join("/") === expected.join("/")) return;
    await page.waitForTimeout(100);
  }
  assert.deepEqual(shown, expected, `the ${currency} row did not show ${expected.join(" / ")} within ${WAIT_MS} ms`);
}

function waitForListLength(page: Page, length: number) {
  return page.waitForFunction((expected) => document.querySelectorAll(".wallet-list a[data-wallet-id]").length === expected, length);
}

describe("wallet dashboard in a browser", { skip, timeout: 60_000 }, () => {
  let database: TestDatabase;
  let server: ChildProcess | undefined;
  let browser: Browser | undefined;
  let seeded: Seed;

  before(async () => {
    if (chromiumMissing) throw new Error(`${CHROMIUM} is missing and CI=true requires the browser test`);
    // Building here tests the dashboard's current source, not whatever dist the last install left.
    await build({ configFile: `${ROOT}dashboard/vite.config.ts`, logLevel: "error" });
    database = await createTestDatabase();
    seeded = await seed(database.url);
    server = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: database.url, PORT: String(PORT), HOST: "127.0.0.1", LOG_LEVEL: "warn" },
      stdio: ["ignore", "ignore", "inherit"],
    });
    await waitUntilServing();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  after(async () => {
    await browser?.close();
    const running = server;
    if (running && running.exitCode === null) await new Promise((resolve) => running.once("exit", resolve).kill("SIGTERM"));
    await database?.drop();
  });

  it("shows the specification's balances and follows a deposit's confirmation live", async () => {
    assert.ok(browser);
    const page = await browser.newPage({ viewport: { width: 1280, height: 820 }, deviceScaleFactor: 1 });
    page.setDefaultTimeout(WAIT_MS);

    await page.goto(`${BASE_URL}/dashboard/`);
    await page.getByLabel("API key").fill("wk_not_a_key");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "not accepted" }).waitFor();
    await page.getByLabel("API key").fill(seeded.apiKey);
    await page.getByRole("button", { name: "Sign in" }).click();

    const search = page.getByRole("searchbox", { name: /Search wallets/ });
    await search.fill("player-12345");
    await waitForListLength(page, 1);
    await page.locator(".wallet-list a", { hasText: "player-12345" }).click();

    await page.getByRole("heading", { name: "Player 12345" }).waitFor();
    await waitForRow(page, "USDTTRC20", ["500.00", "100.00", "400.00"]);
    await waitForRow(page, "BTC", ["0.025", "0.00", "0.025"]);
    const confirming = page.locator('.deposit-row[data-deposit="tron-pending"] .pill');
    assert.equal((await confirming.textContent())?.trim(), "confirming 3 of 19");
    await page.locator(".live[data-state='live']").waitFor();

    // The whole list beside the open wallet makes a better picture than a one-row search result.
    await search.fill("");
    await search.blur();
    await waitForListLength(page, OTHER_PLAYERS.length + 1);
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // A reload would discard this marker, so finding it at the end proves there was none.
    await page.evaluate(() => Object.assign(window, { stillTheSamePage: true }));
    const confirmation = await fetch(`${BASE_URL}/deposits/`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": seeded.systemKey },
      body: JSON.stringify({
        tenant_id: seeded.tenantId,
        external_id: "player-12345",
        currency: "USDTTRC20",
        amount: "100",
        tx_hash: "tron-pending",
        confirmations: 19,
      }),
    });
    assert.equal(confirmation.status, 200);
    assert.equal(((await confirmation.json()) as { deposit: { status: string } }).deposit.status, "confirmed");

    await waitForRow(page, "USDTTRC20", ["500.00", "0.00", "500.00"]);
    await confirming.waitFor({ state: "detached" });
    assert.equal(await page.evaluate(() => "stillTheSamePage" in window), true, "the page was reloaded");
  });

  it("fits a phone-width screen", async () => {
    assert.ok(browser);
    const page = await browser.newPage({ viewport: { width: 375, height: 812 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    page.setDefaultTimeout(WAIT_MS);
    await page.goto(`${BASE_URL}/dashboard/`);
    await page.getByLabel("API key").fill(seeded.apiKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator(".wallet-list a", { hasText: "player-20877" }).click();
    await page.getByRole("heading", { name: "Alan Turing" }).waitFor();
    await waitForRow(page, "TRX", ["1200.00", "0.00", "1200.00"]);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 375, `the page is ${width} px wide on a 375 px screen`);
    await page.getByRole("link", { name: "All wallets" }).click();
    await page.getByRole("searchbox", { name: /Search wallets/ }).waitFor();

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("API key").waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, "signing out forgets the key");
  });
});
