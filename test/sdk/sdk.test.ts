import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { generateSdkTypes, SCHEMA_FILE } from "../../scripts/sdk-generate.js";
import { verifyWebhookSignature } from "../../sdk/client.js";

describe("the typed client (sdk/)", () => {
  it("ships types generated from the current document (npm run sdk:generate after changing a route or src/wire/)", async () => {
    const committed = readFileSync(SCHEMA_FILE, "utf8");
    const fresh = await generateSdkTypes();
    assert.ok(committed === fresh, "sdk/schema.d.ts is stale: run `npm run sdk:generate` and commit it");
  });

  describe("verifyWebhookSignature", () => {
    const secret = "whsec_test_secret";
    const body = '{"id":"e1","type":"deposit.confirmed"}';
    const now = 1_718_100_000;
    const sign = (t: number, raw = body, key = secret) => `t=${t},v1=${createHmac("sha256", key).update(`${t}.${raw}`).digest("hex")}`;

    it("accepts the service's signature of the raw body, as a string or as bytes", () => {
      assert.equal(verifyWebhookSignature(secret, sign(now), body, 300, now), true);
      assert.equal(verifyWebhookSignature(secret, sign(now), Buffer.from(body), 300, now + 299), true);
    });

    it("refuses another body, another secret, a stale or future time, and a malformed header", () => {
      assert.equal(verifyWebhookSignature(secret, sign(now), `${body} `, 300, now), false);
      assert.equal(verifyWebhookSignature(secret, sign(now, body, "whsec_other"), body, 300, now), false);
      assert.equal(verifyWebhookSignature(secret, sign(now - 301), body, 300, now), false);
      assert.equal(verifyWebhookSignature(secret, sign(now + 301), body, 300, now), false);
      assert.equal(verifyWebhookSignature(secret, sign(now), body, 10, now + 11), false);
      for (const header of [
        undefined,
        "",
        "t=1",
        `v1=${"0".repeat(64)}`,
        `t=abc,v1=${"0".repeat(64)}`,
        `t=${now},v1=zz`,
        `t=${now},v1=${"0".repeat(63)}`,
      ]) {
        assert.equal(verifyWebhookSignature(secret, header, body, 300, now), false, String(header));
      }
    });
  });
});
