// Every block storage volume the bot asks for, recorded before the create call (as droplets are, droplet-ledger.ts):
// a crash leaves nothing the reaper cannot find, and its cost runs from its creation to its deletion.
import type { Db } from "../../storage/database.js";
import { jobTag } from "./droplet-ledger.js";

export type VolumeState = "requested" | "created" | "attached" | "deleting" | "deleted" | "failed";

export interface VolumeRecord {
  id: number;
  jobId: number | null;
  /** DigitalOcean's volume id; null until the create call answered. */
  doId: string | null;
  name: string;
  tag: string;
  region: string;
  sizeGib: number;
  priceHourly: number;
  /** The droplet it was attached to. */
  dropletDoId: number | null;
  state: VolumeState;
  requestedAt: number;
  createdAt: number | null;
  deletedAt: number | null;
}

interface Row {
  id: number;
  job_id: number | null;
  do_id: string | null;
  name: string;
  tag: string;
  region: string;
  size_gib: number;
  price_hourly: number;
  droplet_do_id: number | null;
  state: VolumeState;
  requested_at: number;
  created_at: number | null;
  deleted_at: number | null;
}

const toRecord = (r: Row): VolumeRecord => ({
  id: r.id,
  jobId: r.job_id,
  doId: r.do_id,
  name: r.name,
  tag: r.tag,
  region: r.region,
  sizeGib: r.size_gib,
  priceHourly: r.price_hourly,
  dropletDoId: r.droplet_do_id,
  state: r.state,
  requestedAt: r.requested_at,
  createdAt: r.created_at,
  deletedAt: r.deleted_at,
});

/** States in which a volume may exist and cost money. */
const LIVE = "('requested', 'created', 'attached', 'deleting')";

export class VolumeLedger {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  /** Step one, before any API call: the intent, with the volume's name (unique in its region, found by it later). */
  recordIntent(v: { jobId: number; name: string; region: string; sizeGib: number; priceHourly: number }): VolumeRecord {
    const { lastInsertRowid } = this.db
      .prepare(
        `INSERT INTO volumes (job_id, name, tag, region, size_gib, price_hourly, state, requested_at)
         VALUES (?, ?, ?, ?, ?, ?, 'requested', ?)`,
      )
      .run(v.jobId, v.name, jobTag(v.jobId), v.region, v.sizeGib, v.priceHourly, this.now());
    return this.get(Number(lastInsertRowid))!;
  }

  /** DigitalOcean gave the volume's id (`createdAt`: when it was made, if known better than "now"). */
  markCreated(id: number, doId: string, createdAt: number = this.now()): void {
    this.db.prepare("UPDATE volumes SET do_id = ?, state = 'created', created_at = COALESCE(created_at, ?) WHERE id = ?").run(doId, createdAt, id);
  }

  markAttached(id: number, dropletDoId: number): void {
    this.db.prepare("UPDATE volumes SET droplet_do_id = ?, state = 'attached' WHERE id = ?").run(dropletDoId, id);
  }

  markDeleting(id: number): void {
    this.db.prepare("UPDATE volumes SET state = 'deleting' WHERE id = ? AND state NOT IN ('deleted', 'failed')").run(id);
  }

  /** Confirmed gone; a second confirmation keeps the first time (the bill stops there). */
  markDeleted(id: number): void {
    this.db.prepare("UPDATE volumes SET state = 'deleted', deleted_at = ? WHERE id = ? AND state != 'deleted'").run(this.now(), id);
  }

  /** The create was refused: nothing exists, nothing is billed. */
  markFailed(id: number): void {
    this.db.prepare("UPDATE volumes SET state = 'failed' WHERE id = ? AND created_at IS NULL").run(id);
  }

  get(id: number): VolumeRecord | undefined {
    const row = this.db.prepare<[number], Row>("SELECT * FROM volumes WHERE id = ?").get(id);
    return row ? toRecord(row) : undefined;
  }

  byDoId(doId: string): VolumeRecord | undefined {
    const row = this.db.prepare<[string], Row>("SELECT * FROM volumes WHERE do_id = ?").get(doId);
    return row ? toRecord(row) : undefined;
  }

  byName(name: string, region: string): VolumeRecord | undefined {
    const row = this.db.prepare<[string, string], Row>("SELECT * FROM volumes WHERE name = ? AND region = ? ORDER BY id DESC").get(name, region);
    return row ? toRecord(row) : undefined;
  }

  forJob(jobId: number): VolumeRecord[] {
    return this.db.prepare<[number], Row>("SELECT * FROM volumes WHERE job_id = ? ORDER BY id").all(jobId).map(toRecord);
  }

  /** Volumes that may still exist and cost money. */
  live(): VolumeRecord[] {
    return this.db.prepare<[], Row>(`SELECT * FROM volumes WHERE state IN ${LIVE} ORDER BY id`).all().map(toRecord);
  }

  /** Seconds a volume has existed (or existed), for billing; 0 if it never got created. */
  lifetimeSeconds(rec: VolumeRecord): number {
    if (rec.createdAt === null) return 0;
    return ((rec.deletedAt ?? this.now()) - rec.createdAt) / 1000;
  }
}
