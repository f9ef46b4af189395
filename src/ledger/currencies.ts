import { readFileSync } from "node:fs";
import { assert } from "./assert.js";

/**
 * The currency registry: each code with its network, decimals and the confirmations a deposit
 * needs before it is credited as posted. Shipped defaults can be extended or overridden with a
 * JSON file (CURRENCIES_FILE), because operators list different chains and risk levels.
 */
export interface Currency {
  code: string;
  network: string;
  decimals: number;
  requiredConfirmations: number;
}

export const DEFAULT_CURRENCIES: readonly Currency[] = [
  { code: "BTC", network: "bitcoin", decimals: 8, requiredConfirmations: 2 },
  { code: "ETH", network: "ethereum", decimals: 18, requiredConfirmations: 12 },
  { code: "USDTTRC20", network: "tron", decimals: 6, requiredConfirmations: 19 },
  { code: "USDTERC20", network: "ethereum", decimals: 6, requiredConfirmations: 12 },
  { code: "USDCERC20", network: "ethereum", decimals: 6, requiredConfirmations: 12 },
  { code: "TRX", network: "tron", decimals: 6, requiredConfirmations: 19 },
  { code: "LTC", network: "litecoin", decimals: 8, requiredConfirmations: 6 },
  { code: "DOGE", network: "dogecoin", decimals: 8, requiredConfirmations: 6 },
  { code: "BCH", network: "bitcoin-cash", decimals: 8, requiredConfirmations: 6 },
  { code: "SOL", network: "solana", decimals: 9, requiredConfirmations: 32 },
  { code: "BNB", network: "bsc", decimals: 18, requiredConfirmations: 15 },
  { code: "USDTBEP20", network: "bsc", decimals: 18, requiredConfirmations: 15 },
];

const CODE_PATTERN = /^[A-Z0-9]{2,16}$/;
const MAX_DECIMALS = 30;
const MAX_CONFIRMATIONS = 10_000;

export class CurrencyRegistry {
  readonly #byCode = new Map<string, Currency>();

  constructor(currencies: readonly Currency[]) {
    for (const currency of currencies) this.#byCode.set(currency.code, validated(currency));
  }

  /** Looks a code up case-insensitively (DESIGN 1.2); undefined when unknown. */
  find(code: string): Currency | undefined {
    return this.#byCode.get(code.toUpperCase());
  }

  /** A currency the ledger already holds (a balance, a transfer, a deposit, a limit): one missing is a broken invariant. */
  held(code: string): Currency {
    const currency = this.find(code);
    assert(currency !== undefined, `currency ${code} held by the ledger is in the registry`);
    return currency;
  }

  list(): Currency[] {
    return [...this.#byCode.values()];
  }

  static load(file: string | undefined): CurrencyRegistry {
    if (!file) return new CurrencyRegistry(DEFAULT_CURRENCIES);
    const extra = JSON.parse(readFileSync(file, "utf8")) as Currency[];
    if (!Array.isArray(extra)) throw new Error(`${file} must hold a JSON array of currencies`);
    return new CurrencyRegistry([...DEFAULT_CURRENCIES, ...extra]);
  }
}

function validated(currency: Currency): Currency {
  const { code, network, decimals, requiredConfirmations } = currency;
  const valid =
    typeof code === "string" &&
    CODE_PATTERN.test(code) &&
    typeof network === "string" &&
    network.length > 0 &&
    Number.isInteger(decimals) &&
    decimals >= 0 &&
    decimals <= MAX_DECIMALS &&
    Number.isInteger(requiredConfirmations) &&
    requiredConfirmations >= 1 &&
    requiredConfirmations <= MAX_CONFIRMATIONS;
  if (!valid) throw new Error(`invalid currency definition: ${JSON.stringify(currency)}`);
  return { code, network, decimals, requiredConfirmations };
}
