import type { CurrencyLimits, Exclusion, LimitChange, LimitUse, WalletLimits } from "./api.js";
import { alert, errorMessage, h, time, token } from "./dom.js";

const LIMIT_LABELS: Record<string, string> = { deposit: "Deposit", loss: "Loss", wager: "Wager", max_stake: "Max stake" };

/** Day is the last 24 hours by the hour; week and month count whole UTC days. */
const WINDOW_LABELS: Record<string, [string, string]> = {
  day: ["per day", "The last 24 hours, by the hour"],
  week: ["per week", "The last 7 days, by UTC day"],
  month: ["per month", "The last 30 days, by UTC day"],
};

const EXCLUSION_LABELS: Record<Exclusion["kind"], string> = { timeout: "Timeout", self_exclusion: "Self-exclusion" };

const LIMIT_FIELDS = [
  ["amount", "Amount"],
  ["used", "Used"],
  ["remaining", "Remaining"],
  ["resets_at", "Resets"],
] as const;

const DASH = "—";

/**
 * A wallet's safer-gambling controls, read-only: its exclusion if one runs, and per currency each
 * limit with its use in the window, the changes waiting out the cooling-off, and the deposits held.
 * `limits` is the error of a failed read, shown in the card so the rest of the wallet still shows.
 */
export function limitsCard(limits: WalletLimits | Error): HTMLElement {
  const section = h(
    "section",
    { class: "card limits-card", "aria-labelledby": "limits-title" },
    h(
      "div",
      { class: "card-head" },
      h("h2", { id: "limits-title" }, "Safer gambling"),
      limits instanceof Error ? null : h("span", { class: "card-hint" }, coolingOff(limits.limit_cooling_off_seconds)),
    ),
  );
  if (limits instanceof Error) {
    section.append(alert(`Limits: ${errorMessage(limits)}`));
    return section;
  }
  if (limits.exclusion) section.append(exclusionLine(limits.exclusion));
  if (limits.currencies.length === 0) {
    section.append(h("p", { class: "empty" }, limits.exclusion ? "No limits set." : "No limits or exclusions set."));
    return section;
  }
  section.append(
    h(
      "table",
      { class: "table limits" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "Limit"),
          ...LIMIT_FIELDS.map(([field, label]) => h("th", { scope: "col", class: field === "resets_at" ? "" : "num" }, label)),
        ),
      ),
      ...limits.currencies.map(currencyBody),
    ),
  );
  return section;
}

function exclusionLine(exclusion: Exclusion): HTMLElement {
  return h(
    "div",
    { class: "exclusion", "data-kind": exclusion.kind },
    h("span", { class: "pill danger", "data-field": "kind" }, EXCLUSION_LABELS[exclusion.kind] ?? exclusion.kind),
    h("span", {}, "No play until ", h("span", { "data-field": "ends_at" }, time(exclusion.ends_at))),
    h("span", { class: "exclusion-since" }, "since ", time(exclusion.started_at)),
  );
}

/** One currency: a head row with the deposits held back, its limits, then the changes scheduled. */
function currencyBody(limits: CurrencyLimits): HTMLTableSectionElement {
  return h(
    "tbody",
    { "data-currency": limits.currency },
    h(
      "tr",
      { class: "limits-currency" },
      h(
        "th",
        { scope: "rowgroup", colspan: 5 },
        h(
          "div",
          { class: "limits-currency-head" },
          token(limits.currency),
          h(
            "span",
            { class: "limits-held" },
            "Held deposits ",
            h("span", { class: "num", "data-field": "held_amount" }, limits.held_amount),
          ),
        ),
      ),
    ),
    ...(limits.limits.length === 0
      ? [h("tr", {}, h("td", { class: "muted", colspan: 5 }, "No limit in force."))]
      : limits.limits.map(limitRow)),
    ...limits.pending_changes.map(changeRow),
  );
}

function limitRow(limit: LimitUse): HTMLTableRowElement {
  const cells = LIMIT_FIELDS.map(([field, label]) => {
    const value = limit[field];
    const shown = value === null ? DASH : field === "resets_at" ? time(value) : value;
    return h("td", { class: field === "resets_at" ? "resets" : "num", "data-field": field, "data-label": label }, shown);
  });
  return h("tr", { "data-limit": limit.limit, "data-window": limit.window ?? "" }, h("th", { scope: "row" }, limitName(limit)), ...cells);
}

function changeRow(change: LimitChange): HTMLTableRowElement {
  return h(
    "tr",
    { class: "limit-change", "data-limit": change.limit, "data-window": change.window ?? "" },
    h(
      "td",
      { colspan: 5 },
      h(
        "div",
        { class: "limit-change-line" },
        h("span", { class: "pill warning" }, "Pending"),
        limitName(change),
        h(
          "span",
          { "data-field": "amount" },
          change.amount === null ? "removed" : h("span", {}, "to ", h("span", { class: "num" }, change.amount)),
        ),
        h("span", { class: "limit-change-at", "data-field": "effective_at" }, "from ", time(change.effective_at)),
      ),
    ),
  );
}

function limitName({ limit, window }: { limit: string; window: string | null }): HTMLSpanElement {
  const name = LIMIT_LABELS[limit] ?? limit;
  const windowLabel = window === null ? undefined : WINDOW_LABELS[window];
  if (window === null) return h("span", { class: "limit-name" }, name);
  return h(
    "span",
    { class: "limit-name" },
    name,
    " ",
    h("span", { class: "limit-window", title: windowLabel?.[1] ?? null }, windowLabel?.[0] ?? window),
  );
}

/** "Increases wait 24 h": how long a raised or removed limit takes to apply. */
function coolingOff(seconds: number): string {
  const hours = seconds / 3_600;
  const span = hours >= 48 && Number.isInteger(hours / 24) ? `${hours / 24} days` : Number.isInteger(hours) ? `${hours} h` : `${seconds} s`;
  return `Increases wait ${span}`;
}
