import { existsSync, statSync } from "node:fs";
import Database from "better-sqlite3";
import pg from "pg";
import type { BenchDatabase } from "./database.js";
import { round } from "./load.js";

/**
 * Bytes on disk of a benchmark database, in total and per table (each table with its indexes),
 * with the row count of every table. Two snapshots around some writes give the bytes each
 * movement costs, and which table they went to. Taken while the server runs, between its
 * requests: the figures are read through a connection of this process.
 */

export interface TableUsage {
  table: string;
  rows: number;
  /** The table's own pages: the table b-tree on SQLite; heap, TOAST, free space and visibility maps on PostgreSQL. */
  tableBytes: number;
  /** Every index of the table, the primary key's included. */
  indexBytes: number;
}

export interface DiskUsage {
  /**
   * The database's size. SQLite: page_count x page_size, which is the database file once the WAL
   * is checkpointed into it (free pages included). PostgreSQL: the sum over the application's
   * tables of pg_total_relation_size (heap, TOAST, indexes, free space and visibility maps).
   */
  totalBytes: number;
  /**
   * SQLite: the database file plus its WAL as they are on disk after a checkpoint was asked for
   * (the WAL stays when a reader was in the way). PostgreSQL: pg_database_size, the system
   * catalogs included.
   */
  filesBytes: number;
  /** Every table, and on SQLite the pages on the free list as a table named "(free pages)": together they make totalBytes. */
  tables: TableUsage[];
}

export async function diskUsage(database: BenchDatabase): Promise<DiskUsage> {
  return database.kind === "sqlite" ? sqliteUsage(database.name) : await postgresUsage(database.url);
}

function sqliteUsage(file: string): DiskUsage {
  const db = new Database(file);
  try {
    // The server's own checkpointer runs on its schedule; a checkpoint here makes the file on
    // disk hold every committed page, so the file size can be compared with the page count.
    db.pragma("wal_checkpoint(TRUNCATE)");
    const pageSize = db.pragma("page_size", { simple: true }) as number;
    const pageCount = db.pragma("page_count", { simple: true }) as number;
    const freePages = db.pragma("freelist_count", { simple: true }) as number;
    const owners = db.prepare("SELECT type, name, tbl_name AS tableName FROM sqlite_schema WHERE type IN ('table', 'index')").all() as {
      type: "table" | "index";
      name: string;
      tableName: string;
    }[];
    // dbstat walks every page of every b-tree; the aggregate form sums them per b-tree.
    const pages = db.prepare("SELECT name, pgsize AS bytes FROM dbstat WHERE aggregate = TRUE").all() as { name: string; bytes: number }[];
    const tables = new Map<string, TableUsage>();
    const tableOf = (name: string) => {
      let usage = tables.get(name);
      if (!usage) {
        usage = { table: name, rows: 0, tableBytes: 0, indexBytes: 0 };
        tables.set(name, usage);
      }
      return usage;
    };
    for (const owner of owners) if (owner.type === "table") tableOf(owner.name).rows = countRows(db, owner.name);
    // Pages no b-tree owns stay in the file: counted apart, so the tables add up to the total.
    tableOf("(free pages)").tableBytes = freePages * pageSize;
    const ownerOf = new Map(owners.map((owner) => [owner.name, owner]));
    for (const { name, bytes } of pages) {
      const owner = ownerOf.get(name);
      // sqlite_schema is not listed in itself: it is counted as a table of its own.
      if (!owner || owner.type === "table") tableOf(name).tableBytes += bytes;
      else tableOf(owner.tableName).indexBytes += bytes;
    }
    const filesBytes = [file, `${file}-wal`].reduce((sum, path) => sum + (existsSync(path) ? statSync(path).size : 0), 0);
    return { totalBytes: pageCount * pageSize, filesBytes, tables: sorted(tables) };
  } finally {
    db.close();
  }
}

function countRows(db: Database.Database, table: string): number {
  return (db.prepare(`SELECT count(*) AS rows FROM "${table.replace(/"/g, '""')}"`).get() as { rows: number }).rows;
}

async function postgresUsage(url: string): Promise<DiskUsage> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // VACUUM makes both snapshots alike: every table has its free space and visibility maps, and
    // the dead row versions the updates left are marked reusable (it gives no space back to the
    // file system, so the growth stays counted). A CHECKPOINT is not needed: a relation's size
    // is its files' length, which grows when a page is added, not when it is written back.
    await client.query("VACUUM");
    const { rows } = await client.query<{ table: string; tableBytes: string; indexBytes: string }>(
      `SELECT c.relname AS "table", pg_table_size(c.oid) AS "tableBytes", pg_indexes_size(c.oid) AS "indexBytes"
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND n.nspname = current_schema()`,
    );
    const tables = new Map<string, TableUsage>();
    for (const row of rows) {
      const counted = await client.query<{ rows: string }>(`SELECT count(*) AS rows FROM "${row.table.replace(/"/g, '""')}"`);
      tables.set(row.table, {
        table: row.table,
        rows: Number(counted.rows[0]?.rows ?? 0),
        tableBytes: Number(row.tableBytes),
        indexBytes: Number(row.indexBytes),
      });
    }
    const database = await client.query<{ bytes: string }>("SELECT pg_database_size(current_database()) AS bytes");
    const list = sorted(tables);
    return {
      totalBytes: list.reduce((sum, table) => sum + table.tableBytes + table.indexBytes, 0),
      filesBytes: Number(database.rows[0]?.bytes ?? 0),
      tables: list,
    };
  } finally {
    await client.end();
  }
}

const sorted = (tables: Map<string, TableUsage>) => [...tables.values()].sort((a, b) => a.table.localeCompare(b.table));

export interface TableGrowth {
  table: string;
  rowsAdded: number;
  /** Table and index bytes added, divided by the movements written. */
  bytesPerMovement: number;
  /** Table and index bytes added per row added; absent when the table gained no rows (updated rows only, e.g. accounts). */
  bytesPerRow?: number;
  tableBytesPerRow?: number;
  indexBytesPerRow?: number;
  /** The table's size after the writes divided by its rows: what a row costs on average, old rows included. */
  averageBytesPerRow?: number;
}

export interface Growth {
  movements: number;
  bytesAdded: number;
  bytesPerMovement: number;
  /** The same from filesBytes (the files on SQLite, pg_database_size on PostgreSQL). */
  filesBytesPerMovement: number;
  /** Tables whose size or row count changed, most bytes first. */
  tables: TableGrowth[];
}

/** What `movements` movements written between two snapshots cost, in total and per table. */
export function growth(before: DiskUsage, after: DiskUsage, movements: number): Growth {
  const earlier = new Map(before.tables.map((table) => [table.table, table]));
  const tables: TableGrowth[] = [];
  for (const table of after.tables) {
    const old = earlier.get(table.table) ?? { rows: 0, tableBytes: 0, indexBytes: 0 };
    const rowsAdded = table.rows - old.rows;
    const tableBytes = table.tableBytes - old.tableBytes;
    const indexBytes = table.indexBytes - old.indexBytes;
    if (rowsAdded === 0 && tableBytes === 0 && indexBytes === 0) continue;
    tables.push({
      table: table.table,
      rowsAdded,
      bytesPerMovement: round((tableBytes + indexBytes) / movements, 1),
      ...(rowsAdded > 0
        ? {
            bytesPerRow: round((tableBytes + indexBytes) / rowsAdded, 1),
            tableBytesPerRow: round(tableBytes / rowsAdded, 1),
            indexBytesPerRow: round(indexBytes / rowsAdded, 1),
          }
        : {}),
      ...(table.rows > 0 ? { averageBytesPerRow: round((table.tableBytes + table.indexBytes) / table.rows, 1) } : {}),
    });
  }
  tables.sort((a, b) => b.bytesPerMovement - a.bytesPerMovement);
  const bytesAdded = after.totalBytes - before.totalBytes;
  return {
    movements,
    bytesAdded,
    bytesPerMovement: round(bytesAdded / movements, 1),
    filesBytesPerMovement: round((after.filesBytes - before.filesBytes) / movements, 1),
    tables,
  };
}
