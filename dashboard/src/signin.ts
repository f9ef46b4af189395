import { alert, h, ICONS, icon } from "./dom.js";

export interface SignInOptions {
  /** Why the user is here again, such as an expired session. */
  notice?: string | undefined;
  /** Checks the key; answers a problem to show, or nothing when the key was accepted. */
  submit(key: string): Promise<string | undefined>;
}

export function signInView(options: SignInOptions): HTMLElement {
  const input = h("input", {
    id: "api-key",
    name: "api-key",
    type: "password",
    required: true,
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "wk_…",
  });
  const button = h("button", { class: "button primary", type: "submit" }, "Sign in");
  const problem = h("div", { class: "form-problem", "aria-live": "polite" }, options.notice ? alert(options.notice) : null);
  const form = h(
    "form",
    { class: "card signin", "aria-labelledby": "signin-title" },
    h("div", { class: "brand-mark large" }, icon(ICONS.wallet)),
    h("h1", { id: "signin-title" }, "Wallet dashboard"),
    h("p", { class: "lead" }, "Sign in with your tenant API key to see your players' wallets, deposits and balances live."),
    problem,
    h("label", { for: "api-key" }, "API key"),
    input,
    button,
    h(
      "p",
      { class: "hint" },
      "Create a key with ",
      h("code", {}, "npm run -s cli -- tenants create --name NAME"),
      ". It stays in this browser tab only and is forgotten when you sign out or close the tab.",
    ),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (key === "") return;
    button.disabled = true;
    button.textContent = "Signing in…";
    const message = await options.submit(key);
    if (message === undefined) return;
    problem.replaceChildren(alert(message));
    button.disabled = false;
    button.textContent = "Sign in";
    input.select();
  });
  queueMicrotask(() => input.focus());
  return h("main", { class: "signin-page" }, form);
}
