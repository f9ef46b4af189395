import type { Api, HistoryFilter, Transfer, TransferPage } from "./api.js";
import { alert, dayStart, errorMessage, h, pager, time, token, utcOffset } from "./dom.js";

const PAGE_SIZE = 10;

const TRANSFER_LABELS: Record<Transfer["transfer_type"], string> = {
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

/** The references a casino reconciles a transfer by, under the names its systems know them. */
const REFERENCES = [
  ["transaction_id", "Transaction ID"],
  ["round_id", "Round ID"],
  ["tx_hash", "Tx hash"],
  ["hold_id", "Hold ID"],
  ["withdrawal_id", "Withdrawal ID"],
] as const;

/**
 * A wallet's transactions, newest first, a page at a time: filtered by type and by days of the
 * browser's time zone, with each transfer's references. The filter bar stays in the page while
 * live events reload the rows, so a reload never takes the focus from a filter being edited.
 */
export class HistoryView {
  readonly element: HTMLElement;
  readonly #count = h("span", { class: "count" });
  readonly #body = h("div", { class: "history-body" });
  readonly #type = h(
    "select",
    { id: "history-type", name: "transfer_type" },
    h("option", { value: "" }, "All types"),
    ...Object.entries(TRANSFER_LABELS).map(([value, label]) => h("option", { value }, label)),
  );
  readonly #from = h("input", { id: "history-from", type: "date", name: "from" });
  readonly #to = h("input", { id: "history-to", type: "date", name: "to" });
  readonly #clear = h("button", { class: "button subtle", type: "button", hidden: true }, "Clear");
  readonly #zone = h("span", { class: "filters-zone" });
  #offset = 0;
  #generation = 0;

  constructor(
    private readonly api: Api,
    private readonly walletId: string,
  ) {
    // A label beside its control, not around it: a wrapping label would add the control's value to its name.
    const field = (label: string, control: HTMLElement) =>
      h("div", { class: "filter" }, h("label", { class: "filter-label", for: control.id }, label), control);
    const filters = h(
      "form",
      { class: "filters", "aria-label": "Filter transactions" },
      field("Type", this.#type),
      field("From", this.#from),
      field("To", this.#to),
      this.#clear,
      this.#zone,
    );
    filters.addEventListener("submit", (event) => event.preventDefault());
    for (const control of [this.#type, this.#from, this.#to]) control.addEventListener("change", () => this.#filtersChanged());
    this.#clear.addEventListener("click", () => {
      this.#type.value = "";
      this.#from.value = "";
      this.#to.value = "";
      this.#filtersChanged();
    });
    this.element = h(
      "section",
      { class: "card history-card", "aria-labelledby": "history-title" },
      h("div", { class: "card-head" }, h("h2", { id: "history-title" }, "Transactions"), this.#count),
      filters,
      this.#body,
    );
    this.#showZone();
    this.#body.append(h("p", { class: "empty" }, "Loading transactions…"));
  }

  /** The filters as the API takes them: a day range of the browser's time zone, the "to" day included. */
  get filter(): HistoryFilter {
    const type = this.#type.value;
    return {
      transfer_type: type === "" ? undefined : (type as Transfer["transfer_type"]),
      from: this.#from.value === "" ? undefined : dayStart(this.#from.value),
      to: this.#to.value === "" ? undefined : dayStart(this.#to.value, 1),
    };
  }

  async load(): Promise<void> {
    // Filter changes and live events start loads that can overlap; only the newest may render.
    const generation = ++this.#generation;
    this.element.setAttribute("aria-busy", "true");
    try {
      const page = await this.api.history(this.walletId, this.filter, PAGE_SIZE, this.#offset);
      if (generation !== this.#generation) return;
      this.#render(page);
    } catch (error) {
      if (generation === this.#generation) this.#body.replaceChildren(alert(errorMessage(error)));
    } finally {
      if (generation === this.#generation) this.element.removeAttribute("aria-busy");
    }
  }

  dispose(): void {
    this.#generation += 1;
  }

  #filtersChanged(): void {
    // Each bound keeps the other's day within reach in the date picker.
    this.#to.min = this.#from.value;
    this.#from.max = this.#to.value;
    this.#clear.hidden = !this.#filtered;
    this.#showZone();
    this.#offset = 0;
    void this.load();
  }

  get #filtered(): boolean {
    return this.#type.value !== "" || this.#from.value !== "" || this.#to.value !== "";
  }

  #showZone(): void {
    const name = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const named = name !== undefined && name !== "" && !/^(Etc\/)?(UTC|GMT)$/.test(name);
    this.#zone.textContent = `Days in your time zone: ${named ? `${name}, ` : ""}UTC${utcOffset(new Date())}`;
  }

  #render(page: TransferPage): void {
    const filtered = this.#filtered;
    this.#count.textContent = String(page.pagination.total);
    if (page.transfers.length === 0 && this.#offset === 0) {
      this.#body.replaceChildren(h("p", { class: "empty" }, filtered ? "No transactions match these filters." : "No transactions yet."));
      return;
    }
    const table = h(
      "table",
      { class: "table history" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "Date"),
          h("th", { scope: "col" }, "Transaction"),
          h("th", { scope: "col" }, "Currency"),
          h("th", { scope: "col", class: "num" }, "Amount"),
          h("th", { scope: "col" }, "Status"),
        ),
      ),
      h("tbody", {}, ...page.transfers.map(transferRow)),
    );
    const footer = pager(page.pagination.total, page.pagination.offset, page.pagination.limit, (offset) => {
      this.#offset = offset;
      void this.load();
    });
    this.#body.replaceChildren(table, footer);
  }
}

function transferRow(transfer: Transfer): HTMLTableRowElement {
  const references = REFERENCES.flatMap(([field, label]) => {
    const value = transfer[field];
    return value === null
      ? []
      : [
          h(
            "span",
            { class: "ref", "data-ref": field },
            h("span", { class: "ref-label" }, label),
            " ",
            h("span", { class: "ref-value mono", title: value }, value),
          ),
        ];
  });
  return h(
    "tr",
    { "data-transfer-id": transfer.id, "data-type": transfer.transfer_type },
    h("td", { "data-label": "Date", class: "date" }, time(transfer.created_at)),
    h(
      "td",
      { "data-label": "Transaction", class: "what" },
      h("span", { class: "type" }, TRANSFER_LABELS[transfer.transfer_type] ?? transfer.transfer_type),
      references.length > 0 && h("span", { class: "refs" }, ...references),
    ),
    h("td", { "data-label": "Currency" }, token(transfer.currency)),
    h("td", { "data-label": "Amount", class: "num" }, transfer.amount),
    h("td", { "data-label": "Status" }, h("span", { class: `pill ${STATUS_TONES[transfer.status] ?? "muted"}` }, transfer.status)),
  );
}
