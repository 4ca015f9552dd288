// One bot per data directory: two processes on the same DATA_DIR would run the same torrent jobs twice (two pulls,
// two destroys, the budget counted twice). The lock is an exclusive SQLite lock on a file of its own, held for the
// process's life: the kernel drops it when the process dies, however it dies, so a crash never leaves a stale lock.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";

export class InstanceLockError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InstanceLockError";
  }
}

export interface InstanceLock {
  release(): void;
}

interface Holder {
  pid: number;
  host: string;
  since: string;
}

/** Takes the data directory's lock, or throws InstanceLockError naming the process that holds it. */
export function lockDataDir(dataDir: string): InstanceLock {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const lockFile = path.join(dataDir, "dropship.lock");
  const holderFile = path.join(dataDir, "dropship.lock.holder");
  const db = new Database(lockFile, { timeout: 0 });
  try {
    // EXCLUSIVE locking mode keeps the lock after the first write until the connection closes.
    db.pragma("locking_mode = EXCLUSIVE");
    db.exec("BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS lock (taken_at INTEGER); DELETE FROM lock; INSERT INTO lock VALUES (unixepoch()); COMMIT;");
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code !== "SQLITE_BUSY") throw err;
    throw new InstanceLockError(
      `another Dropship is already running on DATA_DIR=${dataDir}${describeHolder(holderFile)}. Two bots on one data ` +
        "directory would run the same jobs twice: stop the other one first, or give this one its own DATA_DIR.",
    );
  }
  const holder: Holder = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
  fs.writeFileSync(holderFile, JSON.stringify(holder) + "\n", { mode: 0o600 });
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      fs.rmSync(holderFile, { force: true });
      db.close();
    },
  };
}

function describeHolder(holderFile: string): string {
  try {
    const h = JSON.parse(fs.readFileSync(holderFile, "utf8")) as Holder;
    return ` (pid ${h.pid} on ${h.host}, since ${h.since})`;
  } catch {
    return "";
  }
}
