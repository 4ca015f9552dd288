// The torrent job: droplet → provision → aria2 → SFTP pull → destroy, each step recorded before its side effect.
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "../../shared/logger.js";
import type { DropletLedger } from "./droplet-ledger.js";
import { DropletLifecycle, type DropletSettings } from "./droplet-lifecycle.js";
import { pullDownloadedFiles, type DeliveredFile, type TransferProgress } from "./pull-downloaded-files.js";
import type { CancellableKind } from "../cancel-job.js";
import type { JobStore } from "../job-store.js";
import type {
  CloudInitPort,
  DropletPort,
  DropletSession,
  ProvisionPort,
  SshPort,
  TorrentClientPort,
  TorrentProgress,
} from "./torrent-ports.js";
import type { TorrentState } from "./torrent-states.js";

export type { DeliveredFile } from "./pull-downloaded-files.js";

export interface TorrentJobInput {
  infoHash: string;
  name: string | null;
  sizeBytes: number | null;
  magnetUri: string | null;
  /** A .torrent document, base64, when the user sent one. */
  torrentFile: string | null;
}

/** What the chat is told as a job moves; the bot renders it, the domain knows nothing of Telegram. */
export interface TorrentJobEvent {
  jobId: number;
  state: TorrentState;
  costSoFarUsd: number;
  elapsedSeconds: number;
  progress?: TorrentProgress;
  transfer?: TransferProgress;
  /** What the current step is doing, in words (a provisioning task, a virtualenv build step). */
  detail?: string;
  result?: { files: DeliveredFile[]; totalBytes: number; actualUsd: number; durationSeconds: number; overheadSeconds: number };
  error?: string;
}

export interface TorrentJobSettings extends DropletSettings {
  downloadsDir: string;
  perJobBudgetUsd: number;
}

export interface TorrentJobDeps {
  store: JobStore;
  ledger: DropletLedger;
  cloud: DropletPort;
  cloudInit: CloudInitPort;
  ssh: SshPort;
  provisioner: ProvisionPort;
  torrents: TorrentClientPort;
  settings: TorrentJobSettings;
  logger: Logger;
  onEvent: (e: TorrentJobEvent) => void;
  now?: () => number;
}

/** Thrown when the user cancels; carries no blame. */
export class JobCancelled extends Error {
  constructor() {
    super("cancelled by the user");
    this.name = "JobCancelled";
  }
}

interface Running {
  abort: AbortController;
  done: Promise<void>;
  droplet: DropletLifecycle;
  startedAt: number;
}

export class TorrentJobRunner {
  private readonly running = new Map<number, Running>();
  private readonly now: () => number;

  constructor(private readonly deps: TorrentJobDeps) {
    this.now = deps.now ?? Date.now;
  }

  isRunning(jobId: number): boolean {
    return this.running.has(jobId);
  }

  runningJobIds(): number[] {
    return [...this.running.keys()];
  }

  /** Starts an approved job in the background; progress and the outcome arrive through onEvent. */
  start(jobId: number): void {
    if (this.running.has(jobId)) return;
    const { cloud, cloudInit, ledger, settings } = this.deps;
    const droplet = new DropletLifecycle({ cloud, cloudInit, ledger, settings });
    const entry: Running = { abort: new AbortController(), done: Promise.resolve(), droplet, startedAt: this.now() };
    this.running.set(jobId, entry);
    // run() reports its own failures; anything escaping it is a bug, logged rather than crashing the bot.
    entry.done = this.run(jobId, entry)
      .catch((err: unknown) => this.deps.logger.error({ err, job: jobId }, "torrent job crashed"))
      .finally(() => this.running.delete(jobId));
  }

  /** Cancels a running job; resolves once its droplet is destroyed and partial files removed. */
  async cancel(jobId: number): Promise<boolean> {
    const entry = this.running.get(jobId);
    if (!entry) return false;
    entry.abort.abort(new JobCancelled());
    await entry.done;
    return true;
  }

  /**
   * For shutdown: a job cannot outlive the process (its SSH session and aria2 tunnel die with it), so every
   * running job is stopped now, its droplet destroyed and its owner told why; resolves when all are settled.
   */
  async stopAll(): Promise<void> {
    const reason = new Error("the bot was shut down while this job ran; its droplet was destroyed, send the link again");
    const entries = [...this.running.values()];
    for (const e of entries) e.abort.abort(reason);
    await Promise.all(entries.map((e) => e.done));
  }

  private async run(jobId: number, entry: Running): Promise<void> {
    const { store, logger, settings } = this.deps;
    const log = logger.child({ job: jobId });
    const signal = entry.abort.signal;
    const job = store.get<TorrentJobInput, Record<string, unknown>>(jobId)!;
    const jobDir = path.join(settings.downloadsDir, String(jobId));
    let session: DropletSession | null = null;
    try {
      const { ip, hostKeyPublic } = await entry.droplet.create(jobId, signal, {
        onRequested: (priceHourly) => this.step(jobId, "droplet_requested", entry, { data: { size: settings.size, region: settings.region, priceHourly } }),
        onCreated: (dropletId) => store.patchData(jobId, { dropletId }),
      });
      this.step(jobId, "droplet_active", entry, { data: { ip } });
      session = await this.deps.ssh.connect(ip, hostKeyPublic, { timeoutMs: settings.bootTimeoutMs, signal });
      this.step(jobId, "ssh_ready", entry);
      const remoteDir = `/root/dropship/job-${jobId}`;
      await this.deps.provisioner.provision(
        { ip, hostKeyPublic, downloadDir: remoteDir },
        { signal, onTask: (detail) => this.emit(jobId, "ssh_ready", entry, { detail }) },
      );
      this.step(jobId, "provisioned", entry);
      this.step(jobId, "downloading", entry);
      const source = job.input.torrentFile
        ? { torrentFile: Buffer.from(job.input.torrentFile, "base64") }
        : { magnetUri: job.input.magnetUri! };
      let lastProgress: TorrentProgress | undefined;
      const downloaded = await this.deps.torrents.download(session, {
        dir: remoteDir,
        source,
        signal,
        onProgress: (p) => {
          lastProgress = p;
          this.checkBudget(entry);
          this.emit(jobId, "downloading", entry, { progress: p });
        },
      });
      this.step(jobId, "downloaded", entry, { data: { name: downloaded.name }, progress: lastProgress });
      this.step(jobId, "transferring", entry);
      const files = await pullDownloadedFiles(
        session,
        { remoteDir, remoteFiles: downloaded.files, localDir: jobDir },
        { signal, now: this.now, log, onProgress: (transfer) => this.emit(jobId, "transferring", entry, { transfer }) },
      );
      this.step(jobId, "transferred", entry, { data: { files } });
      await session.close();
      session = null;
      await this.finishWell(jobId, job.ownerId, entry, files, downloaded.transferSeconds, log);
    } catch (err) {
      await session?.close().catch(() => undefined);
      await this.finishBadly(jobId, entry, jobDir, err, log);
    }
  }

  /** Destroys the droplet, records what it cost and tells the chat the files are there. */
  private async finishWell(jobId: number, ownerId: number, entry: Running, files: DeliveredFile[], downloadSeconds: number, log: Logger): Promise<void> {
    const { store } = this.deps;
    await entry.droplet.destroy();
    const actualUsd = entry.droplet.costUsd();
    const durationSeconds = (this.now() - entry.startedAt) / 1000;
    this.recordDropletSpend(jobId, ownerId, actualUsd, entry.droplet);
    this.step(jobId, "droplet_destroyed", entry);
    const totalBytes = files.reduce((n, f) => n + f.size, 0);
    const overheadSeconds = durationSeconds - downloadSeconds;
    store.transition(jobId, "done", { data: { actualUsd, durationSeconds, totalBytes, downloadSeconds } });
    this.notify({
      jobId,
      state: "done",
      costSoFarUsd: actualUsd,
      elapsedSeconds: durationSeconds,
      result: { files, totalBytes, actualUsd, durationSeconds, overheadSeconds },
    });
    log.info({ actualUsd, durationSeconds, files: files.length }, "torrent job done");
  }

  private async finishBadly(jobId: number, entry: Running, jobDir: string, err: unknown, log: Logger): Promise<void> {
    const { store } = this.deps;
    const cancelled = entry.abort.signal.aborted && entry.abort.signal.reason instanceof JobCancelled;
    const message = cancelled ? "cancelled" : errorMessage(err);
    if (!cancelled) log.warn({ err }, "torrent job failed");
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
      this.recordDropletSpend(jobId, job.ownerId, actualUsd, entry.droplet);
    }
    const error = cleanupError ? `${message} (and the droplet could not be destroyed yet: ${cleanupError}; it will be retried)` : message;
    const final = cancelled ? "cancelled" : "failed";
    store.transition(jobId, final, { error: cancelled ? undefined : error, data: { actualUsd } });
    this.notify({ jobId, state: final, costSoFarUsd: actualUsd, elapsedSeconds: (this.now() - entry.startedAt) / 1000, error });
  }

  /** What the droplet really cost, in the spend ledger the monthly budget reads. */
  private recordDropletSpend(jobId: number, ownerId: number, usd: number, droplet: DropletLifecycle): void {
    const detail = `droplet ${droplet.lifetimeSeconds().toFixed(0)} s`;
    this.deps.store.recordSpend({ jobId, userId: ownerId, kind: "actual", usd, detail });
  }

  private checkBudget(entry: Running): void {
    const cost = entry.droplet.costUsd();
    if (cost > this.deps.settings.perJobBudgetUsd) {
      entry.abort.abort(new Error(`stopped: the job reached its budget of $${this.deps.settings.perJobBudgetUsd.toFixed(2)} (BUDGET_PER_JOB_USD)`));
    }
  }

  private step(
    jobId: number,
    state: TorrentState,
    entry: Running,
    opts: { data?: Record<string, unknown>; progress?: TorrentProgress } = {},
  ): void {
    entry.abort.signal.throwIfAborted();
    this.deps.store.transition(jobId, state, { data: opts.data });
    this.emit(jobId, state, entry, { progress: opts.progress });
  }

  private emit(jobId: number, state: TorrentState, entry: Running, extra: Partial<TorrentJobEvent>): void {
    this.notify({
      jobId,
      state,
      costSoFarUsd: entry.droplet.costUsd(),
      elapsedSeconds: (this.now() - entry.startedAt) / 1000,
      ...extra,
    });
  }

  /** Tells the chat; a rendering or delivery bug is logged and never fails the job itself. */
  private notify(e: TorrentJobEvent): void {
    try {
      this.deps.onEvent(e);
    } catch (err) {
      this.deps.logger.error({ err, job: e.jobId }, "could not report the job's progress");
    }
  }
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** How the generic cancel (jobs/cancel-job.ts) stops torrent jobs: a card not yet started, or a running job. */
export function torrentCancellation(runner: Pick<TorrentJobRunner, "isRunning" | "cancel">, jobs: Pick<JobStore, "spendForJob">): CancellableKind {
  return {
    waitingStates: ["estimated"],
    isRunning: (jobId) => runner.isRunning(jobId),
    stop: async (jobId) => void (await runner.cancel(jobId)),
    describeStopped: (jobId) => `its droplet is destroyed. It cost $${(jobs.spendForJob(jobId).actual ?? 0).toFixed(4)}.`,
  };
}
