import type { Api, Balance, Deposit, WalletListEntry, WalletPage } from "./api.js";
import { alert, avatar, errorMessage, h, ICONS, icon, pager } from "./dom.js";

const PAGE_SIZE = 20;
const SEARCH_DELAY_MS = 250;
/** Deposit events come in bursts too; one reload of the page answers the whole burst. */
const RELOAD_DELAY_MS = 300;
/** A list row has room for this many currencies; the rest are counted. */
const CHIPS_SHOWN = 2;

/** The tenant's wallets: searchable by name or external id, a page at a time. */
export class WalletListView {
  readonly element = h("section", { class: "card wallets", "aria-labelledby": "wallets-title" });
  readonly #input = h("input", {
    type: "search",
    name: "search",
    placeholder: "Search name or external ID",
    "aria-label": "Search wallets by name or external ID",
    autocomplete: "off",
    spellcheck: "false",
  });
  readonly #count = h("span", { class: "count" });
  readonly #body = h("div", { class: "wallets-body" });
  #search = "";
  #offset = 0;
  #page: WalletPage | undefined;
  #selected: string | null = null;
  #generation = 0;
  #searchTimer: ReturnType<typeof setTimeout> | undefined;
  #reloadTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly api: Api) {
    this.#input.addEventListener("input", () => {
      // Waiting for a pause in typing sends one query per search instead of one per key.
      clearTimeout(this.#searchTimer);
      this.#searchTimer = setTimeout(() => {
        this.#search = this.#input.value.trim();
        this.#offset = 0;
        void this.load();
      }, SEARCH_DELAY_MS);
    });
    this.element.append(
      h("div", { class: "card-head" }, h("h2", { id: "wallets-title" }, icon(ICONS.wallet), "Wallets"), this.#count),
      h("label", { class: "search" }, icon(ICONS.search), this.#input),
      this.#body,
    );
  }

  async load(): Promise<void> {
    clearTimeout(this.#reloadTimer);
    // Typing fast starts several queries; only the answer to the newest one may render.
    const generation = ++this.#generation;
    this.element.setAttribute("aria-busy", "true");
    try {
      const page = await this.api.wallets(this.#search, PAGE_SIZE, this.#offset);
      if (generation !== this.#generation) return;
      this.#page = page;
      this.#render();
    } catch (error) {
      if (generation === this.#generation) this.#body.replaceChildren(alert(errorMessage(error)));
    } finally {
      if (generation === this.#generation) this.element.removeAttribute("aria-busy");
    }
  }

  select(walletId: string | null): void {
    this.#selected = walletId;
    for (const link of this.#body.querySelectorAll<HTMLAnchorElement>("a[data-wallet-id]")) {
      if (link.dataset.walletId === walletId) link.setAttribute("aria-current", "true");
      else link.removeAttribute("aria-current");
    }
  }

  /** A live balance change: the row shows it if the wallet is on the current page. */
  applyBalance(walletId: string, balance: Balance): void {
    const wallet = this.#page?.accounts.find((account) => account.wallet_id === walletId);
    if (!wallet) return;
    const index = wallet.balances.findIndex((existing) => existing.currency === balance.currency);
    if (index === -1) wallet.balances.push(balance);
    else wallet.balances[index] = balance;
    this.#replaceItem(wallet);
  }

  /**
   * A deposit event: a confirming one marks its wallet at once. A confirmed or dropped one may
   * have been the wallet's last confirming deposit or not, which only the service knows, so
   * the page is read again.
   */
  applyDeposit(walletId: string, deposit: Deposit): void {
    const wallet = this.#page?.accounts.find((account) => account.wallet_id === walletId);
    if (!wallet) return;
    if (deposit.status === "pending") {
      if (wallet.has_pending_deposits) return;
      wallet.has_pending_deposits = true;
      this.#replaceItem(wallet);
    } else if (wallet.has_pending_deposits) {
      clearTimeout(this.#reloadTimer);
      this.#reloadTimer = setTimeout(() => void this.load(), RELOAD_DELAY_MS);
    }
  }

  stop(): void {
    clearTimeout(this.#searchTimer);
    clearTimeout(this.#reloadTimer);
  }

  #replaceItem(wallet: WalletListEntry): void {
    this.#body.querySelector(`a[data-wallet-id="${CSS.escape(wallet.wallet_id)}"]`)?.replaceWith(this.#item(wallet));
  }

  #render(): void {
    const page = this.#page;
    if (!page) return;
    this.#count.textContent = String(page.total);
    if (page.accounts.length === 0) {
      const message = this.#search === "" ? "No wallets yet. Create one with POST /wallets/." : `No wallet matches “${this.#search}”.`;
      this.#body.replaceChildren(h("p", { class: "empty" }, message));
      return;
    }
    const list = h("ul", { class: "wallet-list" }, ...page.accounts.map((wallet) => h("li", {}, this.#item(wallet))));
    const footer = pager(page.total, page.offset, page.limit, (offset) => {
      this.#offset = offset;
      void this.load();
    });
    this.#body.replaceChildren(list, footer);
  }

  #item(wallet: WalletListEntry): HTMLAnchorElement {
    const shown = wallet.balances.slice(0, CHIPS_SHOWN);
    const hidden = wallet.balances.length - shown.length;
    const chips = h(
      "span",
      { class: "chips" },
      ...shown.map((balance) =>
        h(
          "span",
          { class: "chip", "data-currency": balance.currency },
          h("span", { class: "num" }, balance.amount),
          h("span", { class: "chip-code" }, balance.currency),
        ),
      ),
      hidden > 0 && h("span", { class: "chip more" }, `+${hidden}`),
      wallet.balances.length === 0 && h("span", { class: "chip none" }, "no balance"),
    );
    return h(
      "a",
      {
        class: "wallet-item",
        href: `#/wallets/${encodeURIComponent(wallet.wallet_id)}`,
        "data-wallet-id": wallet.wallet_id,
        "data-pending-deposits": wallet.has_pending_deposits ? "true" : null,
        "aria-current": wallet.wallet_id === this.#selected ? "true" : null,
      },
      avatar(wallet.name),
      h(
        "span",
        { class: "wallet-item-main" },
        h("span", { class: "wallet-name" }, wallet.name),
        h("span", { class: "wallet-ext mono" }, wallet.external_id),
        wallet.has_pending_deposits &&
          h(
            "span",
            { class: "pending-mark", title: "A deposit to this wallet is still confirming" },
            h("span", { class: "pulse", "aria-hidden": "true" }),
            "Deposit confirming",
          ),
      ),
      chips,
    );
  }
}
