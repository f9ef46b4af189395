import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
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
 * API, and watch the row (and the list's confirming mark) change without a reload. Then the
 * history a casino reconciles by: references, filters by type and day, times with their zone.
 * Then the safer-gambling controls set through the API: a limit's use, a raise waiting, an exclusion.
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
// Below Linux's ephemeral range (32768-60999), so no outgoing connection of another test holds it;
// each file draws from a band of its own.
const PORT = 20_000 + Math.floor(Math.random() * 1000);
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

/** Where the reconciliation test's browser lives: half-hour offset, no daylight saving time. */
const TIME_ZONE = "Asia/Kolkata";
const ZONE_OFFSET = "+05:30";
const ZONE_OFFSET_MS = 5.5 * 3_600_000;

/** Grace Hopper's game round, besides her deposit, a transfer, a hold and a withdrawal. */
const ROUND = { id: "round-77", bet: "bet-9001", win: "win-9001" };

/**
 * Alan Turing's safer-gambling controls, set through the HTTP API once the server runs: a daily
 * loss limit with a bet counted in it, a raise waiting out the cooling-off, and a timeout.
 */
const CONTROLS = { externalId: "player-20877", currency: "USDTTRC20", loss: "50.00", bet: "20.00", raised: "80.00", days: 7 };

/** What GET /wallets/{id}/limits/ answers (the part the test reads). */
interface LimitsAnswer {
  exclusion: { kind: string; started_at: string; ends_at: string } | null;
  currencies: {
    currency: string;
    limits: {
      limit: string;
      window: string | null;
      amount: string;
      used: string | null;
      remaining: string | null;
      resets_at: string | null;
    }[];
    pending_changes: { limit: string; window: string | null; amount: string | null; effective_at: string }[];
    held_amount: string;
  }[];
}

interface Seed {
  tenantId: string;
  apiKey: string;
  systemKey: string;
  holdId: string;
  withdrawalId: string;
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

    // One transfer of every kind that carries a reference, for the reconciliation test.
    const tenantId = tenant.tenantId;
    const grace = { by: "external_id", value: "player-10442" } as const;
    await services.transfers.transferToUser({ tenantId, lookup: grace, currency: "USDTTRC20", amount: "500" });
    const round = { tenantId, lookup: grace, roundId: ROUND.id, currency: "USDTTRC20" };
    await services.games.bet({ ...round, transactionId: ROUND.bet, amount: "25" });
    await services.games.win({ ...round, transactionId: ROUND.win, amount: "60", betTransactionId: ROUND.bet });
    const hold = await services.holds.place({ tenantId, lookup: grace, currency: "USDTTRC20", amount: "100" });
    const withdrawal = await services.withdrawals.request({
      tenantId,
      lookup: grace,
      currency: "USDTTRC20",
      amount: "200",
      address: "TGraceHopperPayout",
    });
    return {
      tenantId,
      apiKey: tenant.apiKey,
      systemKey,
      holdId: hold.value.hold.id,
      withdrawalId: withdrawal.value.withdrawal.id,
    };
  } finally {
    await store.close();
  }
}

/** One request to the service with the tenant's key (writes with a fresh Idempotency-Key); fails on an unexpected status. */
async function call<T>(apiKey: string, method: string, path: string, status: number, body?: object): Promise<T> {
  const headers: Record<string, string> = { "x-api-key": apiKey, accept: "application/json" };
  if (body !== undefined) Object.assign(headers, { "content-type": "application/json", "idempotency-key": randomUUID() });
  const response = await fetch(`${BASE_URL}${path}`, { method, headers, body: body === undefined ? null : JSON.stringify(body) });
  const answer = await response.text();
  assert.equal(response.status, status, `${method} ${path} answered ${response.status}: ${answer}`);
  return JSON.parse(answer) as T;
}

/** Sets CONTROLS through the HTTP API and returns the limits view the API then answers. */
async function setControls(apiKey: string): Promise<LimitsAnswer> {
  const { externalId, currency } = CONTROLS;
  const page = await call<{ accounts: { wallet_id: string }[] }>(apiKey, "GET", `/wallets/?search=${externalId}`, 200);
  const walletId = page.accounts[0]?.wallet_id;
  assert.ok(walletId, `${externalId} is listed`);
  const limitsPath = `/wallets/${walletId}/limits/`;
  await call(apiKey, "PUT", `${limitsPath}${currency}/`, 200, { loss_day: CONTROLS.loss });
  // Counted in the loss limit set just before.
  const bet = { external_id: externalId, transaction_id: "limited-bet", round_id: "limited-round", currency, amount: CONTROLS.bet };
  await call(apiKey, "POST", "/games/bets/", 200, bet);
  // A raise waits out the cooling-off: the limit in force stays, the change is pending.
  await call(apiKey, "PUT", `${limitsPath}${currency}/`, 200, { loss_day: CONTROLS.raised });
  await call(apiKey, "POST", `/wallets/${walletId}/exclusions/`, 201, { kind: "timeout", duration_days: CONTROLS.days });
  return call<LimitsAnswer>(apiKey, "GET", limitsPath, 200);
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

/** The external ids of the listed wallets marked with a confirming deposit. */
function markedWallets(page: Page): Promise<string[]> {
  return page.locator('.wallet-list a[data-pending-deposits="true"]:has(.pending-mark) .wallet-ext').allTextContents();
}

/** The history rows shown, as "type" or "type ref=value ref=value". */
function historyRows(page: Page): Promise<string[]> {
  return page
    .locator(".history tbody tr[data-transfer-id]")
    .evaluateAll((rows) =>
      rows.map((row) =>
        [
          (row as HTMLElement).dataset.type,
          ...[...row.querySelectorAll<HTMLElement>(".ref")].map(
            (ref) => `${ref.dataset.ref}=${ref.querySelector(".ref-value")?.textContent}`,
          ),
        ].join(" "),
      ),
    );
}

/** Polls until the history shows these rows (in any order); the failure names what was shown last. */
async function waitForHistory(page: Page, expected: string[]): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  let shown: string[] = [];
  while (Date.now() < deadline) {
    // A load in flight marks the card busy; rows read then may be the ones it is about to replace.
    const busy = await page.locator(".history-card[aria-busy]").count();
    shown = (await historyRows(page)).sort();
    if (busy === 0 && shown.join("|") === [...expected].sort().join("|")) return;
    await page.waitForTimeout(100);
  }
  assert.deepEqual(shown, [...expected].sort(), `the history did not show ${expected.join(", ")} within ${WAIT_MS} ms`);
}

/** "2026-12-02" plus some days. */
function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

describe("wallet dashboard in a browser", { skip, timeout: 60_000 }, () => {
  let database: TestDatabase;
  let server: ChildProcess | undefined;
  let browser: Browser | undefined;
  let seeded: Seed;
  let controls: LimitsAnswer;

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
    controls = await setControls(seeded.apiKey);
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

    // The list marks the one wallet with a deposit still confirming (a hold is not one).
    await waitForListLength(page, OTHER_PLAYERS.length + 1);
    assert.deepEqual(await markedWallets(page), ["player-12345"]);
    const mark = page.locator(".wallet-list a:has-text('player-12345') .pending-mark");
    assert.equal((await mark.textContent())?.trim(), "Deposit confirming");

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
    await mark.waitFor({ state: "detached" });
    assert.deepEqual(await markedWallets(page), []);
    assert.equal(await page.evaluate(() => "stillTheSamePage" in window), true, "the page was reloaded");
  });

  it("shows the references, filters by type and day, and names the time zone", async () => {
    assert.ok(browser);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: TIME_ZONE });
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    const historyBodies: Record<string, unknown>[] = [];
    page.on("request", (request) => {
      if (request.url().endsWith("/wallets/transfer-history/")) historyBodies.push(request.postDataJSON());
    });
    await page.goto(`${BASE_URL}/dashboard/`);
    await page.getByLabel("API key").fill(seeded.apiKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator(".wallet-list a", { hasText: "player-10442" }).click();
    await page.getByRole("heading", { name: "Grace Hopper" }).waitFor();

    const all = [
      "deposit tx_hash=player-10442-USDTTRC20",
      "to_sub",
      `bet transaction_id=${ROUND.bet} round_id=${ROUND.id}`,
      `win transaction_id=${ROUND.win} round_id=${ROUND.id}`,
      `hold hold_id=${seeded.holdId}`,
      `withdrawal withdrawal_id=${seeded.withdrawalId}`,
    ];
    await waitForHistory(page, all);

    // Every time on the page is in the browser's zone and says which one it is.
    const times = await page
      .locator("time")
      .evaluateAll((elements) =>
        elements.map((element): [string, string] => [element.getAttribute("datetime") ?? "", element.textContent ?? ""]),
      );
    assert.ok(times.length >= all.length + 1, "the history's times and the wallet's creation time");
    for (const [utc, shown] of times) {
      const local = new Date(Date.parse(utc) + ZONE_OFFSET_MS).toISOString();
      assert.equal(shown, `${local.slice(0, 10)} ${local.slice(11, 19)} UTC${ZONE_OFFSET}`);
    }
    const day = times[times.length - 1]?.[1].slice(0, 10) ?? "";
    // Chromium may name the zone by its older alias (Asia/Calcutta).
    assert.match(
      (await page.locator(".filters-zone").textContent()) ?? "",
      /^Days in your time zone: Asia\/(Kolkata|Calcutta), UTC\+05:30$/,
    );

    const type = page.getByLabel("Type", { exact: true });
    await type.selectOption("bet");
    await waitForHistory(page, [all[2] as string]);
    assert.equal(await page.locator(".history-card .count").textContent(), "1");
    await type.selectOption("hold");
    await waitForHistory(page, [all[4] as string]);
    await type.selectOption("");
    await waitForHistory(page, all);

    // Days are the browser's: "from" starts the day, "to" ends it (the API's bound is exclusive).
    const from = page.getByLabel("From", { exact: true });
    const to = page.getByLabel("To", { exact: true });
    await from.fill(day);
    await to.fill(day);
    await waitForHistory(page, all);
    assert.deepEqual(historyBodies.at(-1), {
      wallet_id: historyBodies.at(-1)?.wallet_id,
      from: `${day}T00:00:00${ZONE_OFFSET}`,
      to: `${addDays(day, 1)}T00:00:00${ZONE_OFFSET}`,
      limit: 10,
      offset: 0,
    });
    await to.fill(addDays(day, -1));
    await page.getByText("No transactions match these filters.").waitFor();
    await waitForHistory(page, []);
    await to.fill("");
    await from.fill(addDays(day, 1));
    await page.getByText("No transactions match these filters.").waitFor();
    await from.fill("");
    await waitForHistory(page, all);
    await type.selectOption("withdrawal");
    await from.fill(day);
    await waitForHistory(page, [all[5] as string]);
    await page.getByRole("button", { name: "Clear" }).click();
    await waitForHistory(page, all);
    assert.deepEqual(historyBodies.at(-1), { wallet_id: historyBodies.at(-1)?.wallet_id, limit: 10, offset: 0 });
    await context.close();
  });

  it("shows a wallet's limits with their use, the change waiting and the exclusion", async () => {
    assert.ok(browser);
    const answer = controls.currencies.find((entry) => entry.currency === CONTROLS.currency);
    assert.ok(answer && controls.exclusion, "the API answers the controls set");
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(WAIT_MS);
    await page.goto(`${BASE_URL}/dashboard/`);
    await page.getByLabel("API key").fill(seeded.apiKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator(".wallet-list a", { hasText: CONTROLS.externalId }).click();
    await page.getByRole("heading", { name: "Alan Turing" }).waitFor();
    await page.getByRole("heading", { name: "Safer gambling" }).waitFor();

    const currency = page.locator(`.limits tbody[data-currency="${CONTROLS.currency}"]`);
    const loss = currency.locator('tr[data-limit="loss"][data-window="day"]:not(.limit-change)');
    const cell = (field: string) => loss.locator(`td[data-field="${field}"]`);
    assert.equal((await loss.locator("th").textContent())?.trim(), "Loss per day");
    assert.equal((await cell("amount").textContent())?.trim(), CONTROLS.loss);
    assert.equal((await cell("used").textContent())?.trim(), CONTROLS.bet);
    assert.equal((await cell("remaining").textContent())?.trim(), "30.00");
    const resetsAt = answer.limits[0]?.resets_at;
    assert.ok(resetsAt, "a counted bet gives the limit a reset time");
    assert.equal(await cell("resets_at").locator("time").getAttribute("datetime"), resetsAt);
    assert.equal((await currency.locator('[data-field="held_amount"]').textContent())?.trim(), "0.00");

    const change = currency.locator('tr.limit-change[data-limit="loss"][data-window="day"]');
    assert.equal(await change.count(), 1);
    assert.equal((await change.locator('[data-field="amount"]').textContent())?.trim(), `to ${CONTROLS.raised}`);
    const effectiveAt = answer.pending_changes[0]?.effective_at;
    assert.ok(effectiveAt && Date.parse(effectiveAt) > Date.now(), "the raise waits");
    assert.equal(await change.locator('[data-field="effective_at"] time').getAttribute("datetime"), effectiveAt);

    const exclusion = page.locator('.limits-card .exclusion[data-kind="timeout"]');
    assert.equal((await exclusion.locator('[data-field="kind"]').textContent())?.trim(), "Timeout");
    assert.equal(await exclusion.locator('[data-field="ends_at"] time').getAttribute("datetime"), controls.exclusion.ends_at);
    const days = (Date.parse(controls.exclusion.ends_at) - Date.parse(controls.exclusion.started_at)) / 86_400_000;
    assert.equal(days, CONTROLS.days);

    // A wallet without controls says so.
    await page.locator(".wallet-list a", { hasText: "player-10001" }).click();
    await page.getByRole("heading", { name: "Ada Lovelace" }).waitFor();
    await page.locator(".limits-card").getByText("No limits or exclusions set.").waitFor();
    await page.close();
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
