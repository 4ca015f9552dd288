// One job's block storage volumes from intent to deletion, each step in the ledger before DigitalOcean is asked (a
// crash leaves nothing the reaper cannot find), and what they have cost so far. The droplet's lifecycle deletes them
// once the droplet is gone (droplet-lifecycle.ts): a volume lives exactly as long as the job needs its droplet.
import { randomBytes } from "node:crypto";
import { DROPSHIP_TAG, jobTag } from "./droplet-ledger.js";
import { billVolumeSeconds } from "./pricing.js";
import type { VolumeLedger, VolumeRecord } from "./volume-ledger.js";
import type { VolumePort } from "./torrent-ports.js";

export interface JobVolumesDeps {
  volumes: VolumePort;
  ledger: VolumeLedger;
}

/** A volume's name: the job's, plus a few random letters so that no leftover of another bot's job 7 collides. */
function volumeName(jobId: number): string {
  const suffix = [...randomBytes(6)].map((b) => "abcdefghijklmnopqrstuvwxyz0123456789"[b % 36]).join("");
  return `dropship-job-${jobId}-${suffix}`;
}

export class JobVolumes {
  constructor(private readonly deps: JobVolumesDeps) {}

  forJob(jobId: number): VolumeRecord[] {
    return this.deps.ledger.forJob(jobId);
  }

  /** The job's volume that is, or is being, attached (a restarted job carries on with it); undefined if none. */
  current(jobId: number): VolumeRecord | undefined {
    return this.forJob(jobId).find((r) => r.state === "requested" || r.state === "created" || r.state === "attached");
  }

  /**
   * A volume of `sizeGib` attached to droplet `dropletDoId`: recorded, created, attached — or, for a job that already
   * has one under way (a restart), that one carried on from where it was.
   */
  async provide(
    jobId: number,
    want: { sizeGib: number; region: string; priceHourly: number; dropletDoId: number; timeoutMs: number; signal?: AbortSignal },
  ): Promise<VolumeRecord> {
    const { ledger, volumes } = this.deps;
    const earlier = this.current(jobId);
    let rec = earlier ?? ledger.recordIntent({ jobId, name: volumeName(jobId), region: want.region, sizeGib: want.sizeGib, priceHourly: want.priceHourly });
    if (rec.doId === null) {
      // A create an earlier process sent may have happened: the name is unique in the region, so look first.
      const found = earlier ? await volumes.find(rec.name, rec.region) : null;
      try {
        const made = found ?? (await volumes.create({ name: rec.name, region: rec.region, sizeGib: rec.sizeGib, tags: [DROPSHIP_TAG, jobTag(jobId)] }, { signal: want.signal }));
        // DigitalOcean's clock (and its whole seconds) is not ours: kept between the intent and now.
        ledger.markCreated(rec.id, made.id, Math.min(Date.now(), Math.max(rec.requestedAt, made.createdAt)));
      } catch (err) {
        // Refused outright (not lost): nothing was made. A lost answer leaves the row for the reaper to settle by name.
        if ((err as { kind?: string }).kind === "unprocessable") ledger.markFailed(rec.id);
        throw err;
      }
      rec = ledger.get(rec.id)!;
    }
    if (rec.state !== "attached" || rec.dropletDoId !== want.dropletDoId) {
      await volumes.attach(rec.doId!, want.dropletDoId, rec.region, { timeoutMs: want.timeoutMs, signal: want.signal });
      ledger.markAttached(rec.id, want.dropletDoId);
      rec = ledger.get(rec.id)!;
    }
    return rec;
  }

  /** Deletes every volume of the job (its droplet already destroyed); rows the create never answered are left to the reaper. */
  async deleteAll(jobId: number): Promise<void> {
    const { ledger, volumes } = this.deps;
    for (const rec of this.forJob(jobId)) {
      if (rec.state === "deleted" || rec.state === "failed") continue;
      if (rec.doId === null) {
        // The create call may have reached DigitalOcean: its name finds it.
        const found = await volumes.find(rec.name, rec.region);
        if (!found) {
          ledger.markFailed(rec.id);
          continue;
        }
        ledger.markCreated(rec.id, found.id, Math.min(Date.now(), Math.max(rec.requestedAt, found.createdAt)));
      }
      ledger.markDeleting(rec.id);
      await volumes.delete(ledger.get(rec.id)!.doId!);
      ledger.markDeleted(rec.id);
    }
  }

  /** Whether none of the job's volumes can still exist. */
  allDeleted(jobId: number): boolean {
    return this.forJob(jobId).every((r) => r.state === "deleted" || r.state === "failed");
  }

  /** What the job's volumes have cost so far, by the second. */
  costUsd(jobId: number): number {
    return this.forJob(jobId)
      .filter((r) => r.createdAt !== null)
      .reduce((n, r) => n + billVolumeSeconds(this.deps.ledger.lifetimeSeconds(r), r.priceHourly), 0);
  }

  /** Each created volume's size and seconds so far, for the spend ledger's detail. */
  describe(jobId: number): string | null {
    const made = this.forJob(jobId).filter((r) => r.createdAt !== null);
    if (made.length === 0) return null;
    return made.map((r) => `volume ${r.sizeGib} GiB ${this.deps.ledger.lifetimeSeconds(r).toFixed(0)} s`).join(", ");
  }
}
