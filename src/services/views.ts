/**
 * The public JSON representation of records: amounts as decimal strings (DESIGN 1.2). HTTP
 * answers, webhook bodies and stream events all use it, so a client parses one shape.
 */
import { balanceOf } from "../ledger/accounts.js";
import type { CurrencyRegistry } from "../ledger/currencies.js";
import { formatAmount } from "../ledger/money.js";
import type { AccountRecord, DepositRecord, HoldRecord, TransferRecord, WalletRecord, WithdrawalRecord } from "../store/store.js";
import type { GameResult } from "./games.js";

function decimalsOf(currencies: CurrencyRegistry, code: string): number {
  const currency = currencies.find(code);
  if (!currency) throw new Error(`currency ${code} has balances but is missing from the registry`);
  return currency.decimals;
}

export function balanceView(currencies: CurrencyRegistry, account: AccountRecord) {
  const decimals = decimalsOf(currencies, account.currency);
  const balance = balanceOf(account);
  return {
    currency: account.currency,
    amount: formatAmount(balance.amount, decimals),
    pending_amount: formatAmount(balance.pendingAmount, decimals),
    available_balance: formatAmount(balance.available, decimals),
  };
}

export function accountSummaryView(wallet: WalletRecord) {
  return { id: wallet.id, name: wallet.name, external_id: wallet.externalId, wallet_id: wallet.walletId };
}

export function walletView(currencies: CurrencyRegistry, wallet: WalletRecord, accounts: AccountRecord[]) {
  return {
    ...accountSummaryView(wallet),
    created: wallet.createdAt,
    updated: wallet.updatedAt,
    balances: accounts.map((account) => balanceView(currencies, account)),
  };
}

export function transferView(currencies: CurrencyRegistry, transfer: TransferRecord) {
  if (transfer.transferType === null) throw new Error(`transfer ${transfer.id} is an internal resolution row`);
  return {
    id: transfer.id,
    transfer_type: transfer.transferType,
    currency: transfer.currency,
    amount: formatAmount(transfer.amount, decimalsOf(currencies, transfer.currency)),
    status: transfer.status,
    created_at: transfer.createdAt,
  };
}

/** A balance object for a currency the wallet has never used: all zero. */
export function emptyBalanceView(currencies: CurrencyRegistry, currency: string) {
  const zero = formatAmount(0n, decimalsOf(currencies, currency));
  return { currency, amount: zero, pending_amount: zero, available_balance: zero };
}

export function gameView(currencies: CurrencyRegistry, result: GameResult) {
  const { transaction, account } = result;
  const currency = transaction.currency;
  return {
    transaction: {
      transaction_id: transaction.transactionId,
      type: transaction.kind,
      round_id: transaction.roundId,
      bet_transaction_id: transaction.referenceId,
      currency: currency || null,
      amount: currency ? formatAmount(transaction.amount, decimalsOf(currencies, currency)) : "0.00",
      status: transaction.status,
      created_at: transaction.createdAt,
    },
    balance: account ? balanceView(currencies, account) : currency ? emptyBalanceView(currencies, currency) : null,
  };
}

export function holdView(currencies: CurrencyRegistry, hold: HoldRecord) {
  const decimals = decimalsOf(currencies, hold.currency);
  return {
    id: hold.id,
    status: hold.status,
    currency: hold.currency,
    amount: formatAmount(hold.amount, decimals),
    captured_amount: formatAmount(hold.capturedAmount, decimals),
    reference: hold.reference,
    expires_at: hold.expiresAt,
    created_at: hold.createdAt,
    updated_at: hold.updatedAt,
  };
}

export function withdrawalView(currencies: CurrencyRegistry, withdrawal: WithdrawalRecord) {
  return {
    id: withdrawal.id,
    status: withdrawal.status,
    currency: withdrawal.currency,
    amount: formatAmount(withdrawal.amount, decimalsOf(currencies, withdrawal.currency)),
    address: withdrawal.address,
    tx_hash: withdrawal.txHash,
    created_at: withdrawal.createdAt,
    updated_at: withdrawal.updatedAt,
  };
}

export function depositView(currencies: CurrencyRegistry, deposit: DepositRecord) {
  const currency = currencies.find(deposit.currency);
  if (!currency) throw new Error(`currency ${deposit.currency} has deposits but is missing from the registry`);
  return {
    id: deposit.id,
    status: deposit.status,
    confirmations: deposit.confirmations,
    required_confirmations: currency.requiredConfirmations,
    currency: deposit.currency,
    amount: formatAmount(deposit.amount, currency.decimals),
    tx_hash: deposit.txHash,
    created_at: deposit.createdAt,
  };
}
