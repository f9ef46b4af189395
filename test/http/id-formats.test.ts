import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { assertError, type CallResult, call, deposit, startApp, type TestApp } from "../helpers.js";

/**
 * Every id a client sends that a store compares with a UUID column has its form checked at the
 * edge (route parameters by their schemas, body ids by their use case), so that no store is
 * asked about a malformed one and both stores answer it alike: exactly as an unknown id, after
 * the route's credential check, as before ids had a form.
 */

const UNKNOWN_UUIDS = ["00000000-0000-4000-8000-000000000000", "0190A5B2-7C3D-7E4F-8A5B-6C7D8E9F0A1B"];
const MALFORMED_UUIDS = [
  "not-a-uuid",
  "1",
  "00000000-0000-4000-8000-00000000000",
  "00000000-0000-4000-8000-0000000000000",
  "000000000000400080000000000000000000",
  "{00000000-0000-4000-8000-000000000000}",
  "g0000000-0000-4000-8000-000000000000",
  "w_0000000000000000",
  "%27%20OR%201%3D1%20--",
  "%20",
];
const UNKNOWN_WALLETS = ["w_0000000000000000", ...UNKNOWN_UUIDS];
const MALFORMED_WALLETS = [
  "not-an-id",
  "w_short",
  "W_0000000000000000",
  "w_00000000000000-0",
  "00000000-0000-4000-8000-00000000000",
  "%20",
];

type Credential = "tenant" | "payout";

interface IdRoute {
  method: string;
  path: (id: string) => string;
  credential: Credential;
  body?: object;
  unknown: string[];
  malformed: string[];
}

const ROUTES: IdRoute[] = [
  { method: "GET", path: (id) => `/wallets/${id}/`, credential: "tenant", unknown: UNKNOWN_WALLETS, malformed: MALFORMED_WALLETS },
  {
    method: "GET",
    path: (id) => `/wallets/${id}/deposits/`,
    credential: "tenant",
    unknown: UNKNOWN_WALLETS,
    malformed: MALFORMED_WALLETS,
  },
  { method: "GET", path: (id) => `/wallets/${id}/limits/`, credential: "tenant", unknown: UNKNOWN_WALLETS, malformed: MALFORMED_WALLETS },
  {
    method: "PUT",
    path: (id) => `/wallets/${id}/limits/USDTTRC20/`,
    credential: "tenant",
    body: { loss_day: "5" },
    unknown: UNKNOWN_WALLETS,
    malformed: MALFORMED_WALLETS,
  },
  {
    method: "POST",
    path: (id) => `/wallets/${id}/exclusions/`,
    credential: "tenant",
    body: { kind: "timeout", duration_days: 1 },
    unknown: UNKNOWN_WALLETS,
    malformed: MALFORMED_WALLETS,
  },
  { method: "GET", path: (id) => `/holds/${id}/`, credential: "tenant", unknown: UNKNOWN_UUIDS, malformed: MALFORMED_UUIDS },
  {
    method: "POST",
    path: (id) => `/holds/${id}/capture/`,
    credential: "tenant",
    body: { amount: "1" },
    unknown: UNKNOWN_UUIDS,
    malformed: MALFORMED_UUIDS,
  },
  { method: "POST", path: (id) => `/holds/${id}/void/`, credential: "tenant", unknown: UNKNOWN_UUIDS, malformed: MALFORMED_UUIDS },
  { method: "GET", path: (id) => `/withdrawals/${id}/`, credential: "tenant", unknown: UNKNOWN_UUIDS, malformed: MALFORMED_UUIDS },
  {
    method: "POST",
    path: (id) => `/system/withdrawals/${id}/result/`,
    credential: "payout",
    body: { status: "completed", tx_hash: "0xabc" },
    unknown: UNKNOWN_UUIDS,
    malformed: MALFORMED_UUIDS,
  },
  { method: "DELETE", path: (id) => `/webhooks/${id}/`, credential: "tenant", unknown: UNKNOWN_UUIDS, malformed: MALFORMED_UUIDS },
  {
    method: "POST",
    path: (id) => `/webhooks/events/${id}/redeliver/`,
    credential: "tenant",
    unknown: UNKNOWN_UUIDS,
    malformed: MALFORMED_UUIDS,
  },
];

/** The use cases the routes above call with their id: none may run for a malformed one. */
const SERVICE_CALLS = [
  ["wallets", "get"],
  ["wallets", "deposits"],
  ["limits", "list"],
  ["limits", "set"],
  ["limits", "exclude"],
  ["holds", "get"],
  ["holds", "capture"],
  ["holds", "void"],
  ["withdrawals", "get"],
  ["withdrawals", "report"],
  ["webhooks", "remove"],
  ["webhooks", "redeliver"],
] as const;

describe("id formats: a malformed id is answered as an unknown one, on both stores", () => {
  let test: TestApp;
  let payoutKey: string;
  let readOnlyKey: string;
  const serviceCalls: string[] = [];

  before(async () => {
    test = await startApp();
    payoutKey = (await test.services.credentials.createSystemKey(["withdrawals"])).apiKey;
    readOnlyKey = (await test.services.credentials.createApiKey(test.tenant.tenantId, ["read"])).apiKey;
    for (const [service, method] of SERVICE_CALLS) {
      const target = test.services[service] as unknown as Record<string, (...args: unknown[]) => unknown>;
      const original = target[method] as (...args: unknown[]) => unknown;
      target[method] = (...args: unknown[]) => {
        serviceCalls.push(`${service}.${method}`);
        return original.apply(target, args);
      };
    }
  });
  after(() => test.close());

  const keyOf = (credential: Credential) => (credential === "tenant" ? test.tenant.apiKey : payoutKey);
  const ask = (route: IdRoute, id: string, options: { key?: string; headers?: Record<string, string> } = {}) =>
    call(test.app, route.method, route.path(id), { ...options, ...(route.body ? { body: route.body } : {}) });

  /** The error of a 404 answer: code, message and details, which must not tell malformed from unknown. */
  const errorOf = (response: CallResult) => {
    assertError(response, 404, "not_found");
    return response.body.error;
  };

  for (const route of ROUTES) {
    const name = `${route.method} ${route.path("{id}")}`;

    it(`${name}: a malformed id gets the unknown id's answer, and no use case is asked`, async () => {
      const expected = errorOf(await ask(route, route.unknown[0] as string, { key: keyOf(route.credential) }));
      for (const id of route.unknown) assert.deepEqual(errorOf(await ask(route, id, { key: keyOf(route.credential) })), expected, id);
      serviceCalls.length = 0;
      for (const id of route.malformed) {
        assert.deepEqual(errorOf(await ask(route, id, { key: keyOf(route.credential) })), expected, id);
      }
      assert.deepEqual(serviceCalls, [], "a malformed id reaches no use case");
    });

    it(`${name}: the credential is checked before the id's form, as for an unknown id`, async () => {
      for (const id of [route.unknown[0] as string, route.malformed[0] as string]) {
        assertError(await ask(route, id), 401, "unauthorized");
        assertError(await ask(route, id, { key: "wk_not-a-real-key" }), 401, "unauthorized");
        const wrongKind = route.credential === "tenant" ? payoutKey : test.tenant.apiKey;
        assertError(await ask(route, id, { key: wrongKind }), 403, "forbidden");
        if (route.credential === "tenant" && route.method !== "GET")
          assertError(await ask(route, id, { key: readOnlyKey }), 403, "forbidden");
      }
    });

    it(`${name}: an over-long id is still 400 invalid_request, and a malformed one with an Idempotency-Key stores nothing`, async () => {
      const response = await ask(route, "0".repeat(65), { key: keyOf(route.credential) });
      const details = assertError(response, 400, "invalid_request");
      assert.deepEqual(details.fields, [{ field: "id", problem: "must NOT have more than 64 characters" }]);
      if (route.method === "GET") return;
      const headers = { "idempotency-key": `id-formats-${route.path("x").replaceAll("/", "-")}` };
      for (let attempt = 0; attempt < 2; attempt += 1) {
        const repeated = await ask(route, route.malformed[0] as string, { key: keyOf(route.credential), headers });
        assertError(repeated, 404, "not_found");
        assert.equal(repeated.headers["idempotency-replayed"], undefined);
      }
    });
  }

  it("POST /deposits/: a malformed tenant_id is answered as an unknown tenant", async () => {
    const report = (tenantId: string) =>
      deposit(test, { tenantId, master: true, currency: "USDTTRC20", amount: "1", txHash: "id-formats-deposit", confirmations: 1 });
    const expected = (await report(UNKNOWN_UUIDS[0] as string)).body;
    for (const tenantId of UNKNOWN_UUIDS) assertError(await report(tenantId), 404, "not_found");
    for (const tenantId of ["not-a-tenant", "1", "00000000-0000-4000-8000-00000000000", "' OR 1=1 --"]) {
      const response = await report(tenantId);
      assertError(response, 404, "not_found");
      assert.deepEqual(response.body, expected, tenantId);
    }
  });
});
