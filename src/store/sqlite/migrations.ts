import type Database from "better-sqlite3";
import { LEAN_ROWS_MIGRATION } from "./lean-migration.js";

/**
 * Schema migrations, applied in order on start inside one transaction each. Money columns are
 * TEXT holding integer minor units: SQLite integers stop at 64 bits and 18-decimal assets need
 * more (DESIGN 1.2); the ledger core does all arithmetic in bigint.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    tenant_id TEXT REFERENCES tenants(id),
    key_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
  );
  CREATE TABLE oauth_clients (
    client_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    secret_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  CREATE TABLE wallets (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    wallet_id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    external_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (tenant_id, external_id)
  );
  CREATE TABLE accounts (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    owner_kind TEXT NOT NULL CHECK (owner_kind IN ('wallet', 'master', 'chain')),
    wallet_uuid TEXT REFERENCES wallets(id),
    currency TEXT NOT NULL,
    debits_must_not_exceed_credits INTEGER NOT NULL,
    credits_posted TEXT NOT NULL,
    debits_posted TEXT NOT NULL,
    credits_pending TEXT NOT NULL,
    debits_pending TEXT NOT NULL
  );
  CREATE UNIQUE INDEX accounts_owner ON accounts (tenant_id, owner_kind, ifnull(wallet_uuid, ''), currency);
  CREATE INDEX accounts_wallet ON accounts (wallet_uuid, seq);
  CREATE TABLE transfers (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    flag TEXT NOT NULL CHECK (flag IN ('posted', 'pending', 'post_pending', 'void_pending')),
    debit_account_id TEXT NOT NULL REFERENCES accounts(id),
    credit_account_id TEXT NOT NULL REFERENCES accounts(id),
    amount TEXT NOT NULL,
    pending_id TEXT REFERENCES transfers(id),
    transfer_type TEXT,
    wallet_uuid TEXT,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE INDEX transfers_wallet ON transfers (wallet_uuid, seq) WHERE transfer_type IS NOT NULL;
  CREATE UNIQUE INDEX transfers_resolution ON transfers (pending_id) WHERE pending_id IS NOT NULL;
  CREATE TABLE deposits (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    wallet_uuid TEXT REFERENCES wallets(id),
    currency TEXT NOT NULL,
    tx_hash TEXT NOT NULL,
    amount TEXT NOT NULL,
    confirmations INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'dropped')),
    transfer_id TEXT REFERENCES transfers(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (currency, tx_hash)
  );
  `,
  `
  ALTER TABLE tenants ADD COLUMN unknown_rollback TEXT NOT NULL DEFAULT 'succeed' CHECK (unknown_rollback IN ('succeed', 'not_found'));
  CREATE TABLE game_transactions (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    transaction_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('bet', 'win', 'rollback')),
    status TEXT NOT NULL CHECK (status IN ('completed', 'settled', 'rolled_back', 'tombstone')),
    wallet_uuid TEXT NOT NULL REFERENCES wallets(id),
    currency TEXT NOT NULL,
    amount TEXT NOT NULL,
    round_id TEXT NOT NULL,
    reference_id TEXT,
    fingerprint TEXT NOT NULL,
    result TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, transaction_id)
  );
  CREATE TABLE holds (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    wallet_uuid TEXT NOT NULL REFERENCES wallets(id),
    currency TEXT NOT NULL,
    amount TEXT NOT NULL,
    captured_amount TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'posted', 'voided', 'expired')),
    transfer_id TEXT NOT NULL REFERENCES transfers(id),
    reference TEXT,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX holds_expiry ON holds (expires_at) WHERE status = 'pending';
  CREATE TABLE withdrawals (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    wallet_uuid TEXT NOT NULL REFERENCES wallets(id),
    currency TEXT NOT NULL,
    amount TEXT NOT NULL,
    address TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'completed', 'failed')),
    transfer_id TEXT NOT NULL REFERENCES transfers(id),
    tx_hash TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX withdrawals_status ON withdrawals (status, created_at);
  CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    result TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (scope, key)
  );
  CREATE INDEX idempotency_expiry ON idempotency_keys (expires_at);
  `,
  `
  ALTER TABLE accounts ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE event_counters (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
    last_seq INTEGER NOT NULL
  );
  CREATE TABLE events (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    seq INTEGER NOT NULL,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    wallet_uuid TEXT,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
  );
  CREATE INDEX events_wallet ON events (tenant_id, wallet_uuid, seq);
  CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at TEXT NOT NULL,
    disabled_at TEXT
  );
  CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id) WHERE disabled_at IS NULL;
  CREATE TABLE webhook_deliveries (
    event_id TEXT NOT NULL REFERENCES events(id),
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id),
    tenant_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL,
    next_attempt_at TEXT NOT NULL,
    locked_until TEXT,
    last_status_code INTEGER,
    last_error TEXT,
    created_at TEXT NOT NULL,
    delivered_at TEXT,
    PRIMARY KEY (event_id, endpoint_id)
  );
  CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
  CREATE INDEX webhook_deliveries_tenant ON webhook_deliveries (tenant_id, created_at);
  `,
  // Transfer history says what moved (issue 10): resolution rows carry their pending transfer's
  // type and are listed; a partly posted pending row is 'voided' (it gave the rest back).
  `
  UPDATE transfers SET transfer_type = (SELECT p.transfer_type FROM transfers p WHERE p.id = transfers.pending_id)
    WHERE pending_id IS NOT NULL AND transfer_type IS NULL;
  UPDATE transfers SET status = 'voided'
    WHERE flag = 'pending' AND status = 'posted'
      AND amount <> (SELECT r.amount FROM transfers r WHERE r.pending_id = transfers.id AND r.flag = 'post_pending');
  `,
  // What a casino reconciles a transfer by (issue 11): the game's transaction_id and round, the
  // deposit's tx_hash, the hold's or withdrawal's id. Earlier game transfers keep none: nothing
  // linked them to their game transaction.
  `
  ALTER TABLE transfers ADD COLUMN reference TEXT;
  ALTER TABLE transfers ADD COLUMN round_id TEXT;
  UPDATE transfers SET reference = (SELECT d.tx_hash FROM deposits d WHERE d.transfer_id = coalesce(transfers.pending_id, transfers.id))
    WHERE transfer_type = 'deposit';
  UPDATE transfers SET reference = (SELECT h.id FROM holds h WHERE h.transfer_id = coalesce(transfers.pending_id, transfers.id))
    WHERE transfer_type = 'hold';
  UPDATE transfers SET reference = (SELECT w.id FROM withdrawals w WHERE w.transfer_id = coalesce(transfers.pending_id, transfers.id))
    WHERE transfer_type = 'withdrawal';
  `,
  // The wallet record's internal id is called `uuid` (issue 12): a wallet creation's stored
  // answer, replayed on a repeat of its Idempotency-Key, is renamed with it.
  `
  UPDATE idempotency_keys SET result = json_remove(json_set(result, '$.uuid', json_extract(result, '$.id')), '$.id')
    WHERE json_valid(result) AND json_type(result, '$.walletId') = 'text' AND json_type(result, '$.id') = 'text';
  `,
  // Lean rows (issue 13): see lean-migration.ts.
  LEAN_ROWS_MIGRATION,
  // Safer-gambling controls (issue 14): kept on the wallet's account, which every movement of
  // it locks; the sweeper finds the accounts it has work on by their due time.
  `
  ALTER TABLE accounts ADD COLUMN controls TEXT;
  ALTER TABLE accounts ADD COLUMN controls_due_at TEXT;
  CREATE INDEX accounts_controls_due ON accounts (controls_due_at) WHERE controls_due_at IS NOT NULL;
  ALTER TABLE tenants ADD COLUMN limit_cooling_off_seconds INTEGER NOT NULL DEFAULT 86400 CHECK (limit_cooling_off_seconds >= 0);
  `,
];

/** How many migrations this build ships: readiness wants at least this many applied. */
export const MIGRATION_COUNT = MIGRATIONS.length;

/** The version the lean rows of issue 13 came with: test/store/upgrade.test.ts loads data written before it. */
export const LEAN_ROWS_VERSION = MIGRATIONS.indexOf(LEAN_ROWS_MIGRATION) + 1;

/** Applies the migrations not applied yet, up to version `upTo` (all of them unless a test asks). */
export function migrate(db: Database.Database, upTo = MIGRATIONS.length): void {
  db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
  // One immediate transaction for the read and the changes, so two processes starting at
  // once cannot both apply the same migration.
  db.transaction(() => {
    const applied = (db.prepare("SELECT count(*) AS n FROM schema_migrations").get() as { n: number }).n;
    MIGRATIONS.slice(applied, Math.max(applied, upTo)).forEach((sql, index) => {
      db.exec(sql);
      db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)").run(applied + index + 1, new Date().toISOString());
    });
  }).immediate();
}
