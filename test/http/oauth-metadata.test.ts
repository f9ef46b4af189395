import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { allowInsecureRequests, ClientSecretBasic, ClientSecretPost, clientCredentialsGrant, discovery } from "openid-client";
import { assertError, call, startApp, type TestApp } from "../helpers.js";

describe("OAuth authorization server metadata (RFC 8414)", () => {
  let test: TestApp;
  let issuer: string;

  before(async () => {
    test = await startApp();
    await test.app.listen({ port: 0, host: "127.0.0.1" });
    issuer = `http://127.0.0.1:${(test.app.server.address() as AddressInfo).port}`;
  });
  after(() => test.close());

  it("lets an OAuth library discover the token endpoint and get a token, with the secret in the body or in Basic", async () => {
    for (const clientAuthentication of [ClientSecretPost(test.tenant.clientSecret), ClientSecretBasic(test.tenant.clientSecret)]) {
      const config = await discovery(new URL(issuer), test.tenant.clientId, undefined, clientAuthentication, {
        algorithm: "oauth2",
        execute: [allowInsecureRequests],
      });
      const metadata = config.serverMetadata();
      assert.equal(metadata.issuer, issuer);
      assert.equal(metadata.token_endpoint, `${issuer}/o/token/`);
      const token = await clientCredentialsGrant(config, { scope: "read" });
      assert.equal(token.token_type.toLowerCase(), "bearer");
      assert.equal(token.scope, "read");
      const wallets = await call(test.app, "GET", "/wallets/", { token: token.access_token });
      assert.equal(wallets.status, 200);
    }
  });

  it("refuses a discovered client with a wrong secret", async () => {
    const config = await discovery(new URL(issuer), test.tenant.clientId, "cs_wrong", undefined, {
      algorithm: "oauth2",
      execute: [allowInsecureRequests],
    });
    // The token endpoint answers 401 invalid_client with a WWW-Authenticate challenge (RFC 6749 5.2).
    await assert.rejects(clientCredentialsGrant(config), (error: { status?: number; error?: string }) => {
      assert.equal(error.status ?? (error.error === "invalid_client" ? 401 : undefined), 401);
      return true;
    });
  });

  it("describes exactly what the service supports", async () => {
    const response = await call(test.app, "GET", "/.well-known/oauth-authorization-server", { headers: { host: "wallet.test:8443" } });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, {
      issuer: "http://wallet.test:8443",
      token_endpoint: "http://wallet.test:8443/o/token/",
      grant_types_supported: ["client_credentials"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
      scopes_supported: ["read", "write"],
      response_types_supported: [],
    });
    assert.match(String(response.headers["cache-control"]), /max-age/);
  });

  it("refuses a Host header that is not a host", async () => {
    const response = await call(test.app, "GET", "/.well-known/oauth-authorization-server", { headers: { host: "evil.test/path?x=" } });
    assertError(response, 400, "invalid_request");
  });
});

describe("OAuth metadata with PUBLIC_URL", () => {
  it("names the configured URL whatever the Host header says", async () => {
    const test = await startApp({ publicUrl: "https://wallet.example.com" });
    try {
      const response = await call(test.app, "GET", "/.well-known/oauth-authorization-server", { headers: { host: "internal:3000" } });
      assert.equal(response.body.issuer, "https://wallet.example.com");
      assert.equal(response.body.token_endpoint, "https://wallet.example.com/o/token/");
    } finally {
      await test.close();
    }
  });
});
