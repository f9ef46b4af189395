import { lookup as dnsLookup } from "node:dns/promises";
import { isIP, type LookupFunction } from "node:net";
import ipaddr from "ipaddr.js";
import { invalidFields } from "./errors.js";

/**
 * Which URLs a webhook may target. A webhook makes this service send requests to an address a
 * tenant chose, from inside our network: without a policy a tenant could make it POST to
 * loopback admin ports, the cloud metadata service (169.254.169.254) or private hosts (blind
 * SSRF). So a target must be https (http only when WEBHOOK_ALLOW_HTTP is set) and every address
 * it stands for must be plain global unicast, unless it lies in a range opened by
 * WEBHOOK_ALLOWED_TARGETS (tests, private deployments).
 *
 * The address classes come from ipaddr.js's `range()` (a maintained table of special-purpose
 * ranges), not from a table of our own. A host name is checked twice: at registration (a clear
 * 400 for the tenant) and at every delivery, where `lookup` is given to `http.request` so that
 * the address checked is exactly the address connected to; checking a name and then letting
 * the connection resolve it again would lose to DNS rebinding (public answer for the check,
 * 127.0.0.1 for the connection).
 */

/** Resolves a host name to all its addresses, as `dns.promises.lookup(name, { all: true })` does. */
export type ResolveHost = (hostname: string) => Promise<readonly { address: string; family: number }[]>;

export const defaultResolveHost: ResolveHost = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export interface WebhookTargetOptions {
  /** Accept `http://` targets as well as `https://`. */
  allowHttp: boolean;
  /** CIDR ranges accepted whatever their class, e.g. `10.0.0.0/8`. */
  allowedTargets: readonly string[];
  /** How host names are resolved; tests inject a fake DNS here. */
  resolveHost?: ResolveHost;
}

export const MAX_WEBHOOK_URL_LENGTH = 2048;

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type CheckedAddress = { address: string; family: number };

/** IPv6 global unicast (RFC 4291 2.4, IANA): anything ipaddr.js calls unicast outside it is not a public address. */
const IPV6_GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR("2000::/3");

/** Words for the classes ipaddr.js names in camelCase; others are shown as named. */
const CLASS_WORDS: Record<string, string> = {
  linkLocal: "link-local",
  carrierGradeNat: "carrier-grade NAT",
  uniqueLocal: "unique-local",
  rfc6052: "NAT64",
  rfc6145: "IPv4-translated",
  deprecatedSiteLocal: "site-local",
};

/** A target refused at delivery; its message becomes the delivery's `last_error`. */
export class TargetRefusedError extends Error {
  override name = "TargetRefusedError";
}

/** Parses a CIDR range the way WEBHOOK_ALLOWED_TARGETS is written, or throws a readable error. */
export function parseAllowedTarget(text: string): [Address, number] {
  if (!ipaddr.isValidCIDR(text)) throw new Error(`WEBHOOK_ALLOWED_TARGETS: "${text}" is not a CIDR range such as 10.0.0.0/8 or fd00::/8`);
  const [address, prefix] = ipaddr.parseCIDR(text);
  // An IPv4 range written in IPv6 form (::ffff:10.0.0.0/104) must match the IPv4 addresses it names.
  if (address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress() && prefix >= 96) {
    return [(address as ipaddr.IPv6).toIPv4Address(), prefix - 96];
  }
  return [address, prefix];
}

export class WebhookTargetPolicy {
  readonly allowHttp: boolean;
  readonly #allowed: [Address, number][];
  readonly #resolveHost: ResolveHost;

  constructor(options: WebhookTargetOptions) {
    this.allowHttp = options.allowHttp;
    this.#allowed = options.allowedTargets.map(parseAllowedTarget);
    this.#resolveHost = options.resolveHost ?? defaultResolveHost;
  }

  /**
   * Why an address may not be targeted ("loopback", "private", ...), or null if it may. An
   * IPv4-mapped IPv6 address (::ffff:127.0.0.1) reaches the IPv4 host it embeds, so it is judged
   * as that IPv4 address.
   */
  refusal(text: string): string | null {
    if (!ipaddr.isValid(text)) return "malformed";
    const address = normalise(ipaddr.parse(text));
    if (this.#allowed.some(([range, prefix]) => range.kind() === address.kind() && address.match(range, prefix))) return null;
    const range = address.range();
    if (range !== "unicast") return CLASS_WORDS[range] ?? range;
    if (address.kind() === "ipv6" && !address.match(IPV6_GLOBAL_UNICAST)) return "non-global";
    return null;
  }

  /**
   * Registration: the URL's form, then every address its host stands for. Throws a 400
   * invalid_request naming the refused class, in the one details shape of DESIGN 1.1.
   */
  async checkUrl(text: string): Promise<URL> {
    const url = this.#parse(text, invalidUrl);
    const literal = hostLiteral(url);
    if (literal !== undefined) {
      const refused = this.refusal(literal);
      if (refused) throw invalidUrl(`is ${article(refused)} ${refused} address (${literal})`);
      return url;
    }
    let addresses: readonly { address: string }[];
    try {
      addresses = await this.#resolveHost(url.hostname);
    } catch {
      addresses = [];
    }
    if (addresses.length === 0) throw invalidUrl(`host ${url.hostname} does not resolve`);
    for (const { address } of addresses) {
      const refused = this.refusal(address);
      if (refused) throw invalidUrl(`resolves to ${article(refused)} ${refused} address (${address})`);
    }
    return url;
  }

  /**
   * Delivery, before connecting: the URL's form again (the settings may have changed since
   * registration) and, for an IP-literal host, the address itself, since Node connects to a
   * literal without calling `lookup`. Throws TargetRefusedError.
   */
  checkDeliveryUrl(text: string): URL {
    const url = this.#parse(text, (problem) => new TargetRefusedError(`target refused: url ${problem}`));
    const literal = hostLiteral(url);
    const refused = literal === undefined ? null : this.refusal(literal);
    if (refused) throw new TargetRefusedError(`target address refused: ${refused} ${literal}`);
    return url;
  }

  /**
   * The `lookup` option of `http.request`/`https.request`: resolves the host now, at connection
   * time, and hands the socket only addresses it has checked. If any address is refused the
   * connection fails, so a name cannot smuggle a private address among public ones.
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    this.#checkedAddresses(hostname, options.family).then(
      (addresses) => {
        // Node asks for every address (`all`) when it races IPv4 against IPv6 (autoSelectFamily).
        if (options.all) (callback as unknown as (error: null, all: CheckedAddress[]) => void)(null, addresses);
        else callback(null, addresses[0]?.address ?? "", addresses[0]?.family ?? 0);
      },
      (error: Error) => callback(error, "", 0),
    );
  };

  async #checkedAddresses(hostname: string, family: unknown): Promise<CheckedAddress[]> {
    let found: readonly { address: string }[];
    try {
      found = await this.#resolveHost(hostname);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new TargetRefusedError(`target host ${hostname} does not resolve${typeof code === "string" ? ` (${code})` : ""}`);
    }
    const addresses = found.map(({ address }) => {
      const refused = this.refusal(address);
      if (refused) throw new TargetRefusedError(`target address refused: ${refused} ${address}`);
      // The socket connects to the address as judged: an IPv4-mapped one as its IPv4 address.
      const checked = normalise(ipaddr.parse(address));
      return { address: checked.toString(), family: checked.kind() === "ipv4" ? 4 : 6 };
    });
    const wanted = family === 4 || family === 6 ? addresses.filter((address) => address.family === family) : addresses;
    if (wanted.length === 0)
      throw new TargetRefusedError(`target host ${hostname} does not resolve${family ? ` to an IPv${family} address` : ""}`);
    return wanted;
  }

  #parse(text: string, refuse: (problem: string) => Error): URL {
    let url: URL | undefined;
    try {
      url = new URL(text);
    } catch {
      url = undefined;
    }
    if (!url || !["http:", "https:"].includes(url.protocol) || text.length > MAX_WEBHOOK_URL_LENGTH || url.username || url.password) {
      throw refuse("must be an https URL without credentials, at most 2048 characters");
    }
    if (url.protocol === "http:" && !this.allowHttp) throw refuse("must use https: http targets are not allowed");
    return url;
  }
}

function normalise(address: Address): Address {
  return address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress() ? (address as ipaddr.IPv6).toIPv4Address() : address;
}

/**
 * The host as an IP address if it is one. WHATWG URL has already turned every IPv4 spelling
 * (2130706433, 0x7f.1, 0177.0.0.1) into dotted decimal, and writes IPv6 in brackets.
 */
function hostLiteral(url: URL): string | undefined {
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  return isIP(host) ? host : undefined;
}

function article(word: string): string {
  return /^(?:[aeio]|un(?!i))/i.test(word) ? "an" : "a";
}

const invalidUrl = (problem: string) => invalidFields(`Invalid url: ${problem}`, { url: problem });
