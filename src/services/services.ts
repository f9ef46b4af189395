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
import { LimitRules } from "./limit-rules.js";
import { LimitService } from "./limits.js";
import { OperatorService } from "./operator.js";
import { SharedRateLimiter } from "./rate-limiter.js";
import { TransferService } from "./transfers.js";
import { type LedgerReport, verifyLedger } from "./verify.js";
import { WalletService } from "./wallets.js";
import { type WebhookTargetOptions, WebhookTargetPolicy } from "./webhook-targets.js";
import { WebhookService } from "./webhooks.js";
import { WithdrawalService } from "./withdrawals.js";

/**
 * How many holds, and how many idempotency keys, one sweep handles: a backlog is worked off over
 * several sweeps instead of in one long burst of transactions.
 */
export const SWEEP_BATCH = 500;

/**
 * Every use case, wired to one store: what the HTTP layer, the command line and the background
 * workers call. The store itself is not among them, so that nothing outside the use cases
 * reads or writes it (the composition root, src/runtime.ts, owns it).
 */
export interface Services {
  currencies: CurrencyRegistry;
  credentials: CredentialService;
  wallets: WalletService;
  transfers: TransferService;
  deposits: DepositService;
  games: GameService;
  holds: HoldService;
  withdrawals: WithdrawalService;
  /** Safer-gambling limits and exclusions (set, shown; enforced by each movement's rules). */
  limits: LimitService;
  batches: BatchService;
  events: EventService;
  webhooks: WebhookService;
  /** Readiness, metrics, and the command line's listings and tenant policy. */
  operator: OperatorService;
  /** Request counts shared by every process on the database (rate limiting). */
  rateLimits: SharedRateLimiter;
  /**
   * Applies what time decides as of `now`: expires pending holds past their timeout, forgets
   * idempotency keys past their retention, and settles safer-gambling controls that are due
   * (scheduled limit changes, ended exclusions, held deposits that fit). Returns how many holds it expired.
   */
  sweep(now: string): Promise<number>;
  /** Recomputes every account from its transfers and checks the ledger's invariants (DESIGN 1.6). */
  verify(): Promise<LedgerReport>;
}

/** Which webhook targets may be contacted: registration (the services) and delivery (the dispatcher) use the same. */
export function webhookTargetOptions(
  config: Pick<Config, "webhookAllowHttp" | "webhookAllowedTargets" | "webhookResolveHost">,
): WebhookTargetOptions {
  return {
    allowHttp: config.webhookAllowHttp,
    allowedTargets: config.webhookAllowedTargets,
    ...(config.webhookResolveHost ? { resolveHost: config.webhookResolveHost } : {}),
  };
}

export async function createServices(store: Store, config: Config): Promise<Services> {
  const currencies = CurrencyRegistry.load(config.currenciesFile);
  const tokenKey = await CredentialService.tokenKey(store, config.tokenSecret);
  const idempotency = new Idempotency(store, config.idempotencyRetentionHours * 3600 * 1000);
  const rules = new LimitRules(currencies, config.limitsClock ?? Date.now);
  const transfers = new TransferService(store, currencies, idempotency, rules);
  const games = new GameService(store, currencies, idempotency, rules);
  const holds = new HoldService(store, currencies, idempotency, rules);
  const limits = new LimitService(store, currencies, idempotency, rules);
  const credentials = new CredentialService(store, tokenKey, config.tokenTtlSeconds);
  return {
    currencies,
    credentials,
    wallets: new WalletService(store, idempotency, credentials),
    transfers,
    deposits: new DepositService(store, currencies, idempotency, limits),
    limits,
    games,
    holds,
    withdrawals: new WithdrawalService(store, currencies, idempotency, limits),
    batches: new BatchService(transfers, games, idempotency, currencies),
    events: new EventService(store, currencies, {
      perTenant: config.streamsPerTenant,
      max: config.streamsMax,
      maxLagEvents: config.streamMaxLagEvents,
      maxStallMs: config.streamMaxStallMs,
    }),
    webhooks: new WebhookService(store, idempotency, new WebhookTargetPolicy(webhookTargetOptions(config))),
    operator: new OperatorService(store),
    rateLimits: new SharedRateLimiter(store.rateLimits),
    async sweep(now) {
      const expired = await holds.expireDue(now, SWEEP_BATCH);
      await idempotency.forgetExpired(now, SWEEP_BATCH);
      await limits.sweepDue(now);
      return expired;
    },
    verify: () => verifyLedger(store),
  };
}
