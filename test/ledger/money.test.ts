import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { InvariantError } from "../../src/ledger/assert.js";
import { AmountError, formatAmount, MAX_AMOUNT_MINOR, parseAmount } from "../../src/ledger/money.js";

/** The canonical wire form of a decimal, computed by hand (independently of formatAmount). */
function canonical(whole: string, fraction: string): string {
  const trimmedWhole = whole.replace(/^0+/, "") || "0";
  let trimmedFraction = fraction;
  while (trimmedFraction.endsWith("0")) trimmedFraction = trimmedFraction.slice(0, -1);
  while (trimmedFraction.length < 2) trimmedFraction += "0";
  return `${trimmedWhole}.${trimmedFraction}`;
}

const digitString = (minLength: number, maxLength: number) =>
  fc.string({ unit: fc.constantFrom("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"), minLength, maxLength });

describe("formatAmount", () => {
  it("writes the specification's examples", () => {
    assert.equal(formatAmount(50000n, 2), "500.00");
    assert.equal(formatAmount(2500000n, 8), "0.025");
    assert.equal(formatAmount(0n, 2), "0.00");
    assert.equal(formatAmount(0n, 18), "0.00");
    assert.equal(formatAmount(150n, 2), "1.50");
    assert.equal(formatAmount(100000000n, 8), "1.00");
  });

  it("writes other edge cases", () => {
    assert.equal(formatAmount(1n, 18), "0.000000000000000001");
    assert.equal(formatAmount(1n, 2), "0.01");
    assert.equal(formatAmount(10n, 2), "0.10");
    assert.equal(formatAmount(123n, 0), "123.00");
    assert.equal(formatAmount(7n, 1), "0.70");
    assert.equal(formatAmount(123456789n, 3), "123456.789");
    assert.equal(formatAmount(1234567890123456789012345678n, 18), "1234567890.123456789012345678");
    assert.equal(formatAmount(2n ** 100n, 0), `${2n ** 100n}.00`);
    // Negative balances (the chain account) keep their sign.
    assert.equal(formatAmount(-150n, 2), "-1.50");
    assert.equal(formatAmount(-1n, 8), "-0.00000001");
  });

  it("refuses invalid decimals", () => {
    assert.throws(() => formatAmount(1n, -1), InvariantError);
    assert.throws(() => formatAmount(1n, 1.5), InvariantError);
    assert.throws(() => formatAmount(1n, Number.NaN), InvariantError);
  });

  it("always writes the canonical form: no leading zeros, trailing zeros trimmed, at least two decimals", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_AMOUNT_MINOR }), fc.integer({ min: 0, max: 18 }), (minor, decimals) => {
        const text = formatAmount(minor, decimals);
        const match = /^(0|[1-9]\d*)\.(\d{2,})$/.exec(text);
        assert.ok(match, `${text} is not in wire format`);
        const fraction = match[2] ?? "";
        if (fraction.length > 2) assert.ok(!fraction.endsWith("0"), `${text} has untrimmed zeros`);
        // The value written is the value given: compare as a rational with the same denominator.
        const scale = Math.max(decimals, fraction.length);
        const written = BigInt((match[1] ?? "") + fraction.padEnd(scale, "0"));
        assert.equal(written, minor * 10n ** BigInt(scale - decimals));
      }),
      { numRuns: 1000 },
    );
  });

  it("negates the sign only", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: MAX_AMOUNT_MINOR }), fc.integer({ min: 0, max: 18 }), (minor, decimals) => {
        assert.equal(formatAmount(-minor, decimals), `-${formatAmount(minor, decimals)}`);
      }),
      { numRuns: 300 },
    );
  });
});

describe("parseAmount", () => {
  it("reads the specification's examples", () => {
    assert.equal(parseAmount("500", 2), 50000n);
    assert.equal(parseAmount("500.00", 2), 50000n);
    assert.equal(parseAmount("0.025", 8), 2500000n);
    assert.equal(parseAmount("1.5", 2), 150n);
    assert.equal(parseAmount("1.50", 2), 150n);
    assert.equal(parseAmount("12.50", 2), 1250n);
  });

  it("reads an 18-decimal ETH amount exactly, beyond 64 bits", () => {
    const minor = parseAmount("1234567890.123456789012345678", 18);
    assert.equal(minor, 1234567890123456789012345678n);
    assert.ok(minor > 2n ** 64n);
    assert.equal(formatAmount(minor, 18), "1234567890.123456789012345678");
    assert.equal(parseAmount("0.000000000000000001", 18), 1n);
  });

  it("accepts JSON numbers without going through float arithmetic", () => {
    assert.equal(parseAmount(100.5, 2), 10050n);
    assert.equal(parseAmount(100, 2), 10000n);
    assert.equal(parseAmount(0.29, 2), 29n); // 0.29 * 100 is 28.999999999999996 in floating point
    assert.equal(parseAmount(1.1, 8), 110000000n);
    assert.equal(parseAmount(0.000001, 6), 1n);
    assert.equal(parseAmount(0.1, 18), 100000000000000000n);
    assert.equal(parseAmount(1e20, 2), 10n ** 22n);
  });

  it("a JSON number reads the same as its decimal string", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000_000 }), fc.integer({ min: 0, max: 6 }), (units, places) => {
        // A number with at most `places` decimals, e.g. 12345 with 2 places is 123.45.
        const value = units / 10 ** places;
        const text = String(value);
        fc.pre(!/e/i.test(text));
        assert.equal(parseAmount(value, 8), parseAmount(text, 8));
        assert.equal(parseAmount(value, 8), BigInt(units) * 10n ** BigInt(8 - places));
      }),
      { numRuns: 500 },
    );
  });

  const rejected: Array<[string, string | number, number]> = [
    ["exponent string", "1e3", 2],
    ["upper-case exponent", "1E3", 2],
    ["negative string", "-1", 2],
    ["explicit plus", "+1", 2],
    ["zero", "0", 2],
    ["zero with decimals", "0.00", 2],
    ["zero with 18 decimals", "0.000000000000000000", 18],
    ["too many decimals", "1.234", 2],
    ["too many decimals even if zero", "1.000", 2],
    ["too many decimals for ETH", "0.0000000000000000001", 18],
    ["empty", "", 2],
    ["leading space", " 1", 2],
    ["trailing space", "1 ", 2],
    ["trailing newline", "1\n", 2],
    ["dangling point", "1.", 2],
    ["no whole part", ".5", 2],
    ["letters", "abc", 2],
    ["hex", "0x10", 2],
    ["comma", "1,5", 2],
    ["underscore", "1_000", 2],
    ["two points", "1.2.3", 2],
    ["non-ASCII digits", "\u0661\u0662", 2],
    ["Infinity string", "Infinity", 2],
    ["NaN string", "NaN", 2],
    ["too long string (41 chars, value 1)", `${"0".repeat(40)}1`, 2],
    ["very long string", "9".repeat(1000), 2],
    ["above the maximum", (MAX_AMOUNT_MINOR + 1n).toString(), 0],
    ["above the maximum by decimals", "10000000000000", 18],
    ["NaN", Number.NaN, 2],
    ["Infinity", Number.POSITIVE_INFINITY, 2],
    ["-Infinity", Number.NEGATIVE_INFINITY, 2],
    ["1e21 as a number", 1e21, 2],
    ["1e-7 as a number", 1e-7, 8],
    ["negative number", -1, 2],
    ["zero number", 0, 2],
    ["negative zero", -0, 2],
    ["number with too many decimals", 1.234, 2],
    ["float artefact", 0.1 + 0.2, 2],
  ];

  for (const [name, input, decimals] of rejected) {
    it(`rejects ${name}: ${JSON.stringify(typeof input === "string" ? input.slice(0, 50) : String(input))} with ${decimals} decimals`, () => {
      assert.throws(() => parseAmount(input, decimals), AmountError);
    });
  }

  it("accepts the maximum itself", () => {
    assert.equal(parseAmount(MAX_AMOUNT_MINOR.toString(), 0), MAX_AMOUNT_MINOR);
  });

  it("reads any valid decimal string to its value and formats it back canonically", () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 0, max: 18 })
          .chain((decimals) =>
            fc.record({ decimals: fc.constant(decimals), whole: digitString(1, 12), fraction: digitString(0, decimals) }),
          ),
        ({ decimals, whole, fraction }) => {
          const text = fraction === "" ? whole : `${whole}.${fraction}`;
          const expected = BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction || "0") * 10n ** BigInt(decimals - fraction.length);
          if (expected === 0n) {
            assert.throws(() => parseAmount(text, decimals), AmountError);
            return;
          }
          const minor = parseAmount(text, decimals);
          assert.equal(minor, expected, `${text} with ${decimals} decimals`);
          assert.equal(formatAmount(minor, decimals), canonical(whole, fraction));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("rejects any string with more decimals than the currency has", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 18 }),
        digitString(1, 10),
        fc.integer({ min: 1, max: 5 }),
        digitString(0, 3),
        (decimals, whole, extra, tail) => {
          const fraction = `${"1".repeat(decimals + extra)}${tail}`;
          assert.throws(() => parseAmount(`${whole}.${fraction}`, decimals), AmountError);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("round-trips: parse(format(x)) == x for every positive amount", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: MAX_AMOUNT_MINOR }), fc.integer({ min: 0, max: 18 }), (minor, decimals) => {
        const text = formatAmount(minor, decimals);
        if (decimals >= 2) {
          assert.equal(parseAmount(text, decimals), minor);
          return;
        }
        // With fewer than 2 decimals the wire form is padded ("5.00" for 5 units of a
        // 0-decimal currency), so it carries more decimals than the currency has: the padding
        // is zeros, and without it the text reads back exactly.
        const padding = 2 - decimals;
        assert.ok(text.endsWith("0".repeat(padding)), text);
        const unpadded = decimals === 0 ? text.slice(0, -3) : text.slice(0, -1);
        assert.equal(parseAmount(unpadded, decimals), minor);
        const scaled = minor * 10n ** BigInt(padding);
        if (scaled <= MAX_AMOUNT_MINOR) assert.equal(parseAmount(text, 2), scaled);
      }),
      { numRuns: 1000 },
    );
  });
});
