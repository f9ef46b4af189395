/**
 * The lean rows of issue 13 (SQLite), moving the data there is. A game transaction that moved
 * money is kept by its transfer from now on (its reference, the new bet_transaction_id and the
 * balance after it); the rows written before keep their game_transactions row, without the hash
 * and, where its columns give it back, without the answer's JSON. An event keeps ids (16-byte
 * BLOBs) and what no other row keeps; its JSON is rendered when read. An existing event keeps its
 * JSON only where the checks below cannot show that the rendering gives it back byte for byte
 * (an older shape). Deliveries find their event by id, in an index of only the events that have
 * some (`webhooks`).
 */

/**
 * Amounts in an event's JSON are decimals with trailing zeros cut (at least two places: "100.00"
 * for 100 000 000 minor units of a 6-decimal currency), and the currency registry is not at hand
 * here. The row tells its own decimals: the transfer (or deposit) its JSON shows is in the
 * database in minor units, so comparing the two gives them (`decimalsOf`); every amount of the
 * event is in that currency. Each is checked to convert back: the transfer's or deposit's amount
 * must give its stored minor units, and a fraction longer than the decimals gives NULL.
 */
const ZEROS = "0".repeat(31);
const wholeOf = (text: string) => `substr(${text}, 1, instr(${text}, '.') - 1)`;
const fractionOf = (text: string) => `substr(${text}, instr(${text}, '.') + 1)`;
const decimalsOf = (shown: string, minor: string) =>
  `(CASE WHEN ${wholeOf(shown)} <> '0' THEN length(${minor}) - length(${wholeOf(shown)})
     ELSE length(${minor}) + length(${fractionOf(shown)}) - length(ltrim(${fractionOf(shown)}, '0')) END)`;
const unsignedMinorUnits = (text: string, decimals: string) =>
  `(CASE WHEN instr(${text}, '.') > 0 AND length(rtrim(${fractionOf(text)}, '0')) <= ${decimals}
     THEN coalesce(nullif(ltrim(${wholeOf(text)} || substr(rtrim(${fractionOf(text)}, '0') || '${ZEROS}', 1, ${decimals}), '0'), ''), '0') END)`;
/** A decimal amount of the API ("-12.50") in minor units as stored, given the currency's decimals; NULL if it does not convert. */
const minorUnits = (text: string, decimals: string) =>
  `(CASE WHEN ${text} LIKE '-%' THEN '-' || ${unsignedMinorUnits(`substr(${text}, 2)`, decimals)} ELSE ${unsignedMinorUnits(text, decimals)} END)`;

/** A JSON object's keys in their order, comma-separated. */
const keysOf = (json: string, path: string) => `(SELECT group_concat(key, ',' ORDER BY id) FROM json_each(${json}, '${path}'))`;

const TRANSFER_KEYS = "id,transfer_type,currency,amount,status,created_at,transaction_id,round_id,tx_hash,hold_id,withdrawal_id";

/** Non-negative integer texts compared as numbers: a > b. */
const greater = (a: string, b: string) => `(length(${a}) > length(${b}) OR (length(${a}) = length(${b}) AND ${a} > ${b}))`;

const blob = (text: string) => `unhex(replace(${text}, '-', ''))`;

/** Whether the event `j` (with its transfer `t`, that transfer's pending transfer `p`, wallet `w`, deposit `d`) renders as its payload. */
const RENDERS_AS_STORED = `
  j.balance_amount IS NOT NULL AND j.balance_pending IS NOT NULL
  AND ${minorUnits("coalesce(json_extract(j.payload, '$.transfer.amount'), json_extract(j.payload, '$.deposit.amount'))", "j.decimals")} = j.shown_amount
  AND ${keysOf("j.payload", "$")} = 'id,type,created_at,tenant_id,wallet,currency,balance,account_version,transfer,released_transfer,deposit'
  AND json_extract(j.payload, '$.id') = j.id AND json_extract(j.payload, '$.type') = j.type
  AND json_extract(j.payload, '$.tenant_id') = j.tenant_id
  AND json_type(j.payload, '$.account_version') = 'integer'
  AND ${keysOf("j.payload", "$.balance")} = 'currency,amount,pending_amount,available_balance'
  AND json_extract(j.payload, '$.balance.currency') = json_extract(j.payload, '$.currency')
  AND json_extract(j.payload, '$.currency') = coalesce(t.currency, d.currency)
  AND CASE WHEN json_type(j.payload, '$.wallet') = 'null' THEN j.wallet_uuid IS NULL
    ELSE ${keysOf("j.payload", "$.wallet")} = 'id,wallet_id,external_id,name' AND w.id = j.wallet_uuid
      AND json_extract(j.payload, '$.wallet.id') = w.id AND json_extract(j.payload, '$.wallet.wallet_id') = w.wallet_id
      AND json_extract(j.payload, '$.wallet.external_id') = w.external_id AND json_extract(j.payload, '$.wallet.name') = w.name END
  AND CASE WHEN json_type(j.payload, '$.transfer') = 'null' THEN t.id IS NULL
    ELSE ${keysOf("j.payload", "$.transfer")} = '${TRANSFER_KEYS}' AND t.id IS NOT NULL
      AND CASE t.flag
        WHEN 'pending' THEN json_extract(j.payload, '$.transfer.status') = 'pending' AND json_extract(j.payload, '$.transfer.id') = t.id
        WHEN 'void_pending' THEN json_extract(j.payload, '$.transfer.status') = 'voided' AND json_extract(j.payload, '$.transfer.id') = p.id
        ELSE json_extract(j.payload, '$.transfer.status') = t.status AND json_extract(j.payload, '$.transfer.id') = t.id END END
  AND CASE WHEN json_type(j.payload, '$.released_transfer') = 'null'
    THEN NOT (t.flag IS 'post_pending' AND ${greater("p.amount", "t.amount")})
    ELSE t.flag IS 'post_pending' AND ${greater("p.amount", "t.amount")} AND ${keysOf("j.payload", "$.released_transfer")} = '${TRANSFER_KEYS}'
      AND json_extract(j.payload, '$.released_transfer.id') = p.id AND json_extract(j.payload, '$.released_transfer.status') = 'voided' END
  AND CASE WHEN json_type(j.payload, '$.deposit') = 'null' THEN 1
    ELSE ${keysOf("j.payload", "$.deposit")} = 'id,status,confirmations,required_confirmations,currency,amount,tx_hash,created_at'
      AND d.id IS NOT NULL AND json_type(j.payload, '$.deposit.confirmations') = 'integer'
      AND json_type(j.payload, '$.deposit.required_confirmations') = 'integer'
      AND json_extract(j.payload, '$.deposit.status') = substr(j.type, length('deposit.') + 1) END`;

/** The game transaction's answer in `result` is what its columns give (a tombstone's is never given). */
const counter = (name: string) => `json_extract(g.result, '$.account.${name}."$bigint"')`;
const COUNTERS = ["creditsPosted", "debitsPosted", "creditsPending", "debitsPending"].map(counter);
const ANSWER_FROM_COLUMNS = `g.status = 'tombstone' OR (json_valid(g.result)
  AND json_extract(g.result, '$.transaction.transactionId') = g.transaction_id AND json_extract(g.result, '$.transaction.kind') = g.kind
  AND json_extract(g.result, '$.transaction.status') = 'completed' AND json_extract(g.result, '$.transaction.currency') = g.currency
  AND json_extract(g.result, '$.transaction.amount."$bigint"') = g.amount AND json_extract(g.result, '$.transaction.roundId') = g.round_id
  AND json_extract(g.result, '$.transaction.referenceId') IS g.reference_id
  AND json_extract(g.result, '$.transaction.createdAt') = g.created_at
  AND json_type(g.result, '$.betNotFound') IN ('true', 'false')
  AND (json_type(g.result, '$.account') = 'null' OR (json_extract(g.result, '$.account.currency') = g.currency
    AND ${COUNTERS.map((value) => `length(${value}) BETWEEN 1 AND 18`).join(" AND ")})))`;
const [creditsPosted, debitsPosted, creditsPending, debitsPending] = COUNTERS.map((value) => `CAST(${value} AS INTEGER)`);
const HAS_ACCOUNT = `g.status <> 'tombstone' AND json_valid(g.result) AND json_type(g.result, '$.account') = 'object'`;

export const LEAN_ROWS_MIGRATION = `
  PRAGMA defer_foreign_keys = ON;

  ALTER TABLE transfers ADD COLUMN bet_transaction_id TEXT;
  ALTER TABLE transfers ADD COLUMN balance_amount TEXT;
  ALTER TABLE transfers ADD COLUMN balance_pending TEXT;
  ALTER TABLE transfers ADD COLUMN account_version INTEGER;
  CREATE INDEX transfers_game ON transfers (reference) WHERE transfer_type IN ('bet', 'win', 'rollback');
  CREATE INDEX transfers_bet ON transfers (bet_transaction_id) WHERE bet_transaction_id IS NOT NULL;

  CREATE TABLE game_transactions_lean (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    transaction_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('bet', 'win', 'rollback')),
    status TEXT NOT NULL CHECK (status IN ('completed', 'settled', 'rolled_back', 'tombstone')),
    wallet_uuid TEXT NOT NULL REFERENCES wallets(id),
    currency TEXT NOT NULL,
    amount TEXT NOT NULL,
    round_id TEXT NOT NULL,
    reference_id TEXT,
    created_at TEXT NOT NULL,
    balance_amount TEXT,
    balance_pending TEXT,
    bet_not_found INTEGER NOT NULL,
    result TEXT,
    PRIMARY KEY (tenant_id, transaction_id)
  ) WITHOUT ROWID;
  INSERT INTO game_transactions_lean
  SELECT g.tenant_id, g.transaction_id, g.kind, g.status, g.wallet_uuid, g.currency, g.amount, g.round_id, g.reference_id, g.created_at,
    CASE WHEN ${HAS_ACCOUNT} AND ${ANSWER_FROM_COLUMNS} THEN CAST(${creditsPosted} - ${debitsPosted} + ${creditsPending} AS TEXT) END,
    CASE WHEN ${HAS_ACCOUNT} AND ${ANSWER_FROM_COLUMNS} THEN CAST(${creditsPending} + ${debitsPending} AS TEXT) END,
    CASE WHEN g.status <> 'tombstone' AND json_valid(g.result) AND json_type(g.result, '$.betNotFound') = 'true' THEN 1 ELSE 0 END,
    CASE WHEN ${ANSWER_FROM_COLUMNS} THEN NULL ELSE g.result END
  FROM game_transactions g;
  DROP TABLE game_transactions;
  ALTER TABLE game_transactions_lean RENAME TO game_transactions;
  CREATE INDEX game_transactions_bet ON game_transactions (tenant_id, reference_id) WHERE reference_id IS NOT NULL;

  CREATE TABLE events_lean (
    tenant_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    id BLOB NOT NULL,
    type TEXT NOT NULL,
    wallet_uuid BLOB,
    transfer_id BLOB,
    webhooks INTEGER NOT NULL,
    balance_amount TEXT,
    balance_pending TEXT,
    account_version INTEGER,
    created_at TEXT,
    deposit_id BLOB,
    confirmations INTEGER,
    required_confirmations INTEGER,
    payload TEXT,
    PRIMARY KEY (tenant_id, seq)
  ) WITHOUT ROWID;
  WITH targeted AS (
    SELECT e.*, coalesce(CASE WHEN json_extract(e.payload, '$.transfer.status') = 'voided' THEN (SELECT r.id FROM transfers r
        WHERE r.pending_id = json_extract(e.payload, '$.transfer.id') AND r.flag = 'void_pending') END,
      json_extract(e.payload, '$.transfer.id')) AS target_id
    FROM events e),
  shown AS (
    SELECT targeted.*, coalesce(CASE WHEN tt.flag = 'void_pending' THEN tp.amount ELSE tt.amount END, td.amount) AS shown_amount
    FROM targeted LEFT JOIN transfers tt ON tt.id = targeted.target_id LEFT JOIN transfers tp ON tp.id = tt.pending_id
      LEFT JOIN deposits td ON td.id = json_extract(targeted.payload, '$.deposit.id')),
  scaled AS (
    SELECT shown.*, ${decimalsOf("coalesce(json_extract(shown.payload, '$.transfer.amount'), json_extract(shown.payload, '$.deposit.amount'))", "shown.shown_amount")} AS decimals
    FROM shown),
  j AS (
    SELECT scaled.*, ${minorUnits("json_extract(scaled.payload, '$.balance.amount')", "scaled.decimals")} AS balance_amount,
      ${minorUnits("json_extract(scaled.payload, '$.balance.pending_amount')", "scaled.decimals")} AS balance_pending
    FROM scaled)
  INSERT INTO events_lean
  SELECT ${blob("j.tenant_id")}, j.seq, ${blob("j.id")}, j.type, ${blob("j.wallet_uuid")}, ${blob("j.target_id")},
    EXISTS (SELECT 1 FROM webhook_deliveries wd WHERE wd.event_id = j.id),
    j.balance_amount, j.balance_pending, json_extract(j.payload, '$.account_version'), json_extract(j.payload, '$.created_at'),
    ${blob("json_extract(j.payload, '$.deposit.id')")}, json_extract(j.payload, '$.deposit.confirmations'),
    json_extract(j.payload, '$.deposit.required_confirmations'),
    CASE WHEN ${RENDERS_AS_STORED} THEN NULL ELSE j.payload END
  FROM j LEFT JOIN transfers t ON t.id = j.target_id LEFT JOIN transfers p ON p.id = t.pending_id
    LEFT JOIN wallets w ON w.id = j.wallet_uuid LEFT JOIN deposits d ON d.id = json_extract(j.payload, '$.deposit.id');

  CREATE TABLE webhook_deliveries_lean (
    event_id TEXT NOT NULL,
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
  INSERT INTO webhook_deliveries_lean (event_id, endpoint_id, tenant_id, status, attempts, next_attempt_at, locked_until,
      last_status_code, last_error, created_at, delivered_at)
    SELECT event_id, endpoint_id, tenant_id, status, attempts, next_attempt_at, locked_until, last_status_code, last_error, created_at,
      delivered_at FROM webhook_deliveries;
  DROP TABLE webhook_deliveries;
  DROP TABLE events;
  ALTER TABLE events_lean RENAME TO events;
  ALTER TABLE webhook_deliveries_lean RENAME TO webhook_deliveries;
  CREATE INDEX events_wallet ON events (wallet_uuid, seq) WHERE wallet_uuid IS NOT NULL;
  CREATE UNIQUE INDEX events_id ON events (id) WHERE webhooks;
  CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
  CREATE INDEX webhook_deliveries_tenant ON webhook_deliveries (tenant_id, created_at);
`;
