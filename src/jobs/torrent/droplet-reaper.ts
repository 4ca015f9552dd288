// Never a droplet left running: at start and on a schedule, destroy every Dropship droplet no running job owns.
import cron, { type ScheduledTask } from "node-cron";
import type { Logger } from "../../shared/logger.js";
import { DROPSHIP_TAG, jobTag, type DropletLedger } from "./droplet-ledger.js";
import type { JobStore } from "../job-store.js";
import { billDropletSeconds } from "./pricing.js";
import type { DropletFleet } from "./torrent-ports.js";
import { reapOrphanDroplets } from "./orphan-droplets.js";

export interface ReaperDeps {
  cloud: DropletFleet;
  ledger: DropletLedger;
  store: JobStore;
  /** Jobs this process is running right now; their droplets are left alone. */
  runningJobIds: () => number[];
  logger: Logger;
}

export interface ReapReport {
  destroyed: number[];
}

/** A job a restart interrupted, and what its owner should be told. */
export interface InterruptedJob {
  jobId: number;
  chatId: number;
  message: string;
}

export class DropletReaper {
  private task: ScheduledTask | null = null;

  constructor(private readonly deps: ReaperDeps) {}

  /**
   * Jobs left unfinished by an earlier process cannot be resumed safely mid-transfer,
   * so they are failed with a plain reason and their droplets destroyed.
   */
  async recoverAfterRestart(): Promise<ReapReport & { interrupted: InterruptedJob[] }> {
    const running = new Set(this.deps.runningJobIds());
    const interrupted: number[] = [];
    for (const job of this.deps.store.listUnfinished("torrent")) {
      if (running.has(job.id) || job.state === "estimated") continue;
      const message = "interrupted: the bot restarted while this job ran; its droplet was destroyed, send the magnet again";
      this.deps.store.transition(job.id, "failed", { error: message });
      interrupted.push(job.id);
    }
    const report = await this.reap();
    for (const id of interrupted) this.recordCost(id);
    return {
      destroyed: report.destroyed,
      interrupted: interrupted.map((id) => {
        const job = this.deps.store.get(id)!;
        return { jobId: id, chatId: job.chatId, message: job.error ?? "interrupted" };
      }),
    };
  }

  /** Destroys every droplet tagged `dropship` that no running job owns, and settles the ledger. */
  async reap(): Promise<ReapReport> {
    const { cloud, ledger, logger } = this.deps;
    const runningTags = new Set(this.deps.runningJobIds().map(jobTag));
    const owned = (jobId: number | null) => jobId !== null && runningTags.has(jobTag(jobId));
    // Ownership is by the job's tag, which the droplet carries from its create call on: no age guesswork.
    const result = await reapOrphanDroplets(cloud, {
      tag: DROPSHIP_TAG,
      isKnown: (d) => d.tags.some((t) => runningTags.has(t)),
      minAgeMs: 0,
      logger,
    });
    for (const id of result.destroyed) {
      const rec = ledger.byDoId(id);
      if (rec) ledger.markDestroyed(rec.id);
    }
    // Rows still "live" that no running job owns: their droplet was just destroyed above, or never existed.
    for (const rec of ledger.live()) {
      if (owned(rec.jobId)) continue;
      const left = await cloud.listDropletsByTag(rec.tag);
      if (left.length === 0) ledger.markDestroyed(rec.id);
    }
    if (result.failed.length > 0) {
      throw new Error(`could not destroy droplets ${result.failed.map((f) => `${f.id} (${f.error})`).join(", ")}; will retry`);
    }
    return { destroyed: result.destroyed };
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
