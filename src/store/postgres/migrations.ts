import type pg from "pg";
import { LEAN_ROWS_MIGRATION } from "./lean-migration.js";

/**
 * PostgreSQL schema migrations, applied on start. Money columns are NUMERIC(40, 0): exact
 * integers of minor units with room for any 128-bit value (39 digits), never float.
 * An advisory lock serialises migrators, so many processes can start at once.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE tenants (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    created_at timestamptz NOT NULL
  );
  CREATE TABLE api_keys (
    id uuid PRIMARY KEY,
    tenant_id uuid REFERENCES tenants(id),
    key_hash text NOT NULL UNIQUE,
    scopes text NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
  );
  CREATE TABLE oauth_clients (
    client_id text PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    secret_hash text NOT NULL,
    scopes text NOT NULL,
    created_at timestamptz NOT NULL
  );
  CREATE TABLE settings (
    name text PRIMARY KEY,
    value text NOT NULL
  );
  CREATE TABLE wallets (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id uuid NOT NULL UNIQUE,
    wallet_id text NOT NULL UNIQUE,
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    name text NOT NULL,
    external_id text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    UNIQUE (tenant_id, external_id)
  );
  CREATE TABLE accounts (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id uuid NOT NULL UNIQUE,
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    owner_kind text NOT NULL CHECK (owner_kind IN ('wallet', 'master', 'chain')),
    wallet_uuid uuid REFERENCES wallets(id),
    owner_key text NOT NULL GENERATED ALWAYS AS (owner_kind || ':' || coalesce(wallet_uuid::text, '')) STORED,
    currency text NOT NULL,
    debits_must_not_exceed_credits boolean NOT NULL,
    credits_posted numeric(40, 0) NOT NULL CHECK (credits_posted >= 0),
    debits_posted numeric(40, 0) NOT NULL CHECK (debits_posted >= 0),
    credits_pending numeric(40, 0) NOT NULL CHECK (credits_pending >= 0),
    debits_pending numeric(40, 0) NOT NULL CHECK (debits_pending >= 0),
    UNIQUE (tenant_id, currency, owner_key),
    CHECK (NOT debits_must_not_exceed_credits OR credits_posted - debits_posted - debits_pending >= 0)
  );
  CREATE INDEX accounts_wallet ON accounts (wallet_uuid, seq);
  CREATE INDEX accounts_master ON accounts (tenant_id, seq) WHERE owner_kind = 'master';
  CREATE TABLE transfers (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id uuid NOT NULL UNIQUE,
    tenant_id uuid NOT NULL,
    currency text NOT NULL,
    flag text NOT NULL CHECK (flag IN ('posted', 'pending', 'post_pending', 'void_pending')),
    debit_account_id uuid NOT NULL REFERENCES accounts(id),
    credit_account_id uuid NOT NULL REFERENCES accounts(id),
    amount numeric(40, 0) NOT NULL,
    pending_id uuid REFERENCES transfers(id),
    transfer_type text,
    wallet_uuid uuid,
    status text NOT NULL,
    created_at timestamptz NOT NULL
  );
  CREATE INDEX transfers_wallet ON transfers (wallet_uuid, seq) WHERE transfer_type IS NOT NULL;
  CREATE UNIQUE INDEX transfers_resolution ON transfers (pending_id) WHERE pending_id IS NOT NULL;
  CREATE TABLE deposits (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    wallet_uuid uuid REFERENCES wallets(id),
    currency text NOT NULL,
    tx_hash text NOT NULL,
    amount numeric(40, 0) NOT NULL,
    confirmations integer NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'confirmed', 'dropped')),
    transfer_id uuid REFERENCES transfers(id),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    UNIQUE (currency, tx_hash)
  );
  `,
  `
  ALTER TABLE tenants ADD COLUMN unknown_rollback text NOT NULL DEFAULT 'succeed' CHECK (unknown_rollback IN ('succeed', 'not_found'));
  CREATE TABLE game_transactions (
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    transaction_id text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('bet', 'win', 'rollback')),
    status text NOT NULL CHECK (status IN ('completed', 'settled', 'rolled_back', 'tombstone')),
    wallet_uuid uuid NOT NULL REFERENCES wallets(id),
    currency text NOT NULL,
    amount numeric(40, 0) NOT NULL,
    round_id text NOT NULL,
    reference_id text,
    fingerprint text NOT NULL,
    result text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, transaction_id)
  );
  CREATE TABLE holds (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    wallet_uuid uuid NOT NULL REFERENCES wallets(id),
    currency text NOT NULL,
    amount numeric(40, 0) NOT NULL,
    captured_amount numeric(40, 0) NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'posted', 'voided', 'expired')),
    transfer_id uuid NOT NULL REFERENCES transfers(id),
    reference text,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
  );
  CREATE INDEX holds_expiry ON holds (expires_at) WHERE status = 'pending';
  CREATE TABLE withdrawals (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    wallet_uuid uuid NOT NULL REFERENCES wallets(id),
    currency text NOT NULL,
    amount numeric(40, 0) NOT NULL,
    address text NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'completed', 'failed')),
    transfer_id uuid NOT NULL REFERENCES transfers(id),
    tx_hash text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
  );
  CREATE INDEX withdrawals_status ON withdrawals (status, created_at);
  CREATE TABLE idempotency_keys (
    scope text NOT NULL,
    key text NOT NULL,
    fingerprint text NOT NULL,
    result text NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
  );
  CREATE INDEX idempotency_expiry ON idempotency_keys (expires_at);
  `,
  `
  ALTER TABLE accounts ADD COLUMN version bigint NOT NULL DEFAULT 0;
  CREATE TABLE event_counters (
    tenant_id uuid PRIMARY KEY REFERENCES tenants(id),
    last_seq bigint NOT NULL
  );
  CREATE TABLE events (
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    seq bigint NOT NULL,
    id uuid NOT NULL UNIQUE,
    type text NOT NULL,
    wallet_uuid uuid,
    payload text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, seq)
  );
  CREATE INDEX events_wallet ON events (tenant_id, wallet_uuid, seq);
  CREATE TABLE webhook_endpoints (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    url text NOT NULL,
    secret text NOT NULL,
    created_at timestamptz NOT NULL,
    disabled_at timestamptz
  );
  CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id) WHERE disabled_at IS NULL;
  CREATE TABLE webhook_deliveries (
    event_id uuid NOT NULL REFERENCES events(id),
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoints(id),
    tenant_id uuid NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts integer NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    locked_until timestamptz,
    last_status_code integer,
    last_error text,
    created_at timestamptz NOT NULL,
    delivered_at timestamptz,
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
  // Rate-limit counters (store/postgres/rate-limits.ts): UNLOGGED, a crash only forgives a minute;
  // a lower fillfactor keeps their updates HOT (no index touched, no page split).
  `
  CREATE UNLOGGED TABLE rate_limit_counters (
    key text PRIMARY KEY,
    window_end bigint NOT NULL,
    count bigint NOT NULL
  ) WITH (fillfactor = 70);
  `,
  // What a casino reconciles a transfer by (issue 11): the game's transaction_id and round, the
  // deposit's tx_hash, the hold's or withdrawal's id. Earlier game transfers keep none: nothing
  // linked them to their game transaction.
  `
  ALTER TABLE transfers ADD COLUMN reference text;
  ALTER TABLE transfers ADD COLUMN round_id text;
  UPDATE transfers SET reference = (SELECT d.tx_hash FROM deposits d WHERE d.transfer_id = coalesce(transfers.pending_id, transfers.id))
    WHERE transfer_type = 'deposit';
  UPDATE transfers SET reference = (SELECT h.id::text FROM holds h WHERE h.transfer_id = coalesce(transfers.pending_id, transfers.id))
    WHERE transfer_type = 'hold';
  UPDATE transfers SET reference = (SELECT w.id::text FROM withdrawals w WHERE w.transfer_id = coalesce(transfers.pending_id, transfers.id))
    WHERE transfer_type = 'withdrawal';
  `,
  // The wallet record's internal id is called `uuid` (issue 12): a wallet creation's stored
  // answer, replayed on a repeat of its Idempotency-Key, is renamed with it.
  `
  UPDATE idempotency_keys SET result = ((result::jsonb - 'id') || jsonb_build_object('uuid', result::jsonb -> 'id'))::text
    WHERE result LIKE '{%' AND jsonb_typeof(result::jsonb -> 'walletId') = 'string' AND jsonb_typeof(result::jsonb -> 'id') = 'string';
  `,
  // Lean rows (issue 13): see lean-migration.ts.
  LEAN_ROWS_MIGRATION,
  // Safer-gambling controls (issue 14): kept on the wallet's account, which every movement of
  // it locks; the sweeper finds the accounts it has work on by their due time.
  `
  ALTER TABLE accounts ADD COLUMN controls text;
  ALTER TABLE accounts ADD COLUMN controls_due_at timestamptz;
  CREATE INDEX accounts_controls_due ON accounts (controls_due_at) WHERE controls_due_at IS NOT NULL;
  ALTER TABLE tenants ADD COLUMN limit_cooling_off_seconds integer NOT NULL DEFAULT 86400 CHECK (limit_cooling_off_seconds >= 0);
  `,
];

/** How many migrations this build ships: readiness wants at least this many applied. */
export const MIGRATION_COUNT = MIGRATIONS.length;

/** The version the lean rows of issue 13 came with: test/store/upgrade.test.ts loads data written before it. */
export const LEAN_ROWS_VERSION = MIGRATIONS.indexOf(LEAN_ROWS_MIGRATION) + 1;

const MIGRATION_LOCK = 7_340_211;

/** Applies the migrations not applied yet, up to version `upTo` (all of them unless a test asks). */
export async function migrate(pool: pg.Pool, upTo = MIGRATIONS.length): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await client.query("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL)");
    const applied = Number((await client.query("SELECT count(*) AS n FROM schema_migrations")).rows[0].n);
    for (const [index, sql] of MIGRATIONS.slice(applied, Math.max(applied, upTo)).entries()) {
      await client.query(sql);
      await client.query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now())", [applied + index + 1]);
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK");
    throw error;
  } finally {
    client.release();
  }
}
