import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { masterKey, walletKey } from "../../src/ledger/account-keys.js";
import { InvariantError } from "../../src/ledger/assert.js";
import type { AccountRecord, EventRecord, PrefetchRequest, TransferRecord } from "../../src/store/store.js";
import { type DeliveryRow, mergePrefetch } from "../../src/store/write-behind.js";
import {
  AT,
  aDeposit,
  aGame,
  aHold,
  anEvent,
  aTransfer,
  aWallet,
  aWithdrawal,
  emptyDatabase,
  RecordingTx,
  TENANT,
} from "./recording-tx.js";

const MASTER = masterKey(TENANT, "USD");
const WALLET = walletKey(aWallet(), "USD");
const FLUSHED_ALL = ["bulk transfers x1", "bulk events x1", "bulk webhook_deliveries x1"];

/** A transaction whose database has one wallet and one webhook endpoint. */
function transaction(options: ConstructorParameters<typeof RecordingTx>[0] = {}): RecordingTx {
  const db = emptyDatabase();
  db.wallets.push(aWallet());
  db.endpoints.set(TENANT, ["endpoint-1"]);
  return new RecordingTx({ db, ...options });
}

const credited = (account: AccountRecord, amount: bigint): AccountRecord => ({
  ...account,
  creditsPosted: account.creditsPosted + amount,
  version: account.version + 1,
});

describe("writing buffered rows", () => {
  it("writes them once, in a fixed order: transfers, events, deliveries, accounts, game transactions, event counters", async () => {
    const tx = transaction();
    const [master] = await tx.openAccounts([MASTER]);
    assert.equal(await tx.lockGameTransaction(TENANT, "game-1"), undefined);
    tx.log.length = 0;
    // Buffered in another order than they are written.
    await tx.saveGameTransaction(aGame("game-1"));
    assert.equal(await tx.appendEvent(anEvent("event-1"), AT), 1);
    await tx.saveAccounts([credited(master as AccountRecord, 5n)]);
    await tx.insertTransfer(aTransfer("transfer-1"));
    assert.deepEqual(tx.log, ["lock-event-counter", "read-endpoints"]);
    tx.log.length = 0;

    await tx.writeBuffered();
    assert.deepEqual(tx.log, [...FLUSHED_ALL, "write-accounts", "write-games", "write-event-counters"]);
    await tx.writeBuffered();
    assert.equal(tx.log.length, 6, "a second write finds nothing buffered");

    assert.deepEqual(
      tx.rows<TransferRecord>("transfers").map((transfer) => transfer.id),
      ["transfer-1"],
    );
    assert.deepEqual(tx.rows<EventRecord>("events"), [{ ...anEvent("event-1"), seq: 1, webhooks: true }]);
    assert.deepEqual(tx.rows<DeliveryRow>("webhook_deliveries"), [
      {
        eventId: "event-1",
        endpointId: "endpoint-1",
        tenantId: TENANT,
        status: "pending",
        attempts: 0,
        nextAttemptAt: AT,
        lastStatusCode: null,
        lastError: null,
        createdAt: AT,
        deliveredAt: null,
      },
    ]);
    assert.deepEqual(
      tx.rows<AccountRecord>("accounts").map((account) => account.creditsPosted),
      [5n],
    );
    assert.deepEqual(tx.rows("event-counters"), [{ tenantId: TENANT, lastSeq: 1 }]);
  });

  it("writes no row for a game transaction its transfer keeps", async () => {
    const tx = transaction();
    assert.equal(await tx.lockGameTransaction(TENANT, "game-1"), undefined);
    await tx.saveGameTransaction({ ...aGame("game-1"), transferId: "transfer-1" });
    assert.equal((await tx.lockGameTransaction(TENANT, "game-1"))?.transferId, "transfer-1", "the transaction remembers it");
    await tx.writeBuffered();
    assert.ok(!tx.log.includes("write-games"));
  });

  it("writes nothing when nothing is buffered", async () => {
    const tx = transaction();
    await tx.writeBuffered();
    assert.deepEqual(tx.log, []);
  });

  it("numbers a tenant's events after its stored counter, reading the counter once", async () => {
    const tx = transaction();
    tx.db.eventCounters.set(TENANT, 41);
    assert.equal(await tx.appendEvent(anEvent("event-1"), AT), 42);
    assert.equal(await tx.appendEvent(anEvent("event-2"), AT), 43);
    assert.equal(tx.log.filter((text) => text === "lock-event-counter").length, 1);
    assert.deepEqual(tx.appendedEventTypes, ["transfer.posted", "transfer.posted"]);
    assert.deepEqual([...tx.appendedTenants], [TENANT]);
  });

  it("reads back an unwritten transfer from memory, and a written one from the database", async () => {
    const tx = transaction();
    await tx.insertTransfer(aTransfer("transfer-1"));
    assert.equal((await tx.findTransfer("transfer-1"))?.id, "transfer-1");
    assert.deepEqual(tx.log, []);
    await tx.writeBuffered();
    assert.equal((await tx.findTransfer("transfer-1"))?.id, "transfer-1");
    assert.equal(tx.log.at(-1), "read-transfer");
  });
});

describe("savepoints and the undo log", () => {
  it("undo the cached accounts, buffered rows and event numbers of a failed step; nothing of it is written", async () => {
    const tx = transaction();
    const [master] = (await tx.openAccounts([MASTER])) as [AccountRecord];
    await tx.saveAccounts([credited(master, 10n)]);
    await tx.insertTransfer(aTransfer("transfer-kept"));

    await assert.rejects(
      tx.atomically(async () => {
        const [changed, wallet] = (await tx.openAccounts([MASTER, WALLET])) as [AccountRecord, AccountRecord];
        await tx.saveAccounts([credited(changed, 90n), credited(wallet, 1n)]);
        await tx.insertTransfer(aTransfer("transfer-undone"));
        assert.equal(await tx.appendEvent(anEvent("event-undone"), AT), 1);
        throw new Error("step fails");
      }),
      /step fails/,
    );

    const [masterAfter] = (await tx.openAccounts([MASTER])) as [AccountRecord];
    assert.equal(masterAfter.creditsPosted, 10n, "the change made before the savepoint stays, the one inside is undone");
    tx.log.length = 0;
    await tx.openAccounts([WALLET]);
    assert.deepEqual(tx.log, ["lock-accounts"], "an account first locked inside the savepoint is no longer cached");
    assert.equal(await tx.findTransfer("transfer-undone"), undefined);
    assert.equal(await tx.appendEvent(anEvent("event-kept"), AT), 1, "the undone event's number is given again");
    assert.deepEqual(tx.appendedEventTypes, ["transfer.posted"]);

    await tx.writeBuffered();
    assert.deepEqual(
      tx.rows<TransferRecord>("transfers").map((transfer) => transfer.id),
      ["transfer-kept"],
    );
    assert.deepEqual(
      tx.rows<EventRecord>("events").map((event) => [event.id, event.seq]),
      [["event-kept", 1]],
    );
    assert.deepEqual(
      tx.rows<AccountRecord>("accounts").map((account) => [account.ownerKind, account.creditsPosted]),
      [["master", 10n]],
    );
  });

  it("write again, at the end, the rows of an earlier step that a failed step wrote and rolled back", async () => {
    const tx = transaction();
    await tx.atomically(async () => {
      await tx.insertTransfer(aTransfer("transfer-1"));
      await tx.appendEvent(anEvent("event-1"), AT);
    });
    await assert.rejects(
      tx.atomically(async () => {
        await tx.insertTransfer(aTransfer("transfer-2"));
        // A deposit references its transfer: saving it writes every buffered row first.
        await tx.saveDeposit(aDeposit("transfer-2"));
        throw new Error("fails after writing");
      }),
      /fails after writing/,
    );
    assert.equal(tx.db.written.length, 0, "the database rolled back what the failed step wrote");

    await tx.writeBuffered();
    assert.deepEqual(
      tx.db.written.map((row) => row.table),
      ["transfers", "events", "webhook_deliveries", "event-counters"],
    );
    assert.deepEqual(
      tx.rows<TransferRecord>("transfers").map((transfer) => transfer.id),
      ["transfer-1"],
    );
  });

  it("are created at the start of a step when they are not lazy", async () => {
    const tx = transaction();
    await tx.atomically(async () => undefined);
    assert.deepEqual(tx.log, ["SAVEPOINT nested_1", "RELEASE SAVEPOINT nested_1"]);
  });

  it("when lazy, are created only when a statement runs inside them, just before it", async () => {
    const tx = transaction({ lazySavepoints: true });
    const [master] = (await tx.openAccounts([MASTER])) as [AccountRecord];
    tx.log.length = 0;

    await tx.atomically(async () => {
      const [cached] = (await tx.openAccounts([MASTER])) as [AccountRecord];
      await tx.saveAccounts([credited(cached, 1n)]);
    });
    assert.deepEqual(tx.log, [], "a step that finds everything in memory costs no statement");

    await tx.atomically(() => tx.findWallet(TENANT, { by: "external_id", value: "ext-1" }));
    assert.deepEqual(tx.log, ["SAVEPOINT nested_1", "read-wallets", "RELEASE SAVEPOINT nested_1"]);
    tx.log.length = 0;

    await tx.atomically(() => tx.atomically(() => tx.findWallet(TENANT, { by: "external_id", value: "nobody" })));
    assert.deepEqual(tx.log, [
      "SAVEPOINT nested_1",
      "SAVEPOINT nested_2",
      "read-wallets",
      "RELEASE SAVEPOINT nested_2",
      "RELEASE SAVEPOINT nested_1",
    ]);
    tx.log.length = 0;

    await tx.atomically(async () => {
      await tx.insertTransfer(aTransfer("transfer-1"));
      await tx.writeBuffered();
    });
    assert.deepEqual(tx.log, ["SAVEPOINT nested_1", "bulk transfers x1", "write-accounts", "RELEASE SAVEPOINT nested_1"]);
    assert.equal(tx.rows<AccountRecord>("accounts")[0]?.creditsPosted, master.creditsPosted + 1n);
  });

  it("when lazy, roll back a step that ran a statement, and only undo memory for one that did not", async () => {
    const tx = transaction({ lazySavepoints: true });
    await tx.openAccounts([MASTER]);
    tx.log.length = 0;

    await assert.rejects(
      tx.atomically(async () => {
        await tx.findTransfer("missing");
        throw new Error("after a statement");
      }),
      /after a statement/,
    );
    assert.deepEqual(tx.log, ["SAVEPOINT nested_1", "read-transfer", "ROLLBACK TO SAVEPOINT nested_1", "RELEASE SAVEPOINT nested_1"]);
    tx.log.length = 0;

    await assert.rejects(
      tx.atomically(async () => {
        const [master] = (await tx.openAccounts([MASTER])) as [AccountRecord];
        await tx.saveAccounts([credited(master, 7n)]);
        throw new Error("in memory only");
      }),
      /in memory only/,
    );
    assert.deepEqual(tx.log, []);
    assert.equal(((await tx.openAccounts([MASTER])) as [AccountRecord])[0].creditsPosted, 0n);
  });

  it("roll back a step whose statement failed, and the transaction goes on", async () => {
    const tx = transaction({ lazySavepoints: true });
    tx.failing.set("read-wallets", new Error("statement fails"));
    await assert.rejects(
      tx.atomically(() => tx.findWallet(TENANT, { by: "uuid", value: "wallet-uuid-1" })),
      /statement fails/,
    );
    tx.failing.clear();
    assert.equal((await tx.findWallet(TENANT, { by: "uuid", value: "wallet-uuid-1" }))?.walletId, "W1");
    assert.deepEqual(tx.log, [
      "SAVEPOINT nested_1",
      "read-wallets",
      "ROLLBACK TO SAVEPOINT nested_1",
      "RELEASE SAVEPOINT nested_1",
      "read-wallets",
    ]);
  });
});

describe("rows that reference buffered rows", () => {
  const cases = [
    {
      name: "setTransferStatus",
      statement: "write-transfer-status",
      call: (tx: RecordingTx) => tx.setTransferStatus("transfer-1", "voided"),
    },
    { name: "saveHold", statement: "write-hold", call: (tx: RecordingTx) => tx.saveHold(aHold("transfer-1")) },
    { name: "saveWithdrawal", statement: "write-withdrawal", call: (tx: RecordingTx) => tx.saveWithdrawal(aWithdrawal("transfer-1")) },
    { name: "saveDeposit", statement: "write-deposit", call: (tx: RecordingTx) => tx.saveDeposit(aDeposit("transfer-1")) },
    { name: "redeliver", statement: "requeue-deliveries", call: (tx: RecordingTx) => tx.redeliver(TENANT, "event-1", AT) },
  ];

  for (const { name, statement, call } of cases) {
    it(`${name} writes the buffered rows before its own statement`, async () => {
      const tx = transaction();
      await tx.insertTransfer(aTransfer("transfer-1"));
      await tx.appendEvent(anEvent("event-1"), AT);
      tx.log.length = 0;
      await call(tx);
      assert.deepEqual(tx.log, [...FLUSHED_ALL, "write-event-counters", statement]);
    });
  }

  it("redeliver finds the deliveries of the transaction's own event", async () => {
    const tx = transaction();
    await tx.appendEvent(anEvent("event-1"), AT);
    assert.equal(await tx.redeliver(TENANT, "event-1", AT), 1);
  });

  it("a deposit without a transfer still writes the buffered rows first", async () => {
    const tx = transaction();
    await tx.insertTransfer(aTransfer("transfer-1"));
    await tx.saveDeposit(aDeposit(null));
    assert.deepEqual(tx.log, ["bulk transfers x1", "write-deposit"]);
  });

  it("is refused with an InvariantError when the referenced transfer is still buffered after the write", async () => {
    const tx = transaction();
    // The referenced transfer is buffered while the write that should carry it is in flight.
    tx.onBulkInsert = (table) => {
      if (table === "transfers") void tx.insertTransfer(aTransfer("transfer-late"));
    };
    await tx.insertTransfer(aTransfer("transfer-1"));
    await assert.rejects(tx.saveHold(aHold("transfer-late")), InvariantError);
    await assert.rejects(tx.setTransferStatus("transfer-late", "voided"), InvariantError);
    assert.ok(!tx.log.includes("write-hold") && !tx.log.includes("write-transfer-status"));
  });

  it("redeliver is refused with an InvariantError when its event is still buffered after the write", async () => {
    const tx = transaction();
    tx.onBulkInsert = (table) => {
      if (table === "events") void tx.appendEvent(anEvent("event-late"), AT);
    };
    await tx.appendEvent(anEvent("event-1"), AT);
    await assert.rejects(tx.redeliver(TENANT, "event-late", AT), InvariantError);
    assert.ok(!tx.log.includes("requeue-deliveries"));
  });
});

describe("background writes", () => {
  it("start once the buffered rows reach the threshold, one at a time", async () => {
    const tx = transaction({ backgroundWriteRows: 3 });
    let open = () => {};
    tx.gate = new Promise((resolve) => {
      open = resolve;
    });
    await tx.insertTransfer(aTransfer("transfer-1"));
    await tx.insertTransfer(aTransfer("transfer-2"));
    assert.deepEqual(tx.log, []);
    await tx.insertTransfer(aTransfer("transfer-3"));
    assert.deepEqual(tx.log, ["bulk transfers x3"]);
    for (const id of ["transfer-4", "transfer-5", "transfer-6"]) await tx.insertTransfer(aTransfer(id));
    assert.deepEqual(tx.log, ["bulk transfers x3"], "no second write starts while one runs");

    // A transfer the background write took is read back once that write is done.
    const found = tx.findTransfer("transfer-2");
    open();
    assert.equal((await found)?.id, "transfer-2");
    tx.gate = undefined;
    await tx.writeBuffered();
    assert.deepEqual(tx.log, ["bulk transfers x3", "read-transfer", "bulk transfers x3"]);
    assert.equal(tx.rows("transfers").length, 6);
  });

  it("leave the accounts for the last write, which writes each account once", async () => {
    const tx = transaction({ backgroundWriteRows: 2 });
    const [master] = await tx.openAccounts([MASTER]);
    await tx.saveAccounts([credited(master as AccountRecord, 1n)]);
    await tx.insertTransfer(aTransfer("transfer-1"));
    await tx.insertTransfer(aTransfer("transfer-2"));
    await tx.writeBuffered();
    assert.ok(tx.log.includes("bulk transfers x2"));
    assert.deepEqual(
      tx.log.filter((entry) => entry === "write-accounts"),
      ["write-accounts"],
    );
  });

  it("count events as rows", async () => {
    const tx = transaction({ backgroundWriteRows: 2 });
    await tx.insertTransfer(aTransfer("transfer-1"));
    await tx.appendEvent(anEvent("event-1"), AT);
    assert.ok(tx.log.includes("bulk transfers x1"));
    await tx.writeBuffered();
    assert.deepEqual(tx.rows<EventRecord>("events").length, 1);
  });

  it("fail the next step that waits for them when they fail", async () => {
    const tx = transaction({ backgroundWriteRows: 2 });
    tx.failing.set("bulk transfers x2", new Error("disk full"));
    await tx.insertTransfer(aTransfer("transfer-1"));
    await tx.insertTransfer(aTransfer("transfer-2"));
    await assert.rejects(tx.writeBuffered(), /disk full/);
    await assert.rejects(
      tx.atomically(async () => undefined),
      /disk full/,
    );
    await assert.rejects(tx.findTransfer("transfer-1"), /disk full/);
  });

  it("started inside a step, are waited for and undone with it when the step fails", async () => {
    const tx = transaction({ backgroundWriteRows: 2 });
    await tx.insertTransfer(aTransfer("transfer-kept"));
    tx.failing.set("bulk transfers x2", new Error("disk full"));
    await assert.rejects(
      tx.atomically(async () => {
        await tx.insertTransfer(aTransfer("transfer-undone"));
      }),
      /disk full/,
    );
    assert.deepEqual(tx.log.slice(-2), ["ROLLBACK TO SAVEPOINT nested_1", "RELEASE SAVEPOINT nested_1"]);
    tx.failing.clear();
    // The step's rows are gone; the row buffered before it is unwritten again.
    await tx.writeBuffered();
    assert.deepEqual(
      tx.rows<TransferRecord>("transfers").map((transfer) => transfer.id),
      ["transfer-kept"],
    );
  });

  it("still running when a step fails, are waited for before the step is rolled back", async () => {
    const tx = transaction({ backgroundWriteRows: 2 });
    let open = () => {};
    tx.gate = new Promise((resolve) => {
      open = resolve;
    });
    const step = tx.atomically(async () => {
      await tx.insertTransfer(aTransfer("transfer-1"));
      await tx.insertTransfer(aTransfer("transfer-2"));
      throw new Error("step fails");
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(!tx.log.includes("ROLLBACK TO SAVEPOINT nested_1"), "the rollback waits for the write in flight");
    open();
    await assert.rejects(step, /step fails/);
    assert.deepEqual(tx.log, ["SAVEPOINT nested_1", "bulk transfers x2", "ROLLBACK TO SAVEPOINT nested_1", "RELEASE SAVEPOINT nested_1"]);
    tx.gate = undefined;
    await tx.writeBuffered();
    assert.equal(tx.db.written.length, 0);
  });
});

describe("prefetch", () => {
  const request: PrefetchRequest = {
    tenantId: TENANT,
    wallets: [
      { lookup: { by: "external_id", value: "ext-1" }, currency: "USD" },
      { lookup: { by: "wallet_id", value: "W1" }, currency: "USD" },
    ],
    gameTransactionIds: ["game-1", "game-2", "game-1"],
  };

  it("reads and locks everything once; later lookups find it in memory", async () => {
    const tx = transaction();
    tx.db.games.push(aGame("game-1"));
    await tx.prefetch(request);
    assert.deepEqual(tx.log, ["lock-games", "read-wallets", "lock-accounts"]);

    const wallet = await tx.findWallet(TENANT, { by: "uuid", value: "wallet-uuid-1" });
    assert.equal(wallet?.walletId, "W1");
    const [master, own] = (await tx.openAccounts([MASTER, WALLET])) as [AccountRecord, AccountRecord];
    assert.deepEqual([master.ownerKind, own.ownerKind, own.walletUuid], ["master", "wallet", "wallet-uuid-1"]);
    assert.equal(own.debitsMustNotExceedCredits, true);
    assert.equal((await tx.lockGameTransaction(TENANT, "game-1"))?.transactionId, "game-1");
    assert.equal(await tx.lockGameTransaction(TENANT, "game-2"), undefined);
    await tx.prefetch(request);
    assert.deepEqual(tx.log, ["lock-games", "read-wallets", "lock-accounts"], "nothing is read twice");
  });

  it("locks each account once even when several wallets name it", async () => {
    const tx = transaction();
    await tx.prefetch(request);
    const locked = tx.db.accounts.size;
    assert.equal(locked, 2, "the master account and the wallet's");
  });

  it("merges requests into one per tenant, in tenant order", () => {
    const merged = mergePrefetch([
      { tenantId: "b", wallets: [], gameTransactionIds: ["1"] },
      { tenantId: "a", wallets: [], gameTransactionIds: ["2"] },
      { tenantId: "b", wallets: [], gameTransactionIds: ["3"] },
    ]);
    assert.deepEqual(merged, [
      { tenantId: "a", wallets: [], gameTransactionIds: ["2"] },
      { tenantId: "b", wallets: [], gameTransactionIds: ["1", "3"] },
    ]);
  });
});

describe("cannot-happen checks", () => {
  it("refuse saving an account or a game transaction the transaction has not locked", async () => {
    const tx = transaction();
    const [master] = (await tx.openAccounts([MASTER])) as [AccountRecord];
    await assert.rejects(tx.saveAccounts([{ ...master, id: "not-locked" }]), InvariantError);
    await assert.rejects(tx.saveGameTransaction(aGame("never-locked")), InvariantError);
  });
});
