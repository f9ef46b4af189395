/**
 * A small element builder. Text always goes in as text nodes, never as HTML, so wallet names
 * and external ids chosen by a casino's players cannot inject markup.
 */

export type Child = Node | string | null | undefined | false;
export type Attributes = Record<string, string | number | boolean | null | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === true) element.setAttribute(name, "");
    else if (value !== false && value !== null && value !== undefined) element.setAttribute(name, String(value));
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(child);
  return element;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** A 24-unit line icon drawn from one path, in the current text colour. */
export function icon(path: string, className = "icon"): SVGSVGElement {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", className);
  svg.setAttribute("aria-hidden", "true");
  const shape = document.createElementNS(SVG_NS, "path");
  shape.setAttribute("d", path);
  svg.append(shape);
  return svg;
}

export const ICONS = {
  wallet:
    "M4 7.5A2.5 2.5 0 0 1 6.5 5H18a1 1 0 0 1 1 1v2M4 7.5v10A2.5 2.5 0 0 0 6.5 20H19a1 1 0 0 0 1-1v-9a1 1 0 0 0-1-1H6.5A1.5 1.5 0 0 1 4 7.5ZM16 14.5h.01",
  search: "M11 18a7 7 0 1 0 0-14 7 7 0 0 0 0 14ZM20 20l-4-4",
  back: "M15 18l-6-6 6-6",
  next: "M9 18l6-6-6-6",
  signOut: "M15 17l5-5-5-5M20 12H9M12 20H6a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2h6",
  vault: "M4 5h16v14H4zM4 9h16M8 14h3",
};

const pad = (value: number, width = 2) => String(value).padStart(width, "0");

/** The browser's offset from UTC at that moment, as RFC 3339 writes it: "+01:00", "-03:30", "+00:00". */
export function utcOffset(date: Date): string {
  const minutes = -date.getTimezoneOffset();
  const size = Math.abs(minutes);
  return `${minutes < 0 ? "-" : "+"}${pad(Math.floor(size / 60))}:${pad(size % 60)}`;
}

/** "2026-12-02": the day in the browser's time zone, as an `<input type="date">` holds it. */
export function localDay(date: Date): string {
  return `${pad(date.getFullYear(), 4)}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** "2026-12-02T00:00:00+01:00": the moment in the browser's time zone, with its offset (RFC 3339). */
export function localIso(date: Date): string {
  return `${localDay(date)}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}${utcOffset(date)}`;
}

/**
 * The start of a day of `<input type="date">` (plus `addDays`) in the browser's time zone, with
 * its offset. Where a zone skips midnight, the day starts at its first moment that exists.
 */
export function dayStart(day: string, addDays = 0): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!match) return undefined;
  const start = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]) + addDays);
  return Number.isNaN(start.getTime()) ? undefined : localIso(start);
}

/**
 * A time in the browser's time zone, always with that zone: "2026-12-02 01:05:09 UTC+01:00".
 * The element's `datetime` keeps the service's UTC value, its tooltip the same in ISO form.
 */
export function time(iso: string): HTMLTimeElement {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return h("time", { datetime: iso }, iso);
  const clock = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  return h(
    "time",
    { datetime: iso, title: `${date.toISOString()} (UTC)` },
    h("span", { class: "time-local" }, `${localDay(date)} ${clock}`),
    " ",
    h("span", { class: "time-zone" }, `UTC${utcOffset(date)}`),
  );
}

/** Up to two letters for an avatar: "Player 12345" gives "P1". */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/);
  return words
    .slice(0, 2)
    .map((word) => word.charAt(0).toUpperCase())
    .join("");
}

/** A stable hue per string, so each currency and wallet keeps its colour between visits. */
export function hueOf(text: string): number {
  let hash = 0;
  for (const character of text) hash = (hash * 31 + (character.codePointAt(0) ?? 0)) % 360;
  return hash;
}

/** A round currency badge with the code beside it. */
export function token(currency: string): HTMLSpanElement {
  const badge = h("span", { class: "token-badge", "aria-hidden": "true" }, currency.slice(0, 1));
  badge.style.setProperty("--hue", String(hueOf(currency)));
  return h("span", { class: "token" }, badge, h("span", { class: "token-code" }, currency));
}

export function avatar(name: string, className = "avatar"): HTMLSpanElement {
  const element = h("span", { class: className, "aria-hidden": "true" }, initials(name) || "?");
  element.style.setProperty("--hue", String(hueOf(name)));
  return element;
}

/** Long hashes keep their ends, which is what people compare by eye. */
export function shortHash(hash: string): string {
  return hash.length <= 16 ? hash : `${hash.slice(0, 8)}…${hash.slice(-6)}`;
}

export function errorMessage(error: unknown): string {
  if (error instanceof TypeError) return "Cannot reach the wallet service. Check your connection.";
  return error instanceof Error ? error.message : String(error);
}

export function alert(message: string): HTMLDivElement {
  return h("div", { class: "alert", role: "alert" }, message);
}

/** "1–20 of 153", with previous and next buttons that call back with the new offset. */
export function pager(total: number, offset: number, limit: number, onPage: (offset: number) => void): HTMLElement {
  const first = total === 0 ? 0 : offset + 1;
  const last = Math.min(offset + limit, total);
  const previous = h(
    "button",
    { class: "icon-button", type: "button", "aria-label": "Previous page", disabled: offset === 0 },
    icon(ICONS.back),
  );
  const next = h("button", { class: "icon-button", type: "button", "aria-label": "Next page", disabled: last >= total }, icon(ICONS.next));
  previous.addEventListener("click", () => onPage(Math.max(0, offset - limit)));
  next.addEventListener("click", () => onPage(offset + limit));
  return h("footer", { class: "pager" }, h("span", { class: "pager-range" }, `${first}–${last} of ${total}`), previous, next);
}
