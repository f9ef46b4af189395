import { type Api, ApiError, type Balance, type Deposit, type Wallet, type WalletLimits } from "./api.js";
import { alert, avatar, errorMessage, h, ICONS, icon, shortHash, time, token } from "./dom.js";
import type { WalletEvent } from "./events.js";
import { HistoryView } from "./history.js";
import { limitsCard } from "./limits.js";

/** Events come in bursts (a batch settles many movements); one reload answers the whole burst. */
const RELOAD_DELAY_MS = 150;
/** How long a changed balance stays highlighted; matches the animation in style.css. */
const HIGHLIGHT_MS = 2_000;

const BALANCE_FIELDS = [
  ["amount", "Amount"],
  ["pending_amount", "Pending"],
  ["available_balance", "Available"],
] as const;

interface Snapshot {
  wallet: Wallet;
  deposits: Deposit[];
  /** The safer-gambling controls, or why they could not be read (the rest of the wallet still shows). */
  limits: WalletLimits | Error;
}

/** One wallet: its balances per currency, the deposits still confirming, its limits and exclusion, and its history. */
export class WalletDetailView {
  readonly element = h("div", { class: "detail" });
  readonly #history: HistoryView;
  /** The head, balance and limits cards shown; a render replaces them and leaves the history in place. */
  #head: HTMLElement | undefined;
  #balancesCard: HTMLElement | undefined;
  #limitsCard: HTMLElement | undefined;
  #snapshot: Snapshot | undefined;
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
    this.#history = new HistoryView(api, walletId);
    this.element.append(h("p", { class: "empty" }, "Loading wallet…"));
  }

  get name(): string | undefined {
    return this.#snapshot?.wallet.name;
  }

  async load(): Promise<void> {
    // Live events trigger reloads that can overlap; only the newest answer may render.
    const generation = ++this.#generation;
    try {
      // The history loads and renders on its own (its filters reload it alone), and shows its own errors.
      const history = this.#history.load();
      const limits = this.api.limits(this.walletId).catch((error: unknown) => new Error(errorMessage(error)));
      const [wallet, deposits] = await Promise.all([this.api.wallet(this.walletId), this.api.pendingDeposits(this.walletId)]);
      await history;
      if (generation !== this.#generation) return;
      this.#snapshot = { wallet, deposits, limits: await limits };
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
    this.#history.dispose();
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
      h("div", { class: "wallet-head-meta" }, "Created ", time(wallet.created)),
    );
    const balances = this.#balances(snapshot);
    const limits = limitsCard(snapshot.limits);
    const shown = [this.#head, this.#balancesCard, this.#limitsCard];
    if (shown.every((card) => card?.parentNode === this.element)) {
      // Replacing only these keeps the history card, and a filter being edited in it, in the page.
      this.#head?.replaceWith(head);
      this.#balancesCard?.replaceWith(balances);
      this.#limitsCard?.replaceWith(limits);
    } else {
      this.element.replaceChildren(backLink(), head, balances, limits, this.#history.element);
    }
    this.#head = head;
    this.#balancesCard = balances;
    this.#limitsCard = limits;
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
