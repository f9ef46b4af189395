import pg from "pg";
import { POSTGRES_ADMIN_URL } from "./database.js";
import { round } from "./load.js";

/**
 * Samples pg_stat_activity for one database while a load runs: on average, how many of its
 * backends were running, idle in a transaction (waiting for the client's next statement) or
 * waiting on a lock. Shows whether PostgreSQL, the client round trips or row locks set the pace.
 */
export interface ActivitySample {
  samples: number;
  /** Mean number of backends in each state, e.g. "active", "idle in transaction", "waiting: Lock/transactionid". */
  meanBackends: Record<string, number>;
}

export async function sampleActivity(database: string): Promise<{ stop(): Promise<ActivitySample> }> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  const totals = new Map<string, number>();
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await client.query(
        `SELECT CASE WHEN wait_event_type IN ('Lock', 'LWLock', 'IO') THEN 'waiting: ' || wait_event_type || '/' || wait_event
                     ELSE coalesce(state, 'unknown') END AS what, count(*)::int AS n
         FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() GROUP BY 1`,
        [database],
      );
      samples += 1;
      for (const row of rows as { what: string; n: number }[]) totals.set(row.what, (totals.get(row.what) ?? 0) + row.n);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await client.end();
      const meanBackends = Object.fromEntries(
        [...totals.entries()].sort((a, b) => b[1] - a[1]).map(([what, total]) => [what, round(total / Math.max(1, samples), 2)]),
      );
      return { samples, meanBackends };
    },
  };
}
