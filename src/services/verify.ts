import { type Problem, Replay } from "../ledger/replay.js";
import type { Store } from "../store/store.js";

const MAX_PROBLEMS_SHOWN = 20;

/** What verification found: `ok` when every account, sum and history checks out. */
export interface LedgerReport {
  ok: boolean;
  accounts: number;
  transfers: number;
  problem_count: number;
  /** The first problems found, at most MAX_PROBLEMS_SHOWN. */
  problems: Problem[];
}

/**
 * Recomputes every account from its transfers and checks the zero-sum invariant (DESIGN 1.6).
 */
export async function verifyLedger(store: Store): Promise<LedgerReport> {
  return store.withLedgerSnapshot(async (accounts, transfers) => {
    const replay = new Replay(accounts);
    for await (const transfer of transfers) replay.apply(transfer);
    const problems = replay.finish();
    return {
      ok: problems.length === 0,
      accounts: accounts.length,
      transfers: replay.transferCount,
      problem_count: problems.length,
      problems: problems.slice(0, MAX_PROBLEMS_SHOWN),
    };
  });
}
