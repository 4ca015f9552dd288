import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { migrate, openDatabase } from "../../src/storage/database.js";
import { MIGRATIONS, type Migration } from "../../src/storage/migrations.js";
import { createKvStore } from "../../src/storage/kv-store.js";
import { FinalStateError, JobStore } from "../../src/jobs/job-store.js";

const dirs: string[] = [];
const tmpFile = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-db-"));
  dirs.push(d);
  return path.join(d, "nested", "dropship.sqlite");
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe("database", () => {
  it("creates a fresh WAL database file with every table at the latest version", () => {
    const file = tmpFile();
    const db = openDatabase(file);
    expect(fs.existsSync(file)).toBe(true);
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(db.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
    for (const t of ["users", "jobs", "job_events", "droplets", "hosts", "venvs", "spend", "kv", "locks"]) {
      expect(tables).toContain(t);
    }
    db.close();
  });

  it("upgrades an older file without losing rows, and reopening is a no-op", () => {
    const file = tmpFile();
    const v1 = openDatabase(file, MIGRATIONS.slice(0, 1));
    v1.prepare("INSERT INTO kv (key, value, updated_at) VALUES ('a', '1', 0)").run();
    v1.close();
    const extra: Migration = { version: MIGRATIONS.length + 1, name: "test column", sql: "ALTER TABLE kv ADD COLUMN note TEXT" };
    const db = new Database(file);
    expect(migrate(db, [...MIGRATIONS, extra])).toEqual(
      Array.from({ length: MIGRATIONS.length }, (_, i) => i + 2),
    );
    expect(db.prepare("SELECT key, value, note FROM kv").all()).toEqual([{ key: "a", value: "1", note: null }]);
    expect(migrate(db, [...MIGRATIONS, extra])).toEqual([]);
    db.close();
  });

  it("refuses a database newer than the code, and a broken migration list", () => {
    const file = tmpFile();
    const db = openDatabase(file);
    db.pragma(`user_version = ${MIGRATIONS.length + 5}`);
    expect(() => migrate(db)).toThrow(/newer than this Dropship/);
    expect(() => migrate(db, [{ version: 2, name: "gap", sql: "" }])).toThrow(/without gaps/);
    db.close();
  });

  it("rolls back a migration that fails halfway", () => {
    const file = tmpFile();
    const db = openDatabase(file);
    const bad: Migration = { version: MIGRATIONS.length + 1, name: "bad", sql: "CREATE TABLE t1 (x); SELECT * FROM nope;" };
    expect(() => migrate(db, [...MIGRATIONS, bad])).toThrow(/no such table/);
    expect(db.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 't1'").get()).toBeUndefined();
    db.close();
  });

  it("keeps kv values across reopen, namespaced", () => {
    const file = tmpFile();
    let db = openDatabase(file);
    createKvStore<{ n: number }>(db, "sessions").write("42", { n: 1 });
    db.close();
    db = openDatabase(file);
    expect(createKvStore<{ n: number }>(db, "sessions").read("42")).toEqual({ n: 1 });
    expect(createKvStore(db, "other").read("42")).toBeUndefined();
    createKvStore(db, "sessions").delete("42");
    expect(createKvStore(db, "sessions").read("42")).toBeUndefined();
    db.close();
  });

  it("records job transitions as events and refuses to leave a final state", () => {
    const db = openDatabase(tmpFile());
    let t = 1000;
    const jobs = new JobStore(db, () => t++);
    const job = jobs.create({ kind: "torrent", ownerId: 1, chatId: 1, state: "estimated", input: { magnet: "m" } });
    jobs.transition(job.id, "approved", { data: { name: "x" } });
    jobs.transition(job.id, "done");
    expect(jobs.events(job.id).map((e) => e.state)).toEqual(["estimated", "approved", "done"]);
    expect(jobs.get(job.id)!.data).toEqual({ name: "x" });
    expect(() => jobs.transition(job.id, "downloading")).toThrow(/already done/);
    expect(() => jobs.transition(job.id, "done")).toThrow(FinalStateError);
    expect(jobs.events(job.id).map((e) => e.state)).toEqual(["estimated", "approved", "done"]);
    jobs.recordSpend({ jobId: job.id, userId: 1, kind: "estimate", usd: 0.02 });
    jobs.recordSpend({ jobId: job.id, userId: 1, kind: "actual", usd: 0.01 });
    expect(jobs.spendForJob(job.id)).toEqual({ estimate: 0.02, actual: 0.01 });
    expect(jobs.actualSpendSince(0, 1)).toBeCloseTo(0.01);
    expect(jobs.actualSpendSince(0, 2)).toBe(0);
    db.close();
  });
});

describe("final states", () => {
  it("are never entered again: a second failure keeps the first error and its single event", () => {
    const db = openDatabase(tmpFile());
    const jobs = new JobStore(db);
    for (const final of ["done", "failed", "cancelled"]) {
      const job = jobs.create({ kind: "torrent", ownerId: 1, chatId: 1, state: "downloading", input: {} });
      jobs.transition(job.id, final, final === "failed" ? { error: "first" } : {});
      for (const next of ["done", "failed", "cancelled", "downloading"]) {
        expect(() => jobs.transition(job.id, next, { error: "second" })).toThrow(
          new RegExp(`job ${job.id} is already ${final}; it cannot become ${next}${next === final ? " again" : ""}`),
        );
      }
      expect(() => jobs.transitionIf(job.id, final, "failed")).toThrow(FinalStateError);
      const after = jobs.get(job.id)!;
      expect(after.state).toBe(final);
      expect(after.error).toBe(final === "failed" ? "first" : null);
      expect(jobs.events(job.id).map((e) => e.state)).toEqual(["downloading", final]);
    }
    db.close();
  });
});

describe("job flows", () => {
  it("refuse a move the kind's flow does not allow, and allow failing from any running state", async () => {
    const { torrentMayMove } = await import("../../src/jobs/torrent/torrent-states.js");
    const db = openDatabase(tmpFile());
    const jobs = new JobStore(db, Date.now, { torrent: torrentMayMove });
    const job = jobs.create({ kind: "torrent", ownerId: 1, chatId: 1, state: "estimated", input: {} });
    expect(() => jobs.transition(job.id, "downloading")).toThrow(/cannot go from estimated to downloading/);
    jobs.transition(job.id, "approved");
    jobs.transition(job.id, "droplet_requested");
    jobs.transition(job.id, "failed", { error: "boom" });
    expect(jobs.events(job.id).map((e) => e.state)).toEqual(["estimated", "approved", "droplet_requested", "failed"]);
    // Playbook jobs have no rule in this store: any move goes.
    const pb = jobs.create({ kind: "playbook", ownerId: 1, chatId: 1, state: "received", input: {} });
    expect(jobs.transition(pb.id, "running").state).toBe("running");
    db.close();
  });
});
