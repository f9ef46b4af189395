import { masterKey, walletKey } from "../ledger/account-keys.js";
import type { CurrencyRegistry } from "../ledger/currencies.js";
import type { Store, TransferRecord, TransferStatus, TransferType, WalletLookup, WriteTx } from "../store/store.js";
import { invalidFields, walletNotFound } from "./errors.js";
import { recordEvent } from "./events.js";
import type { Idempotency, Once, Written } from "./idempotency.js";
import type { LimitRules } from "./limit-rules.js";
import { move, parseMoney, walletPrefetch } from "./movements.js";

export interface TransferRequest {
  tenantId: string;
  lookup: WalletLookup;
  currency: string;
  amount: string | number;
}

export interface HistoryRequest {
  tenantId: string;
  lookup: WalletLookup;
  status?: TransferStatus | undefined;
  transferType?: TransferType | undefined;
  currency?: string | undefined;
  /** RFC 3339 times: transfers created at or after `from` and before `to`. */
  from?: string | undefined;
  to?: string | undefined;
  limit: number;
  offset: number;
}

/** Moves funds between the tenant's master account and one of its wallets. */
export class TransferService {
  constructor(
    private readonly store: Store,
    private readonly currencies: CurrencyRegistry,
    private readonly idempotency: Idempotency,
    private readonly limits: LimitRules,
  ) {}

  transferToUser(request: TransferRequest, once?: Once): Promise<Written<TransferRecord>> {
    return this.idempotency.write(once, (tx) => this.moveIn(tx, request, "to_sub"), this.#prefetch(request));
  }

  withdrawToMaster(request: TransferRequest, once?: Once): Promise<Written<TransferRecord>> {
    return this.idempotency.write(once, (tx) => this.moveIn(tx, request, "to_master"), this.#prefetch(request));
  }

  #prefetch(request: TransferRequest) {
    return walletPrefetch(this.currencies, request.tenantId, request.lookup, request.currency);
  }

  /** One movement inside a transaction the caller owns (single requests and batches). */
  async moveIn(tx: WriteTx, request: TransferRequest, transferType: "to_sub" | "to_master"): Promise<TransferRecord> {
    const { currency, amount } = parseMoney(this.currencies, request.currency, request.amount);
    const wallet = await tx.findWallet(request.tenantId, request.lookup);
    if (!wallet) throw walletNotFound();
    const master = masterKey(request.tenantId, currency.code);
    const player = walletKey(wallet, currency.code);
    const moved = await move(tx, {
      tenantId: request.tenantId,
      currency,
      debit: transferType === "to_sub" ? master : player,
      credit: transferType === "to_sub" ? player : master,
      amount,
      phase: "posted",
      transferType,
      walletUuid: wallet.uuid,
      reference: null,
      controls: transferType === "to_sub" ? this.limits.credit(tx, wallet, amount) : undefined,
    });
    const account = transferType === "to_sub" ? moved.credit : moved.debit;
    await recordEvent(tx, this.currencies, {
      type: "transfer.posted",
      tenantId: request.tenantId,
      wallet,
      account,
      transfer: moved.transfer,
    });
    return moved.transfer;
  }

  async history(request: HistoryRequest) {
    const wallet = await this.store.findWallet(request.tenantId, request.lookup);
    if (!wallet) throw walletNotFound();
    const currency =
      request.currency === undefined ? undefined : (this.currencies.find(request.currency)?.code ?? request.currency.toUpperCase());
    const page = await this.store.listTransfers({
      tenantId: request.tenantId,
      walletUuid: wallet.uuid,
      status: request.status,
      transferType: request.transferType,
      currency,
      ...(request.from === undefined ? {} : { createdFrom: instant(request.from, "from") }),
      ...(request.to === undefined ? {} : { createdBefore: instant(request.to, "to") }),
      limit: request.limit,
      offset: request.offset,
    });
    return { wallet, ...page };
  }
}

/** An RFC 3339 time (the route checks its form) as the stores compare it: toISOString, UTC. */
function instant(text: string, field: string): string {
  const time = new Date(text);
  if (Number.isNaN(time.getTime())) throw invalidFields(`Invalid ${field}: not a real time`, { [field]: "is not a real time" });
  return time.toISOString();
}
