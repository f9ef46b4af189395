import { balanceOf } from "../ledger/accounts.js";
import type { CurrencyRegistry } from "../ledger/currencies.js";
import {
  type Breach,
  type Controls,
  type Exclusion,
  LIMIT_NAMES,
  type LimitName,
  limitKindOf,
  limitState,
  limitWindowOf,
  type ScheduledChange,
} from "../ledger/limits.js";
import { formatAmount } from "../ledger/money.js";
import type { AccountRecord, EventType, WalletRecord } from "../store/store.js";
import { snapshotView } from "./views.js";

/** The wire shapes of safer-gambling controls (wire/schemas/limits.ts): limits, their use, pending changes, exclusions. */

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A limit's name on the wire: what it limits and over which window (none for the stake cap). */
export function limitLabel(name: LimitName): { limit: string; window: string | null } {
  return name === "max_stake" ? { limit: "max_stake", window: null } : { limit: limitKindOf(name), window: limitWindowOf(name) };
}

/** A limit with its use: what `limit_exceeded` and `limit.reached` name, and a row of the limits view. */
export function breachView(breach: Breach, decimals: number) {
  const windowed = breach.window !== null;
  return {
    ...limitLabel(breach.name),
    amount: formatAmount(breach.amount, decimals),
    used: windowed ? formatAmount(breach.used, decimals) : null,
    remaining: windowed ? formatAmount(breach.remaining, decimals) : null,
    resets_at: iso(breach.resetsAtMs),
  };
}

export const exclusionView = (exclusion: Exclusion) => ({
  kind: exclusion.kind,
  started_at: new Date(exclusion.startedAtMs).toISOString(),
  ends_at: new Date(exclusion.endsAtMs).toISOString(),
});

export const limitChangeView = (change: ScheduledChange, decimals: number) => ({
  ...limitLabel(change.name),
  amount: change.amount === null ? null : formatAmount(change.amount, decimals),
  effective_at: new Date(change.effectiveAtMs).toISOString(),
});

/** One currency of `GET /wallets/{id}/limits/`: every limit set, with its use, and the changes waiting. */
export function currencyLimitsView(currency: string, decimals: number, controls: Controls, nowMs: number) {
  const limits = LIMIT_NAMES.flatMap((name) => {
    const amount = controls.limits[name];
    if (amount === undefined) return [];
    if (name === "max_stake")
      return [breachView({ name, limit: "max_stake", window: null, amount, used: 0n, remaining: amount, resetsAtMs: null }, decimals)];
    const state = limitState(controls, name, nowMs);
    return state ? [breachView(state, decimals)] : [];
  });
  return {
    currency,
    limits,
    pending_changes: controls.scheduled.map((change) => limitChangeView(change, decimals)),
    held_amount: formatAmount(
      controls.held.reduce((sum, held) => sum + held.amount, 0n),
      decimals,
    ),
  };
}

/** The JSON of an event about controls, in the shape every event has (services/views.ts eventPayloadView) plus what it is about. */
export function limitEventPayload(
  currencies: CurrencyRegistry,
  event: { id: string; type: EventType; createdAt: string; wallet: WalletRecord; account: AccountRecord; about: object },
): string {
  const { wallet, account } = event;
  const balance = balanceOf(account);
  return JSON.stringify({
    id: event.id,
    type: event.type,
    created_at: event.createdAt,
    tenant_id: wallet.tenantId,
    wallet: { id: wallet.uuid, wallet_id: wallet.walletId, external_id: wallet.externalId, name: wallet.name },
    currency: account.currency,
    balance: snapshotView(currencies, account.currency, { amount: balance.amount, pendingAmount: balance.pendingAmount }),
    account_version: account.version,
    ...event.about,
  });
}
