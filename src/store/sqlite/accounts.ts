import type { AccountKey } from "../../ledger/account-keys.js";
import { assert } from "../../ledger/assert.js";
import type { AccountRecord } from "../store.js";
import { ACCOUNTS } from "../tables.js";
import { columnsOf, type PreparedStatements, statement } from "./statements.js";

/** Ledger accounts: the balance listings, and the statements a write transaction locks and stores them with. */

export const ACCOUNT_COLUMNS = columnsOf(ACCOUNTS, "a");

const selectWalletAccounts = statement<[walletUuidsJson: string]>(
  "wallet-accounts",
  `SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.wallet_uuid IN (SELECT value FROM json_each(?)) AND a.version > 0 ORDER BY a.seq`,
);
const selectMasterAccounts = statement<[tenantId: string]>(
  "master-accounts",
  `SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.tenant_id = ? AND a.owner_kind = 'master' AND a.version > 0 ORDER BY a.seq`,
);

export function listWalletAccounts(reader: PreparedStatements, walletUuids: string[]): AccountRecord[] {
  if (walletUuids.length === 0) return [];
  return reader.many(ACCOUNTS, selectWalletAccounts(JSON.stringify(walletUuids)));
}

export const listMasterAccounts = (reader: PreparedStatements, tenantId: string) => reader.many(ACCOUNTS, selectMasterAccounts(tenantId));

const selectControlledAccounts = statement<[walletUuid: string]>(
  "controlled-accounts",
  `SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.wallet_uuid = ? AND a.controls IS NOT NULL ORDER BY a.seq`,
);
export const listControlledAccounts = (reader: PreparedStatements, walletUuid: string) =>
  reader.many(ACCOUNTS, selectControlledAccounts(walletUuid));

const selectDueControls = statement<[now: string, limit: number]>(
  "due-controls",
  `SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.controls_due_at IS NOT NULL AND a.controls_due_at <= ? ORDER BY a.controls_due_at LIMIT ?`,
);
export const listDueControls = (reader: PreparedStatements, now: string, limit: number) =>
  reader.many(ACCOUNTS, selectDueControls(now, limit)).map(dueEntry);

/** A due account as the sweeper names it. */
const dueEntry = (account: AccountRecord) => {
  assert(account.walletUuid !== null, `account ${account.id} with controls is a wallet's`);
  return { tenantId: account.tenantId, walletUuid: account.walletUuid, currency: account.currency };
};

const selectByKey = statement<[tenantId: string, ownerKind: string, walletUuidOrEmpty: string, currency: string]>(
  "account-by-key",
  `SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.tenant_id = ? AND a.owner_kind = ? AND ifnull(a.wallet_uuid, '') = ? AND a.currency = ?`,
);

/** The account of the key, by the columns of its unique index (accounts_owner). */
export const selectAccountByKey = (key: AccountKey) => selectByKey(key.tenantId, key.ownerKind, key.walletUuid ?? "", key.currency);

export const selectAccountById = statement<[id: string]>("account-by-id", `SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = ?`);

export const insertAccount = statement("insert-account", ACCOUNTS.insertSql("sqlite"));

/** Named parameters: the values are `ACCOUNTS.row(account)`, of which the update takes the counters, the version and the controls. */
export const updateAccount = statement<[row: Record<string, unknown>]>(
  "update-account",
  `UPDATE accounts SET credits_posted = @credits_posted, debits_posted = @debits_posted,
     credits_pending = @credits_pending, debits_pending = @debits_pending, version = @version,
     controls = @controls, controls_due_at = @controls_due_at WHERE id = @id`,
);
