import Database from "better-sqlite3";

/** A connection to the database file, set up the same way for the writer, the reader and snapshots. */
export function openConnection(file: string): Database.Database {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  // FULL: a commit is on disk before the request that made it is answered (DESIGN 2).
  db.pragma("synchronous = FULL");
  db.pragma("busy_timeout = 5000");
  db.pragma("foreign_keys = ON");
  return db;
}
