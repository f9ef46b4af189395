import type { Config } from "../config.js";
import { CurrencyRegistry } from "../ledger/currencies.js";
import type { Store } from "../store/store.js";
import { BatchService } from "./batches.js";
import { CredentialService } from "./credentials.js";
import { DepositService } from "./deposits.js";
import { EventService } from "./events.js";
import { GameService } from "./games.js";
import { HoldService } from "./holds.js";
import { Idempotency } from "./idempotency.js";
import { TransferService } from "./transfers.js";
import { WalletService } from "./wallets.js";
import { WebhookTargetPolicy } from "./webhook-targets.js";
import { WebhookService } from "./webhooks.js";
import { WithdrawalService } from "./withdrawals.js";

/** Every use case, wired to one store; what the HTTP layer and the CLI call. */
export interface Services {
  store: Store;
  currencies: CurrencyRegistry;
  credentials: CredentialService;
  wallets: WalletService;
  transfers: TransferService;
  deposits: DepositService;
  games: GameService;
  holds: HoldService;
  withdrawals: WithdrawalService;
  batches: BatchService;
  events: EventService;
  webhooks: WebhookService;
}

export async function createServices(store: Store, config: Config): Promise<Services> {
  const currencies = CurrencyRegistry.load(config.currenciesFile);
  const tokenKey = await CredentialService.tokenKey(store, config.tokenSecret);
  const idempotency = new Idempotency(store, config.idempotencyRetentionHours * 3600 * 1000);
  const transfers = new TransferService(store, currencies, idempotency);
  const games = new GameService(store, currencies, idempotency);
  return {
    store,
    currencies,
    credentials: new CredentialService(store, tokenKey, config.tokenTtlSeconds),
    wallets: new WalletService(store, idempotency),
    transfers,
    deposits: new DepositService(store, currencies, idempotency),
    games,
    holds: new HoldService(store, currencies, idempotency),
    withdrawals: new WithdrawalService(store, currencies, idempotency),
    batches: new BatchService(transfers, games, idempotency, currencies),
    events: new EventService(store, {
      perTenant: config.streamsPerTenant,
      max: config.streamsMax,
      maxLagEvents: config.streamMaxLagEvents,
      maxStallMs: config.streamMaxStallMs,
    }),
    webhooks: new WebhookService(store, idempotency, WebhookTargetPolicy.fromConfig(config)),
  };
}
