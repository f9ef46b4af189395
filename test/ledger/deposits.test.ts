import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { type DepositReport, type DepositStatus, type DepositStep, depositStep, statusAfter } from "../../src/ledger/deposits.js";

type Row = [current: DepositStatus | undefined, report: DepositReport, step: DepositStep, after: DepositStatus];

const below = { final: false, dropped: false };
const final = { final: true, dropped: false };
const dropped = { final: false, dropped: true };
const droppedFinal = { final: true, dropped: true };

/** Every (current status, report) pair, with the step and resulting status the diagram gives. */
const TABLE: Row[] = [
  [undefined, below, "credit_pending", "pending"],
  [undefined, final, "credit_posted", "confirmed"],
  [undefined, dropped, "record_dropped", "dropped"],
  [undefined, droppedFinal, "record_dropped", "dropped"],
  ["pending", below, "update_only", "pending"],
  ["pending", final, "post_pending", "confirmed"],
  ["pending", dropped, "void_pending", "dropped"],
  ["pending", droppedFinal, "void_pending", "dropped"],
  ["confirmed", below, "update_only", "confirmed"],
  ["confirmed", final, "update_only", "confirmed"],
  ["confirmed", dropped, "refuse_drop", "confirmed"],
  ["confirmed", droppedFinal, "refuse_drop", "confirmed"],
  ["dropped", below, "credit_pending", "pending"],
  ["dropped", final, "credit_posted", "confirmed"],
  ["dropped", dropped, "update_only", "dropped"],
  ["dropped", droppedFinal, "update_only", "dropped"],
];

describe("deposit state machine", () => {
  it("the table covers all 16 pairs", () => {
    const keys = new Set(TABLE.map(([current, report]) => `${current}/${report.final}/${report.dropped}`));
    assert.equal(keys.size, 16);
  });

  for (const [current, report, step, after] of TABLE) {
    it(`${current ?? "(new)"} + ${JSON.stringify(report)} -> ${step} -> ${after}`, () => {
      assert.equal(depositStep(current, report), step);
      assert.equal(statusAfter(step, current), after);
    });
  }

  it("statusAfter maps each money-moving step to its status regardless of the current one", () => {
    const statuses: Array<DepositStatus | undefined> = [undefined, "pending", "confirmed", "dropped"];
    for (const current of statuses) {
      assert.equal(statusAfter("credit_pending", current), "pending");
      assert.equal(statusAfter("credit_posted", current), "confirmed");
      assert.equal(statusAfter("post_pending", current), "confirmed");
      assert.equal(statusAfter("void_pending", current), "dropped");
      assert.equal(statusAfter("record_dropped", current), "dropped");
    }
    for (const current of ["pending", "confirmed", "dropped"] as const) {
      assert.equal(statusAfter("update_only", current), current);
      assert.equal(statusAfter("refuse_drop", current), current);
    }
  });

  it("any sequence of reports moves money consistently and never credits a deposit twice", () => {
    const reportArb = fc.record({ final: fc.boolean(), dropped: fc.boolean() });
    fc.assert(
      fc.property(fc.array(reportArb, { maxLength: 30 }), (reports) => {
        let status: DepositStatus | undefined;
        // What the ledger holds for this deposit: a pending credit, and posted credits.
        let pendingCredit = false;
        let postedCredits = 0;
        for (const report of reports) {
          const step = depositStep(status, report);
          switch (step) {
            case "credit_pending":
              assert.ok(!pendingCredit && postedCredits === 0, `credit_pending from ${status}`);
              pendingCredit = true;
              break;
            case "credit_posted":
              assert.ok(!pendingCredit && postedCredits === 0, `credit_posted from ${status}`);
              postedCredits += 1;
              break;
            case "post_pending":
              assert.ok(pendingCredit, "post_pending without a pending credit");
              pendingCredit = false;
              postedCredits += 1;
              break;
            case "void_pending":
              assert.ok(pendingCredit, "void_pending without a pending credit");
              pendingCredit = false;
              break;
            case "refuse_drop":
              assert.equal(status, "confirmed");
              break;
            default:
              break;
          }
          status = statusAfter(step, status);
          assert.ok(postedCredits <= 1, "credited twice");
          // The status always tells what the ledger holds.
          assert.equal(status === "pending", pendingCredit, `status ${status} vs pending credit ${pendingCredit}`);
          assert.equal(status === "confirmed", postedCredits === 1, `status ${status} vs posted ${postedCredits}`);
          if (report.final && !report.dropped) assert.equal(status, "confirmed");
        }
      }),
      { numRuns: 500 },
    );
  });
});
