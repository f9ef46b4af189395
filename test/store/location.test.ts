import assert from "node:assert/strict";
import { resolve } from "node:path";
import { describe, it } from "node:test";
import { storeLocation } from "../../src/store/location.js";

describe("the store's location in the startup log", () => {
  it("never shows a password, a query or a fragment of a PostgreSQL URL", () => {
    assert.deepEqual(storeLocation("postgres://wallet:s3cret@db.internal:5432/wallet?sslmode=require&password=other#x"), {
      kind: "postgres",
      location: "postgres://wallet@db.internal:5432/wallet",
    });
    assert.deepEqual(storeLocation("postgresql://db.internal/wallet"), { kind: "postgres", location: "postgresql://db.internal/wallet" });
  });

  it("shows an SQLite database as its absolute path", () => {
    assert.deepEqual(storeLocation("sqlite:./data/wallet.db"), { kind: "sqlite", location: resolve("data/wallet.db") });
  });

  it("shows nothing of an unrecognised URL", () => {
    assert.deepEqual(storeLocation("mysql://root:pw@host/db"), { kind: "unknown", location: "(unrecognised DATABASE_URL)" });
  });
});
