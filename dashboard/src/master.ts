import type { Api, Balance } from "./api.js";
import { alert, errorMessage, h, ICONS, icon, token } from "./dom.js";

const RELOAD_DELAY_MS = 300;

/** The tenant's master account: the house funds that transfers to players come from. */
export class MasterView {
  readonly element = h("section", { class: "card master", "aria-labelledby": "master-title" });
  #balances: Balance[] = [];
  #generation = 0;
  #reloadTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly api: Api) {}

  async load(): Promise<void> {
    // Only the newest load may render: an older answer arriving late would show stale balances.
    const generation = ++this.#generation;
    try {
      const balances = await this.api.masterBalances();
      if (generation !== this.#generation) return;
      this.#balances = balances;
      this.#render();
    } catch (error) {
      if (generation === this.#generation) this.#render(errorMessage(error));
    }
  }

  /**
   * A player's transfer or game round moves money to or from the master account too, but its
   * event carries only the player's side, so the master balances are read again. Bursts of
   * such events share one read.
   */
  reloadSoon(): void {
    clearTimeout(this.#reloadTimer);
    this.#reloadTimer = setTimeout(() => void this.load(), RELOAD_DELAY_MS);
  }

  stop(): void {
    clearTimeout(this.#reloadTimer);
  }

  applyBalance(balance: Balance): void {
    const index = this.#balances.findIndex((existing) => existing.currency === balance.currency);
    if (index === -1) this.#balances.push(balance);
    else this.#balances[index] = balance;
    this.#render();
  }

  #render(problem?: string): void {
    const head = h(
      "div",
      { class: "card-head" },
      h("h2", { id: "master-title" }, icon(ICONS.vault), "Master account"),
      h("span", { class: "card-hint" }, "House funds for transfers to players"),
    );
    const tiles = this.#balances.map((balance) =>
      h(
        "div",
        { class: "tile", "data-currency": balance.currency },
        token(balance.currency),
        h("div", { class: "tile-amount num", "data-field": "amount" }, balance.amount),
        h(
          "dl",
          { class: "tile-details" },
          h("div", {}, h("dt", {}, "Available"), h("dd", { class: "num", "data-field": "available_balance" }, balance.available_balance)),
          h("div", {}, h("dt", {}, "Pending"), h("dd", { class: "num", "data-field": "pending_amount" }, balance.pending_amount)),
        ),
      ),
    );
    const body =
      tiles.length > 0
        ? h("div", { class: "tiles" }, ...tiles)
        : h("p", { class: "empty" }, "No funds yet: a deposit to the master account opens its first balance.");
    this.element.replaceChildren(head, problem ? alert(problem) : body);
  }
}
