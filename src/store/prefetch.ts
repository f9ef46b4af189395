import type { AccountRecord, GameTransactionRecord, PrefetchRequest, WalletLookup, WalletRecord } from "./store.js";

/**
 * What a commit reads ahead, before its items run: the hints of its items merged per tenant,
 * and what a store's `readAhead` is asked for and returns (store/write-behind.ts `prefetch`).
 */

/** What a prefetch asks `readAhead` for, of one tenant: the ids and lookups not cached yet. */
export interface ReadAheadRequest {
  tenantId: string;
  gameIds: string[];
  lookups: WalletLookup[];
  /** Every wallet of the request with its currency, cached or not: whose accounts to lock. */
  wallets: PrefetchRequest["wallets"];
  /** Whether the tenant's active webhook endpoints are still to be read. */
  endpoints: boolean;
}

/** What `readAhead` found: the locked game transactions among the ids, the wallets, and what else it could read in the same go. */
export interface ReadAhead {
  games: GameTransactionRecord[];
  wallets: WalletRecord[];
  /** Accounts it locked (the wallets' and master accounts in the request's currencies); the others are opened after. */
  accounts: AccountRecord[];
  /** The tenant's active webhook endpoints, if it read them. */
  endpointIds: string[] | undefined;
}

/** One request per tenant, in tenant order, so every process locks tenants in the same order. */
export function mergePrefetch(requests: PrefetchRequest[]): PrefetchRequest[] {
  const byTenant = new Map<string, PrefetchRequest>();
  for (const request of requests) {
    const merged = byTenant.get(request.tenantId) ?? { tenantId: request.tenantId, wallets: [], gameTransactionIds: [] };
    merged.wallets.push(...request.wallets);
    merged.gameTransactionIds.push(...request.gameTransactionIds);
    byTenant.set(request.tenantId, merged);
  }
  return [...byTenant.values()].sort((a, b) => (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : 0));
}
