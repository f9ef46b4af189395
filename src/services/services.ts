import type { Config } from "../config.js";
import { CurrencyRegistry } from "../ledger/currencies.js";
import type { Store } from "../store/store.js";
import { CredentialService } from "./credentials.js";
import { DepositService } from "./deposits.js";
import { TransferService } from "./transfers.js";
import { WalletService } from "./wallets.js";

/** Every use case, wired to one store; what the HTTP layer and the CLI call. */
export interface Services {
  store: Store;
  currencies: CurrencyRegistry;
  credentials: CredentialService;
  wallets: WalletService;
  transfers: TransferService;
  deposits: DepositService;
}

export async function createServices(store: Store, config: Config): Promise<Services> {
  const currencies = CurrencyRegistry.load(config.currenciesFile);
  const tokenKey = await CredentialService.tokenKey(store, config.tokenSecret);
  return {
    store,
    currencies,
    credentials: new CredentialService(store, tokenKey, config.tokenTtlSeconds),
    wallets: new WalletService(store),
    transfers: new TransferService(store, currencies),
    deposits: new DepositService(store, currencies),
  };
}
