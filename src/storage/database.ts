// Opens the SQLite file (WAL) and brings its schema up to date with the migrations.
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { MIGRATIONS, type Migration } from "./migrations.js";

export type Db = Database.Database;

export function openDatabase(file: string, migrations: Migration[] = MIGRATIONS): Db {
  if (file !== ":memory:") {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // SQLite gives the -wal and -shm files the database file's mode: create it private, before SQLite does (0644).
    fs.closeSync(fs.openSync(file, "a", 0o600));
  }
  const db = new Database(file);
  // Deleted rows are overwritten with zeros, not left in free pages (a finished dialogue, a removed host).
  db.pragma("secure_delete = ON");
  db.pragma("journal_mode = WAL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  migrate(db, migrations);
  return db;
}

/** Applies every migration newer than the file's user_version, each in its own transaction. */
export function migrate(db: Db, migrations: Migration[] = MIGRATIONS): number[] {
  const versions = migrations.map((m) => m.version);
  if (versions.some((v, i) => v !== i + 1)) throw new Error("migrations must be numbered 1, 2, 3, ... without gaps");
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > migrations.length) {
    throw new Error(
      `the database is at schema version ${current}, newer than this Dropship (${migrations.length}); upgrade Dropship or use another DATA_DIR`,
    );
  }
  const applied: number[] = [];
  for (const m of migrations.slice(current)) {
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
    applied.push(m.version);
  }
  return applied;
}
