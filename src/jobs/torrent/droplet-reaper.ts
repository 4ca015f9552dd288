// Never a droplet left running: at start and on a schedule, destroy every Dropship droplet no running job owns, and
// delete every Dropship volume no running job owns.
import cron, { type ScheduledTask } from "node-cron";
import type { Logger } from "../../shared/logger.js";
import { DROPSHIP_TAG, jobIdOfTags, type DropletLedger, type DropletRecord } from "./droplet-ledger.js";
import pRetry from "p-retry";
import { FINAL_STATES, type JobStore } from "../job-store.js";
import { billDropletSeconds, billVolumeSeconds } from "./pricing.js";
import type { VolumeLedger, VolumeRecord } from "./volume-ledger.js";
import type { DropletFleet } from "./torrent-ports.js";
import { reapOrphanDroplets, type TaggedDroplet } from "./orphan-droplets.js";

export interface ReaperDeps {
  cloud: DropletFleet;
  ledger: DropletLedger;
  store: JobStore;
  /** Jobs this process is running right now; their droplets are left alone. */
  runningJobIds: () => number[];
  logger: Logger;
  now?: () => number;
  /** Volumes the jobs attached for room; with it the reaper deletes Dropship's volumes too. */
  volumes?: VolumeLedger;
}

export interface ReapReport {
  destroyed: number[];
  /** Volumes deleted (when the reaper has the volume ledger). */
  volumesDeleted?: string[];
}

/** How the start-up sweep retries while DigitalOcean is unreachable or refuses a destroy. */
export interface SweepRetry {
  minDelayMs: number;
  maxDelayMs: number;
}

export class DropletReaper {
  private task: ScheduledTask | null = null;

  constructor(private readonly deps: ReaperDeps) {}

  /**
   * Reaps until it succeeds, backing off between tries, so a start never waits on DigitalOcean. `onTrouble` hears
   * each failed try (what could not be cleaned yet); resolves once clean, rejects only when `signal` aborts.
   */
  async sweepUntilClean(opts: { signal: AbortSignal; retry: SweepRetry; onTrouble(message: string, attempt: number): void }): Promise<ReapReport> {
    return pRetry(() => this.reap(), {
      retries: Number.POSITIVE_INFINITY,
      minTimeout: opts.retry.minDelayMs,
      maxTimeout: opts.retry.maxDelayMs,
      factor: 2,
      signal: opts.signal,
      onFailedAttempt: ({ error, attemptNumber }) => {
        this.deps.logger.warn({ err: error, attempt: attemptNumber }, "start-up droplet sweep failed; retrying");
        opts.onTrouble(error.message, attemptNumber);
      },
    });
  }

  /**
   * Destroys every droplet tagged `dropship` that no running job owns, settles the ledger and books the cost — also of
   * a droplet the ledger never had an id for (a create whose answer was lost, or its duplicate), to the job its tag
   * names. Listing can be slow and retried, and jobs start meanwhile: a droplet is spared if its job was running when
   * the listing began or is when the droplet is about to go, or if its job asked for a droplet after the listing began.
   */
  async reap(): Promise<ReapReport> {
    const { cloud, ledger, logger } = this.deps;
    const now = this.deps.now ?? Date.now;
    const listingBegan = now();
    const runningThen = new Set(this.deps.runningJobIds());
    const askedSince = (jobId: number) =>
      ledger.forJob(jobId).some((r) => r.requestedAt >= listingBegan) || (this.deps.volumes?.forJob(jobId).some((r) => r.requestedAt >= listingBegan) ?? false);
    const ownedNow = (jobId: number | null) =>
      jobId !== null && (runningThen.has(jobId) || this.deps.runningJobIds().includes(jobId) || askedSince(jobId));
    // By the job's tag, which a droplet carries from its create call on: no age guesswork. A job that started during the
    // listing is running by the time its droplet could be destroyed, or (if it ended already) has asked for it since.
    const spared = (d: TaggedDroplet) => ownedNow(jobIdOfTags(d.tags));
    let result;
    try {
      result = await reapOrphanDroplets(cloud, {
        tag: DROPSHIP_TAG,
        isKnown: spared,
        minAgeMs: 0,
        logger,
        onDestroyed: (d) => {
          const rec = ledger.byDoId(d.id) ?? this.recordUnknown(d);
          if (rec) this.settle(rec.id);
        },
      });
    } catch (err) {
      throw new Error(`could not list Dropship's droplets at DigitalOcean: ${(err as Error).message}`, { cause: err });
    }
    // Rows still "live" that no running job owns: their droplet was just destroyed above, or never existed.
    for (const rec of ledger.live()) {
      if (ownedNow(rec.jobId)) continue;
      const left = await cloud.listDropletsByTag(rec.tag);
      if (left.length === 0 && !ownedNow(rec.jobId)) this.settle(rec.id);
    }
    // After the droplets: a destroyed droplet's volumes are free to go a few seconds later.
    const volumes = this.deps.volumes ? await this.reapVolumes(this.deps.volumes, ownedNow) : null;
    const failures = [
      ...result.failed.map((f) => `droplet ${f.id} (${f.error})`),
      ...(volumes?.failed ?? []).map((f) => `volume ${f.id} (${f.error})`),
    ];
    if (failures.length > 0) throw new Error(`could not destroy ${failures.join(", ")}`);
    return volumes ? { destroyed: result.destroyed, volumesDeleted: volumes.deleted } : { destroyed: result.destroyed };
  }

  /**
   * Deletes every volume tagged `dropship` whose job is not running (or asking for one), settles the ledger and books
   * the cost — also of a volume the ledger has no id for (found by its name, or recorded against the job its tag names).
   */
  private async reapVolumes(
    vledger: VolumeLedger,
    ownedNow: (jobId: number | null) => boolean,
  ): Promise<{ deleted: string[]; failed: { id: string; error: string }[] }> {
    const { cloud, logger } = this.deps;
    let listed;
    try {
      listed = await cloud.listVolumesByTag(DROPSHIP_TAG);
    } catch (err) {
      throw new Error(`could not list Dropship's volumes at DigitalOcean: ${(err as Error).message}`, { cause: err });
    }
    const deleted: string[] = [];
    const failed: { id: string; error: string }[] = [];
    for (const v of listed) {
      const jobId = jobIdOfTags(v.tags);
      if (ownedNow(jobId)) continue;
      try {
        await cloud.deleteVolume(v.id);
      } catch (err) {
        failed.push({ id: v.id, error: (err as Error).message });
        logger.error({ volumeId: v.id, err: (err as Error).message }, "could not delete an orphan volume");
        continue;
      }
      deleted.push(v.id);
      logger.warn({ volumeId: v.id, name: v.name, tags: v.tags }, "deleted a volume no running job owns");
      const rec = vledger.byDoId(v.id) ?? vledger.byName(v.name, v.region);
      if (!rec) {
        logger.warn({ volumeId: v.id, tags: v.tags }, "deleted a volume no job of this bot recorded; its cost is booked to no job");
        continue;
      }
      if (rec.doId === null) vledger.markCreated(rec.id, v.id, Math.min(Date.now(), Math.max(rec.requestedAt, v.createdAt.getTime())));
      this.settleVolume(vledger, rec.id);
    }
    // Rows of ended jobs whose volume is not at DigitalOcean (any more): deleted before, or never created.
    for (const rec of vledger.live()) {
      if (ownedNow(rec.jobId)) continue;
      if (listed.some((v) => v.id === rec.doId || (v.name === rec.name && v.region === rec.region))) continue;
      if (rec.createdAt === null) vledger.markFailed(rec.id);
      else this.settleVolume(vledger, rec.id);
    }
    return { deleted, failed };
  }

  private settleVolume(vledger: VolumeLedger, recordId: number): void {
    vledger.markDeleted(recordId);
    const jobId = vledger.get(recordId)!.jobId;
    if (jobId !== null) this.bookRest(jobId);
  }

  /**
   * A destroyed droplet the ledger has no id for, recorded against the job its tag names so its cost is booked: as that
   * job's own when its create never answered, else as a duplicate. Undefined (and logged) when no job claims it.
   */
  private recordUnknown(d: TaggedDroplet): DropletRecord | undefined {
    const { ledger, logger } = this.deps;
    const jobId = jobIdOfTags(d.tags);
    const rows = jobId === null ? [] : ledger.forJob(jobId);
    const like = rows.find((r) => r.doId === null) ?? rows.at(-1);
    if (!like) {
      logger.warn({ dropletId: d.id, tags: d.tags }, "destroyed a droplet no job of this bot recorded; its cost is booked to no job");
      return undefined;
    }
    const now = (this.deps.now ?? Date.now)();
    // DigitalOcean's clock is not ours: its created_at is kept between the job's request and now.
    const createdAt = Math.min(now, Math.max(like.requestedAt, d.createdAt.getTime()));
    if (like.doId === null) {
      ledger.markCreated(like.id, d.id, createdAt);
      return ledger.get(like.id);
    }
    logger.warn({ dropletId: d.id, job: jobId }, "destroyed a duplicate droplet of a job (a create repeated after its answer was lost)");
    return ledger.recordFound(like, d.id, createdAt);
  }

  /** Runs reap() on a cron schedule (default every 5 minutes); errors are logged, never thrown. */
  start(schedule = "*/5 * * * *"): void {
    this.task = cron.schedule(schedule, () => {
      this.reap().catch((err: unknown) => this.deps.logger.error({ err }, "droplet reaper failed"));
    });
  }

  stop(): void {
    void this.task?.stop();
    this.task = null;
  }

  /**
   * Marks a droplet destroyed and, if its job has ended, books what the job has not paid for yet: all of it after a
   * restart or for a droplet found after the job ended, the rest when the job's own destroy failed and booked only the
   * cost until then. The job's bill is every droplet it had (a duplicate too).
   */
  private settle(recordId: number): void {
    const { ledger } = this.deps;
    ledger.markDestroyed(recordId);
    const rec = ledger.get(recordId)!;
    if (rec.jobId === null || rec.createdAt === null) return;
    this.bookRest(rec.jobId);
  }

  /** Books what an ended job has not paid for yet: its droplets' and volumes' full bill less what is booked. */
  private bookRest(jobId: number): void {
    const { ledger, store } = this.deps;
    const job = store.get(jobId);
    if (!job || !FINAL_STATES.has(job.state)) return;
    const full = jobBillUsd(ledger, this.deps.volumes, jobId);
    const booked = store.spendForJob(jobId).actual ?? 0;
    const rest = Math.round((full - booked) * 1e6) / 1e6;
    if (rest <= 0) return;
    const detail = booked > 0 ? "the rest of the job's droplets and volumes, removed late by the reaper" : "removed by the reaper after its job ended";
    store.recordSpend({ jobId, userId: job.ownerId, kind: "actual", usd: rest, detail });
  }
}

/** A job's whole bill so far: every droplet it had (a duplicate too) and every volume, by the second. */
function jobBillUsd(ledger: DropletLedger, volumes: VolumeLedger | undefined, jobId: number): number {
  const droplets = ledger
    .forJob(jobId)
    .filter((r) => r.createdAt !== null)
    .reduce((n, r) => n + billDropletSeconds(ledger.lifetimeSeconds(r), r.priceHourly), 0);
  const made = (volumes?.forJob(jobId) ?? []).filter((r: VolumeRecord) => r.createdAt !== null);
  return droplets + made.reduce((n, r) => n + billVolumeSeconds(volumes!.lifetimeSeconds(r), r.priceHourly), 0);
}
