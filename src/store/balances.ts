import { assert } from "../ledger/assert.js";
import type { BalancesRead, WalletLookup } from "./records.js";
import { WALLET_LOOKUP_COLUMN } from "./tables.js";

/**
 * The balance read of POST /wallets/balances/, one statement for both stores (SQLite 3.44 and
 * PostgreSQL both have `string_agg(... ORDER BY ...)`), so that a balance read is one round trip
 * on PostgreSQL and one statement on SQLite, credential included:
 *
 * - With an API key (`apiKeyId`), the key's row drives the statement and the wallet is joined to
 *   it: the row says whether the key is still unrevoked, whether or not the wallet exists. The
 *   process keeps API keys it has seen in memory (services/credentials.ts), and this column is
 *   what makes that coherent: a key revoked by any process is refused by the very statement
 *   that reads the balance, as soon as the revocation has committed.
 * - Only what the answer shows is selected: the wallet's four ids and names, and per account
 *   that has moved its currency and four counters, aggregated into one text column in the
 *   order the accounts were opened. One row of six values instead of a row per account with
 *   every column of both tables: on SQLite the statement costs 7 µs instead of 28 µs, most of
 *   the difference being the JavaScript objects better-sqlite3 built for 42 values (measured
 *   with two accounts on this 2-core machine while it was busy).
 *
 * Currency codes are letters and digits and counters are non-negative integers, so one space
 * separates every value of the aggregate without any escaping.
 */

type Dialect = "sqlite" | "postgres";

const ACCOUNT_FIELDS = 5;
const COUNTERS = "a.currency || ' ' || a.credits_posted || ' ' || a.debits_posted || ' ' || a.credits_pending || ' ' || a.debits_pending";
const WALLET_VALUES = "w.id, w.wallet_id, w.name, w.external_id";
const MOVED_ACCOUNTS = "FROM accounts a WHERE a.wallet_uuid = w.id AND a.version > 0";
/**
 * The accounts in the order they were opened. SQLite orders inside the aggregate (2 µs of its 8).
 * PostgreSQL sets up a sort for an aggregate's ORDER BY on every call; an ARRAY of the subquery
 * keeps the subquery's order by definition, which the index on (wallet_uuid, seq) gives without
 * sorting (executor time 20 µs instead of 25, pgbench 25% faster, measured on this machine).
 */
const ACCOUNTS_AGGREGATE: Record<Dialect, string> = {
  sqlite: `(SELECT string_agg(${COUNTERS}, ' ' ORDER BY a.seq) ${MOVED_ACCOUNTS})`,
  postgres: `array_to_string(ARRAY(SELECT ${COUNTERS} ${MOVED_ACCOUNTS} ORDER BY a.seq), ' ')`,
};

interface NamedText {
  name: string;
  text: string;
}

function build(dialect: Dialect, by: WalletLookup["by"], withApiKey: boolean): NamedText {
  const [tenant, value, key] = dialect === "sqlite" ? ["?", "?", "?"] : ["$1", "$2", "$3"];
  const wallet = `w.tenant_id = ${tenant} AND w.${WALLET_LOOKUP_COLUMN[by]} = ${value}`;
  const text = withApiKey
    ? `SELECT k.revoked_at IS NULL, ${WALLET_VALUES}, ${ACCOUNTS_AGGREGATE[dialect]} FROM api_keys k LEFT JOIN wallets w ON ${wallet} WHERE k.id = ${key}`
    : `SELECT ${dialect === "sqlite" ? "1" : "true"}, ${WALLET_VALUES}, ${ACCOUNTS_AGGREGATE[dialect]} FROM wallets w WHERE ${wallet}`;
  return { name: `balances-${by}${withApiKey ? "-key" : ""}`, text };
}

type Statements = Record<WalletLookup["by"], readonly [withoutKey: NamedText, withKey: NamedText]>;
const statementsOf = (dialect: Dialect): Statements => ({
  uuid: [build(dialect, "uuid", false), build(dialect, "uuid", true)],
  wallet_id: [build(dialect, "wallet_id", false), build(dialect, "wallet_id", true)],
  external_id: [build(dialect, "external_id", false), build(dialect, "external_id", true)],
});
/** Built once, not per request. */
const STATEMENTS: Record<Dialect, Statements> = { sqlite: statementsOf("sqlite"), postgres: statementsOf("postgres") };

/** The statement's name and text for one way of naming the wallet, with or without an API key to check. */
export const balancesStatement = (dialect: Dialect, by: WalletLookup["by"], withApiKey: boolean): NamedText =>
  STATEMENTS[dialect][by][withApiKey ? 1 : 0];

/** The statement's values, in the order its text takes them. */
export const balancesValues = (tenantId: string, lookup: WalletLookup, apiKeyId: string | null): unknown[] =>
  apiKeyId === null ? [tenantId, lookup.value] : [tenantId, lookup.value, apiKeyId];

/**
 * Decodes the statement's row, given as an array of its values. No row: the API key is unknown
 * (it can only have been deleted behind the service's back: refused like a revoked one), or,
 * without a key, the wallet does not exist.
 */
export function decodeBalances(row: readonly unknown[] | undefined, withApiKey: boolean): BalancesRead {
  if (row === undefined) return withApiKey ? { revoked: true } : { revoked: false, wallet: undefined };
  const [valid, uuid, walletId, name, externalId, aggregate] = row;
  // SQLite answers 1 or 0, PostgreSQL true or false.
  if (valid !== 1 && valid !== true) return { revoked: true };
  if (uuid === null || uuid === undefined) return { revoked: false, wallet: undefined };
  // No account yet: SQLite's aggregate is NULL, PostgreSQL's array the empty string.
  const values = typeof aggregate === "string" && aggregate !== "" ? aggregate.split(" ") : [];
  assert(values.length % ACCOUNT_FIELDS === 0, "the balance read's aggregate holds five values per account");
  const accounts = [];
  for (let index = 0; index < values.length; index += ACCOUNT_FIELDS) {
    accounts.push({
      currency: values[index] as string,
      creditsPosted: BigInt(values[index + 1] as string),
      debitsPosted: BigInt(values[index + 2] as string),
      creditsPending: BigInt(values[index + 3] as string),
      debitsPending: BigInt(values[index + 4] as string),
    });
  }
  return {
    revoked: false,
    wallet: { uuid: uuid as string, walletId: walletId as string, name: name as string, externalId: externalId as string, accounts },
  };
}
