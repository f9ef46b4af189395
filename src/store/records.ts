import type { AccountKey, OwnerKind } from "../ledger/account-keys.js";
import type { LedgerAccount } from "../ledger/accounts.js";
import type { TransferFlag } from "../ledger/replay.js";

/** What the stores keep, as the services see it: one record type per table (tables.ts maps each to its columns). */

export type Scope = "read" | "write" | "deposits" | "withdrawals";
export type TransferType = "to_sub" | "to_master" | "deposit" | "bet" | "win" | "rollback" | "hold" | "withdrawal";
export type TransferStatus = "posted" | "pending" | "voided";
export type DepositStatus = "pending" | "confirmed" | "dropped";
export type GameKind = "bet" | "win" | "rollback";
/**
 * A bet is completed, settled once a win refers to it, or rolled_back. A tombstone marks a bet
 * that was rolled back before it arrived: it can never be placed.
 */
export type GameStatus = "completed" | "settled" | "rolled_back" | "tombstone";
export type HoldStatus = "pending" | "posted" | "voided" | "expired";
export type WithdrawalStatus = "pending" | "completed" | "failed";
export type UnknownRollbackPolicy = "succeed" | "not_found";

export interface TenantRecord {
  id: string;
  name: string;
  createdAt: string;
  /** How a rollback of a bet never seen is answered (the bet is tombstoned either way). */
  unknownRollback: UnknownRollbackPolicy;
}

export interface GameTransactionRecord {
  tenantId: string;
  transactionId: string;
  kind: GameKind;
  status: GameStatus;
  walletUuid: string;
  currency: string;
  amount: bigint;
  roundId: string;
  /** For wins and rollbacks: the bet's transaction_id. */
  referenceId: string | null;
  /** Hash of the request that created it: a repeat must match it to replay. */
  fingerprint: string;
  /** The answer given the first time, replayed on a repeat (JSON). */
  result: string;
  createdAt: string;
}

export interface HoldRecord {
  id: string;
  tenantId: string;
  walletUuid: string;
  currency: string;
  amount: bigint;
  capturedAmount: bigint;
  status: HoldStatus;
  transferId: string;
  reference: string | null;
  expiresAt: string;
  createdAt: string;
  updatedAt: string;
}

export interface WithdrawalRecord {
  id: string;
  tenantId: string;
  walletUuid: string;
  currency: string;
  amount: bigint;
  address: string;
  status: WithdrawalStatus;
  transferId: string;
  txHash: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface IdempotencyRecord {
  scope: string;
  key: string;
  fingerprint: string;
  /** The stored answer (JSON), replayed on a repeat. */
  result: string;
  expiresAt: string;
  createdAt: string;
}

export interface ApiKeyRecord {
  id: string;
  /** null for system keys, which belong to the operator of the service. */
  tenantId: string | null;
  keyHash: string;
  scopes: Scope[];
  createdAt: string;
  revokedAt: string | null;
}

export interface ClientRecord {
  clientId: string;
  tenantId: string;
  secretHash: string;
  scopes: Scope[];
  createdAt: string;
}

/**
 * A player's wallet. It has two ids: `uuid`, the internal one every row that belongs to the
 * wallet refers to (as `walletUuid`), and `walletId`, the public `w_…` id of the API.
 */
export interface WalletRecord {
  uuid: string;
  walletId: string;
  tenantId: string;
  name: string;
  externalId: string;
  createdAt: string;
  updatedAt: string;
}

/** Names a wallet the way the API does; wallet_id wins over external_id (the specification). */
export type WalletLookup = { by: "uuid"; value: string } | { by: "wallet_id"; value: string } | { by: "external_id"; value: string };

export type { AccountKey, OwnerKind };

export interface AccountRecord extends LedgerAccount, AccountKey {
  /** Grows by one with every change of the account: consumers order balance updates by it. */
  version: number;
}

export type EventType =
  | "deposit.pending"
  | "deposit.confirmed"
  | "deposit.dropped"
  | "transfer.posted"
  | "bet.placed"
  | "win.credited"
  | "rollback.applied"
  | "hold.placed"
  | "hold.captured"
  | "hold.voided"
  | "hold.expired"
  | "withdrawal.requested"
  | "withdrawal.completed"
  | "withdrawal.failed";

/** An outbox entry: written in the transaction of the movement it describes. */
export interface EventRecord {
  tenantId: string;
  /** Per tenant, in commit order, without gaps: what Last-Event-ID resumes from. */
  seq: number;
  /** Stable id for de-duplication by webhook receivers. */
  id: string;
  type: EventType;
  walletUuid: string | null;
  /** The event's JSON as sent to webhooks and streams (without seq). */
  payload: string;
  createdAt: string;
}

export interface WebhookEndpointRecord {
  id: string;
  tenantId: string;
  url: string;
  secret: string;
  createdAt: string;
  disabledAt: string | null;
}

export type DeliveryStatus = "pending" | "delivered" | "failed";

export interface DeliveryRecord {
  eventId: string;
  endpointId: string;
  tenantId: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: string;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

/** A due delivery, leased to one dispatcher, with what it needs to send. */
export interface ClaimedDelivery {
  eventId: string;
  endpointId: string;
  eventType: string;
  attempts: number;
  createdAt: string;
  url: string;
  secret: string;
  payload: string;
}

export interface DeliveryOutcome {
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: string;
  lastStatusCode: number | null;
  lastError: string | null;
  deliveredAt: string | null;
}

export interface TransferRecord {
  id: string;
  tenantId: string;
  currency: string;
  flag: TransferFlag;
  debitAccountId: string;
  creditAccountId: string;
  amount: bigint;
  pendingId: string | null;
  /** What the API shows; null only on resolution rows written before history listed them. */
  transferType: TransferType | null;
  walletUuid: string | null;
  status: TransferStatus;
  createdAt: string;
  /**
   * What a casino reconciles the transfer by: the game's transaction_id, the deposit's tx_hash,
   * the hold's or the withdrawal's id; null for master-wallet transfers.
   */
  reference: string | null;
  /** The game round of a bet, win or rollback. */
  roundId: string | null;
}

export interface DepositRecord {
  id: string;
  tenantId: string;
  walletUuid: string | null;
  currency: string;
  txHash: string;
  amount: bigint;
  confirmations: number;
  status: DepositStatus;
  transferId: string | null;
  createdAt: string;
  updatedAt: string;
}
