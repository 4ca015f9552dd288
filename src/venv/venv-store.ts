// The venvs table: one row per (host, name) with the spec, status, size, build time, pin and use counts.
import type { Db } from "../storage/database.js";
import type { VenvDigest } from "./venv-digest.js";

export type VenvStatus = "building" | "ready" | "broken" | "removed";

export interface VenvRecord {
  host: string;
  name: string;
  path: string;
  /** Canonical JSON of the resolved spec. */
  spec: string;
  status: VenvStatus;
  pinned: boolean;
  /** How many jobs are using it right now. */
  inUse: number;
  sizeBytes: number | null;
  buildMs: number | null;
  createdAt: number;
  lastUsedAt: number;
  /** What the venv held when it was built (null while building, after a failed build, or for a venv built before digests). */
  contentDigest: VenvDigest | null;
}

interface Row {
  host: string;
  name: string;
  path: string;
  spec: string;
  status: VenvStatus;
  pinned: number;
  in_use: number;
  size_bytes: number | null;
  build_ms: number | null;
  created_at: number;
  last_used_at: number;
  content_digest: string | null;
}

const toRecord = (r: Row): VenvRecord => ({
  host: r.host,
  name: r.name,
  path: r.path,
  spec: r.spec,
  status: r.status,
  pinned: r.pinned !== 0,
  inUse: r.in_use,
  sizeBytes: r.size_bytes,
  buildMs: r.build_ms,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
  contentDigest: r.content_digest ? (JSON.parse(r.content_digest) as VenvDigest) : null,
});

export class VenvStore {
  constructor(private readonly db: Db) {}

  get(host: string, name: string): VenvRecord | null {
    const row = this.db.prepare<[string, string], Row>("SELECT * FROM venvs WHERE host = ? AND name = ?").get(host, name);
    return row ? toRecord(row) : null;
  }

  /** Every venv not removed, by host then most recently used first. */
  list(host?: string): VenvRecord[] {
    const rows = host
      ? this.db.prepare<[string], Row>("SELECT * FROM venvs WHERE host = ? AND status != 'removed' ORDER BY last_used_at DESC").all(host)
      : this.db.prepare<[], Row>("SELECT * FROM venvs WHERE status != 'removed' ORDER BY host, last_used_at DESC").all();
    return rows.map(toRecord);
  }

  /**
   * Records (or re-records) a venv, keeping its pin and use count if the row already exists. The content digest is
   * replaced every time: a row without one (e.g. "building") is never trusted for reuse.
   */
  upsert(
    v: Pick<VenvRecord, "host" | "name" | "path" | "spec" | "status"> & { sizeBytes?: number | null; buildMs?: number | null; contentDigest?: VenvDigest | null },
    now: number,
  ): void {
    this.db
      .prepare(
        `INSERT INTO venvs (host, name, path, spec, status, size_bytes, build_ms, content_digest, created_at, last_used_at)
         VALUES (@host, @name, @path, @spec, @status, @size, @build, @digest, @now, @now)
         ON CONFLICT (host, name) DO UPDATE SET path = excluded.path, spec = excluded.spec, status = excluded.status,
           content_digest = excluded.content_digest,
           size_bytes = COALESCE(excluded.size_bytes, venvs.size_bytes), build_ms = COALESCE(excluded.build_ms, venvs.build_ms),
           created_at = CASE WHEN venvs.status = 'removed' OR excluded.status = 'building' THEN excluded.created_at ELSE venvs.created_at END,
           last_used_at = excluded.last_used_at`,
      )
      .run({
        host: v.host, name: v.name, path: v.path, spec: v.spec, status: v.status,
        size: v.sizeBytes ?? null, build: v.buildMs ?? null, digest: v.contentDigest ? JSON.stringify(v.contentDigest) : null, now,
      });
  }

  /** Any status but "ready" also forgets the content digest: what is on the host is no longer what was recorded. */
  setStatus(host: string, name: string, status: VenvStatus): void {
    this.db
      .prepare("UPDATE venvs SET status = ?, content_digest = CASE WHEN ? = 'ready' THEN content_digest END WHERE host = ? AND name = ?")
      .run(status, status, host, name);
  }

  touch(host: string, name: string, now: number): void {
    this.db.prepare("UPDATE venvs SET last_used_at = ? WHERE host = ? AND name = ?").run(now, host, name);
  }

  setPinned(host: string, name: string, pinned: boolean): void {
    this.db.prepare("UPDATE venvs SET pinned = ? WHERE host = ? AND name = ?").run(pinned ? 1 : 0, host, name);
  }

  addUse(host: string, name: string, delta: 1 | -1, now: number): void {
    this.db
      .prepare("UPDATE venvs SET in_use = MAX(0, in_use + ?), last_used_at = ? WHERE host = ? AND name = ?")
      .run(delta, now, host, name);
  }

  /** After a restart no job holds a venv any more. */
  clearUses(): void {
    this.db.prepare("UPDATE venvs SET in_use = 0 WHERE in_use != 0").run();
  }

  /** Candidates for collection: not pinned, not in use, unused since `before`. */
  collectable(host: string, before: number): VenvRecord[] {
    return this.db
      .prepare<[string, number], Row>(
        "SELECT * FROM venvs WHERE host = ? AND status IN ('ready', 'broken') AND pinned = 0 AND in_use = 0 AND last_used_at < ? ORDER BY last_used_at",
      )
      .all(host, before)
      .map(toRecord);
  }
}
