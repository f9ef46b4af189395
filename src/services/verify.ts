import { Replay } from "../ledger/replay.js";
import type { Store } from "../store/store.js";

const MAX_PROBLEMS_SHOWN = 20;

/**
 * Recomputes every account from its transfers and checks the zero-sum invariant (DESIGN 1.6).
 */
export async function verifyLedger(store: Store) {
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
