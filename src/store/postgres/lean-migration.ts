/**
 * The lean rows of issue 13 (PostgreSQL), moving the data there is: the same change as
 * store/sqlite/lean-migration.ts, which says what and why, in this dialect.
 */

/**
 * An event's amounts are decimals with trailing zeros cut; the row tells its own decimals from
 * the transfer (or deposit) its JSON shows, which is stored in minor units (as in SQLite's
 * lean-migration.ts, which explains it). NULL where an amount does not convert exactly.
 */
const decimalsOf = (shown: string, minor: string) =>
  `(CASE WHEN split_part(${shown}, '.', 1) <> '0' THEN length((${minor})::text) - length(split_part(${shown}, '.', 1))
     ELSE length((${minor})::text) + length(split_part(${shown}, '.', 2)) - length(ltrim(split_part(${shown}, '.', 2), '0')) END)`;
const minorUnits = (text: string, decimals: string) =>
  `(CASE WHEN ${decimals} >= 0 AND (${text})::numeric * 10::numeric ^ ${decimals} = trunc((${text})::numeric * 10::numeric ^ ${decimals})
     THEN trunc((${text})::numeric * 10::numeric ^ ${decimals}) END)`;

/** A JSON object's keys in their order, comma-separated. */
const keysOf = (json: string) => `(SELECT string_agg(k, ',' ORDER BY n) FROM json_object_keys(${json}) WITH ORDINALITY AS x(k, n))`;

const TRANSFER_KEYS = "id,transfer_type,currency,amount,status,created_at,transaction_id,round_id,tx_hash,hold_id,withdrawal_id";

/** Whether the event `j` (its payload `pj`, its transfer `t`, that transfer's pending transfer `p`, wallet `w`, deposit `d`) renders as its payload. */
const RENDERS_AS_STORED = `coalesce(
  j.balance_amount IS NOT NULL AND j.balance_pending IS NOT NULL
  AND ${minorUnits("coalesce(j.pj->'transfer'->>'amount', j.pj->'deposit'->>'amount')", "j.decimals")} = j.shown_amount
  AND ${keysOf("j.pj")} = 'id,type,created_at,tenant_id,wallet,currency,balance,account_version,transfer,released_transfer,deposit'
  AND j.pj->>'id' = j.id::text AND j.pj->>'type' = j.type AND j.pj->>'tenant_id' = j.tenant_id::text
  AND json_typeof(j.pj->'account_version') = 'number'
  AND ${keysOf("j.pj->'balance'")} = 'currency,amount,pending_amount,available_balance'
  AND j.pj->'balance'->>'currency' = j.pj->>'currency'
  AND j.pj->>'currency' = coalesce(t.currency, d.currency)
  AND CASE WHEN json_typeof(j.pj->'wallet') = 'null' THEN j.wallet_uuid IS NULL
    ELSE ${keysOf("j.pj->'wallet'")} = 'id,wallet_id,external_id,name' AND w.id = j.wallet_uuid
      AND j.pj->'wallet'->>'id' = w.id::text AND j.pj->'wallet'->>'wallet_id' = w.wallet_id
      AND j.pj->'wallet'->>'external_id' = w.external_id AND j.pj->'wallet'->>'name' = w.name END
  AND CASE WHEN json_typeof(j.pj->'transfer') = 'null' THEN t.id IS NULL
    ELSE ${keysOf("j.pj->'transfer'")} = '${TRANSFER_KEYS}' AND t.id IS NOT NULL
      AND CASE t.flag
        WHEN 'pending' THEN j.pj->'transfer'->>'status' = 'pending' AND j.pj->'transfer'->>'id' = t.id::text
        WHEN 'void_pending' THEN j.pj->'transfer'->>'status' = 'voided' AND j.pj->'transfer'->>'id' = p.id::text
        ELSE j.pj->'transfer'->>'status' = t.status AND j.pj->'transfer'->>'id' = t.id::text END END
  AND CASE WHEN json_typeof(j.pj->'released_transfer') = 'null'
    THEN NOT coalesce(t.flag = 'post_pending' AND p.amount > t.amount, false)
    ELSE t.flag = 'post_pending' AND p.amount > t.amount AND ${keysOf("j.pj->'released_transfer'")} = '${TRANSFER_KEYS}'
      AND j.pj->'released_transfer'->>'id' = p.id::text AND j.pj->'released_transfer'->>'status' = 'voided' END
  AND CASE WHEN json_typeof(j.pj->'deposit') = 'null' THEN true
    ELSE ${keysOf("j.pj->'deposit'")} = 'id,status,confirmations,required_confirmations,currency,amount,tx_hash,created_at'
      AND d.id IS NOT NULL AND json_typeof(j.pj->'deposit'->'confirmations') = 'number'
      AND json_typeof(j.pj->'deposit'->'required_confirmations') = 'number'
      AND j.pj->'deposit'->>'status' = substr(j.type, length('deposit.') + 1) END,
  false)`;

/** The game transaction's answer in `result` is what its columns give (a tombstone's is never given). */
const counter = (name: string) => `(g.rj->'account'->'${name}'->>'$bigint')::numeric`;
const [creditsPosted, debitsPosted, creditsPending, debitsPending] = [
  "creditsPosted",
  "debitsPosted",
  "creditsPending",
  "debitsPending",
].map(counter);
const ANSWER_FROM_COLUMNS = `(g.status = 'tombstone' OR coalesce(
  g.rj->'transaction'->>'transactionId' = g.transaction_id AND g.rj->'transaction'->>'kind' = g.kind
  AND g.rj->'transaction'->>'status' = 'completed' AND g.rj->'transaction'->>'currency' = g.currency
  AND (g.rj->'transaction'->'amount'->>'$bigint')::numeric = g.amount AND g.rj->'transaction'->>'roundId' = g.round_id
  AND (g.rj->'transaction'->>'referenceId') IS NOT DISTINCT FROM g.reference_id
  AND (g.rj->'transaction'->>'createdAt')::timestamptz = g.created_at
  AND json_typeof(g.rj->'betNotFound') = 'boolean'
  AND (json_typeof(g.rj->'account') = 'null' OR (g.rj->'account'->>'currency' = g.currency
    AND ${[creditsPosted, debitsPosted, creditsPending, debitsPending].map((value) => `${value} IS NOT NULL`).join(" AND ")})),
  false))`;
const HAS_ACCOUNT = `g.status <> 'tombstone' AND json_typeof(g.rj->'account') = 'object'`;

export const LEAN_ROWS_MIGRATION = `
  ALTER TABLE transfers ADD COLUMN bet_transaction_id text, ADD COLUMN balance_amount numeric(40, 0),
    ADD COLUMN balance_pending numeric(40, 0), ADD COLUMN account_version bigint;
  CREATE INDEX transfers_game ON transfers (reference) WHERE transfer_type IN ('bet', 'win', 'rollback');
  CREATE INDEX transfers_bet ON transfers (bet_transaction_id) WHERE bet_transaction_id IS NOT NULL;

  CREATE TABLE game_transactions_lean (
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    transaction_id text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('bet', 'win', 'rollback')),
    status text NOT NULL CHECK (status IN ('completed', 'settled', 'rolled_back', 'tombstone')),
    wallet_uuid uuid NOT NULL REFERENCES wallets(id),
    currency text NOT NULL,
    amount numeric(40, 0) NOT NULL,
    round_id text NOT NULL,
    reference_id text,
    created_at timestamptz NOT NULL,
    balance_amount numeric(40, 0),
    balance_pending numeric(40, 0),
    bet_not_found boolean NOT NULL,
    result text,
    PRIMARY KEY (tenant_id, transaction_id)
  );
  INSERT INTO game_transactions_lean
  SELECT g.tenant_id, g.transaction_id, g.kind, g.status, g.wallet_uuid, g.currency, g.amount, g.round_id, g.reference_id, g.created_at,
    CASE WHEN ${HAS_ACCOUNT} AND ${ANSWER_FROM_COLUMNS} THEN ${creditsPosted} - ${debitsPosted} + ${creditsPending} END,
    CASE WHEN ${HAS_ACCOUNT} AND ${ANSWER_FROM_COLUMNS} THEN ${creditsPending} + ${debitsPending} END,
    g.status <> 'tombstone' AND coalesce((g.rj->>'betNotFound')::boolean, false),
    CASE WHEN ${ANSWER_FROM_COLUMNS} THEN NULL ELSE g.result END
  FROM (SELECT game_transactions.*, CASE WHEN status <> 'tombstone' THEN result::json END AS rj FROM game_transactions) g;
  DROP TABLE game_transactions;
  ALTER TABLE game_transactions_lean RENAME TO game_transactions;
  ALTER TABLE game_transactions RENAME CONSTRAINT game_transactions_lean_pkey TO game_transactions_pkey;
  CREATE INDEX game_transactions_bet ON game_transactions (tenant_id, reference_id) WHERE reference_id IS NOT NULL;

  CREATE TABLE events_lean (
    seq bigint NOT NULL,
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    wallet_uuid uuid,
    transfer_id uuid,
    webhooks boolean NOT NULL,
    type text NOT NULL,
    balance_amount numeric(40, 0),
    balance_pending numeric(40, 0),
    account_version bigint,
    created_at timestamptz,
    deposit_id uuid,
    confirmations integer,
    required_confirmations integer,
    payload text,
    PRIMARY KEY (tenant_id, seq)
  );
  WITH targeted AS (
    SELECT e.*, e.payload::json AS pj, coalesce(CASE WHEN e.payload::json->'transfer'->>'status' = 'voided' THEN (SELECT r.id FROM transfers r
        WHERE r.pending_id = (e.payload::json->'transfer'->>'id')::uuid AND r.flag = 'void_pending') END,
      (e.payload::json->'transfer'->>'id')::uuid) AS target_id
    FROM events e),
  shown AS (
    SELECT targeted.*, coalesce(CASE WHEN tt.flag = 'void_pending' THEN tp.amount ELSE tt.amount END, td.amount) AS shown_amount
    FROM targeted LEFT JOIN transfers tt ON tt.id = targeted.target_id LEFT JOIN transfers tp ON tp.id = tt.pending_id
      LEFT JOIN deposits td ON td.id = (targeted.pj->'deposit'->>'id')::uuid),
  scaled AS (
    SELECT shown.*, ${decimalsOf("coalesce(shown.pj->'transfer'->>'amount', shown.pj->'deposit'->>'amount')", "shown.shown_amount")} AS decimals
    FROM shown),
  j AS (
    SELECT scaled.*, ${minorUnits("scaled.pj->'balance'->>'amount'", "scaled.decimals")} AS balance_amount,
      ${minorUnits("scaled.pj->'balance'->>'pending_amount'", "scaled.decimals")} AS balance_pending
    FROM scaled)
  INSERT INTO events_lean (seq, tenant_id, id, wallet_uuid, transfer_id, webhooks, type, balance_amount, balance_pending, account_version,
    created_at, deposit_id, confirmations, required_confirmations, payload)
  SELECT j.seq, j.tenant_id, j.id, j.wallet_uuid, j.target_id, EXISTS (SELECT 1 FROM webhook_deliveries wd WHERE wd.event_id = j.id), j.type,
    j.balance_amount, j.balance_pending, (j.pj->>'account_version')::bigint,
    (j.pj->>'created_at')::timestamptz, (j.pj->'deposit'->>'id')::uuid, (j.pj->'deposit'->>'confirmations')::integer,
    (j.pj->'deposit'->>'required_confirmations')::integer,
    CASE WHEN ${RENDERS_AS_STORED} THEN NULL ELSE j.payload END
  FROM j LEFT JOIN transfers t ON t.id = j.target_id LEFT JOIN transfers p ON p.id = t.pending_id
    LEFT JOIN wallets w ON w.id = j.wallet_uuid LEFT JOIN deposits d ON d.id = (j.pj->'deposit'->>'id')::uuid;
  ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_event_id_fkey;
  DROP TABLE events;
  ALTER TABLE events_lean RENAME TO events;
  ALTER TABLE events RENAME CONSTRAINT events_lean_pkey TO events_pkey;
  CREATE INDEX events_wallet ON events (wallet_uuid, seq) WHERE wallet_uuid IS NOT NULL;
  CREATE UNIQUE INDEX events_id ON events (id) WHERE webhooks;
`;
