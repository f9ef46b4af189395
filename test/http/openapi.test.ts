import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import { Type } from "typebox";
import { ERROR_CODES } from "../../src/services/errors.js";
import { EVENT_TYPES, eventSchemaName } from "../../src/wire/events.js";
import { Balance } from "../../src/wire/schemas.js";
import { Contract, installStrictResponses } from "../contract.js";
import { call, startApp, type TestApp } from "../helpers.js";
import { ROUTES } from "../hostile/generator.js";

// biome-ignore lint/suspicious/noExplicitAny: the test reads the document's JSON freely.
type Doc = any;

const ERROR_STATUSES = ["400", "401", "403", "404", "409", "413", "429", "500"];

/** GET /openapi.json: the OpenAPI 3.1 document generated from the routes, and /docs/. */
describe("the OpenAPI document", () => {
  let test: TestApp;
  let document: Doc;

  before(async () => {
    test = await startApp();
    const answer = await call(test.app, "GET", "/openapi.json");
    assert.equal(answer.status, 200);
    document = answer.body;
  });
  after(() => test.close());

  it("is served without a credential as JSON, and is a valid OpenAPI 3.1 document", async () => {
    const answer = await test.app.inject({ method: "GET", url: "/openapi.json" });
    assert.equal(answer.statusCode, 200);
    assert.match(String(answer.headers["content-type"]), /^application\/json/);
    assert.equal(document.openapi, "3.1.0");
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
    assert.equal(validator.version, "3.1");
  });

  it("names both security schemes: the API key header and OAuth 2.0 client credentials with its scopes", () => {
    const schemes = document.components.securitySchemes;
    assert.deepEqual(
      { type: schemes.ApiKey.type, in: schemes.ApiKey.in, name: schemes.ApiKey.name },
      {
        type: "apiKey",
        in: "header",
        name: "X-API-Key",
      },
    );
    assert.equal(schemes.OAuth2.type, "oauth2");
    assert.equal(schemes.OAuth2.flows.clientCredentials.tokenUrl, "/o/token/");
    assert.deepEqual(Object.keys(schemes.OAuth2.flows.clientCredentials.scopes).sort(), ["deposits", "read", "withdrawals", "write"]);
  });

  it("has every route with the credential, scopes and Idempotency-Key it takes", () => {
    const contract = Contract.from(document);
    for (const spec of ROUTES) {
      const found = contract.operation(spec.method, spec.pattern.replaceAll("{id}", "x"));
      assert.ok(found, `${spec.route} is missing`);
      // The document's template is the route as the README names it (a pattern may fill in more than `{id}`).
      assert.equal(found.template, spec.route.slice(spec.method.length + 1), spec.route);
      const operation = found.operation as Doc;
      const expected =
        spec.credential === "client"
          ? []
          : spec.credential === "tenant"
            ? [{ ApiKey: spec.scopes }, { OAuth2: spec.scopes }]
            : [{ ApiKey: [spec.credential === "system-deposits" ? "deposits" : "withdrawals"] }];
      assert.deepEqual(operation.security, expected, `${spec.route} security`);
      const idempotent = (operation.parameters ?? []).some(
        (parameter: Doc) => parameter.in === "header" && parameter.name === "Idempotency-Key",
      );
      assert.equal(idempotent, spec.mutating || spec.idempotent === true, `${spec.route} Idempotency-Key`);
      assert.ok(typeof operation.summary === "string" && typeof operation.operationId === "string", `${spec.route} summary`);
    }
  });

  it("documents every response status, errors in the one envelope (RFC 6749's shape on the token route)", () => {
    const error = document.components.schemas.Error;
    assert.equal(error.properties.error.$ref, "#/components/schemas/ErrorBody");
    assert.deepEqual(document.components.schemas.ErrorCode.enum, [...ERROR_CODES]);
    for (const [path, item] of Object.entries<Doc>(document.paths)) {
      for (const [method, operation] of Object.entries<Doc>(item)) {
        const statuses = Object.keys(operation.responses);
        assert.ok(
          statuses.some((status) => status.startsWith("2")),
          `${method} ${path} has no success`,
        );
        if (path.startsWith("/health/") || path.startsWith("/.well-known/")) continue;
        const token = path === "/o/token/";
        // The token route cannot be forbidden, missing or in conflict: it answers RFC 6749's errors.
        for (const status of token ? ["400", "401", "413", "429", "500"] : ERROR_STATUSES) {
          const schema = operation.responses[status]?.content?.["application/json"]?.schema;
          const expected = token ? "#/components/schemas/OAuthError" : "#/components/schemas/Error";
          assert.equal(schema?.$ref, expected, `${method} ${path} ${status}`);
        }
      }
    }
  });

  it("types amounts as decimal strings with a pattern, and documents the looser input", () => {
    const schemas = document.components.schemas;
    assert.equal(schemas.Amount.type, "string");
    assert.equal(schemas.Amount.pattern, "^-?[0-9]+\\.[0-9]{2,}$");
    for (const field of ["amount", "pending_amount", "available_balance"]) {
      assert.equal(schemas.Balance.properties[field].$ref, "#/components/schemas/Amount");
    }
    assert.deepEqual(schemas.AmountInput.type, ["string", "number"]);
    const bet = document.paths["/games/bets/"].post.requestBody.content["application/json"].schema;
    assert.equal(bet.properties.amount.$ref, "#/components/schemas/AmountInput");
  });

  it("lists every event type under webhooks with its payload schema and signature header", () => {
    assert.deepEqual(Object.keys(document.webhooks).sort(), [...EVENT_TYPES].sort());
    for (const type of EVENT_TYPES) {
      const post = document.webhooks[type].post;
      assert.equal(post.requestBody.content["application/json"].schema.$ref, `#/components/schemas/${eventSchemaName(type)}`);
      assert.ok(post.parameters.some((parameter: Doc) => parameter.name === "X-Signature"));
      assert.equal(document.components.schemas[eventSchemaName(type)].properties.type.const, type);
    }
    assert.ok(document.components.schemas.StreamEvent.properties.seq);
  });

  it("leaves the dashboard's pages and the docs page out", () => {
    const paths = Object.keys(document.paths);
    assert.deepEqual(
      paths.filter((path) => path.startsWith("/dashboard") || path.startsWith("/docs")),
      [],
    );
    assert.ok(paths.includes("/wallets/events/"));
    assert.ok(document.paths["/wallets/events/"].get.responses["200"].content["text/event-stream"]);
  });

  it("serves an interactive page at /docs/ that loads nothing from elsewhere", async () => {
    const page = await test.app.inject({ method: "GET", url: "/docs/" });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers["content-type"]), /^text\/html/);
    const policy = String(page.headers["content-security-policy"]);
    assert.match(policy, /default-src 'self'/);
    assert.match(policy, /script-src 'self'(;|$)/);
    assert.doesNotMatch(policy, /https?:|\*/);
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] as string);
    assert.ok(assets.length >= 3, page.body);
    for (const asset of assets) {
      assert.doesNotMatch(asset, /^(https?:)?\/\//, `${asset} is not served by the service`);
      const loaded = await test.app.inject({ method: "GET", url: new URL(asset, "http://wallet.test/docs/").pathname });
      assert.equal(loaded.statusCode, 200, asset);
    }
    const initializer = await test.app.inject({ method: "GET", url: "/docs/static/swagger-initializer.js" });
    assert.match(initializer.body, /resolveUrl\('\.\/json'\)/);
    const json = await test.app.inject({ method: "GET", url: "/docs/json" });
    assert.deepEqual(JSON.parse(json.body), document);
  });
});

describe("the contract checks have teeth", () => {
  let test: TestApp;

  before(async () => {
    test = await startApp();
    await call(test.app, "GET", "/openapi.json");
  });
  after(() => test.close());

  const answer = (status: number, body: unknown, url = "/master/balances/", contentType = "application/json; charset=utf-8") => ({
    method: "GET",
    url,
    status,
    contentType,
    body: JSON.stringify(body),
  });
  const balance = { currency: "BTC", amount: "1.00", pending_amount: "0.00", available_balance: "1.00" };

  it("accepts a documented answer and refuses what the document does not say", () => {
    const contract = Contract.of(test.app);
    assert.equal(contract.problem(answer(200, { balances: [balance] })), undefined);
    assert.match(String(contract.problem(answer(200, { balances: [{ ...balance, frozen: "0.00" }] }))), /additional/);
    assert.match(String(contract.problem(answer(200, { balances: [{ ...balance, amount: 1 }] }))), /string/);
    assert.match(String(contract.problem(answer(200, { balances: [{ ...balance, amount: "1" }] }))), /pattern/);
    assert.match(String(contract.problem(answer(202, { balances: [] }))), /status not documented/);
    assert.match(String(contract.problem(answer(200, "x", "/master/balances/", "text/plain"))), /media type/);
    const envelope = { error: { code: "not_found", message: "No route", details: {} } };
    assert.equal(contract.problem(answer(404, envelope, "/nowhere/")), undefined);
    assert.match(String(contract.problem(answer(404, { error: "not_found" }, "/nowhere/"))), /error/);
    assert.match(String(contract.problem(answer(404, { error: { ...envelope.error, code: "gone" } }, "/nowhere/"))), /allowed values/);
  });

  it("answers 500 and reports it when a route sends a property its response schema lacks", async () => {
    const { buildApp } = await import("../../src/http/app.js");
    const app = await buildApp({ services: test.services, config: test.config });
    const violations = installStrictResponses(app);
    app.get("/test/drift/", { schema: { response: { 200: Type.Object({ balance: Balance }) } } }, async () => ({
      balance: { ...balance, frozen_amount: "0.00" },
    }));
    try {
      const drifted = await app.inject({ method: "GET", url: "/test/drift/" });
      assert.equal(drifted.statusCode, 500);
      assert.equal(violations.length, 1);
      assert.match(violations[0] ?? "", /GET \/test\/drift\/ 200.*frozen_amount|additional/);
    } finally {
      await app.close();
    }
  });
});
