import Database from "better-sqlite3";
import { randomUUID } from "node:crypto";
import { uuidv7 } from "../src/ids.js";
const N = 8190;
function run(label: string, ddl: string, values: (i: number, w: string[]) => unknown[], cols: number) {
  const db = new Database(`/tmp/exp/x-${Date.now()}-${Math.random()}.db`);
  db.pragma("journal_mode = WAL"); db.pragma("synchronous = FULL"); db.pragma("cache_size = -65536"); db.pragma("wal_autocheckpoint = 100000");
  db.exec(ddl);
  const ins = db.prepare(`INSERT INTO t VALUES (${Array(cols).fill("?").join(",")})`);
  const out: string[] = [];
  for (let r = 0; r < 5; r++) {
    const w = Array.from({ length: 1000 }, () => randomUUID());
    const rows = Array.from({ length: N }, (_, i) => values(i + r * N, w));
    const t0 = performance.now();
    db.exec("BEGIN IMMEDIATE");
    for (const row of rows) ins.run(...row);
    const t1 = performance.now();
    db.exec("COMMIT");
    const t2 = performance.now();
    out.push(`${(t1 - t0).toFixed(0)}+${(t2 - t1).toFixed(0)}`);
  }
  console.log(label, out.join(" "));
}
const a = randomUUID(), b = randomUUID(), t = randomUUID(), now = new Date().toISOString();
const tr = (i: number, w: string[]) => [i + 1, uuidv7(), t, "USDTTRC20", "posted", a, b, "10000", null, "to_sub", w[i % 1000], "posted", now];
const cols = "seq INTEGER PRIMARY KEY, id TEXT NOT NULL, tenant_id TEXT, currency TEXT, flag TEXT, debit TEXT, credit TEXT, amount TEXT, pending_id TEXT, tt TEXT, wallet_uuid TEXT, status TEXT, created_at TEXT";
run("bare      ", `CREATE TABLE t (${cols})`, tr, 13);
run("+id unique", `CREATE TABLE t (${cols}); CREATE UNIQUE INDEX ti ON t(id)`, tr, 13);
run("+wallet   ", `CREATE TABLE t (${cols}); CREATE UNIQUE INDEX ti ON t(id); CREATE INDEX tw ON t(wallet_uuid, seq)`, tr, 13);
const trs = (i: number, w: string[]) => [i + 1, uuidv7(), t, "USDTTRC20", "posted", a, b, "10000", null, "to_sub", w[i % 1000], "posted", now];
