// Jobs, their event log and the spend ledger in SQLite. Every state change is written with an event, in one transaction.
import type { Db } from "../storage/database.js";

export type JobKind = "torrent" | "playbook";

export interface Job<I = Record<string, unknown>, D = Record<string, unknown>> {
  id: number;
  kind: JobKind;
  ownerId: number;
  chatId: number;
  state: string;
  input: I;
  data: D;
  error: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface JobEvent {
  id: number;
  jobId: number;
  at: number;
  state: string;
  detail: string | null;
}

interface JobRow {
  id: number;
  kind: JobKind;
  owner_id: number;
  chat_id: number;
  state: string;
  input: string;
  data: string;
  error: string | null;
  created_at: number;
  updated_at: number;
}

const toJob = <I, D>(r: JobRow): Job<I, D> => ({
  id: r.id,
  kind: r.kind,
  ownerId: r.owner_id,
  chatId: r.chat_id,
  state: r.state,
  input: JSON.parse(r.input) as I,
  data: JSON.parse(r.data) as D,
  error: r.error,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** Which moves a kind of job may make; the store refuses any other, so no code path can skip a step. */
export type JobFlows = Partial<Record<JobKind, (from: string, to: string) => boolean>>;

export class JobStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
    private readonly flows: JobFlows = {},
  ) {}

  create<I extends object>(job: { kind: JobKind; ownerId: number; chatId: number; state: string; input: I }): Job<I> {
    const at = this.now();
    return this.db.transaction(() => {
      const { lastInsertRowid } = this.db
        .prepare(
          "INSERT INTO jobs (kind, owner_id, chat_id, state, input, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .run(job.kind, job.ownerId, job.chatId, job.state, JSON.stringify(job.input), at, at);
      const id = Number(lastInsertRowid);
      this.addEvent(id, job.state, null, at);
      return this.get<I>(id)!;
    })();
  }

  get<I = Record<string, unknown>, D = Record<string, unknown>>(id: number): Job<I, D> | undefined {
    const row = this.db.prepare<[number], JobRow>("SELECT * FROM jobs WHERE id = ?").get(id);
    return row ? toJob<I, D>(row) : undefined;
  }

  /**
   * Moves a job to `state`, merging `data` and logging an event. A final state is never left nor entered again:
   * failing a failed job a second time would overwrite the error its owner was already told.
   */
  transition(id: number, state: string, opts: { detail?: string; data?: Record<string, unknown>; error?: string } = {}): Job {
    const at = this.now();
    return this.db.transaction(() => {
      const job = this.get(id);
      if (!job) throw new Error(`job ${id} does not exist`);
      if (FINAL_STATES.has(job.state)) {
        throw new FinalStateError(`job ${id} is already ${job.state}; it cannot become ${state}${job.state === state ? " again" : ""}`);
      }
      const mayMove = this.flows[job.kind];
      if (mayMove && job.state !== state && !mayMove(job.state, state)) {
        throw new Error(`a ${job.kind} job cannot go from ${job.state} to ${state} (job ${id})`);
      }
      const data = opts.data ? { ...job.data, ...opts.data } : job.data;
      this.db
        .prepare("UPDATE jobs SET state = ?, data = ?, error = COALESCE(?, error), updated_at = ? WHERE id = ?")
        .run(state, JSON.stringify(data), opts.error ?? null, at, id);
      this.addEvent(id, state, opts.detail ?? opts.error ?? null, at);
      return this.get(id)!;
    })();
  }

  /**
   * Moves a job from exactly `from` to `to`; false if it was not in `from`.
   * This is what makes a double press of Start start one job.
   */
  transitionIf(id: number, from: string, to: string, opts: { detail?: string; data?: Record<string, unknown> } = {}): boolean {
    return this.db.transaction(() => {
      const job = this.get(id);
      if (!job || job.state !== from) return false;
      this.transition(id, to, opts);
      return true;
    })();
  }

  /** Merges facts into a job's data without a state change (names, sizes, message ids). */
  patchData(id: number, data: Record<string, unknown>): void {
    this.db.transaction(() => {
      const job = this.get(id);
      if (!job) throw new Error(`job ${id} does not exist`);
      this.db
        .prepare("UPDATE jobs SET data = ?, updated_at = ? WHERE id = ?")
        .run(JSON.stringify({ ...job.data, ...data }), this.now(), id);
    })();
  }

  events(jobId: number): JobEvent[] {
    return this.db
      .prepare<[number], { id: number; job_id: number; at: number; state: string; detail: string | null }>(
        "SELECT * FROM job_events WHERE job_id = ? ORDER BY id",
      )
      .all(jobId)
      .map((r) => ({ id: r.id, jobId: r.job_id, at: r.at, state: r.state, detail: r.detail }));
  }

  listRecent(ownerId: number, limit = 10): Job[] {
    return this.db
      .prepare<[number, number], JobRow>("SELECT * FROM jobs WHERE owner_id = ? ORDER BY id DESC LIMIT ?")
      .all(ownerId, limit)
      .map((r) => toJob<Record<string, unknown>, Record<string, unknown>>(r));
  }

  /** The newest jobs of a kind in a state, e.g. the last finished torrents for speed estimates. */
  listRecentIn(kind: JobKind, state: string, limit: number): Job[] {
    return this.db
      .prepare<[JobKind, string, number], JobRow>("SELECT * FROM jobs WHERE kind = ? AND state = ? ORDER BY id DESC LIMIT ?")
      .all(kind, state, limit)
      .map((r) => toJob<Record<string, unknown>, Record<string, unknown>>(r));
  }

  /**
   * Seconds from `from` to `to` (each state's first event) in the newest `limit` jobs of a kind that are in `state` and
   * passed both, newest first: e.g. how long the last finished torrents took from droplet request to provisioned.
   */
  recentSecondsBetween(kind: JobKind, state: string, from: string, to: string, limit: number): number[] {
    return this.db
      .prepare<[string, string, JobKind, string, number], { ms: number }>(
        `SELECT to_at - from_at AS ms FROM (
           SELECT j.id,
             (SELECT MIN(at) FROM job_events e WHERE e.job_id = j.id AND e.state = ?) AS from_at,
             (SELECT MIN(at) FROM job_events e WHERE e.job_id = j.id AND e.state = ?) AS to_at
           FROM jobs j WHERE j.kind = ? AND j.state = ?
         ) WHERE from_at IS NOT NULL AND to_at IS NOT NULL ORDER BY id DESC LIMIT ?`,
      )
      .all(from, to, kind, state, limit)
      .map((r) => r.ms / 1000);
  }

  /** Jobs not in a final state: what a restart must resume or clean up. */
  listUnfinished(kind?: JobKind): Job[] {
    const finals = [...FINAL_STATES];
    const rows = this.db
      .prepare<unknown[], JobRow>(
        `SELECT * FROM jobs WHERE state NOT IN (${finals.map(() => "?").join(", ")}) AND (? IS NULL OR kind = ?) ORDER BY id`,
      )
      .all(...finals, kind ?? null, kind ?? null);
    return rows.map((r) => toJob<Record<string, unknown>, Record<string, unknown>>(r));
  }

  recordSpend(entry: { jobId: number | null; userId: number; kind: "estimate" | "actual"; usd: number; detail?: string }): void {
    this.db
      .prepare("INSERT INTO spend (job_id, user_id, kind, usd, detail, at) VALUES (?, ?, ?, ?, ?, ?)")
      .run(entry.jobId, entry.userId, entry.kind, entry.usd, entry.detail ?? null, this.now());
  }

  /** Actual spend since `sinceMs` (all users when userId is omitted). */
  actualSpendSince(sinceMs: number, userId?: number): number {
    const row = this.db
      .prepare<[number, number | null, number | null], { total: number | null }>(
        "SELECT SUM(usd) AS total FROM spend WHERE kind = 'actual' AND at >= ? AND (? IS NULL OR user_id = ?)",
      )
      .get(sinceMs, userId ?? null, userId ?? null);
    return row?.total ?? 0;
  }

  /**
   * A job's latest estimate, and its real cost: the sum of its bookings (a droplet destroyed late by the reaper books
   * the rest of its cost after the job ended). null where nothing is recorded.
   */
  spendForJob(jobId: number): { estimate: number | null; actual: number | null } {
    const rows = this.db
      .prepare<[number], { kind: string; usd: number }>("SELECT kind, usd FROM spend WHERE job_id = ? ORDER BY id")
      .all(jobId);
    const actual = rows.filter((r) => r.kind === "actual");
    const total = actual.length > 0 ? Math.round(actual.reduce((n, r) => n + r.usd, 0) * 1e6) / 1e6 : null;
    return { estimate: rows.filter((r) => r.kind === "estimate").at(-1)?.usd ?? null, actual: total };
  }

  private addEvent(jobId: number, state: string, detail: string | null, at: number): void {
    this.db.prepare("INSERT INTO job_events (job_id, at, state, detail) VALUES (?, ?, ?, ?)").run(jobId, at, state, detail);
  }
}

/** A transition out of, or back into, a final state: the job has already ended. */
export class FinalStateError extends Error {
  override name = "FinalStateError";
}

/** States a job never leaves. */
export const FINAL_STATES = new Set(["done", "failed", "cancelled"]);
