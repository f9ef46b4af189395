import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type Currency, CurrencyRegistry, DEFAULT_CURRENCIES } from "../../src/ledger/currencies.js";

const EXPECTED_DECIMALS: Record<string, number> = {
  BTC: 8,
  ETH: 18,
  USDTTRC20: 6,
  USDTERC20: 6,
  USDCERC20: 6,
  TRX: 6,
  LTC: 8,
};

const valid: Currency = { code: "XMR", network: "monero", decimals: 12, requiredConfirmations: 10 };

describe("currency registry", () => {
  const registry = new CurrencyRegistry(DEFAULT_CURRENCIES);

  for (const [code, decimals] of Object.entries(EXPECTED_DECIMALS)) {
    it(`ships ${code} with ${decimals} decimals and at least one confirmation`, () => {
      const currency = registry.find(code);
      assert.ok(currency, `${code} is in the defaults`);
      assert.equal(currency.code, code);
      assert.equal(currency.decimals, decimals);
      assert.ok(Number.isInteger(currency.requiredConfirmations) && currency.requiredConfirmations >= 1);
      assert.ok(currency.network.length > 0);
    });
  }

  it("every shipped default is valid and listed once", () => {
    const codes = registry.list().map((c) => c.code);
    assert.equal(new Set(codes).size, codes.length);
    assert.deepEqual([...codes].sort(), DEFAULT_CURRENCIES.map((c) => c.code).sort());
    for (const currency of registry.list()) {
      assert.match(currency.code, /^[A-Z0-9]{2,16}$/);
      assert.ok(currency.requiredConfirmations >= 1, currency.code);
    }
  });

  it("looks codes up case-insensitively", () => {
    for (const code of ["btc", "Btc", "bTC", "BTC"]) assert.equal(registry.find(code)?.code, "BTC", code);
    assert.equal(registry.find("usdttrc20")?.code, "USDTTRC20");
    assert.equal(registry.find("UsdcErc20")?.decimals, 6);
    assert.equal(registry.find("eth")?.decimals, 18);
  });

  it("returns undefined for unknown codes", () => {
    assert.equal(registry.find("XYZ"), undefined);
    assert.equal(registry.find(""), undefined);
    assert.equal(registry.find(" BTC"), undefined);
    assert.equal(registry.find("BTC "), undefined);
    assert.equal(registry.find("USDT"), undefined);
  });

  it("accepts a valid custom definition and a later definition overrides an earlier one", () => {
    const custom = new CurrencyRegistry([
      ...DEFAULT_CURRENCIES,
      valid,
      { code: "BTC", network: "bitcoin", decimals: 8, requiredConfirmations: 6 },
    ]);
    assert.deepEqual(custom.find("xmr"), valid);
    assert.equal(custom.find("btc")?.requiredConfirmations, 6);
    assert.equal(custom.list().length, DEFAULT_CURRENCIES.length + 1);
  });

  it("accepts the boundaries: 0 and 30 decimals, 1 and 10000 confirmations, 2- and 16-character codes", () => {
    assert.doesNotThrow(() => new CurrencyRegistry([{ ...valid, decimals: 0 }]));
    assert.doesNotThrow(() => new CurrencyRegistry([{ ...valid, decimals: 30 }]));
    assert.doesNotThrow(() => new CurrencyRegistry([{ ...valid, requiredConfirmations: 1 }]));
    assert.doesNotThrow(() => new CurrencyRegistry([{ ...valid, requiredConfirmations: 10_000 }]));
    assert.doesNotThrow(() => new CurrencyRegistry([{ ...valid, code: "AB" }]));
    assert.doesNotThrow(() => new CurrencyRegistry([{ ...valid, code: "A".repeat(16) }]));
  });

  const invalid: Array<[string, unknown]> = [
    ["lower-case code", { ...valid, code: "xmr" }],
    ["one-character code", { ...valid, code: "X" }],
    ["17-character code", { ...valid, code: "A".repeat(17) }],
    ["code with a dash", { ...valid, code: "USDT-TRC20" }],
    ["empty code", { ...valid, code: "" }],
    ["numeric code", { ...valid, code: 42 }],
    ["missing code", { network: "monero", decimals: 12, requiredConfirmations: 10 }],
    ["empty network", { ...valid, network: "" }],
    ["missing network", { code: "XMR", decimals: 12, requiredConfirmations: 10 }],
    ["negative decimals", { ...valid, decimals: -1 }],
    ["fractional decimals", { ...valid, decimals: 1.5 }],
    ["31 decimals", { ...valid, decimals: 31 }],
    ["string decimals", { ...valid, decimals: "8" }],
    ["NaN decimals", { ...valid, decimals: Number.NaN }],
    ["zero confirmations", { ...valid, requiredConfirmations: 0 }],
    ["negative confirmations", { ...valid, requiredConfirmations: -3 }],
    ["fractional confirmations", { ...valid, requiredConfirmations: 2.5 }],
    ["10001 confirmations", { ...valid, requiredConfirmations: 10_001 }],
    ["missing confirmations", { code: "XMR", network: "monero", decimals: 12 }],
  ];

  for (const [name, definition] of invalid) {
    it(`throws on an invalid definition: ${name}`, () => {
      assert.throws(() => new CurrencyRegistry([definition as Currency]), /invalid currency definition/);
      // One bad entry among good ones still fails the whole registry.
      assert.throws(() => new CurrencyRegistry([...DEFAULT_CURRENCIES, definition as Currency]), /invalid currency definition/);
    });
  }

  it("keeps only the four known fields of a definition", () => {
    const custom = new CurrencyRegistry([{ ...valid, extra: "ignored" } as Currency]);
    assert.deepEqual(Object.keys(custom.find("XMR") ?? {}).sort(), ["code", "decimals", "network", "requiredConfirmations"]);
  });
});

describe("CurrencyRegistry.load", () => {
  const directory = mkdtempSync(join(tmpdir(), "currencies-test-"));
  after(() => rmSync(directory, { recursive: true, force: true }));

  const write = (name: string, content: string): string => {
    const file = join(directory, name);
    writeFileSync(file, content);
    return file;
  };

  it("loads the defaults without a file", () => {
    for (const file of [undefined, ""]) {
      const registry = CurrencyRegistry.load(file);
      assert.equal(registry.list().length, DEFAULT_CURRENCIES.length);
      assert.equal(registry.find("eth")?.decimals, 18);
    }
  });

  it("extends and overrides the defaults from a JSON file", () => {
    const file = write("extra.json", JSON.stringify([valid, { code: "LTC", network: "litecoin", decimals: 8, requiredConfirmations: 12 }]));
    const registry = CurrencyRegistry.load(file);
    assert.deepEqual(registry.find("XMR"), valid);
    assert.equal(registry.find("ltc")?.requiredConfirmations, 12);
    assert.equal(registry.find("BTC")?.decimals, 8);
    assert.equal(registry.list().length, DEFAULT_CURRENCIES.length + 1);
  });

  it("refuses a file that is not an array or holds an invalid definition", () => {
    assert.throws(() => CurrencyRegistry.load(write("object.json", JSON.stringify(valid))), /JSON array/);
    assert.throws(() => CurrencyRegistry.load(write("null.json", "null")), /JSON array/);
    assert.throws(
      () => CurrencyRegistry.load(write("bad.json", JSON.stringify([{ ...valid, decimals: -1 }]))),
      /invalid currency definition/,
    );
    assert.throws(() => CurrencyRegistry.load(write("broken.json", "[{")), SyntaxError);
    // A non-object entry still stops the load (the message is a TypeError's, not ours).
    assert.throws(() => CurrencyRegistry.load(write("null-entry.json", "[null]")));
    assert.throws(() => CurrencyRegistry.load(write("number-entry.json", "[42]")), /invalid currency definition/);
  });
});
