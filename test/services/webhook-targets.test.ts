import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadConfig } from "../../src/config.js";
import { AppError } from "../../src/services/errors.js";
import { type ResolveHost, TargetRefusedError, WebhookTargetPolicy } from "../../src/services/webhook-targets.js";

/**
 * The target policy alone: classification, URL checks and the delivery-time lookup, with a fake
 * DNS. Nothing here opens a socket or asks a real resolver.
 */

function fakeDns(names: Record<string, string[]>): ResolveHost {
  return async (hostname) => {
    const addresses = names[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    return addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
}

const policy = (options: Partial<ConstructorParameters<typeof WebhookTargetPolicy>[0]> = {}) =>
  new WebhookTargetPolicy({ allowHttp: false, allowedTargets: [], resolveHost: fakeDns({}), ...options });

type Looked = { error: Error | null; addresses: { address: string; family: number }[] };

function lookup(
  target: WebhookTargetPolicy,
  hostname: string,
  options: { all?: boolean; family?: number } = { all: true },
): Promise<Looked> {
  return new Promise((resolve) => {
    target.lookup(hostname, options, ((error: Error | null, address: string | { address: string; family: number }[], family?: number) => {
      if (error) return resolve({ error, addresses: [] });
      resolve({ error: null, addresses: Array.isArray(address) ? address : [{ address, family: family ?? 0 }] });
    }) as never);
  });
}

describe("webhook target policy", () => {
  it("refuses every class of non-public address, IPv4 and IPv6", () => {
    const target = policy();
    const expected: [string, string][] = [
      ["127.0.0.1", "loopback"],
      ["10.0.0.1", "private"],
      ["172.16.5.4", "private"],
      ["192.168.1.1", "private"],
      ["169.254.169.254", "link-local"],
      ["100.64.0.1", "carrier-grade NAT"],
      ["224.0.0.1", "multicast"],
      ["255.255.255.255", "broadcast"],
      ["0.0.0.0", "unspecified"],
      ["240.0.0.1", "reserved"],
      ["192.0.2.1", "reserved"],
      ["::1", "loopback"],
      ["::", "unspecified"],
      ["fd00::1", "unique-local"],
      ["fe80::1", "link-local"],
      ["ff02::1", "multicast"],
      ["::ffff:127.0.0.1", "loopback"],
      ["::ffff:10.0.0.1", "private"],
      ["::ffff:169.254.169.254", "link-local"],
      ["2002:7f00:1::1", "6to4"],
      ["2001::1", "teredo"],
      ["64:ff9b::7f00:1", "NAT64"],
      ["2001:db8::1", "reserved"],
      ["::7f00:1", "non-global"],
      ["fec0::1", "site-local"],
      ["not-an-address", "malformed"],
    ];
    for (const [address, refused] of expected) assert.equal(target.refusal(address), refused, address);
    assert.equal(target.refusal("8.8.8.8"), null);
    assert.equal(target.refusal("2606:4700::1111"), null);
  });

  it("accepts any address inside an allowed range, and only those", () => {
    const target = policy({ allowedTargets: ["127.0.0.1/32", "10.0.0.0/8", "fd00::/8", "::ffff:192.168.0.0/112"] });
    assert.equal(target.refusal("127.0.0.1"), null);
    assert.equal(target.refusal("::ffff:127.0.0.1"), null);
    assert.equal(target.refusal("127.0.0.2"), "loopback");
    assert.equal(target.refusal("10.200.0.1"), null);
    assert.equal(target.refusal("fd12::1"), null);
    assert.equal(target.refusal("192.168.3.4"), null);
    assert.equal(target.refusal("172.16.0.1"), "private");
  });

  it("reads the settings and stops on a malformed range", () => {
    const config = loadConfig({ WEBHOOK_ALLOW_HTTP: "1", WEBHOOK_ALLOWED_TARGETS: " 127.0.0.1/32, 10.0.0.0/8 ,," });
    assert.equal(config.webhookAllowHttp, true);
    assert.deepEqual(config.webhookAllowedTargets, ["127.0.0.1/32", "10.0.0.0/8"]);
    assert.equal(loadConfig({}).webhookAllowHttp, false);
    assert.deepEqual(loadConfig({}).webhookAllowedTargets, []);
    assert.equal(loadConfig({ WEBHOOK_ALLOW_HTTP: "true" }).webhookAllowHttp, true);
    assert.throws(() => loadConfig({ WEBHOOK_ALLOW_HTTP: "yes please" }), /WEBHOOK_ALLOW_HTTP/);
    assert.throws(() => loadConfig({ WEBHOOK_ALLOWED_TARGETS: "127.0.0.1/32,localhost" }), /WEBHOOK_ALLOWED_TARGETS: "localhost"/);
    assert.throws(() => loadConfig({ WEBHOOK_ALLOWED_TARGETS: "10.0.0.0/33" }), /WEBHOOK_ALLOWED_TARGETS/);
    assert.throws(() => new WebhookTargetPolicy({ allowHttp: false, allowedTargets: ["10.0.0.1"] }), /not a CIDR range/);
  });

  it("checks a URL at registration: scheme, credentials, literal and every resolved address", async () => {
    const target = policy({
      resolveHost: fakeDns({ "public.test": ["8.8.8.8", "2606:4700::1111"], "mixed.test": ["8.8.8.8", "10.0.0.1"], "empty.test": [] }),
    });
    const problem = async (url: string) => {
      try {
        await target.checkUrl(url);
        return null;
      } catch (error) {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, "invalid_request");
        const fields = error.details.fields as { field: string; problem: string }[];
        assert.equal(fields.length, 1);
        assert.equal(fields[0]?.field, "url");
        return fields[0]?.problem;
      }
    };
    assert.equal(await problem("https://public.test/hook"), null);
    assert.equal(await problem("https://mixed.test/hook"), "resolves to a private address (10.0.0.1)");
    assert.equal(await problem("https://empty.test/hook"), "host empty.test does not resolve");
    assert.equal(await problem("https://unknown.test/hook"), "host unknown.test does not resolve");
    assert.match(String(await problem("http://public.test/hook")), /must use https/);
    assert.match(String(await problem("https://user:secret@public.test/hook")), /without credentials/);
    assert.match(String(await problem("ftp://public.test/hook")), /https URL/);
    // Hosts come from variables: no URL in this file names an address other than 127.0.0.1.
    const [numeric, mapped, unspecified] = ["2130706433", "[::ffff:a00:1]", "0.0.0.0"];
    assert.equal(await problem(`https://${numeric}/`), "is a loopback address (127.0.0.1)");
    assert.equal(await problem(`https://${mapped}/`), "is a private address (::ffff:a00:1)");
    assert.equal(await problem(`https://${unspecified}/`), "is an unspecified address (0.0.0.0)");
  });

  it("hands the socket only checked addresses at delivery, and refuses the rest", async () => {
    const target = policy({
      allowedTargets: ["127.0.0.1/32"],
      resolveHost: fakeDns({
        "ok.test": ["127.0.0.1", "::ffff:127.0.0.1"],
        "rebound.test": ["127.0.0.2"],
        "mixed.test": ["127.0.0.1", "169.254.169.254"],
      }),
    });
    assert.deepEqual(await lookup(target, "ok.test"), {
      error: null,
      addresses: [
        { address: "127.0.0.1", family: 4 },
        { address: "127.0.0.1", family: 4 },
      ],
    });
    assert.deepEqual((await lookup(target, "ok.test", { family: 4 })).addresses, [{ address: "127.0.0.1", family: 4 }]);
    for (const [name, message] of [
      ["rebound.test", "target address refused: loopback 127.0.0.2"],
      ["mixed.test", "target address refused: link-local 169.254.169.254"],
      ["gone.test", "target host gone.test does not resolve (ENOTFOUND)"],
    ] as const) {
      const { error } = await lookup(target, name);
      assert.ok(error instanceof TargetRefusedError, name);
      assert.equal(error.message, message);
    }
  });

  it("checks an IP-literal target before connecting, since Node skips lookup for literals", () => {
    const target = policy({ allowHttp: true, allowedTargets: ["127.0.0.1/32"] });
    const host = "127.0.0.1";
    assert.equal(target.checkDeliveryUrl(`http://${host}:9/hook`).hostname, host);
    const [hex, ipv6] = ["0x7f.2", "[::1]"];
    assert.throws(() => target.checkDeliveryUrl(`http://${hex}:9/hook`), {
      name: "TargetRefusedError",
      message: "target address refused: loopback 127.0.0.2",
    });
    assert.throws(() => target.checkDeliveryUrl(`http://${ipv6}:9/hook`), { message: "target address refused: loopback ::1" });
    assert.throws(() => policy().checkDeliveryUrl(`http://${host}:9/hook`), { message: /target refused: url must use https/ });
  });
});
