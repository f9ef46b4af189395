/**
 * The wallet service's REST API as the dashboard uses it. Amounts stay the decimal strings the
 * service sends: the dashboard displays money, it never computes with it.
 *
 * The shapes are the service's own (src/wire/, the one source of truth of the wire format):
 * type-only imports, which the build erases, so the dashboard ships none of the server's code.
 */
import type {
  Balance,
  Deposit,
  DepositList,
  MasterBalances,
  Transfer,
  TransferHistory,
  Wallet,
  WalletLimits,
  WalletPage,
} from "../../src/wire/schemas.js";

export type {
  Balance,
  CurrencyLimits,
  Deposit,
  Exclusion,
  LimitChange,
  LimitUse,
  Transfer,
  Wallet,
  WalletLimits,
  WalletListEntry,
  WalletPage,
} from "../../src/wire/schemas.js";

/** What the dashboard reads of POST /wallets/transfer-history/. */
export type TransferPage = Pick<TransferHistory, "transfers" | "pagination">;

/**
 * The history filters the dashboard offers. `from` and `to` are RFC 3339 times with their
 * offset: transfers created at or after `from` and before `to`.
 */
export interface HistoryFilter {
  transfer_type?: Transfer["transfer_type"] | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

/** An error answer in the service's one format, `{error: {code, message, details}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class Api {
  /**
   * @param key the tenant API key, sent as X-API-Key on every request.
   * @param onUnauthorized called when the service stops accepting the key (revoked or rotated),
   *   so the app can send the user back to the sign-in screen instead of showing errors.
   */
  constructor(
    readonly key: string,
    private readonly onUnauthorized: () => void = () => {},
  ) {}

  wallets(search: string, limit: number, offset: number): Promise<WalletPage> {
    const query = new URLSearchParams({ limit: String(limit), offset: String(offset) });
    if (search !== "") query.set("search", search);
    return this.#request("GET", `/wallets/?${query}`);
  }

  wallet(walletId: string): Promise<Wallet> {
    return this.#request("GET", `/wallets/${encodeURIComponent(walletId)}/`);
  }

  async pendingDeposits(walletId: string): Promise<Deposit[]> {
    const answer = await this.#request<DepositList>("GET", `/wallets/${encodeURIComponent(walletId)}/deposits/?status=pending&limit=100`);
    return answer.deposits;
  }

  limits(walletId: string): Promise<WalletLimits> {
    return this.#request("GET", `/wallets/${encodeURIComponent(walletId)}/limits/`);
  }

  history(walletId: string, filter: HistoryFilter, limit: number, offset: number): Promise<TransferPage> {
    const { transfer_type, from, to } = filter;
    // JSON.stringify leaves out the filters that are not set (undefined).
    return this.#request("POST", "/wallets/transfer-history/", { wallet_id: walletId, transfer_type, from, to, limit, offset });
  }

  async masterBalances(): Promise<Balance[]> {
    return (await this.#request<MasterBalances>("GET", "/master/balances/")).balances;
  }

  async #request<T>(method: "GET" | "POST", path: string, body?: object): Promise<T> {
    const headers: Record<string, string> = { "x-api-key": this.key, accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(path, { method, headers, body: body === undefined ? null : JSON.stringify(body) });
    const answer: unknown = await response.json().catch(() => undefined);
    if (response.ok) return answer as T;
    if (response.status === 401) this.onUnauthorized();
    const error = (answer as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(response.status, error?.code ?? "server_error", error?.message ?? `The service answered HTTP ${response.status}`);
  }
}
