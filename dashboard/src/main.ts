import { Api, ApiError } from "./api.js";
import { errorMessage, h, ICONS, icon } from "./dom.js";
import { EventStream, type StreamState, type WalletEvent } from "./events.js";
import { MasterView } from "./master.js";
import { signInView } from "./signin.js";
import { WalletDetailView } from "./wallet.js";
import { WalletListView } from "./wallets.js";

/**
 * The key lives in sessionStorage: it survives a reload of the tab but not closing it, and
 * other tabs and sites never see it.
 */
const KEY_STORAGE = "wallet-dashboard.api-key";
const TITLE = "Wallet dashboard";
const WALLET_ROUTE = /^#\/wallets\/([^/?]+)/;

const STREAM_LABELS: Record<StreamState, string> = { connecting: "Connecting", live: "Live", reconnecting: "Reconnecting" };

const app = mountPoint();

/** A signed-in session: the views, the live event stream, and the route they follow. */
class Dashboard {
  readonly element: HTMLElement;
  readonly #api: Api;
  readonly #stream: EventStream;
  readonly #master: MasterView;
  readonly #list: WalletListView;
  readonly #detailPane = h("section", { class: "detail-pane", "aria-label": "Wallet" });
  readonly #live = h("span", { class: "live", role: "status" });
  #detail: WalletDetailView | null = null;
  readonly #onHashChange = () => this.#route();

  constructor(key: string, signOut: (notice?: string) => void) {
    const expired = () => signOut("The service no longer accepts this API key. Sign in again.");
    this.#api = new Api(key, expired);
    this.#master = new MasterView(this.#api);
    this.#list = new WalletListView(this.#api);
    this.#stream = new EventStream(key, {
      onEvent: (event) => this.#apply(event),
      onState: (state) => {
        this.#live.dataset.state = state;
        this.#live.textContent = STREAM_LABELS[state];
      },
      onConnected: () => this.#reload(),
      onUnauthorized: expired,
    });
    // The label is hidden on a phone, so the button carries its name for screen readers too.
    const signOutButton = h(
      "button",
      { class: "button ghost", type: "button", "aria-label": "Sign out", title: "Sign out" },
      icon(ICONS.signOut),
      h("span", { class: "label" }, "Sign out"),
    );
    signOutButton.addEventListener("click", () => signOut());
    this.element = h(
      "div",
      { class: "shell" },
      h(
        "header",
        { class: "topbar" },
        h(
          "div",
          { class: "topbar-inner" },
          h(
            "a",
            { class: "brand", href: "#/" },
            h("span", { class: "brand-mark" }, icon(ICONS.wallet)),
            h("span", { class: "brand-name" }, "Wallet"),
            h("span", { class: "brand-sub" }, "dashboard"),
          ),
          this.#live,
          signOutButton,
        ),
      ),
      h("main", { class: "page" }, this.#master.element, h("div", { class: "layout" }, this.#list.element, this.#detailPane)),
    );
  }

  start(): void {
    window.addEventListener("hashchange", this.#onHashChange);
    this.#stream.start();
    void this.#master.load();
    void this.#list.load();
    this.#route();
  }

  stop(): void {
    window.removeEventListener("hashchange", this.#onHashChange);
    this.#stream.stop();
    this.#master.stop();
    this.#list.stop();
    this.#detail?.dispose();
  }

  #route(): void {
    const match = WALLET_ROUTE.exec(location.hash);
    const walletId = match?.[1] ? decodeURIComponent(match[1]) : null;
    // The layout shows the list or the wallet on a phone, both side by side on a wide screen.
    this.element.dataset.view = walletId ? "wallet" : "list";
    this.#list.select(walletId);
    if (walletId === this.#detail?.walletId) return;
    this.#detail?.dispose();
    this.#detail = null;
    if (walletId === null) {
      document.title = TITLE;
      this.#detailPane.replaceChildren(
        h(
          "div",
          { class: "card placeholder" },
          icon(ICONS.wallet, "icon large"),
          h("p", {}, "Select a wallet to see its balances, confirming deposits and transactions."),
        ),
      );
      return;
    }
    const detail = new WalletDetailView(this.#api, walletId);
    this.#detail = detail;
    this.#detailPane.replaceChildren(detail.element);
    void detail.load().then(() => {
      if (this.#detail === detail) document.title = detail.name ? `${detail.name} · ${TITLE}` : TITLE;
    });
    window.scrollTo({ top: 0 });
  }

  #apply(event: WalletEvent): void {
    if (event.wallet === null) {
      this.#master.applyBalance(event.balance);
      return;
    }
    // Chain deposits come from outside; every other movement of a player has the master account on its other side.
    // An event about limits moves nothing: it has no deposit field at all (undefined).
    if (event.deposit === null) this.#master.reloadSoon();
    this.#list.applyBalance(event.wallet.wallet_id, event.balance);
    if (event.deposit) this.#list.applyDeposit(event.wallet.wallet_id, event.deposit);
    if (this.#detail?.walletId === event.wallet.wallet_id) this.#detail.applyEvent(event);
  }

  #reload(): void {
    void this.#master.load();
    void this.#list.load();
    void this.#detail?.load();
  }
}

let current: Dashboard | null = null;

function showDashboard(key: string): void {
  const dashboard = new Dashboard(key, (notice) => {
    // Several requests can fail with 401 at once; the first one signs out, the rest find nothing to do.
    if (current !== dashboard) return;
    dashboard.stop();
    current = null;
    sessionStorage.removeItem(KEY_STORAGE);
    showSignIn(notice);
  });
  current = dashboard;
  app.replaceChildren(dashboard.element);
  dashboard.start();
}

function showSignIn(notice?: string): void {
  document.title = `Sign in · ${TITLE}`;
  app.replaceChildren(
    signInView({
      notice,
      async submit(key) {
        try {
          // Master balances need only the read scope, like everything the dashboard shows.
          await new Api(key).masterBalances();
        } catch (error) {
          if (error instanceof ApiError && error.status === 401)
            return "This API key was not accepted. Check that it is complete and not revoked.";
          if (error instanceof ApiError && error.status === 403) return `This key cannot read wallets: ${error.message}`;
          return errorMessage(error);
        }
        sessionStorage.setItem(KEY_STORAGE, key);
        showDashboard(key);
        return undefined;
      },
    }),
  );
}

const saved = sessionStorage.getItem(KEY_STORAGE);
if (saved) showDashboard(saved);
else showSignIn();

function mountPoint(): HTMLElement {
  const element = document.querySelector<HTMLElement>("#app");
  if (!element) throw new Error("index.html lacks the #app element");
  return element;
}
