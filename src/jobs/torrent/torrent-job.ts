// The torrent job: droplet → provision → aria2 → SFTP pull → destroy, each step recorded before its side effect.
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "../../shared/logger.js";
import { billDropletSeconds } from "./pricing.js";
import { sanitizeTorrentPath } from "./sanitize-path.js";
import { DROPSHIP_TAG, jobTag, type DropletLedger, type DropletRecord } from "./droplet-ledger.js";
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

export interface TorrentJobInput {
  infoHash: string;
  name: string | null;
  sizeBytes: number | null;
  magnetUri: string | null;
  /** A .torrent document, base64, when the user sent one. */
  torrentFile: string | null;
}

export interface DeliveredFile {
  /** Safe path relative to the job's download directory. */
  path: string;
  size: number;
  sha256: string;
  /** Times the pull resumed after a dropped connection. */
  resumes: number;
}

/** What the chat is told as a job moves; the bot renders it, the domain knows nothing of Telegram. */
export interface TorrentJobEvent {
  jobId: number;
  state: TorrentState;
  costSoFarUsd: number;
  elapsedSeconds: number;
  progress?: TorrentProgress;
  transfer?: { doneBytes: number; totalBytes: number; bytesPerSecond: number };
  /** What the current step is doing, in words (a provisioning task, a virtualenv build step). */
  detail?: string;
  result?: { files: DeliveredFile[]; totalBytes: number; actualUsd: number; durationSeconds: number; overheadSeconds: number };
  error?: string;
}

export interface TorrentJobSettings {
  region: string;
  size: string;
  image: string;
  bootTimeoutMs: number;
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
  droplet: DropletRecord | null;
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
    const entry: Running = { abort: new AbortController(), done: Promise.resolve(), droplet: null, startedAt: this.now() };
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
    const { store, logger } = this.deps;
    const log = logger.child({ job: jobId });
    const signal = entry.abort.signal;
    const job = store.get<TorrentJobInput, Record<string, unknown>>(jobId)!;
    const jobDir = path.join(this.deps.settings.downloadsDir, String(jobId));
    let session: DropletSession | null = null;
    try {
      const priceHourly = await this.deps.cloud.priceHourly(this.deps.settings.size);
      const { droplet, hostKeyPublic } = await this.createDroplet(jobId, priceHourly, signal, entry);
      this.step(jobId, "droplet_active", entry, { data: { ip: droplet.ip } });
      session = await this.deps.ssh.connect(droplet.ip!, hostKeyPublic, { timeoutMs: this.deps.settings.bootTimeoutMs, signal });
      this.step(jobId, "ssh_ready", entry);
      const remoteDir = `/root/dropship/job-${jobId}`;
      await this.deps.provisioner.provision(
        { ip: droplet.ip!, hostKeyPublic, downloadDir: remoteDir },
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
      const files = await this.transfer(jobId, session, remoteDir, downloaded.files, jobDir, signal, entry);
      this.step(jobId, "transferred", entry, { data: { files } });
      await session.close();
      session = null;
      await this.destroyDroplet(entry);
      const actualUsd = this.actualCost(entry);
      const durationSeconds = (this.now() - entry.startedAt) / 1000;
      store.recordSpend({ jobId, userId: job.ownerId, kind: "actual", usd: actualUsd, detail: `droplet ${this.lifetime(entry).toFixed(0)} s` });
      this.step(jobId, "droplet_destroyed", entry);
      const totalBytes = files.reduce((n, f) => n + f.size, 0);
      const overheadSeconds = durationSeconds - downloaded.transferSeconds;
      store.transition(jobId, "done", { data: { actualUsd, durationSeconds, totalBytes, downloadSeconds: downloaded.transferSeconds } });
      this.notify({
        jobId,
        state: "done",
        costSoFarUsd: actualUsd,
        elapsedSeconds: durationSeconds,
        result: { files, totalBytes, actualUsd, durationSeconds, overheadSeconds },
      });
      log.info({ actualUsd, durationSeconds, files: files.length }, "torrent job done");
    } catch (err) {
      await session?.close().catch(() => undefined);
      await this.finishBadly(jobId, entry, jobDir, err, log);
    }
  }

  private async createDroplet(
    jobId: number,
    priceHourly: number,
    signal: AbortSignal,
    entry: Running,
  ): Promise<{ droplet: DropletRecord; hostKeyPublic: string }> {
    const { cloud, cloudInit, ledger, settings } = this.deps;
    const hostKey = cloudInit.generateHostKey();
    const sshKeyId = await cloud.ensureSshKey();
    signal.throwIfAborted();
    const name = `dropship-job-${jobId}`;
    // Intent first: if the process dies during the create call, the reaper finds the droplet by its job tag.
    const record = ledger.recordIntent({ jobId, name, region: settings.region, size: settings.size, priceHourly, hostKeyPublic: hostKey.publicKey });
    entry.droplet = record;
    this.step(jobId, "droplet_requested", entry, { data: { size: settings.size, region: settings.region, priceHourly } });
    const { id: doId } = await cloud.create({
      name,
      region: settings.region,
      size: settings.size,
      image: settings.image,
      tags: [DROPSHIP_TAG, jobTag(jobId)],
      sshKeyIds: [sshKeyId],
      userData: cloudInit.userData(hostKey),
    });
    ledger.markCreated(record.id, doId);
    entry.droplet = ledger.get(record.id)!;
    this.store().patchData(jobId, { dropletId: doId });
    const { ip } = await cloud.waitUntilActive(doId, { timeoutMs: settings.bootTimeoutMs, signal });
    ledger.markActive(record.id, ip);
    entry.droplet = ledger.get(record.id)!;
    return { droplet: entry.droplet, hostKeyPublic: hostKey.publicKey };
  }

  private async transfer(
    jobId: number,
    session: DropletSession,
    remoteDir: string,
    remoteFiles: { path: string; size: number }[],
    jobDir: string,
    signal: AbortSignal,
    entry: Running,
  ): Promise<DeliveredFile[]> {
    this.step(jobId, "transferring", entry);
    const totalBytes = remoteFiles.reduce((n, f) => n + f.size, 0);
    let doneBytes = 0;
    const startedAt = this.now();
    const speed = (bytes: number) => bytes / Math.max(0.001, (this.now() - startedAt) / 1000);
    const delivered: DeliveredFile[] = [];
    const taken = new Set<string>();
    for (const file of remoteFiles) {
      const rel = path.posix.relative(remoteDir, file.path);
      if (rel.startsWith("..") || path.posix.isAbsolute(rel)) throw new Error(`aria2 wrote ${file.path} outside the job's directory`);
      const safe = uniquePath(sanitizeTorrentPath(rel), taken);
      const local = path.join(jobDir, ...safe.split("/"));
      fs.mkdirSync(path.dirname(local), { recursive: true });
      const base = doneBytes;
      const got = await session.download(file.path, local, {
        signal,
        onProgress: (bytes) =>
          this.emit(jobId, "transferring", entry, { transfer: { doneBytes: base + bytes, totalBytes, bytesPerSecond: speed(base + bytes) } }),
      });
      doneBytes += got.size;
      delivered.push({ path: safe, size: got.size, sha256: got.sha256, resumes: got.resumes });
      if (got.resumes > 0) this.deps.logger.info({ job: jobId, file: safe, resumes: got.resumes }, "transfer resumed after dropped connections");
    }
    return delivered;
  }

  private async finishBadly(jobId: number, entry: Running, jobDir: string, err: unknown, log: Logger): Promise<void> {
    const cancelled = entry.abort.signal.aborted && entry.abort.signal.reason instanceof JobCancelled;
    const message = cancelled ? "cancelled" : errorMessage(err);
    if (!cancelled) log.warn({ err }, "torrent job failed");
    let cleanupError: string | null = null;
    try {
      await this.destroyDroplet(entry);
    } catch (e) {
      cleanupError = errorMessage(e);
      log.error({ err: e }, "could not destroy the droplet; the reaper will retry");
    }
    fs.rmSync(jobDir, { recursive: true, force: true });
    const actualUsd = this.actualCost(entry);
    const job = this.store().get(jobId)!;
    if (entry.droplet?.createdAt) {
      this.store().recordSpend({ jobId, userId: job.ownerId, kind: "actual", usd: actualUsd, detail: `droplet ${this.lifetime(entry).toFixed(0)} s` });
    }
    const error = cleanupError ? `${message} (and the droplet could not be destroyed yet: ${cleanupError}; it will be retried)` : message;
    const final = cancelled ? "cancelled" : "failed";
    this.store().transition(jobId, final, { error: cancelled ? undefined : error, data: { actualUsd } });
    this.notify({ jobId, state: final, costSoFarUsd: actualUsd, elapsedSeconds: (this.now() - entry.startedAt) / 1000, error });
  }

  /** Destroys the job's droplet if one was asked for; by tag when the create call never answered. */
  private async destroyDroplet(entry: Running): Promise<void> {
    const rec = entry.droplet;
    if (!rec || rec.state === "destroyed") return;
    const { ledger, cloud } = this.deps;
    ledger.markDestroying(rec.id);
    const ids = rec.doId !== null ? [rec.doId] : (await cloud.listByTag(rec.tag)).map((d) => d.id);
    for (const id of ids) await cloud.destroy(id);
    ledger.markDestroyed(rec.id);
    entry.droplet = ledger.get(rec.id)!;
  }

  private lifetime(entry: Running): number {
    return entry.droplet ? this.deps.ledger.lifetimeSeconds(entry.droplet) : 0;
  }

  private actualCost(entry: Running): number {
    if (!entry.droplet || entry.droplet.createdAt === null) return 0;
    return billDropletSeconds(this.lifetime(entry), entry.droplet.priceHourly);
  }

  private checkBudget(entry: Running): void {
    const cost = this.actualCost(entry);
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
    this.store().transition(jobId, state, { data: opts.data });
    this.emit(jobId, state, entry, { progress: opts.progress });
  }

  private emit(jobId: number, state: TorrentState, entry: Running, extra: Partial<TorrentJobEvent>): void {
    this.notify({
      jobId,
      state,
      costSoFarUsd: this.actualCost(entry),
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

  private store(): JobStore {
    return this.deps.store;
  }
}

function uniquePath(p: string, taken: Set<string>): string {
  let candidate = p;
  for (let i = 2; taken.has(candidate.toLowerCase()); i++) {
    const ext = path.posix.extname(p);
    candidate = `${p.slice(0, p.length - ext.length)} (${i})${ext}`;
  }
  taken.add(candidate.toLowerCase());
  return candidate;
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
