import { randomBytes, randomUUID } from "node:crypto";
import { isUuid } from "../ids.js";
import { assert } from "../ledger/assert.js";
import type {
  AccountRecord,
  BalancesRead,
  DepositRecord,
  DepositStatus,
  Store,
  WalletBalancesRecord,
  WalletLookup,
  WalletRecord,
} from "../store/store.js";
import type { CredentialService, Principal } from "./credentials.js";
import { AppError, invalidFields, walletNotFound } from "./errors.js";
import type { Idempotency, Once, Written } from "./idempotency.js";

const WALLET_ID_PATTERN = /^w_[a-z0-9]{12,}$/;

export interface WalletWithAccounts {
  wallet: WalletRecord;
  accounts: AccountRecord[];
}

/** `w_` and 16 base-36 characters from 80 random bits: readable, unguessable, fixed length. */
export function newWalletId(): string {
  const value = BigInt(`0x${randomBytes(10).toString("hex")}`);
  return `w_${value.toString(36).padStart(16, "0")}`;
}

/** The specification's rule: one of the two is required, and wallet_id takes precedence. */
export function walletLookup(ids: { wallet_id?: string | undefined; external_id?: string | undefined }): WalletLookup {
  if (ids.wallet_id !== undefined) return { by: "wallet_id", value: ids.wallet_id };
  if (ids.external_id !== undefined) return { by: "external_id", value: ids.external_id };
  throw invalidFields("Either wallet_id or external_id is required", {
    wallet_id: "is required unless external_id is given",
    external_id: "is required unless wallet_id is given",
  });
}

/** A path segment names a wallet by its wallet_id or its UUID; anything else cannot exist. */
export function pathLookup(segment: string): WalletLookup | undefined {
  if (WALLET_ID_PATTERN.test(segment)) return { by: "wallet_id", value: segment };
  if (isUuid(segment)) return { by: "uuid", value: segment.toLowerCase() };
  return undefined;
}

export class WalletService {
  constructor(
    private readonly store: Store,
    private readonly idempotency: Idempotency,
    private readonly credentials: CredentialService,
  ) {}

  create(tenantId: string, name: string, externalId: string, once?: Once): Promise<Written<WalletRecord>> {
    const now = new Date().toISOString();
    const wallet: WalletRecord = {
      uuid: randomUUID(),
      walletId: newWalletId(),
      tenantId,
      name,
      externalId,
      createdAt: now,
      updatedAt: now,
    };
    return this.idempotency.write(once, async (tx) => {
      if ((await tx.insertWallet(wallet)) === "duplicate_external_id") {
        throw new AppError("duplicate_external_id", "A wallet with this external_id already exists", { external_id: externalId });
      }
      return wallet;
    });
  }

  async get(tenantId: string, lookup: WalletLookup | undefined): Promise<WalletWithAccounts> {
    const found = lookup && (await this.store.findWalletWithAccounts(tenantId, lookup));
    if (!found) throw walletNotFound();
    return found;
  }

  /**
   * The balance read (POST /wallets/balances/), in one statement that also checks the request's
   * API key: the route takes a key this process remembers without a query of its own
   * (`apiKeyCheckedByRead`), and a key revoked since is refused here.
   */
  balances(principal: Principal, lookup: WalletLookup): WalletBalancesRecord | Promise<WalletBalancesRecord> {
    assert(principal.tenantId !== null, "the balance read runs for a tenant credential");
    const read = this.store.readBalances(principal.tenantId, lookup, principal.credentialId);
    // SQLite answers at once: no promise and no microtask for the route to wait on.
    return read instanceof Promise ? read.then((answered) => this.#balancesOf(principal, answered)) : this.#balancesOf(principal, read);
  }

  #balancesOf(principal: Principal, read: BalancesRead): WalletBalancesRecord {
    if (read.revoked) this.credentials.refuseRevokedKey(principal);
    if (!read.wallet) throw walletNotFound();
    return read.wallet;
  }

  async list(tenantId: string, limit: number, offset: number, search?: string) {
    const { wallets, total } = await this.store.listWallets(tenantId, limit, offset, search);
    const accounts = await this.store.listWalletAccounts(wallets.map((wallet) => wallet.uuid));
    const byWallet = new Map<string | null, AccountRecord[]>();
    for (const account of accounts) byWallet.set(account.walletUuid, [...(byWallet.get(account.walletUuid) ?? []), account]);
    return { total, wallets: wallets.map((wallet) => ({ wallet, accounts: byWallet.get(wallet.uuid) ?? [] })) };
  }

  /** A wallet's deposits, newest first: the dashboard shows the confirming ones. */
  async deposits(
    tenantId: string,
    lookup: WalletLookup | undefined,
    status: DepositStatus | undefined,
    limit: number,
  ): Promise<DepositRecord[]> {
    const wallet = lookup && (await this.store.findWallet(tenantId, lookup));
    if (!wallet) throw walletNotFound();
    return this.store.listDeposits(tenantId, wallet.uuid, status, limit);
  }

  async masterAccounts(tenantId: string): Promise<AccountRecord[]> {
    return this.store.listMasterAccounts(tenantId);
  }
}
