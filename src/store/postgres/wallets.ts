import { balancesStatement, balancesValues, decodeBalances } from "../balances.js";
import { containsPattern } from "../sql.js";
import type { AccountRecord, BalancesRead, WalletLookup, WalletRecord } from "../store.js";
import { ACCOUNTS, WALLET_LOOKUP_COLUMN, WALLETS } from "../tables.js";
import type { Statement } from "../write-behind.js";
import { ACCOUNT_COLUMNS } from "./accounts.js";
import { type Queryable, query } from "./query.js";

/** Wallets: the reads of the API's wallet routes, and the write transaction's wallet statements. */

const WALLET_COLUMNS = WALLETS.select("w");

export async function findWallet(db: Queryable, tenantId: string, lookup: WalletLookup): Promise<WalletRecord | undefined> {
  const [row] = await query(db, {
    name: `wallet-${lookup.by}`,
    text: `SELECT ${WALLET_COLUMNS} FROM wallets w WHERE w.tenant_id = $1 AND w.${WALLET_LOOKUP_COLUMN[lookup.by]} = $2`,
    values: [tenantId, lookup.value],
  });
  return row && WALLETS.fromRow(row);
}

/** The balance read: the wallet and its accounts in one round trip. */
export async function findWalletWithAccounts(
  db: Queryable,
  tenantId: string,
  lookup: WalletLookup,
): Promise<{ wallet: WalletRecord; accounts: AccountRecord[] } | undefined> {
  const [row] = await query(db, {
    name: `wallet-with-accounts-${lookup.by}`,
    text: `SELECT ${WALLET_COLUMNS},
             (SELECT json_agg(a ORDER BY a.seq) FROM (SELECT a.seq, ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.wallet_uuid = w.id AND a.version > 0) a) AS accounts
           FROM wallets w WHERE w.tenant_id = $1 AND w.${WALLET_LOOKUP_COLUMN[lookup.by]} = $2`,
    values: [tenantId, lookup.value],
  });
  if (!row) return undefined;
  const accounts = (row.accounts ?? []) as Record<string, unknown>[];
  return { wallet: WALLETS.fromRow(row), accounts: accounts.map(ACCOUNTS.fromRow) };
}

/** The balance read of POST /wallets/balances/ (store/balances.ts): one named statement, one round trip, its row as an array. */
export async function readBalances(db: Queryable, tenantId: string, lookup: WalletLookup, apiKeyId: string | null): Promise<BalancesRead> {
  const { name, text } = balancesStatement("postgres", lookup.by, apiKeyId !== null);
  const { rows } = await db.query<unknown[]>({ name, text, values: balancesValues(tenantId, lookup, apiKeyId), rowMode: "array" });
  return decodeBalances(rows[0], apiKeyId !== null);
}

export async function listWallets(
  db: Queryable,
  tenantId: string,
  limit: number,
  offset: number,
  search?: string,
): Promise<{ wallets: WalletRecord[]; total: number }> {
  const pattern = search ? containsPattern(search) : null;
  const where = "w.tenant_id = $1 AND ($2::text IS NULL OR w.name ILIKE $2 OR w.external_id ILIKE $2)";
  const page = await query(db, {
    name: "wallet-page",
    text: `SELECT ${WALLET_COLUMNS} FROM wallets w WHERE ${where} ORDER BY w.seq LIMIT $3 OFFSET $4`,
    values: [tenantId, pattern, limit, offset],
  });
  const [count] = await query(db, {
    name: "wallet-count",
    text: `SELECT count(*)::int AS n FROM wallets w WHERE ${where}`,
    values: [tenantId, pattern],
  });
  return { wallets: page.map(WALLETS.fromRow), total: (count?.n as number | undefined) ?? 0 };
}

/** The tenant's wallets named by one kind of lookup: a batch reads all its wallets in up to three statements. */
export const selectWallets = (tenantId: string, by: WalletLookup["by"], values: string[]): Statement => ({
  name: `wallets-${by}`,
  text: `SELECT ${WALLET_COLUMNS} FROM wallets w WHERE w.tenant_id = $1 AND w.${WALLET_LOOKUP_COLUMN[by]} = ANY($2)`,
  values: [tenantId, values],
});

/** Inserts the wallet unless its external_id is taken for the tenant (then it changes nothing). */
export const insertWallet = (wallet: WalletRecord): Statement => ({
  name: "insert-wallet",
  text: INSERT_WALLET,
  values: WALLETS.values(wallet),
});

const INSERT_WALLET = `${WALLETS.insertSql("postgres")} ON CONFLICT (tenant_id, external_id) DO NOTHING`;
