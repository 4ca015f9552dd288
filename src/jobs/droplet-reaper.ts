// Never a droplet left running: at start and on a schedule, destroy every Dropship droplet no running job owns.
import cron, { type ScheduledTask } from "node-cron";
import type { Logger } from "../logger.js";
import { DROPSHIP_TAG, type DropletLedger } from "./droplet-ledger.js";
import type { JobStore } from "./job-store.js";
import type { DropletPort } from "./torrent-ports.js";
import { billDropletSeconds } from "../cloud/pricing.js";

export interface ReaperDeps {
  cloud: DropletPort;
  ledger: DropletLedger;
  store: JobStore;
  /** Jobs this process is running right now; their droplets are left alone. */
  runningJobIds: () => number[];
  logger: Logger;
  /** Told about jobs a restart interrupted, so their owners hear about it. */
  onInterrupted?: (jobId: number, message: string) => void;
}

export interface ReapReport {
  destroyed: number[];
  interruptedJobs: number[];
}

export class DropletReaper {
  private task: ScheduledTask | null = null;

  constructor(private readonly deps: ReaperDeps) {}

  /**
   * Jobs left unfinished by an earlier process cannot be resumed safely mid-transfer,
   * so they are failed with a plain reason and their droplets destroyed.
   */
  async recoverAfterRestart(): Promise<ReapReport> {
    const running = new Set(this.deps.runningJobIds());
    const interrupted: number[] = [];
    for (const job of this.deps.store.listUnfinished("torrent")) {
      if (running.has(job.id) || job.state === "estimated") continue;
      const message = "interrupted: the bot restarted while this job ran; its droplet was destroyed, send the magnet again";
      this.deps.store.transition(job.id, "failed", { error: message });
      interrupted.push(job.id);
    }
    const report = await this.reap();
    for (const id of interrupted) {
      this.recordCost(id);
      this.deps.onInterrupted?.(id, this.deps.store.get(id)!.error ?? "interrupted");
    }
    return { destroyed: report.destroyed, interruptedJobs: interrupted };
  }

  /** Destroys every droplet tagged `dropship` (or recorded as live) that no running job owns. */
  async reap(): Promise<ReapReport> {
    const { cloud, ledger, logger } = this.deps;
    const running = new Set(this.deps.runningJobIds());
    const destroyed: number[] = [];
    const owned = (jobId: number | null) => jobId !== null && running.has(jobId);
    for (const d of await cloud.listByTag(DROPSHIP_TAG)) {
      const rec = ledger.byDoId(d.id);
      if (rec && owned(rec.jobId)) continue;
      // A droplet created in the last moments of a create call may not be in the ledger yet.
      if (!rec && running.size > 0 && Date.now() - Date.parse(d.createdAt) < 60_000) continue;
      logger.warn({ droplet: d.id, name: d.name }, "destroying an orphaned droplet");
      if (rec) ledger.markDestroying(rec.id);
      await cloud.destroy(d.id);
      if (rec) ledger.markDestroyed(rec.id);
      destroyed.push(d.id);
    }
    // Ledger rows still "live" whose droplet no longer exists (destroyed elsewhere, or never created).
    for (const rec of ledger.live()) {
      if (owned(rec.jobId)) continue;
      const stillThere = (await cloud.listByTag(rec.tag)).map((d) => d.id);
      for (const id of stillThere) {
        await cloud.destroy(id);
        destroyed.push(id);
      }
      ledger.markDestroyed(rec.id);
    }
    return { destroyed, interruptedJobs: [] };
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

  private recordCost(jobId: number): void {
    const job = this.deps.store.get(jobId)!;
    for (const rec of this.deps.ledger.forJob(jobId)) {
      if (rec.createdAt === null) continue;
      const usd = billDropletSeconds(this.deps.ledger.lifetimeSeconds(this.deps.ledger.get(rec.id)!), rec.priceHourly);
      this.deps.store.recordSpend({ jobId, userId: job.ownerId, kind: "actual", usd, detail: "droplet destroyed after a restart" });
    }
  }
}
