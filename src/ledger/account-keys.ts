/**
 * Which ledger accounts exist and how they are named. An account belongs to a tenant and a
 * currency, and to one owner: a player's wallet, the tenant's master account (the casino's own
 * funds), or the chain account that funds deposits and receives withdrawals. Every service and
 * both stores name accounts through these builders, and open them with `openingFlags`, so the
 * rule of which accounts may go below zero is written once.
 */

export type OwnerKind = "wallet" | "master" | "chain";

export interface AccountKey {
  tenantId: string;
  ownerKind: OwnerKind;
  /** The wallet's UUID for wallet accounts; null for the tenant's master and chain accounts. */
  walletUuid: string | null;
  currency: string;
}

export const masterKey = (tenantId: string, currency: string): AccountKey => ({
  tenantId,
  ownerKind: "master",
  walletUuid: null,
  currency,
});

export const walletKey = (wallet: { tenantId: string; uuid: string }, currency: string): AccountKey => ({
  tenantId: wallet.tenantId,
  ownerKind: "wallet",
  walletUuid: wallet.uuid,
  currency,
});

export const chainKey = (tenantId: string, currency: string): AccountKey => ({ tenantId, ownerKind: "chain", walletUuid: null, currency });

/**
 * How a new account is opened. Wallets and master accounts must never have their available
 * balance below zero; the chain account stands for money outside the ledger (on the blockchain)
 * and goes negative by every deposit it funds, so it is the one account without the check.
 */
export const openingFlags = (ownerKind: OwnerKind): { debitsMustNotExceedCredits: boolean } => ({
  debitsMustNotExceedCredits: ownerKind !== "chain",
});

/** The owner part of an account's unique key, as the accounts table indexes it. */
export const ownerKeyOf = (key: Pick<AccountKey, "ownerKind" | "walletUuid">): string => `${key.ownerKind}:${key.walletUuid ?? ""}`;

/** A key that names the account uniquely across tenants: the write transaction's cache key. */
export const accountKeyText = (key: AccountKey): string => `${key.tenantId}/${key.currency}/${ownerKeyOf(key)}`;
