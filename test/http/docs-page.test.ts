import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { type Browser, chromium } from "playwright-core";
import { startApp, type TestApp } from "../helpers.js";

/**
 * The interactive API page at /docs/ in a real headless Chromium, with every request that
 * leaves the service refused: it must render the document offline, under its
 * Content-Security-Policy, with no violation.
 */

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"];
const chromiumMissing = !existsSync(CHROMIUM);
const skip =
  chromiumMissing && process.env.CI !== "true" ? `${CHROMIUM} is missing (apt-get install chromium): browser test skipped` : false;

describe("the /docs/ page in a browser", { skip, timeout: 60_000 }, () => {
  let test: TestApp;
  let browser: Browser | undefined;
  let base = "";

  before(async () => {
    if (chromiumMissing) throw new Error(`${CHROMIUM} is missing and CI=true requires the browser test`);
    test = await startApp();
    await test.app.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(test.app.server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  after(async () => {
    await browser?.close();
    await test?.close();
  });

  it("renders every tag's operations and the webhooks from the service's own files, offline", async () => {
    assert.ok(browser);
    const page = await browser.newPage();
    page.setDefaultTimeout(15_000);
    const outside: string[] = [];
    const violations: string[] = [];
    await page.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith(base) || url.startsWith("data:")) return route.continue();
      outside.push(url);
      return route.abort();
    });
    page.on("console", (message) => {
      if (/Content.Security.Policy|Refused to/i.test(message.text())) violations.push(message.text());
    });
    await page.goto(`${base}/docs/`);
    await page.locator(".swagger-ui .info .title").filter({ hasText: "Casino wallet service" }).waitFor();
    await page.locator(".opblock-summary-path", { hasText: "/wallets/balances/" }).first().waitFor();
    const operations = await page.locator(".opblock").count();
    assert.ok(operations >= 28, `${operations} operations rendered`);
    assert.ok((await page.getByText("deposit.confirmed").count()) > 0, "the webhooks are listed");
    assert.deepEqual(outside, []);
    assert.deepEqual(violations, []);
  });
});
