import { type Api, ApiError, type Balance, type Deposit, type TransferPage, type Wallet } from "./api.js";
import { alert, avatar, errorMessage, h, ICONS, icon, pager, shortHash, time, token } from "./dom.js";
import type { WalletEvent } from "./events.js";

const HISTORY_PAGE_SIZE = 10;
/** Events come in bursts (a batch settles many movements); one reload answers the whole burst. */
const RELOAD_DELAY_MS = 150;
/** How long a changed balance stays highlighted; matches the animation in style.css. */
const HIGHLIGHT_MS = 2_000;

const TRANSFER_LABELS: Record<string, string> = {
  deposit: "Deposit",
  to_sub: "From master",
  to_master: "To master",
  bet: "Bet",
  win: "Win",
  rollback: "Rollback",
  hold: "Hold",
  withdrawal: "Withdrawal",
};

const STATUS_TONES: Record<string, string> = { posted: "success", pending: "warning", voided: "muted" };

const BALANCE_FIELDS = [
  ["amount", "Amount"],
  ["pending_amount", "Pending"],
  ["available_balance", "Available"],
] as const;

interface Snapshot {
  wallet: Wallet;
  deposits: Deposit[];
  history: TransferPage;
}

/** One wallet: its balances per currency, the deposits still confirming, and its history. */
export class WalletDetailView {
  readonly element = h("div", { class: "detail" });
  #snapshot: Snapshot | undefined;
  #historyOffset = 0;
  #generation = 0;
  #reloadTimer: ReturnType<typeof setTimeout> | undefined;
  /** What each balance cell showed last, so a changed value can be highlighted. */
  #shown = new Map<string, string>();
  /** When each highlighted cell changed: a re-render continues its highlight instead of restarting or dropping it. */
  #changedAt = new Map<string, number>();

  constructor(
    private readonly api: Api,
    readonly walletId: string,
  ) {
    this.element.append(h("p", { class: "empty" }, "Loading wallet…"));
  }

  get name(): string | undefined {
    return this.#snapshot?.wallet.name;
  }

  async load(): Promise<void> {
    // Live events trigger reloads that can overlap; only the newest answer may render.
    const generation = ++this.#generation;
    try {
      const [wallet, deposits, history] = await Promise.all([
        this.api.wallet(this.walletId),
        this.api.pendingDeposits(this.walletId),
        this.api.history(this.walletId, HISTORY_PAGE_SIZE, this.#historyOffset),
      ]);
      if (generation !== this.#generation) return;
      this.#snapshot = { wallet, deposits, history };
      this.#render();
    } catch (error) {
      if (generation !== this.#generation) return;
      const message =
        error instanceof ApiError && error.status === 404 ? "This wallet does not exist for your tenant." : errorMessage(error);
      this.element.replaceChildren(backLink(), alert(message));
    }
  }

  /** Shows the event's balance at once, then reloads deposits and history, which it changed too. */
  applyEvent(event: WalletEvent): void {
    const snapshot = this.#snapshot;
    if (snapshot) {
      const balances = snapshot.wallet.balances;
      const index = balances.findIndex((balance) => balance.currency === event.balance.currency);
      if (index === -1) balances.push(event.balance);
      else balances[index] = event.balance;
      this.#render();
    }
    clearTimeout(this.#reloadTimer);
    this.#reloadTimer = setTimeout(() => void this.load(), RELOAD_DELAY_MS);
  }

  dispose(): void {
    clearTimeout(this.#reloadTimer);
    // Answers still in flight for this view must not render into a detached element.
    this.#generation += 1;
  }

  #render(): void {
    const snapshot = this.#snapshot;
    if (!snapshot) return;
    const { wallet } = snapshot;
    const head = h(
      "header",
      { class: "card wallet-head" },
      avatar(wallet.name, "avatar large"),
      h(
        "div",
        { class: "wallet-head-main" },
        h("h1", {}, wallet.name),
        h(
          "div",
          { class: "ids" },
          h(
            "span",
            { class: "id" },
            h("span", { class: "id-label" }, "External ID"),
            h("span", { class: "mono", "data-field": "external_id" }, wallet.external_id),
          ),
          h(
            "span",
            { class: "id" },
            h("span", { class: "id-label" }, "Wallet ID"),
            h("span", { class: "mono", "data-field": "wallet_id" }, wallet.wallet_id),
          ),
        ),
      ),
      h("div", { class: "wallet-head-meta" }, "Created ", time(wallet.created, false)),
    );
    this.element.replaceChildren(backLink(), head, this.#balances(snapshot), this.#history(snapshot.history));
  }

  #balances({ wallet, deposits }: Snapshot): HTMLElement {
    const section = h(
      "section",
      { class: "card", "aria-labelledby": "balances-title" },
      h("div", { class: "card-head" }, h("h2", { id: "balances-title" }, "Balances")),
    );
    if (wallet.balances.length === 0) {
      section.append(h("p", { class: "empty" }, "No balances yet: the wallet's first deposit opens its first currency."));
      return section;
    }
    const rows = wallet.balances.flatMap((balance) => [
      this.#balanceRow(balance),
      // A pending deposit always has its currency's account (it is in that account's pending
      // amount), so listing deposits under their balance row shows every one of them.
      ...deposits.filter((deposit) => deposit.currency === balance.currency).map(depositRow),
    ]);
    section.append(
      h(
        "table",
        { class: "table balances" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col" }, "Currency"),
            ...BALANCE_FIELDS.map(([, label]) => h("th", { scope: "col", class: "num" }, label)),
          ),
        ),
        h("tbody", {}, ...rows),
      ),
    );
    return section;
  }

  #balanceRow(balance: Balance): HTMLTableRowElement {
    const now = performance.now();
    const cells = BALANCE_FIELDS.map(([field, label]) => {
      const key = `${balance.currency}:${field}`;
      const previous = this.#shown.get(key);
      this.#shown.set(key, balance[field]);
      if (previous !== undefined && previous !== balance[field]) this.#changedAt.set(key, now);
      const cell = h("td", { class: "num", "data-field": field, "data-label": label }, balance[field]);
      const changedAt = this.#changedAt.get(key);
      if (changedAt !== undefined && now - changedAt < HIGHLIGHT_MS) {
        cell.classList.add("changed");
        cell.style.animationDelay = `${changedAt - now}ms`;
      }
      return cell;
    });
    return h("tr", { "data-currency": balance.currency }, h("th", { scope: "row" }, token(balance.currency)), ...cells);
  }

  #history(history: TransferPage): HTMLElement {
    const section = h(
      "section",
      { class: "card", "aria-labelledby": "history-title" },
      h(
        "div",
        { class: "card-head" },
        h("h2", { id: "history-title" }, "Transactions"),
        h("span", { class: "count" }, String(history.pagination.total)),
      ),
    );
    if (history.transfers.length === 0 && this.#historyOffset === 0) {
      section.append(h("p", { class: "empty" }, "No transactions yet."));
      return section;
    }
    const rows = history.transfers.map((transfer) =>
      h(
        "tr",
        { "data-transfer-id": transfer.id },
        h("td", { "data-label": "Date", class: "date" }, time(transfer.created_at)),
        h("td", { "data-label": "Type" }, TRANSFER_LABELS[transfer.transfer_type] ?? transfer.transfer_type),
        h("td", { "data-label": "Currency" }, token(transfer.currency)),
        h("td", { "data-label": "Amount", class: "num" }, transfer.amount),
        h("td", { "data-label": "Status" }, h("span", { class: `pill ${STATUS_TONES[transfer.status] ?? "muted"}` }, transfer.status)),
      ),
    );
    section.append(
      h(
        "table",
        { class: "table history" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col" }, "Date"),
            h("th", { scope: "col" }, "Type"),
            h("th", { scope: "col" }, "Currency"),
            h("th", { scope: "col", class: "num" }, "Amount"),
            h("th", { scope: "col" }, "Status"),
          ),
        ),
        h("tbody", {}, ...rows),
      ),
      pager(history.pagination.total, history.pagination.offset, history.pagination.limit, (offset) => {
        this.#historyOffset = offset;
        void this.load();
      }),
    );
    return section;
  }
}

function depositRow(deposit: Deposit): HTMLTableRowElement {
  const progress = h("progress", {
    max: deposit.required_confirmations,
    value: Math.min(deposit.confirmations, deposit.required_confirmations),
  });
  return h(
    "tr",
    { class: "deposit-row", "data-deposit": deposit.tx_hash },
    h(
      "td",
      { colspan: 4 },
      h(
        "div",
        { class: "deposit" },
        h(
          "span",
          { class: "pill warning", title: `${deposit.confirmations} of ${deposit.required_confirmations} confirmations` },
          h("span", { class: "pulse", "aria-hidden": "true" }),
          `confirming ${deposit.confirmations} of ${deposit.required_confirmations}`,
        ),
        h("span", { class: "deposit-amount" }, "Incoming ", h("span", { class: "num" }, deposit.amount)),
        progress,
        h("span", { class: "mono deposit-hash", title: deposit.tx_hash }, shortHash(deposit.tx_hash)),
      ),
    ),
  );
}

function backLink(): HTMLAnchorElement {
  return h("a", { class: "back", href: "#/" }, icon(ICONS.back), "All wallets");
}
