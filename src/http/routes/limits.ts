import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { EXCLUSION_DAYS } from "../../ledger/limits.js";
import { walletNotFound } from "../../services/errors.js";
import { pathLookup } from "../../services/wallets.js";
import type { WalletLookup } from "../../store/store.js";
import { CurrencyLimits, Exclusion, WalletLimits } from "../../wire/schemas.js";
import { tenantAuth, tenantOf } from "../auth.js";
import { onceOf, writtenValue } from "../idempotency.js";
import { IdempotencyHeaders, type RouteApp, responses, WalletParams } from "../schemas.js";

const tags = ["Limits"];
/** The routes naming a wallet in their path: its form, and what they answer when it names none. */
const walletPath = { params: WalletParams };
const config = { notFound: walletNotFound().message };

/**
 * A limit's new amount, or null to remove it. One JSON Schema type list rather than anyOf, so
 * that a refused value has one problem; the currency's decimals are checked by the use case.
 */
const LimitAmountField = Type.Unsafe<string | null>({
  type: ["string", "null"],
  minLength: 1,
  maxLength: 40,
  pattern: "^[0-9]+(\\.[0-9]+)?$",
  description:
    'A positive decimal string ("100.00"), at most the currency\'s decimals; null removes the limit. A new limit or a ' +
    "lower one applies at once; a higher one or a removal waits the tenant's cooling-off (pending_changes).",
  examples: ["100.00", null],
});

const LimitsBody = Type.Object(
  {
    deposit_day: Type.Optional(LimitAmountField),
    deposit_week: Type.Optional(LimitAmountField),
    deposit_month: Type.Optional(LimitAmountField),
    loss_day: Type.Optional(LimitAmountField),
    loss_week: Type.Optional(LimitAmountField),
    loss_month: Type.Optional(LimitAmountField),
    wager_day: Type.Optional(LimitAmountField),
    wager_week: Type.Optional(LimitAmountField),
    wager_month: Type.Optional(LimitAmountField),
    max_stake: Type.Optional(LimitAmountField),
  },
  { additionalProperties: false, minProperties: 1, description: "The limits to change (at least one); the others stay as they are" },
);

const LimitsParams = Type.Object(
  {
    ...WalletParams.properties,
    // No pattern: an unknown or malformed code is the use case's 400, never the wallet's 404.
    currency: Type.String({ minLength: 1, maxLength: 16, description: "A currency code of the registry (any case)" }),
  },
  { additionalProperties: false },
);

const { timeout, self_exclusion: selfExclusion } = EXCLUSION_DAYS;
const ExclusionBody = Type.Object(
  {
    kind: Type.Union([Type.Literal("timeout"), Type.Literal("self_exclusion")]),
    duration_days: Type.Integer({
      minimum: Math.min(timeout.min, selfExclusion.min),
      maximum: Math.max(timeout.max, selfExclusion.max),
      description: `A timeout lasts ${timeout.min} to ${timeout.max} days, a self_exclusion ${selfExclusion.min} to ${selfExclusion.max}`,
    }),
  },
  { additionalProperties: false },
);

/** Safer-gambling controls of a wallet: limits per currency, and time-outs or self-exclusions. */
export const limitRoutes: FastifyPluginAsyncTypebox = async (app) => {
  putWalletLimits(app);
  getWalletLimits(app);
  createWalletExclusion(app);
};

/** The wallet a path names; a malformed id never gets here (the route answers it as unknown). */
function lookupOf(id: string): WalletLookup {
  const lookup = pathLookup(id);
  if (!lookup) throw walletNotFound();
  return lookup;
}

function putWalletLimits(app: RouteApp): void {
  const { services } = app;
  app.put(
    "/wallets/:id/limits/:currency/",
    {
      preHandler: tenantAuth(services, "write"),
      config,
      schema: {
        summary: "Set, lower, raise or remove a wallet's limits in one currency",
        description:
          "A new limit or a decrease applies at once; an increase or a removal waits the tenant's cooling-off (24 hours by " +
          "default) and shows in pending_changes until then. Limits not named stay as they are.",
        operationId: "putWalletLimits",
        tags,
        headers: IdempotencyHeaders,
        params: LimitsParams,
        body: LimitsBody,
        response: responses({ 200: CurrencyLimits }),
      },
    },
    async (request, reply) => {
      const { id, currency } = request.params;
      const change = { tenantId: tenantOf(request), lookup: lookupOf(id), currency, limits: request.body };
      return writtenValue(reply, await services.limits.set(change, onceOf(request)));
    },
  );
}

function getWalletLimits(app: RouteApp): void {
  const { services } = app;
  app.get(
    "/wallets/:id/limits/",
    {
      preHandler: tenantAuth(services, "read"),
      config,
      schema: {
        summary: "A wallet's limits with their use, pending changes, held deposits and exclusion",
        operationId: "getWalletLimits",
        tags,
        ...walletPath,
        response: responses({ 200: WalletLimits }),
      },
    },
    async (request) => {
      const limits = await services.limits.list(tenantOf(request), lookupOf(request.params.id));
      return {
        wallet_id: limits.wallet.walletId,
        exclusion: limits.exclusion,
        limit_cooling_off_seconds: limits.limitCoolingOffSeconds,
        currencies: limits.currencies,
      };
    },
  );
}

function createWalletExclusion(app: RouteApp): void {
  const { services } = app;
  app.post(
    "/wallets/:id/exclusions/",
    {
      preHandler: tenantAuth(services, "write"),
      config,
      schema: {
        summary: "Start a time-out or self-exclusion (or lengthen the one running)",
        description:
          "Until it ends, bets, holds and transfers to the wallet are refused (400 player_excluded) and chain deposits are held; " +
          "withdrawals still work. An exclusion cannot be shortened or lifted: one that would end sooner than the running one is " +
          "409 conflict.",
        operationId: "createWalletExclusion",
        tags,
        headers: IdempotencyHeaders,
        ...walletPath,
        body: ExclusionBody,
        response: responses({ 201: Exclusion }),
      },
    },
    async (request, reply) => {
      const { kind, duration_days: durationDays } = request.body;
      const exclusion = { tenantId: tenantOf(request), lookup: lookupOf(request.params.id), kind, durationDays };
      const written = await services.limits.exclude(exclusion, onceOf(request));
      return reply.status(201).send(writtenValue(reply, written));
    },
  );
}
