/**
 * The wallet service's REST API as the dashboard uses it. Amounts stay the decimal strings the
 * service sends: the dashboard displays money, it never computes with it.
 */

export interface Balance {
  currency: string;
  amount: string;
  pending_amount: string;
  available_balance: string;
}

export interface Wallet {
  id: string;
  name: string;
  external_id: string;
  wallet_id: string;
  created: string;
  updated: string;
  balances: Balance[];
}

export interface WalletPage {
  accounts: Wallet[];
  total: number;
  limit: number;
  offset: number;
}

export interface Deposit {
  id: string;
  status: "pending" | "confirmed" | "dropped";
  confirmations: number;
  required_confirmations: number;
  currency: string;
  amount: string;
  tx_hash: string;
  created_at: string;
}

export interface Transfer {
  id: string;
  transfer_type: string;
  currency: string;
  amount: string;
  status: string;
  created_at: string;
}

export interface TransferPage {
  transfers: Transfer[];
  pagination: { total: number; limit: number; offset: number };
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
    const answer = await this.#request<{ deposits: Deposit[] }>(
      "GET",
      `/wallets/${encodeURIComponent(walletId)}/deposits/?status=pending&limit=100`,
    );
    return answer.deposits;
  }

  history(walletId: string, limit: number, offset: number): Promise<TransferPage> {
    return this.#request("POST", "/wallets/transfer-history/", { wallet_id: walletId, limit, offset });
  }

  async masterBalances(): Promise<Balance[]> {
    return (await this.#request<{ balances: Balance[] }>("GET", "/master/balances/")).balances;
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
