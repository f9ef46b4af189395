import assert from "node:assert/strict";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { type Config, loadConfig } from "../../src/config.js";
import type { ResolveHost } from "../../src/services/webhook-targets.js";
import { call, createTestDatabase, createWallet, deposit, startApp, startServer, type Tenant, type TestApp } from "../helpers.js";

/**
 * Webhook targets cannot reach internal addresses (blind SSRF), through the real HTTP layer.
 *
 * Safety rule of this file: the only address ever connected to is 127.0.0.1. Every app gets the
 * fake DNS below (no real resolver is asked), every other address appears only as a refused
 * registration or as a fake DNS answer that the guard refuses before connecting, and URLs are
 * written from host variables.
 */

const LOCAL = "127.0.0.1";

/** A fake DNS: names map to answers the tests change at will; unknown names fail as getaddrinfo does. */
const dnsAnswers = new Map<string, string[]>();
const dnsQueries: string[] = [];
const resolveHost: ResolveHost = async (hostname) => {
  dnsQueries.push(hostname);
  const addresses = dnsAnswers.get(hostname);
  if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
  return addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
};

const FAST_RETRIES = { webhookBackoffBaseMs: 50, webhookPollIntervalMs: 50 };
/** https only, nothing opened: the production default. */
const STRICT: Partial<Config> = { webhookResolveHost: resolveHost };
/** http allowed and exactly 127.0.0.1 opened, as for a local receiver. */
const LOCAL_ONLY: Partial<Config> = {
  ...FAST_RETRIES,
  webhookAllowHttp: true,
  webhookAllowedTargets: [`${LOCAL}/32`],
  webhookResolveHost: resolveHost,
};

async function expectRefused(test: TestApp, url: string, problem: string | RegExp): Promise<void> {
  const response = await call(test.app, "POST", "/webhooks/", { key: test.tenant.apiKey, body: { url } });
  assert.equal(response.status, 400, `${url} was accepted`);
  assert.equal(response.body.error.code, "invalid_request");
  assert.deepEqual(Object.keys(response.body.error.details), ["fields"]);
  assert.equal(response.body.error.details.fields.length, 1);
  const [entry] = response.body.error.details.fields;
  assert.equal(entry.field, "url");
  if (typeof problem === "string") assert.equal(entry.problem, problem, url);
  else assert.match(entry.problem, problem, url);
  assert.equal(response.body.error.message, `Invalid url: ${entry.problem}`);
}

type Answer = (response: ServerResponse, port: number) => void;

/** A local receiver, on 127.0.0.1 only, that records the paths reached and answers 200 unless told otherwise. */
async function startReceiver(answer: Answer = (response) => response.writeHead(200).end()): Promise<{
  port: number;
  received: string[];
  close(): Promise<void>;
}> {
  const received: string[] = [];
  const server = createServer((request, response) => {
    received.push(String(request.url));
    request.resume();
    request.on("end", () => answer(response, port));
  });
  await new Promise<void>((resolve) => server.listen(0, LOCAL, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

interface DeliveryView {
  endpoint_id: string;
  status: string;
  attempts: number;
  last_error: string | null;
  last_status_code: number | null;
}

async function deliveriesOf(test: TestApp, tenant: Tenant, endpointId: string): Promise<DeliveryView[]> {
  const response = await call(test.app, "GET", "/webhooks/deliveries/", { key: tenant.apiKey });
  assert.equal(response.status, 200);
  return response.body.deliveries.filter((delivery: DeliveryView) => delivery.endpoint_id === endpointId);
}

/** A movement of a fresh wallet of `tenant`, so that an event is queued for its endpoints. */
async function makeEvent(test: TestApp, tenant: Tenant, externalId: string): Promise<void> {
  await createWallet(test, externalId, `Player ${externalId}`, tenant.apiKey);
  const response = await deposit(test, {
    tenantId: tenant.tenantId,
    externalId,
    currency: "BTC",
    amount: "0.1",
    txHash: `tx-${externalId}`,
    confirmations: 1,
  });
  assert.equal(response.status, 200);
}

/** Refused address classes: [class as the error names it, an address of it]. */
const IPV4_CLASSES: [string, string][] = [
  ["loopback", "127.0.0.1"],
  ["private", "10.0.0.1"],
  ["private", "172.16.0.1"],
  ["private", "192.168.0.1"],
  ["link-local", "169.254.169.254"],
  ["carrier-grade NAT", "100.64.0.1"],
  ["multicast", "224.0.0.1"],
  ["broadcast", "255.255.255.255"],
  ["unspecified", "0.0.0.0"],
  ["reserved", "240.0.0.1"],
];
const IPV6_CLASSES: [string, string][] = [
  ["loopback", "::1"],
  ["unspecified", "::"],
  ["unique-local", "fd00::1"],
  ["link-local", "fe80::1"],
  ["multicast", "ff02::1"],
  ["link-local", "::ffff:169.254.169.254"],
  ["loopback", "::ffff:127.0.0.1"],
  ["6to4", "2002:a00:1::1"],
  ["teredo", "2001::1"],
  ["NAT64", "64:ff9b::a00:1"],
  ["reserved", "2001:db8::1"],
  ["site-local", "fec0::1"],
  ["non-global", "::a00:1"],
];

const article = (word: string) => (/^(?:[aeio]|un(?!i))/i.test(word) ? "an" : "a");

describe("webhook targets at registration", () => {
  let strict: TestApp;
  let local: TestApp;

  before(async () => {
    strict = await startApp(STRICT);
    local = await startApp(LOCAL_ONLY);
  });
  after(async () => {
    await strict.close();
    await local.close();
  });

  for (const [family, classes] of [
    ["IPv4", IPV4_CLASSES],
    ["IPv6", IPV6_CLASSES],
  ] as const) {
    for (const [refused, address] of classes) {
      it(`refuses ${article(refused)} ${refused} ${family} address, as a literal and behind a host name (${address})`, async () => {
        const host = family === "IPv6" ? `[${address}]` : address;
        // The URL parser writes the literal in its canonical form; the error shows that form.
        const canonical = new URL(`https://${host}/`).hostname.replace(/^\[|\]$/g, "");
        await expectRefused(strict, `https://${host}/hook`, `is ${article(refused)} ${refused} address (${canonical})`);
        const name = `${refused.replace(/\W/g, "-")}-${family}-${classes.findIndex(([, other]) => other === address)}.test`.toLowerCase();
        dnsAnswers.set(name, [address]);
        await expectRefused(strict, `https://${name}/hook`, `resolves to ${article(refused)} ${refused} address (${address})`);
      });
    }
  }

  it("refuses the numeric spellings of IPv4 addresses, which the URL parser turns into dotted decimal", async () => {
    for (const host of ["2130706433", "0x7f000001", "0x7f.1", "0177.0.0.1", "127.1", "0x7f.0.0.1"]) {
      await expectRefused(strict, `https://${host}/hook`, "is a loopback address (127.0.0.1)");
    }
    // With 127.0.0.1/32 opened, its neighbours stay closed however they are spelt.
    for (const host of ["2130706434", "0x7f.2", "0177.0.0.2", "127.2"]) {
      await expectRefused(local, `http://${host}:9/hook`, "is a loopback address (127.0.0.2)");
    }
    for (const host of ["167772161", "0xa.1", "012.0.0.1"]) {
      await expectRefused(local, `http://${host}:9/hook`, "is a private address (10.0.0.1)");
    }
    for (const host of ["2852039166", "0xa9.0xfe.0xa9.0xfe"]) {
      await expectRefused(local, `http://${host}/latest/meta-data/`, "is a link-local address (169.254.169.254)");
    }
  });

  it("refuses a name when any of its addresses is refused", async () => {
    dnsAnswers.set("mixed.test", ["8.8.8.8", "2606:4700::1111", "10.0.0.1"]);
    await expectRefused(strict, "https://mixed.test/hook", "resolves to a private address (10.0.0.1)");
    dnsAnswers.set("mixed6.test", ["8.8.8.8", "fd00::1"]);
    await expectRefused(strict, "https://mixed6.test/hook", "resolves to a unique-local address (fd00::1)");
  });

  it("refuses a name that does not resolve", async () => {
    await expectRefused(strict, "https://nowhere.test/hook", "host nowhere.test does not resolve");
    dnsAnswers.set("empty.test", []);
    await expectRefused(strict, "https://empty.test/hook", "host empty.test does not resolve");
  });

  it("refuses http unless WEBHOOK_ALLOW_HTTP is set", async () => {
    dnsAnswers.set("public.test", ["8.8.8.8"]);
    await expectRefused(strict, "http://public.test/hook", "must use https: http targets are not allowed");
    await expectRefused(strict, `http://${LOCAL}:9/hook`, "must use https: http targets are not allowed");
  });

  it("refuses credentials, other schemes and over-long URLs", async () => {
    await expectRefused(strict, "https://user:secret@public.test/hook", /without credentials/);
    await expectRefused(local, `http://user@${LOCAL}:9/hook`, /without credentials/);
    await expectRefused(strict, "ftp://public.test/hook", /https URL/);
    await expectRefused(local, `file:///etc/passwd`, /https URL/);
    await expectRefused(local, `http://${LOCAL}:9/${"a".repeat(2048)}`, /2048/);
  });

  it("accepts an address of an allowed range, literal or behind a name, and nothing next to it", async () => {
    dnsAnswers.set("local.test", [LOCAL, `::ffff:${LOCAL}`]);
    for (const url of [
      `http://${LOCAL}:9/hook`,
      "http://local.test:9/hook",
      `http://[::ffff:${LOCAL}]:9/hook`,
      "http://2130706433:9/hook",
    ]) {
      const response = await call(local.app, "POST", "/webhooks/", { key: local.tenant.apiKey, body: { url } });
      assert.equal(response.status, 201, url);
      assert.equal(response.body.url, url);
      assert.equal((await call(local.app, "DELETE", `/webhooks/${response.body.id}/`, { key: local.tenant.apiKey })).status, 200);
    }
    dnsAnswers.set("neighbour.test", [LOCAL, "127.0.0.2"]);
    await expectRefused(local, "http://neighbour.test:9/hook", "resolves to a loopback address (127.0.0.2)");
  });
});

describe("webhook targets at delivery", () => {
  let test: TestApp;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  before(async () => {
    test = await startApp(LOCAL_ONLY);
    await test.app.ready();
    receiver = await startReceiver();
  });
  after(async () => {
    await test.close();
    await receiver.close();
  });

  /** Registers `http://<name>:<receiver port>/hook` for a fresh tenant, with `name` answering 127.0.0.1 meanwhile. */
  async function registerName(name: string): Promise<{ tenant: Tenant; endpointId: string }> {
    const tenant = await test.newTenant(`Casino ${name}`);
    dnsAnswers.set(name, [LOCAL]);
    const response = await call(test.app, "POST", "/webhooks/", {
      key: tenant.apiKey,
      body: { url: `http://${name}:${receiver.port}/hook` },
    });
    assert.equal(response.status, 201);
    return { tenant, endpointId: response.body.id };
  }

  it("delivers to a name that still resolves to an allowed address", async () => {
    const before = receiver.received.length;
    const { tenant, endpointId } = await registerName("steady.test");
    await makeEvent(test, tenant, "steady");
    await waitUntil(async () => (await deliveriesOf(test, tenant, endpointId)).some((delivery) => delivery.status === "delivered"));
    assert.equal(receiver.received.length, before + 1);
    const [delivery] = await deliveriesOf(test, tenant, endpointId);
    assert.equal(delivery?.last_status_code, 200);
    assert.equal(delivery?.last_error, null);
    await call(test.app, "DELETE", `/webhooks/${endpointId}/`, { key: tenant.apiKey });
  });

  it("resolves again at each delivery and contacts nothing when the name rebinds to a refused address", async () => {
    const before = receiver.received.length;
    const { tenant, endpointId } = await registerName("rebind.test");
    // DNS rebinding: the name passed registration as 127.0.0.1 and now answers 127.0.0.2,
    // loopback outside the opened range (the receiver listens on 127.0.0.1 only).
    dnsAnswers.set("rebind.test", ["127.0.0.2"]);
    const queriesBefore = dnsQueries.filter((name) => name === "rebind.test").length;
    await makeEvent(test, tenant, "rebind");
    await waitUntil(async () => (await deliveriesOf(test, tenant, endpointId)).some((delivery) => delivery.attempts >= 2));
    const [delivery] = await deliveriesOf(test, tenant, endpointId);
    assert.equal(delivery?.status, "pending", "a refused target is a failed attempt, retried by the usual backoff");
    assert.equal(delivery?.last_error, "target address refused: loopback 127.0.0.2");
    assert.equal(delivery?.last_status_code, null);
    assert.ok(dnsQueries.filter((name) => name === "rebind.test").length >= queriesBefore + 2, "resolved at every attempt");
    assert.equal(receiver.received.length, before, "the receiver got nothing");
    await call(test.app, "DELETE", `/webhooks/${endpointId}/`, { key: tenant.apiKey });
  });

  it("refuses a name that rebinds to a mix of allowed and refused addresses", async () => {
    const before = receiver.received.length;
    const { tenant, endpointId } = await registerName("half.test");
    dnsAnswers.set("half.test", [LOCAL, "::ffff:169.254.169.254"]);
    await makeEvent(test, tenant, "half");
    await waitUntil(async () => (await deliveriesOf(test, tenant, endpointId)).some((delivery) => delivery.attempts >= 1));
    const [delivery] = await deliveriesOf(test, tenant, endpointId);
    assert.equal(delivery?.last_error, "target address refused: link-local ::ffff:169.254.169.254");
    assert.equal(receiver.received.length, before);
    await call(test.app, "DELETE", `/webhooks/${endpointId}/`, { key: tenant.apiKey });
  });

  it("refuses a name that stops resolving", async () => {
    const { tenant, endpointId } = await registerName("vanished.test");
    dnsAnswers.delete("vanished.test");
    await makeEvent(test, tenant, "vanished");
    await waitUntil(async () => (await deliveriesOf(test, tenant, endpointId)).some((delivery) => delivery.attempts >= 1));
    const [delivery] = await deliveriesOf(test, tenant, endpointId);
    assert.equal(delivery?.last_error, "target host vanished.test does not resolve (ENOTFOUND)");
    await call(test.app, "DELETE", `/webhooks/${endpointId}/`, { key: tenant.apiKey });
  });
});

describe("webhook delivery over node:http", () => {
  it("does not follow a redirect: a 3xx is a failed attempt", async () => {
    const test = await startApp(LOCAL_ONLY);
    const receiver = await startReceiver((response, port) =>
      response.writeHead(307, { location: `http://${LOCAL}:${port}/elsewhere` }).end(),
    );
    try {
      await test.app.ready();
      const created = await call(test.app, "POST", "/webhooks/", {
        key: test.tenant.apiKey,
        body: { url: `http://${LOCAL}:${receiver.port}/hook` },
      });
      await makeEvent(test, test.tenant, "redirected");
      await waitUntil(async () => (await deliveriesOf(test, test.tenant, created.body.id)).some((delivery) => delivery.attempts >= 2));
      const [delivery] = await deliveriesOf(test, test.tenant, created.body.id);
      assert.equal(delivery?.status, "pending");
      assert.equal(delivery?.last_status_code, 307);
      assert.equal(delivery?.last_error, "HTTP 307");
      assert.ok(receiver.received.length >= 2);
      assert.ok(receiver.received.every((path) => path === "/hook"));
    } finally {
      await test.close();
      await receiver.close();
    }
  });

  it("gives a receiver WEBHOOK_TIMEOUT_MS to answer", async () => {
    const test = await startApp({ ...LOCAL_ONLY, webhookTimeoutMs: 200, webhookBackoffBaseMs: 60_000 });
    const receiver = await startReceiver(() => undefined);
    try {
      await test.app.ready();
      const created = await call(test.app, "POST", "/webhooks/", {
        key: test.tenant.apiKey,
        body: { url: `http://${LOCAL}:${receiver.port}/hook` },
      });
      await makeEvent(test, test.tenant, "slow");
      await waitUntil(async () => (await deliveriesOf(test, test.tenant, created.body.id)).some((delivery) => delivery.attempts >= 1));
      const [delivery] = await deliveriesOf(test, test.tenant, created.body.id);
      assert.equal(delivery?.last_error, "timed out after 200 ms");
      assert.equal(delivery?.last_status_code, null);
      assert.equal(receiver.received.length, 1);
    } finally {
      await test.close();
      await receiver.close();
    }
  });
});

describe("webhook targets when the settings close after registration", () => {
  it("checks an IP-literal target again before connecting, and contacts nothing", async () => {
    const database = await createTestDatabase();
    const receiver = await startReceiver();
    const startService = async (settings: Partial<Config>) => {
      const config = { ...loadConfig({}), databaseUrl: database.url, ...settings };
      const { app, runtime } = await startServer(config);
      return { app, services: runtime.services, close: () => app.close().then(() => runtime.close()) };
    };
    try {
      // Registered while 127.0.0.1 was open; the dispatcher of that service never sees an event.
      const first = await startService({ ...LOCAL_ONLY, webhookPollIntervalMs: 60_000 });
      const tenant = await first.services.credentials.createTenant("Closing Casino");
      const endpoint = (await first.services.webhooks.create(tenant.tenantId, `http://${LOCAL}:${receiver.port}/hook`)).value;
      await first.close();

      // Now http is still allowed but no range is open: 127.0.0.1 is loopback like any other.
      const second = await startService({ ...FAST_RETRIES, webhookAllowHttp: true, webhookResolveHost: resolveHost });
      try {
        await second.services.wallets.create(tenant.tenantId, "Closing Player", "closing-player");
        await second.services.deposits.report({
          tenantId: tenant.tenantId,
          lookup: { by: "external_id", value: "closing-player" },
          currency: "LTC",
          amount: "1",
          txHash: "closing-1",
          confirmations: 1,
        });
        const attempted = async () =>
          (await second.services.webhooks.deliveries(tenant.tenantId, undefined, 10, 0)).filter(
            (delivery) => delivery.endpointId === endpoint.id,
          );
        await waitUntil(async () => (await attempted()).some((delivery) => delivery.attempts >= 1));
        const [delivery] = await attempted();
        assert.equal(delivery?.lastError, `target address refused: loopback ${LOCAL}`);
        assert.equal(receiver.received.length, 0);
      } finally {
        await second.close();
      }
    } finally {
      await receiver.close();
      await database.drop();
    }
  });
});
