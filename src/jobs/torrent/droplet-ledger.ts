// Every droplet the bot asks for, recorded before the create call, so nothing runs unaccounted for after a crash.
import type { Db } from "../../storage/database.js";

export type DropletState = "requested" | "created" | "active" | "destroying" | "destroyed" | "failed";

export interface DropletRecord {
  id: number;
  jobId: number | null;
  doId: number | null;
  name: string;
  tag: string;
  region: string;
  size: string;
  priceHourly: number;
  ip: string | null;
  hostKeyPublic: string;
  state: DropletState;
  requestedAt: number;
  createdAt: number | null;
  destroyedAt: number | null;
}

interface Row {
  id: number;
  job_id: number | null;
  do_id: number | null;
  name: string;
  tag: string;
  region: string;
  size: string;
  price_hourly: number;
  ip: string | null;
  host_key_public: string;
  state: DropletState;
  requested_at: number;
  created_at: number | null;
  destroyed_at: number | null;
}

const toRecord = (r: Row): DropletRecord => ({
  id: r.id,
  jobId: r.job_id,
  doId: r.do_id,
  name: r.name,
  tag: r.tag,
  region: r.region,
  size: r.size,
  priceHourly: r.price_hourly,
  ip: r.ip,
  hostKeyPublic: r.host_key_public,
  state: r.state,
  requestedAt: r.requested_at,
  createdAt: r.created_at,
  destroyedAt: r.destroyed_at,
});

/** The tags every droplet of a job carries: one to find all of Dropship's, one to find this job's. */
export const DROPSHIP_TAG = "dropship";
export const jobTag = (jobId: number) => `dropship-job-${jobId}`;

/** The job a droplet belongs to, from its dropship-job-<id> tag; null when it has none. */
export function jobIdOfTags(tags: readonly string[]): number | null {
  for (const t of tags) {
    const m = /^dropship-job-(\d+)$/.exec(t);
    if (m) return Number(m[1]);
  }
  return null;
}

export class DropletLedger {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  /** Step one, before any API call: the intent to create. */
  recordIntent(d: { jobId: number; name: string; region: string; size: string; priceHourly: number; hostKeyPublic: string }): DropletRecord {
    const { lastInsertRowid } = this.db
      .prepare(
        `INSERT INTO droplets (job_id, name, tag, region, size, price_hourly, host_key_public, state, requested_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'requested', ?)`,
      )
      .run(d.jobId, d.name, jobTag(d.jobId), d.region, d.size, d.priceHourly, d.hostKeyPublic, this.now());
    return this.get(Number(lastInsertRowid))!;
  }

  /** DigitalOcean gave the droplet's id (`createdAt`: when it was made, if known better than "now"). */
  markCreated(id: number, doId: number, createdAt: number = this.now()): void {
    this.db.prepare("UPDATE droplets SET do_id = ?, state = 'created', created_at = ? WHERE id = ?").run(doId, createdAt, id);
  }

  /**
   * A droplet of `like`'s job that the bot never heard of — a create whose answer was lost made it, and the create was
   * repeated — found by the job's tag: recorded like `like` so that its cost is booked to the job.
   */
  recordFound(like: DropletRecord, doId: number, createdAt: number): DropletRecord {
    const { lastInsertRowid } = this.db
      .prepare(
        `INSERT INTO droplets (job_id, do_id, name, tag, region, size, price_hourly, host_key_public, state, requested_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'created', ?, ?)`,
      )
      .run(like.jobId, doId, like.name, like.tag, like.region, like.size, like.priceHourly, like.hostKeyPublic, like.requestedAt, createdAt);
    return this.get(Number(lastInsertRowid))!;
  }

  markActive(id: number, ip: string): void {
    this.db.prepare("UPDATE droplets SET ip = ?, state = 'active' WHERE id = ?").run(ip, id);
  }

  markDestroying(id: number): void {
    this.db.prepare("UPDATE droplets SET state = 'destroying' WHERE id = ? AND state != 'destroyed'").run(id);
  }

  /** Confirmed gone; a second confirmation keeps the first time (the bill stops there). */
  markDestroyed(id: number): void {
    this.db.prepare("UPDATE droplets SET state = 'destroyed', destroyed_at = ? WHERE id = ? AND state != 'destroyed'").run(this.now(), id);
  }

  get(id: number): DropletRecord | undefined {
    const row = this.db.prepare<[number], Row>("SELECT * FROM droplets WHERE id = ?").get(id);
    return row ? toRecord(row) : undefined;
  }

  byDoId(doId: number): DropletRecord | undefined {
    const row = this.db.prepare<[number], Row>("SELECT * FROM droplets WHERE do_id = ?").get(doId);
    return row ? toRecord(row) : undefined;
  }

  forJob(jobId: number): DropletRecord[] {
    return this.db.prepare<[number], Row>("SELECT * FROM droplets WHERE job_id = ? ORDER BY id").all(jobId).map(toRecord);
  }

  /** Droplets that may still exist and cost money. */
  live(): DropletRecord[] {
    return this.db
      .prepare<[], Row>("SELECT * FROM droplets WHERE state IN ('requested', 'created', 'active', 'destroying') ORDER BY id")
      .all()
      .map(toRecord);
  }

  /** Seconds a droplet has existed (or existed), for billing; 0 if it never got created. */
  lifetimeSeconds(rec: DropletRecord): number {
    if (rec.createdAt === null) return 0;
    return ((rec.destroyedAt ?? this.now()) - rec.createdAt) / 1000;
  }
}
