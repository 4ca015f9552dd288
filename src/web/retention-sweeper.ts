// Deletes delivered downloads after the retention period: hourly on node-cron, or on demand with sweep().
import { promises as fs } from "node:fs";
import path from "node:path";
import cron, { type ScheduledTask } from "node-cron";
import type { Logger } from "../shared/logger.js";
import { DELIVERED_MARKER } from "./job-files.js";
import { JOB_ID_PATTERN } from "./link-signer.js";

export interface RetentionSweeperOptions {
  filesRoot: string;
  retentionMs: number;
  logger: Logger;
  now?: () => number;
  /** Cron expression for start(); hourly at minute 7 by default (off the hour, when other jobs pile up). */
  schedule?: string;
}

export interface SweepResult {
  removed: string[];
  kept: string[];
}

export interface RetentionSweeper {
  sweep(): Promise<SweepResult>;
  start(): void;
  stop(): Promise<void>;
  /** When the scheduled sweep runs next; null when not started. */
  nextRun(): Date | null;
}

/**
 * Marks a job's downloads as delivered, starting its retention clock. The marker lives inside the job
 * directory (never served or listed); its mtime is the moment of delivery.
 */
export async function markDelivered(filesRoot: string, jobId: string | number, at: Date = new Date()): Promise<void> {
  const id = String(jobId);
  if (!JOB_ID_PATTERN.test(id)) throw new Error(`cannot mark job ${JSON.stringify(id)} delivered: not a valid job id`);
  const marker = path.join(filesRoot, id, DELIVERED_MARKER);
  await fs.mkdir(path.dirname(marker), { recursive: true });
  await fs.writeFile(marker, `${at.toISOString()}\n`);
  await fs.utimes(marker, at, at);
}

export function createRetentionSweeper(opts: RetentionSweeperOptions): RetentionSweeper {
  const now = opts.now ?? Date.now;
  let task: ScheduledTask | null = null;
  const sweep = async (): Promise<SweepResult> => {
    const result: SweepResult = { removed: [], kept: [] };
    const entries = await fs.readdir(opts.filesRoot, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return [];
      throw err;
    });
    for (const entry of entries) {
      // Only job directories: anything else someone put under filesRoot is left alone.
      if (!entry.isDirectory() || !JOB_ID_PATTERN.test(entry.name)) continue;
      const dir = path.join(opts.filesRoot, entry.name);
      const since = await retentionStart(dir);
      if (since !== null && now() - since >= opts.retentionMs) {
        await fs.rm(dir, { recursive: true, force: true });
        result.removed.push(entry.name);
      } else result.kept.push(entry.name);
    }
    if (result.removed.length > 0) opts.logger.info({ removed: result.removed, kept: result.kept.length }, "expired downloads removed");
    return result;
  };
  return {
    sweep,
    start() {
      if (task !== null) return;
      task = cron.schedule(
        opts.schedule ?? "7 * * * *",
        async () => {
          await sweep().catch((err: unknown) => opts.logger.error({ err }, "download retention sweep failed"));
        },
        { name: "download-retention", noOverlap: true },
      );
    },
    nextRun: () => task?.getNextRun() ?? null,
    async stop() {
      const t = task;
      task = null;
      if (t !== null) await t.destroy();
    },
  };
}

/** The delivery marker's mtime; without one (an abandoned or crashed job), the directory's own mtime. */
async function retentionStart(dir: string): Promise<number | null> {
  const marker = await fs.stat(path.join(dir, DELIVERED_MARKER)).catch(() => null);
  if (marker !== null) return marker.mtimeMs;
  const stat = await fs.stat(dir).catch(() => null);
  return stat === null ? null : stat.mtimeMs;
}
