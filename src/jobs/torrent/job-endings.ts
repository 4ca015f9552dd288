// How a torrent job ends. Until its files are verified a failure or Cancel destroys the droplet and removes partial
// files (failed/cancelled); once they are verified nothing deletes them and the job ends done, with a warning when
// something after the transfer went wrong. Both book the droplet's cost.
import fs from "node:fs";
import type { Logger } from "../../shared/logger.js";
import type { DropletLifecycle } from "./droplet-lifecycle.js";
import type { DeliveredFile } from "./pull-downloaded-files.js";
import { JobCancelled, errorMessage, type JobCleanup, type TorrentJobData, type TorrentJobDeps, type TorrentJobEvent, type TorrentJobInput } from "./torrent-job-model.js";
import type { DropletSession } from "./torrent-ports.js";
import type { TorrentState } from "./torrent-states.js";

/** A job as the runner holds it while it runs. */
export interface RunningJob {
  abort: AbortController;
  droplet: DropletLifecycle;
  startedAt: number;
  /** The open SSH session, closed however the job ends. */
  session: DropletSession | null;
  /** Picked up after a restart: the chat is told so on every update. */
  resumed: boolean;
}

/** What the job has once its files are verified on the bot's disk. */
export interface Delivered {
  files: DeliveredFile[];
  downloadSeconds: number;
  /** Said under the links (a restart the job lived through). */
  note?: string;
}

/** What the endings need from the runner. */
export interface EndingContext {
  deps: Pick<TorrentJobDeps, "store" | "logger">;
  now: () => number;
  emit(jobId: number, state: TorrentState, entry: RunningJob, extra: Partial<TorrentJobEvent>): void;
  notify(e: TorrentJobEvent): void;
}

/**
 * The files are verified on disk: from here nothing deletes them and the job ends done. A session that will not
 * close is only logged; a droplet that cannot be destroyed, or a Cancel or shutdown arriving now, becomes a warning
 * with the links, and the droplet is left to the reaper, which retries and books the rest of its cost.
 */
export async function finishDelivered(ctx: EndingContext, jobId: number, entry: RunningJob, delivered: Delivered, log: Logger): Promise<void> {
  const { store } = ctx.deps;
  const ownerId = store.get(jobId)!.ownerId;
  await entry.session?.close().catch((err: unknown) => log.warn({ err }, "could not close the SSH session after the transfer"));
  const warnings: string[] = delivered.note ? [delivered.note] : [];
  try {
    await entry.droplet.destroy();
  } catch (err) {
    log.error({ err }, "could not destroy the droplet after the transfer; the reaper will retry");
    warnings.push(`the droplet could not be destroyed yet (${errorMessage(err)}); it will be retried and its cost booked`);
  }
  // A Cancel or shutdown that came while the session closed or the droplet went changes nothing but is answered.
  if (entry.abort.signal.aborted) {
    const reason: unknown = entry.abort.signal.reason;
    const why = reason instanceof JobCancelled ? "Cancel arrived" : "the bot was stopping";
    warnings.unshift(`${why} after your files were saved and verified: they are kept`);
  } else if (ctx.deps.store.get<TorrentJobInput, TorrentJobData>(jobId)!.data.cancelRequested) {
    warnings.unshift("Cancel arrived after your files were saved and verified: they are kept");
  }
  const actualUsd = entry.droplet.costUsd();
  const durationSeconds = (ctx.now() - entry.startedAt) / 1000;
  recordDropletSpend(ctx, jobId, ownerId, actualUsd, entry.droplet);
  const state = store.get(jobId)!.state;
  if (entry.droplet.destroyed && (state === "transferred" || state === "seeding")) {
    store.transition(jobId, "droplet_destroyed");
    ctx.emit(jobId, "droplet_destroyed", entry, {});
  }
  const { files, downloadSeconds } = delivered;
  const totalBytes = files.reduce((n, f) => n + f.size, 0);
  const warning = warnings.length > 0 ? warnings.join("; ") : undefined;
  store.transition(jobId, "done", { data: { actualUsd, durationSeconds, totalBytes, downloadSeconds, warning } });
  const attached = store.get<TorrentJobInput, TorrentJobData>(jobId)!.data.volume;
  const volume = attached ? { sizeGib: attached.sizeGib, usd: entry.droplet.volumeCostUsd() } : undefined;
  // What seeding reached (seed-after-download.ts), and what it added: the droplet's bill after the files were home.
  const { seeded, costAtTransferUsd } = store.get<TorrentJobInput, TorrentJobData>(jobId)!.data;
  const seeding = seeded ? { ...seeded, usd: Math.max(0, actualUsd - (costAtTransferUsd ?? actualUsd)) } : undefined;
  ctx.notify({
    jobId,
    state: "done",
    costSoFarUsd: actualUsd,
    elapsedSeconds: durationSeconds,
    result: { files, totalBytes, actualUsd, durationSeconds, overheadSeconds: durationSeconds - downloadSeconds, warning, volume, seeding },
  });
  log.info({ actualUsd, durationSeconds, files: files.length, warning }, "torrent job done");
}

export async function finishBadly(ctx: EndingContext, jobId: number, entry: RunningJob, jobDir: string, err: unknown, log: Logger): Promise<void> {
  const { store } = ctx.deps;
  const cancelled = entry.abort.signal.aborted && entry.abort.signal.reason instanceof JobCancelled;
  const message = cancelled ? "cancelled" : errorMessage(err);
  if (!cancelled) log.warn({ err }, "torrent job failed");
  // Recorded before the clean-up: a restart during it finishes this ending instead of resuming the job.
  if (!cancelled) store.patchData(jobId, { ending: message });
  let cleanupError: string | null = null;
  try {
    await entry.droplet.destroy();
  } catch (e) {
    cleanupError = errorMessage(e);
    log.error({ err: e }, "could not destroy the droplet; the reaper will retry");
  }
  fs.rmSync(jobDir, { recursive: true, force: true });
  const actualUsd = entry.droplet.costUsd();
  const job = store.get(jobId)!;
  if (entry.droplet.created) {
    recordDropletSpend(ctx, jobId, job.ownerId, actualUsd, entry.droplet);
  }
  const cleanup: JobCleanup = { dropletCreated: entry.droplet.created, dropletDestroyed: entry.droplet.destroyed, ...(cleanupError ? { destroyError: cleanupError } : {}) };
  const leftover = cleanupError ? `the droplet could not be destroyed yet: ${cleanupError}; it will be retried` : null;
  // A cancel the owner's settings made (the picker's default) says why; a pressed Cancel needs no words.
  const why = cancelled ? (entry.abort.signal.reason as JobCancelled).why : null;
  // A cancel is no error, but a droplet it could not destroy is: it is recorded (and shown by /jobs) like a failure's.
  const error = cancelled ? (leftover ? `cancelled, but ${leftover}` : undefined) : leftover ? `${message} (and ${leftover})` : message;
  const final = cancelled ? "cancelled" : "failed";
  store.transition(jobId, final, { error, data: { actualUsd, cleanup, ...(why ? { cancelReason: why } : {}) } });
  ctx.notify({
    jobId,
    state: final,
    costSoFarUsd: actualUsd,
    elapsedSeconds: (ctx.now() - entry.startedAt) / 1000,
    error: cancelled ? undefined : message,
    cleanup,
    ...(why ? { cancelReason: why } : {}),
  });
}

/**
 * What the droplet has cost so far, in the spend ledger the budgets read (the reaper books the rest of a late destroy).
 * Only what is not booked yet: an ending a restart interrupted after its booking (at droplet_destroyed) runs again.
 */
function recordDropletSpend(ctx: EndingContext, jobId: number, ownerId: number, usd: number, droplet: DropletLifecycle): void {
  const booked = ctx.deps.store.spendForJob(jobId).actual ?? 0;
  const rest = Math.round((usd - booked) * 1e6) / 1e6;
  if (rest <= 0) return;
  const detail = droplet.describeCost();
  ctx.deps.store.recordSpend({ jobId, userId: ownerId, kind: "actual", usd: rest, detail });
}
