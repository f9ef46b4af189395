/** Row shapes shared by both stores (the PostgreSQL queries cast to them), and their records. */
import type {
  AccountRecord,
  ClaimedDelivery,
  DeliveryRecord,
  DepositRecord,
  EventRecord,
  GameTransactionRecord,
  HoldRecord,
  IdempotencyRecord,
  OwnerKind,
  Scope,
  TenantRecord,
  TransferRecord,
  WalletRecord,
  WebhookEndpointRecord,
  WithdrawalRecord,
} from "./store.js";

export interface WalletRow {
  id: string;
  wallet_id: string;
  tenant_id: string;
  name: string;
  external_id: string;
  created_at: string;
  updated_at: string;
}

export interface AccountRow {
  id: string;
  tenant_id: string;
  owner_kind: OwnerKind;
  wallet_uuid: string | null;
  currency: string;
  debits_must_not_exceed_credits: number;
  credits_posted: string;
  debits_posted: string;
  credits_pending: string;
  debits_pending: string;
  version: number | string;
}

export interface TransferRow {
  id: string;
  tenant_id: string;
  currency: string;
  flag: TransferRecord["flag"];
  debit_account_id: string;
  credit_account_id: string;
  amount: string;
  pending_id: string | null;
  transfer_type: TransferRecord["transferType"];
  wallet_uuid: string | null;
  status: TransferRecord["status"];
  created_at: string;
  reference: string | null;
  round_id: string | null;
}

export interface DepositRow {
  id: string;
  tenant_id: string;
  wallet_uuid: string | null;
  currency: string;
  tx_hash: string;
  amount: string;
  confirmations: number;
  status: DepositRecord["status"];
  transfer_id: string | null;
  created_at: string;
  updated_at: string;
}

export const walletFromRow = (row: WalletRow): WalletRecord => ({
  id: row.id,
  walletId: row.wallet_id,
  tenantId: row.tenant_id,
  name: row.name,
  externalId: row.external_id,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export const accountFromRow = (row: AccountRow): AccountRecord => ({
  id: row.id,
  tenantId: row.tenant_id,
  ownerKind: row.owner_kind,
  walletUuid: row.wallet_uuid,
  currency: row.currency,
  debitsMustNotExceedCredits: row.debits_must_not_exceed_credits === 1,
  creditsPosted: BigInt(row.credits_posted),
  debitsPosted: BigInt(row.debits_posted),
  creditsPending: BigInt(row.credits_pending),
  debitsPending: BigInt(row.debits_pending),
  version: Number(row.version),
});

export const accountToRow = (account: AccountRecord): AccountRow => ({
  id: account.id,
  tenant_id: account.tenantId,
  owner_kind: account.ownerKind,
  wallet_uuid: account.walletUuid,
  currency: account.currency,
  debits_must_not_exceed_credits: account.debitsMustNotExceedCredits ? 1 : 0,
  credits_posted: account.creditsPosted.toString(),
  debits_posted: account.debitsPosted.toString(),
  credits_pending: account.creditsPending.toString(),
  debits_pending: account.debitsPending.toString(),
  version: account.version,
});

export const transferFromRow = (row: TransferRow): TransferRecord => ({
  id: row.id,
  tenantId: row.tenant_id,
  currency: row.currency,
  flag: row.flag,
  debitAccountId: row.debit_account_id,
  creditAccountId: row.credit_account_id,
  amount: BigInt(row.amount),
  pendingId: row.pending_id,
  transferType: row.transfer_type,
  walletUuid: row.wallet_uuid,
  status: row.status,
  createdAt: row.created_at,
  reference: row.reference,
  roundId: row.round_id,
});

/** A row of a wallet's history (HISTORY_FROM): a released pending row shows what it gave back. */
export interface HistoryRow extends TransferRow {
  posted_part: string | null;
}

export const historyEntryFromRow = (row: HistoryRow): TransferRecord => {
  const transfer = transferFromRow(row);
  if (transfer.flag !== "pending" || row.posted_part === null) return transfer;
  return { ...transfer, amount: transfer.amount - BigInt(row.posted_part) };
};

export const transferToRow = (transfer: TransferRecord): TransferRow => ({
  id: transfer.id,
  tenant_id: transfer.tenantId,
  currency: transfer.currency,
  flag: transfer.flag,
  debit_account_id: transfer.debitAccountId,
  credit_account_id: transfer.creditAccountId,
  amount: transfer.amount.toString(),
  pending_id: transfer.pendingId,
  transfer_type: transfer.transferType,
  wallet_uuid: transfer.walletUuid,
  status: transfer.status,
  created_at: transfer.createdAt,
  reference: transfer.reference,
  round_id: transfer.roundId,
});

/**
 * A new transfer's values in TRANSFER_INSERT_COLUMNS order, for the stores' bulk writes (one
 * list for both, built without an intermediate object: a batch writes thousands of these).
 */
export const transferValues = (transfer: TransferRecord): (string | null)[] => [
  transfer.id,
  transfer.tenantId,
  transfer.currency,
  transfer.flag,
  transfer.debitAccountId,
  transfer.creditAccountId,
  transfer.amount.toString(),
  transfer.pendingId,
  transfer.transferType,
  transfer.walletUuid,
  transfer.status,
  transfer.createdAt,
  transfer.reference,
  transfer.roundId,
];

export const depositFromRow = (row: DepositRow): DepositRecord => ({
  id: row.id,
  tenantId: row.tenant_id,
  walletUuid: row.wallet_uuid,
  currency: row.currency,
  txHash: row.tx_hash,
  amount: BigInt(row.amount),
  confirmations: row.confirmations,
  status: row.status,
  transferId: row.transfer_id,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export const depositToRow = (deposit: DepositRecord): DepositRow => ({
  id: deposit.id,
  tenant_id: deposit.tenantId,
  wallet_uuid: deposit.walletUuid,
  currency: deposit.currency,
  tx_hash: deposit.txHash,
  amount: deposit.amount.toString(),
  confirmations: deposit.confirmations,
  status: deposit.status,
  transfer_id: deposit.transferId,
  created_at: deposit.createdAt,
  updated_at: deposit.updatedAt,
});

export const scopesFromText = (text: string): Scope[] => text.split(",") as Scope[];

export interface TenantRow {
  id: string;
  name: string;
  created_at: string;
  unknown_rollback: TenantRecord["unknownRollback"];
}

export const tenantFromRow = (row: TenantRow): TenantRecord => ({
  id: row.id,
  name: row.name,
  createdAt: row.created_at,
  unknownRollback: row.unknown_rollback,
});

export interface GameTransactionRow {
  tenant_id: string;
  transaction_id: string;
  kind: GameTransactionRecord["kind"];
  status: GameTransactionRecord["status"];
  wallet_uuid: string;
  currency: string;
  amount: string;
  round_id: string;
  reference_id: string | null;
  fingerprint: string;
  result: string;
  created_at: string;
}

export const gameTransactionFromRow = (row: GameTransactionRow): GameTransactionRecord => ({
  tenantId: row.tenant_id,
  transactionId: row.transaction_id,
  kind: row.kind,
  status: row.status,
  walletUuid: row.wallet_uuid,
  currency: row.currency,
  amount: BigInt(row.amount),
  roundId: row.round_id,
  referenceId: row.reference_id,
  fingerprint: row.fingerprint,
  result: row.result,
  createdAt: row.created_at,
});

export const gameTransactionToRow = (record: GameTransactionRecord): GameTransactionRow => ({
  tenant_id: record.tenantId,
  transaction_id: record.transactionId,
  kind: record.kind,
  status: record.status,
  wallet_uuid: record.walletUuid,
  currency: record.currency,
  amount: record.amount.toString(),
  round_id: record.roundId,
  reference_id: record.referenceId,
  fingerprint: record.fingerprint,
  result: record.result,
  created_at: record.createdAt,
});

export interface HoldRow {
  id: string;
  tenant_id: string;
  wallet_uuid: string;
  currency: string;
  amount: string;
  captured_amount: string;
  status: HoldRecord["status"];
  transfer_id: string;
  reference: string | null;
  expires_at: string;
  created_at: string;
  updated_at: string;
}

export const holdFromRow = (row: HoldRow): HoldRecord => ({
  id: row.id,
  tenantId: row.tenant_id,
  walletUuid: row.wallet_uuid,
  currency: row.currency,
  amount: BigInt(row.amount),
  capturedAmount: BigInt(row.captured_amount),
  status: row.status,
  transferId: row.transfer_id,
  reference: row.reference,
  expiresAt: row.expires_at,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export const holdToRow = (hold: HoldRecord): HoldRow => ({
  id: hold.id,
  tenant_id: hold.tenantId,
  wallet_uuid: hold.walletUuid,
  currency: hold.currency,
  amount: hold.amount.toString(),
  captured_amount: hold.capturedAmount.toString(),
  status: hold.status,
  transfer_id: hold.transferId,
  reference: hold.reference,
  expires_at: hold.expiresAt,
  created_at: hold.createdAt,
  updated_at: hold.updatedAt,
});

export interface WithdrawalRow {
  id: string;
  tenant_id: string;
  wallet_uuid: string;
  currency: string;
  amount: string;
  address: string;
  status: WithdrawalRecord["status"];
  transfer_id: string;
  tx_hash: string | null;
  created_at: string;
  updated_at: string;
}

export const withdrawalFromRow = (row: WithdrawalRow): WithdrawalRecord => ({
  id: row.id,
  tenantId: row.tenant_id,
  walletUuid: row.wallet_uuid,
  currency: row.currency,
  amount: BigInt(row.amount),
  address: row.address,
  status: row.status,
  transferId: row.transfer_id,
  txHash: row.tx_hash,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export const withdrawalToRow = (withdrawal: WithdrawalRecord): WithdrawalRow => ({
  id: withdrawal.id,
  tenant_id: withdrawal.tenantId,
  wallet_uuid: withdrawal.walletUuid,
  currency: withdrawal.currency,
  amount: withdrawal.amount.toString(),
  address: withdrawal.address,
  status: withdrawal.status,
  transfer_id: withdrawal.transferId,
  tx_hash: withdrawal.txHash,
  created_at: withdrawal.createdAt,
  updated_at: withdrawal.updatedAt,
});

export interface IdempotencyRow {
  scope: string;
  key: string;
  fingerprint: string;
  result: string;
  expires_at: string;
  created_at: string;
}

export const idempotencyFromRow = (row: IdempotencyRow): IdempotencyRecord => ({
  scope: row.scope,
  key: row.key,
  fingerprint: row.fingerprint,
  result: row.result,
  expiresAt: row.expires_at,
  createdAt: row.created_at,
});

export const idempotencyToRow = (record: IdempotencyRecord): IdempotencyRow => ({
  scope: record.scope,
  key: record.key,
  fingerprint: record.fingerprint,
  result: record.result,
  expires_at: record.expiresAt,
  created_at: record.createdAt,
});

export interface EventRow {
  tenant_id: string;
  seq: number | string;
  id: string;
  type: EventRecord["type"];
  wallet_uuid: string | null;
  payload: string;
  created_at: string;
}

export const eventFromRow = (row: EventRow): EventRecord => ({
  tenantId: row.tenant_id,
  seq: Number(row.seq),
  id: row.id,
  type: row.type,
  walletUuid: row.wallet_uuid,
  payload: row.payload,
  createdAt: row.created_at,
});

export interface WebhookEndpointRow {
  id: string;
  tenant_id: string;
  url: string;
  secret: string;
  created_at: string;
  disabled_at: string | null;
}

export const webhookEndpointFromRow = (row: WebhookEndpointRow): WebhookEndpointRecord => ({
  id: row.id,
  tenantId: row.tenant_id,
  url: row.url,
  secret: row.secret,
  createdAt: row.created_at,
  disabledAt: row.disabled_at,
});

export interface DeliveryRow {
  event_id: string;
  endpoint_id: string;
  tenant_id: string;
  event_type: string;
  status: DeliveryRecord["status"];
  attempts: number;
  next_attempt_at: string;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
}

export const deliveryFromRow = (row: DeliveryRow): DeliveryRecord => ({
  eventId: row.event_id,
  endpointId: row.endpoint_id,
  tenantId: row.tenant_id,
  eventType: row.event_type,
  status: row.status,
  attempts: row.attempts,
  nextAttemptAt: row.next_attempt_at,
  lastStatusCode: row.last_status_code,
  lastError: row.last_error,
  createdAt: row.created_at,
  deliveredAt: row.delivered_at,
});

export interface ClaimedDeliveryRow {
  event_id: string;
  endpoint_id: string;
  event_type: string;
  attempts: number;
  created_at: string;
  url: string;
  secret: string;
  payload: string;
}

export const claimedDeliveryFromRow = (row: ClaimedDeliveryRow): ClaimedDelivery => ({
  eventId: row.event_id,
  endpointId: row.endpoint_id,
  eventType: row.event_type,
  attempts: row.attempts,
  createdAt: row.created_at,
  url: row.url,
  secret: row.secret,
  payload: row.payload,
});
