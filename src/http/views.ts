import { balanceOf } from "../ledger/accounts.js";
import type { CurrencyRegistry } from "../ledger/currencies.js";
import { formatAmount } from "../ledger/money.js";
import type { AccountRecord, TransferRecord, WalletRecord } from "../store/store.js";

/** Shapes records into the wire format: amounts as decimal strings (DESIGN 1.2). */

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
