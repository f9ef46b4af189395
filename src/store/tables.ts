/**
 * One descriptor per table (see table.ts): the only place a stored field is named. Both stores
 * build their statements and decode their rows from these.
 */

import { type AccountKey, openingFlags } from "../ledger/account-keys.js";
import { ZERO_COUNTERS } from "../ledger/accounts.js";
import type {
  AccountRecord,
  ApiKeyRecord,
  ClientRecord,
  DeliveryRecord,
  DepositRecord,
  EventRecord,
  GameTransactionRow,
  HoldRecord,
  IdempotencyRecord,
  TenantRecord,
  TransferRecord,
  WalletLookup,
  WalletRecord,
  WebhookEndpointRecord,
  WithdrawalRecord,
} from "./store.js";
import { type ColumnSpec, table } from "./table.js";

export const TENANTS = table<TenantRecord>("tenants", ["id"], {
  id: ["id", "uuid"],
  name: ["name", "text"],
  createdAt: ["created_at", "time"],
  unknownRollback: ["unknown_rollback", "text"],
  limitCoolingOffSeconds: ["limit_cooling_off_seconds", "integer"],
});

export const API_KEYS = table<ApiKeyRecord>("api_keys", ["id"], {
  id: ["id", "uuid"],
  tenantId: ["tenant_id", "uuid"],
  keyHash: ["key_hash", "text"],
  scopes: ["scopes", "list"],
  createdAt: ["created_at", "time"],
  revokedAt: ["revoked_at", "time"],
});

export const CLIENTS = table<ClientRecord>("oauth_clients", ["client_id"], {
  clientId: ["client_id", "text"],
  tenantId: ["tenant_id", "uuid"],
  secretHash: ["secret_hash", "text"],
  scopes: ["scopes", "list"],
  createdAt: ["created_at", "time"],
});

export const WALLETS = table<WalletRecord>("wallets", ["id"], {
  uuid: ["id", "uuid"],
  walletId: ["wallet_id", "text"],
  tenantId: ["tenant_id", "uuid"],
  name: ["name", "text"],
  externalId: ["external_id", "text"],
  createdAt: ["created_at", "time"],
  updatedAt: ["updated_at", "time"],
});

/** The column each way of naming a wallet (WalletLookup) compares with. */
export const WALLET_LOOKUP_COLUMN: Readonly<Record<WalletLookup["by"], string>> = {
  uuid: "id",
  wallet_id: "wallet_id",
  external_id: "external_id",
};

export const ACCOUNTS = table<AccountRecord>("accounts", ["id"], {
  id: ["id", "uuid"],
  tenantId: ["tenant_id", "uuid"],
  ownerKind: ["owner_kind", "text"],
  walletUuid: ["wallet_uuid", "uuid"],
  currency: ["currency", "text"],
  debitsMustNotExceedCredits: ["debits_must_not_exceed_credits", "flag"],
  creditsPosted: ["credits_posted", "amount"],
  debitsPosted: ["debits_posted", "amount"],
  creditsPending: ["credits_pending", "amount"],
  debitsPending: ["debits_pending", "amount"],
  version: ["version", "bigint"],
  controls: ["controls", "text"],
  controlsDueAt: ["controls_due_at", "time"],
});

/**
 * A new account as every store opens one: zero counters, never moved, no controls, and the
 * flags the ledger opens an account of its owner with.
 */
export const newAccount = (key: AccountKey, id: string): AccountRecord => ({
  ...key,
  id,
  ...openingFlags(key.ownerKind),
  ...ZERO_COUNTERS,
  version: 0,
  controls: null,
  controlsDueAt: null,
});

export const TRANSFERS = table<TransferRecord>("transfers", ["id"], {
  id: ["id", "uuid"],
  tenantId: ["tenant_id", "uuid"],
  currency: ["currency", "text"],
  flag: ["flag", "text"],
  debitAccountId: ["debit_account_id", "uuid"],
  creditAccountId: ["credit_account_id", "uuid"],
  amount: ["amount", "amount"],
  pendingId: ["pending_id", "uuid"],
  transferType: ["transfer_type", "text"],
  walletUuid: ["wallet_uuid", "uuid"],
  status: ["status", "text"],
  createdAt: ["created_at", "time"],
  reference: ["reference", "text"],
  roundId: ["round_id", "text"],
  betTransactionId: ["bet_transaction_id", "text"],
  balanceAmount: ["balance_amount", "amount"],
  balancePending: ["balance_pending", "amount"],
  accountVersion: ["account_version", "bigint"],
});

export const DEPOSITS = table<DepositRecord>("deposits", ["id"], {
  id: ["id", "uuid"],
  tenantId: ["tenant_id", "uuid"],
  walletUuid: ["wallet_uuid", "uuid"],
  currency: ["currency", "text"],
  txHash: ["tx_hash", "text"],
  amount: ["amount", "amount"],
  confirmations: ["confirmations", "integer"],
  status: ["status", "text"],
  transferId: ["transfer_id", "uuid"],
  createdAt: ["created_at", "time"],
  updatedAt: ["updated_at", "time"],
});

/** Game transactions that moved nothing, and those written before issue 13: the others are kept by their transfer. */
/** The columns of a game transaction's row; `store/lean-rows.ts` reads them, and its transfer's id, from transfers too. */
export const GAME_TRANSACTION_COLUMNS: ColumnSpec<GameTransactionRow> = {
  tenantId: ["tenant_id", "uuid"],
  transactionId: ["transaction_id", "text"],
  kind: ["kind", "text"],
  status: ["status", "text"],
  walletUuid: ["wallet_uuid", "uuid"],
  currency: ["currency", "text"],
  amount: ["amount", "amount"],
  roundId: ["round_id", "text"],
  referenceId: ["reference_id", "text"],
  createdAt: ["created_at", "time"],
  balanceAmount: ["balance_amount", "amount"],
  balancePending: ["balance_pending", "amount"],
  betNotFound: ["bet_not_found", "flag"],
  result: ["result", "text"],
};

export const GAME_TRANSACTIONS = table<GameTransactionRow>("game_transactions", ["tenant_id", "transaction_id"], GAME_TRANSACTION_COLUMNS);

export const HOLDS = table<HoldRecord>("holds", ["id"], {
  id: ["id", "uuid"],
  tenantId: ["tenant_id", "uuid"],
  walletUuid: ["wallet_uuid", "uuid"],
  currency: ["currency", "text"],
  amount: ["amount", "amount"],
  capturedAmount: ["captured_amount", "amount"],
  status: ["status", "text"],
  transferId: ["transfer_id", "uuid"],
  reference: ["reference", "text"],
  expiresAt: ["expires_at", "time"],
  createdAt: ["created_at", "time"],
  updatedAt: ["updated_at", "time"],
});

export const WITHDRAWALS = table<WithdrawalRecord>("withdrawals", ["id"], {
  id: ["id", "uuid"],
  tenantId: ["tenant_id", "uuid"],
  walletUuid: ["wallet_uuid", "uuid"],
  currency: ["currency", "text"],
  amount: ["amount", "amount"],
  address: ["address", "text"],
  status: ["status", "text"],
  transferId: ["transfer_id", "uuid"],
  txHash: ["tx_hash", "text"],
  createdAt: ["created_at", "time"],
  updatedAt: ["updated_at", "time"],
});

export const IDEMPOTENCY_KEYS = table<IdempotencyRecord>("idempotency_keys", ["scope", "key"], {
  scope: ["scope", "text"],
  key: ["key", "text"],
  fingerprint: ["fingerprint", "text"],
  result: ["result", "text"],
  expiresAt: ["expires_at", "time"],
  createdAt: ["created_at", "time"],
});

/** Compact columns (issue 13): the JSON is rendered when read, from these and the rows they name. */
export const EVENTS = table<EventRecord>("events", ["tenant_id", "seq"], {
  tenantId: ["tenant_id", "uuid16"],
  seq: ["seq", "bigint"],
  id: ["id", "uuid16"],
  type: ["type", "text"],
  walletUuid: ["wallet_uuid", "uuid16"],
  transferId: ["transfer_id", "uuid16"],
  webhooks: ["webhooks", "flag"],
  balanceAmount: ["balance_amount", "amount"],
  balancePending: ["balance_pending", "amount"],
  accountVersion: ["account_version", "bigint"],
  createdAt: ["created_at", "time"],
  depositId: ["deposit_id", "uuid16"],
  confirmations: ["confirmations", "integer"],
  requiredConfirmations: ["required_confirmations", "integer"],
  payload: ["payload", "text"],
});

export const WEBHOOK_ENDPOINTS = table<WebhookEndpointRecord>("webhook_endpoints", ["id"], {
  id: ["id", "uuid"],
  tenantId: ["tenant_id", "uuid"],
  url: ["url", "text"],
  secret: ["secret", "text"],
  createdAt: ["created_at", "time"],
  disabledAt: ["disabled_at", "time"],
});

/** The event's type is not stored with the delivery: reads join it from events. */
export const WEBHOOK_DELIVERIES = table<Omit<DeliveryRecord, "eventType">>("webhook_deliveries", ["event_id", "endpoint_id"], {
  eventId: ["event_id", "uuid"],
  endpointId: ["endpoint_id", "uuid"],
  tenantId: ["tenant_id", "uuid"],
  status: ["status", "text"],
  attempts: ["attempts", "integer"],
  nextAttemptAt: ["next_attempt_at", "time"],
  lastStatusCode: ["last_status_code", "integer"],
  lastError: ["last_error", "text"],
  createdAt: ["created_at", "time"],
  deliveredAt: ["delivered_at", "time"],
});

/** A new delivery: due at once, never attempted. */
export const pendingDelivery = (
  eventId: string,
  tenantId: string,
  createdAt: string,
  endpointId: string,
): Omit<DeliveryRecord, "eventType"> => ({
  eventId,
  endpointId,
  tenantId,
  status: "pending",
  attempts: 0,
  nextAttemptAt: createdAt,
  lastStatusCode: null,
  lastError: null,
  createdAt,
  deliveredAt: null,
});
