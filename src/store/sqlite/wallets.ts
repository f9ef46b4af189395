import { balancesStatement, balancesValues, decodeBalances } from "../balances.js";
import { containsPattern } from "../sql.js";
import type { AccountRecord, BalancesRead, WalletLookup, WalletRecord } from "../store.js";
import { ACCOUNTS, WALLET_LOOKUP_COLUMN, WALLETS } from "../tables.js";
import { ACCOUNT_COLUMNS } from "./accounts.js";
import { columnsOf, type PreparedStatements, statement, unprefixed } from "./statements.js";

/** Wallets: the reads of the API's wallet routes, and the write transaction's wallet statements. */

const WALLET_COLUMNS = columnsOf(WALLETS, "w");
// SQLite's LIKE ignores ASCII case, which is what a search box wants.
const SEARCH_CLAUSE = "(@pattern IS NULL OR w.name LIKE @pattern ESCAPE '\\' OR w.external_id LIKE @pattern ESCAPE '\\')";

/** One statement per way of naming a wallet. */
const byLookup = <T>(make: (by: WalletLookup["by"]) => T): Record<WalletLookup["by"], T> => ({
  uuid: make("uuid"),
  wallet_id: make("wallet_id"),
  external_id: make("external_id"),
});

const selectWalletBy = byLookup((by) =>
  statement<[tenantId: string, value: string]>(
    `wallet-${by}`,
    `SELECT ${WALLET_COLUMNS} FROM wallets w WHERE w.tenant_id = ? AND w.${WALLET_LOOKUP_COLUMN[by]} = ?`,
  ),
);
// The wallet's columns are renamed, so that the accounts' rows decode as they come.
const selectWalletWithAccountsBy = byLookup((by) =>
  statement<[tenantId: string, value: string]>(
    `wallet-with-accounts-${by}`,
    `SELECT ${columnsOf(WALLETS, "w", "w_")}, ${ACCOUNT_COLUMNS} FROM wallets w
     LEFT JOIN accounts a ON a.wallet_uuid = w.id AND a.version > 0 WHERE w.tenant_id = ? AND w.${WALLET_LOOKUP_COLUMN[by]} = ? ORDER BY a.seq`,
  ),
);
const selectWalletPage = statement<[{ tenantId: string; pattern: string | null; limit: number; offset: number }]>(
  "wallet-page",
  `SELECT ${WALLET_COLUMNS} FROM wallets w WHERE w.tenant_id = @tenantId AND ${SEARCH_CLAUSE} ORDER BY w.seq LIMIT @limit OFFSET @offset`,
);
const countWallets = statement<[{ tenantId: string; pattern: string | null }]>(
  "wallet-count",
  `SELECT count(*) AS n FROM wallets w WHERE w.tenant_id = @tenantId AND ${SEARCH_CLAUSE}`,
);

/** The wallet a lookup names. */
export const selectWallet = (tenantId: string, lookup: WalletLookup) => selectWalletBy[lookup.by](tenantId, lookup.value);

/** Inserts the wallet unless its external_id is taken for the tenant (then it changes nothing). */
export const insertWallet = statement("insert-wallet", `${WALLETS.insertSql("sqlite")} ON CONFLICT (tenant_id, external_id) DO NOTHING`);

export const findWallet = (reader: PreparedStatements, tenantId: string, lookup: WalletLookup) =>
  reader.one(WALLETS, selectWallet(tenantId, lookup));

/** The balance read: the wallet and its accounts in one statement. */
export function findWalletWithAccounts(
  reader: PreparedStatements,
  tenantId: string,
  lookup: WalletLookup,
): { wallet: WalletRecord; accounts: AccountRecord[] } | undefined {
  const { rows } = reader.execute(selectWalletWithAccountsBy[lookup.by](tenantId, lookup.value));
  const first = rows[0];
  if (!first) return undefined;
  const accounts = rows.filter((row) => row.id !== null).map(ACCOUNTS.fromRow);
  return { wallet: WALLETS.fromRow(unprefixed(first, "w_")), accounts };
}

/** The balance read of POST /wallets/balances/ (store/balances.ts), its row as an array: no object per row. */
export function readBalances(reader: PreparedStatements, tenantId: string, lookup: WalletLookup, apiKeyId: string | null): BalancesRead {
  const { name, text } = balancesStatement("sqlite", lookup.by, apiKeyId !== null);
  const row = reader
    .get(name, text)
    .raw(true)
    .get(...balancesValues(tenantId, lookup, apiKeyId)) as unknown[] | undefined;
  return decodeBalances(row, apiKeyId !== null);
}

export function listWallets(reader: PreparedStatements, tenantId: string, limit: number, offset: number, search?: string) {
  const pattern = search ? containsPattern(search) : null;
  const wallets = reader.many(WALLETS, selectWalletPage({ tenantId, pattern, limit, offset }));
  const [count] = reader.execute(countWallets({ tenantId, pattern })).rows;
  return { wallets, total: (count?.n as number | undefined) ?? 0 };
}
