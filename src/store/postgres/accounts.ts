import { randomUUID } from "node:crypto";
import { type AccountKey, openingFlags, ownerKeyOf } from "../../ledger/account-keys.js";
import type { AccountRecord, WalletLookup } from "../store.js";
import { ACCOUNTS, WALLET_LOOKUP_COLUMN } from "../tables.js";
import type { Statement } from "../write-behind.js";
import { type Queryable, query } from "./query.js";

/** Ledger accounts: the balance reads, and the statements a write transaction locks and stores them with. */

/** The select list of accounts under the alias `a`. */
export const ACCOUNT_COLUMNS = ACCOUNTS.select("a");

export async function listWalletAccounts(db: Queryable, walletUuids: string[]): Promise<AccountRecord[]> {
  if (walletUuids.length === 0) return [];
  const text = `SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.wallet_uuid = ANY($1::uuid[]) AND a.version > 0 ORDER BY a.seq`;
  return (await query(db, { name: "wallet-accounts", text, values: [walletUuids] })).map(ACCOUNTS.fromRow);
}

export async function listMasterAccounts(db: Queryable, tenantId: string): Promise<AccountRecord[]> {
  const text = `SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.tenant_id = $1 AND a.owner_kind = 'master' AND a.version > 0 ORDER BY a.seq`;
  return (await query(db, { name: "master-accounts", text, values: [tenantId] })).map(ACCOUNTS.fromRow);
}

export async function listControlledAccounts(db: Queryable, walletUuid: string): Promise<AccountRecord[]> {
  const text = `SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.wallet_uuid = $1 AND a.controls IS NOT NULL ORDER BY a.seq`;
  return (await query(db, { name: "controlled-accounts", text, values: [walletUuid] })).map(ACCOUNTS.fromRow);
}

export async function listDueControls(db: Queryable, now: string, limit: number) {
  const text = `SELECT a.tenant_id, a.wallet_uuid, a.currency FROM accounts a
    WHERE a.controls_due_at IS NOT NULL AND a.controls_due_at <= $1 ORDER BY a.controls_due_at LIMIT $2`;
  const rows = await query(db, { name: "due-controls", text, values: [now, limit] });
  return rows.map((row) => ({ tenantId: String(row.tenant_id), walletUuid: String(row.wallet_uuid), currency: String(row.currency) }));
}

/** `columns` of `rows`, one array per column: the parameters of a SELECT FROM unnest. */
const columnsOf = <T>(rows: T[], columns: ((row: T) => unknown)[]) => columns.map((column) => rows.map(column));

/**
 * Locks the accounts in one order every process uses: the tenant's own accounts (master,
 * chain) first, then wallets, each by id. A transaction then waits for a hot master account
 * before it holds any wallet, which keeps concurrent batches out of lock cycles.
 */
export const lockAccountsByKey = (keys: AccountKey[]): Statement => ({
  name: "lock-accounts",
  text: `SELECT ${ACCOUNT_COLUMNS} FROM accounts a
         JOIN unnest($1::uuid[], $2::text[], $3::text[]) AS k(tenant_id, currency, owner_key)
           ON a.tenant_id = k.tenant_id AND a.currency = k.currency AND a.owner_key = k.owner_key
         ORDER BY a.owner_kind = 'wallet', a.id FOR UPDATE OF a`,
  values: columnsOf(keys, [(key) => key.tenantId, (key) => key.currency, ownerKeyOf]),
});

/**
 * The accounts a prefetch locks, in the order of `lockAccountsByKey`, found without waiting for
 * the wallets' own read: the master accounts in the currencies named, and each named wallet's
 * account in its currency, the wallet found by any lookup (one pair of arrays per kind, so each
 * lookup uses its column's index). It can then travel in the same round trip as that read.
 */
export const lockPrefetchAccounts = (tenantId: string, wallets: { lookup: WalletLookup; currency: string }[]): Statement => {
  const byKind = (kind: WalletLookup["by"]) => wallets.filter((wallet) => wallet.lookup.by === kind);
  const pairs = (kind: WalletLookup["by"]) => columnsOf(byKind(kind), [(wallet) => wallet.lookup.value, (wallet) => wallet.currency]);
  return {
    name: "lock-prefetch-accounts",
    text: LOCK_PREFETCH_ACCOUNTS,
    values: [
      tenantId,
      [...new Set(wallets.map((wallet) => wallet.currency))],
      ...pairs("uuid"),
      ...pairs("wallet_id"),
      ...pairs("external_id"),
    ],
  };
};

const walletKeysBy = (column: string, values: string, type: string, currencies: string) =>
  `SELECT 'wallet:' || w.id, k.currency FROM unnest(${values}::${type}[], ${currencies}::text[]) AS k(value, currency)
     JOIN wallets w ON w.tenant_id = $1 AND w.${column} = k.value`;
const LOCK_PREFETCH_ACCOUNTS = `SELECT ${ACCOUNT_COLUMNS} FROM accounts a
  JOIN (SELECT 'master:', currency FROM unnest($2::text[]) AS currency
        UNION ${walletKeysBy(WALLET_LOOKUP_COLUMN.uuid, "$3", "uuid", "$4")}
        UNION ${walletKeysBy(WALLET_LOOKUP_COLUMN.wallet_id, "$5", "text", "$6")}
        UNION ${walletKeysBy(WALLET_LOOKUP_COLUMN.external_id, "$7", "text", "$8")}) AS k(owner_key, currency)
    ON a.tenant_id = $1 AND a.currency = k.currency AND a.owner_key = k.owner_key
  ORDER BY a.owner_kind = 'wallet', a.id FOR UPDATE OF a`;

/**
 * Opens accounts with zero counters and the flags the ledger opens them with; an account
 * another transaction opened meanwhile is left as it is.
 */
export const insertAccounts = (keys: AccountKey[]): Statement => ({
  name: "insert-accounts",
  text: `INSERT INTO accounts (id, tenant_id, owner_kind, wallet_uuid, currency, debits_must_not_exceed_credits,
           credits_posted, debits_posted, credits_pending, debits_pending)
         SELECT id, tenant_id, owner_kind, wallet_uuid, currency, debits_must_not_exceed_credits, 0, 0, 0, 0
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::text[], $6::boolean[])
           AS k(id, tenant_id, owner_kind, wallet_uuid, currency, debits_must_not_exceed_credits)
         ON CONFLICT (tenant_id, currency, owner_key) DO NOTHING`,
  values: columnsOf(keys, [
    () => randomUUID(),
    (key) => key.tenantId,
    (key) => key.ownerKind,
    (key) => key.walletUuid,
    (key) => key.currency,
    (key) => openingFlags(key.ownerKind).debitsMustNotExceedCredits,
  ]),
});

/** Locks existing accounts by id, in the order of `lockAccountsByKey`. */
export const lockAccountsById = (ids: string[]): Statement => ({
  name: "lock-accounts-by-id",
  text: `SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = ANY($1::uuid[]) ORDER BY a.owner_kind = 'wallet', a.id FOR UPDATE`,
  values: [ids],
});

/**
 * Stores the counters and versions of many accounts in one statement. Bulk rows travel as one
 * JSON parameter that PostgreSQL unpacks (json_to_recordset): one round trip, and no
 * per-element array escaping, which cost node-pg more than the insert itself.
 */
export const updateAccounts = (accounts: AccountRecord[]): Statement => ({
  name: "save-accounts",
  text: UPDATE_ACCOUNTS,
  values: [JSON.stringify(accounts.map((account) => ACCOUNTS.row(account)))],
});

const UPDATED_COLUMNS = ["credits_posted", "debits_posted", "credits_pending", "debits_pending", "version", "controls", "controls_due_at"];
const UPDATE_ACCOUNTS = `UPDATE accounts a SET ${UPDATED_COLUMNS.map((column) => `${column} = r.${column}`).join(", ")}
  FROM json_to_recordset($1::json) AS r(${ACCOUNTS.postgresTypes}) WHERE a.id = r.id`;
