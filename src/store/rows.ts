/** Row shapes shared by both stores (the PostgreSQL queries cast to them), and their records. */
import type { AccountRecord, DepositRecord, OwnerKind, Scope, TransferRecord, WalletRecord } from "./store.js";

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
});

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
});

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
