// The torrent job: droplet → provision → aria2 → SFTP pull → destroy, each step recorded before its side effect.
// Until the files are verified on the bot's disk ("transferred") any failure or Cancel destroys the droplet and
// removes partial files; from then on nothing deletes them: a later failure leaves the job done with a warning.
// A job runs from its recorded state: a fresh one from "approved", one an earlier process left (a crash, or a
// shutdown that detached it) from wherever it was — same droplet, same aria2, the pull picking up its partial files.
import path from "node:path";
import type { Logger } from "../../shared/logger.js";
import { DropletLifecycle } from "./droplet-lifecycle.js";
import { finishBadly, finishDelivered, type Delivered, type EndingContext, type RunningJob } from "./job-endings.js";
import { downloadRoomProblem } from "./download-room.js";
import { downloadAndPull, type StepOptions } from "./download-and-pull.js";
import {
  JobCancelled,
  JobDetached,
  errorMessage,
  type TorrentJobData,
  type TorrentJobDeps,
  type TorrentJobEvent,
  type TorrentJobInput,
} from "./torrent-job-model.js";
import { SizeQuestions, type SizeAnswer, type SizeCheckDeps } from "./metadata-check.js";
import { DEFAULT_FILE_PREFERENCES, FilePickers, settleMetadata, type FileChoice, type MetadataDeps, type PickOutcome } from "./after-metadata.js";
import { fitDisk } from "./disk-fit.js";
import { earlyProvisioning } from "./early-provisioning.js";
import type { PickAction } from "./file-picker.js";
import type { DropletSession, TorrentMetadata } from "./torrent-ports.js";
import { torrentStateReached, type TorrentState } from "./torrent-states.js";
import { applySeedPolicy, seedIfDue, stopSeedingOf, type SeedingContext, type SeedingJob } from "./seed-after-download.js";

export type { DeliveredFile, PulledFile } from "./pull-downloaded-files.js";
export { JobCancelled, JobDetached, torrentCancellation } from "./torrent-job-model.js";
export type { TorrentJobData, TorrentJobDeps, TorrentJobEvent, TorrentJobInput, TorrentJobSettings } from "./torrent-job-model.js";

/** Dropped SSH connections a job rides over by reconnecting, before a drop fails it. */
const MAX_RECONNECTS = 3;

interface Running extends SeedingJob {
  done: Promise<void>;
  /** aria2 may already run on the droplet for this job (a resume, or a reconnect after a dropped connection). */
  reattach: boolean;
}


export class TorrentJobRunner {
  private readonly running = new Map<number, Running>();
  private readonly questions = new SizeQuestions();
  private readonly pickers = new FilePickers();
  private readonly afterMetadata: MetadataDeps;
  private readonly now: () => number;
  private readonly endings: EndingContext;
  private readonly seedingContext: SeedingContext;

  constructor(private readonly deps: TorrentJobDeps) {
    this.now = deps.now ?? Date.now;
    const timeoutMs = deps.settings.sizeQuestionTimeoutMs ?? 180_000;
    this.endings = { deps, now: this.now, emit: (...a) => this.emit(...a), notify: (e) => this.notify(e) };
    const budgetCheckMs = deps.settings.budgetCheckMs ?? 1000;
    this.seedingContext = { ...this.endings, ...deps, bootTimeoutMs: deps.settings.bootTimeoutMs, budgetCheckMs, perJobBudgetUsd: deps.settings.perJobBudgetUsd };
    const sizes: SizeCheckDeps = { jobs: deps.store, check: deps.checkRealSize, questions: this.questions, timeoutMs, now: this.now };
    this.afterMetadata = {
      sizes,
      pickers: this.pickers,
      pickerTimeoutMs: deps.settings.pickerTimeoutMs ?? 180_000,
      preferences: deps.filePreferences ?? (() => DEFAULT_FILE_PREFERENCES),
      estimate: deps.estimateSelection,
    };
  }

  isRunning(jobId: number): boolean {
    return this.running.has(jobId);
  }

  runningJobIds(): number[] {
    return [...this.running.keys()];
  }

  /** Starts an approved job in the background; progress and the outcome arrive through onEvent. */
  start(jobId: number): void {
    this.launch(jobId, false);
  }

  /**
   * Picks up, in the background, a job an earlier process left unfinished (a crash, or a shutdown that detached it):
   * it carries on from its recorded state on the same droplet. Call before the start-up droplet sweep, so the sweep
   * sees the job as running and spares its droplet.
   */
  resume(jobId: number): void {
    this.launch(jobId, true);
  }

  private launch(jobId: number, resumed: boolean): void {
    if (this.running.has(jobId)) return;
    const { cloud, cloudInit, ledger, settings, store, volumes } = this.deps;
    const droplet = new DropletLifecycle({ cloud, cloudInit, ledger, settings, volumes });
    const job = store.get<TorrentJobInput, TorrentJobData>(jobId);
    const startedAt = resumed ? (job?.data.startedAt ?? job?.createdAt ?? this.now()) : this.now();
    if (!resumed) store.patchData(jobId, { startedAt });
    const entry: Running = { abort: new AbortController(), done: Promise.resolve(), droplet, startedAt, session: null, resumed, reattach: resumed, seeding: null };
    this.running.set(jobId, entry);
    // run() reports its own failures; anything escaping it is a bug, logged rather than crashing the bot.
    entry.done = this.run(jobId, entry)
      .catch((err: unknown) => this.deps.logger.error({ err, job: jobId }, "torrent job crashed"))
      .finally(() => this.running.delete(jobId));
  }

  /** The owner's answer to job `jobId`'s size question; false if it is not waiting for one. */
  answerSizeQuestion(jobId: number, answer: SizeAnswer): boolean {
    return this.questions.answer(jobId, answer);
  }

  /** The owner's press on job `jobId`'s file picker; "not-waiting" if no picker is open for it. */
  pickFiles(jobId: number, action: PickAction): Promise<PickOutcome> {
    return this.pickers.press(jobId, action);
  }

  /** Cancels a running job; resolves once its droplet is destroyed and partial files removed (or, past the transfer, it is done). */
  async cancel(jobId: number): Promise<boolean> {
    const entry = this.running.get(jobId);
    if (!entry) return false;
    // Recorded first: a restart during the clean-up finishes the cancel instead of resuming the job.
    this.deps.store.patchData(jobId, { cancelRequested: true });
    entry.abort.abort(new JobCancelled());
    await entry.done;
    return true;
  }

  /**
   * For shutdown. `detach` leaves every job running on its droplet (aria2 keeps downloading) to be resumed at the
   * next start; `destroy` stops each one, destroys its droplet and tells its owner why. Resolves when all are settled.
   */
  async stopAll(mode: "detach" | "destroy" = "destroy"): Promise<void> {
    const reason =
      mode === "detach"
        ? new JobDetached()
        : new Error("the bot was shut down while this job ran; its droplet was destroyed, send the link again");
    const entries = [...this.running.values()];
    for (const e of entries) e.abort.abort(reason);
    await Promise.all(entries.map((e) => e.done));
  }

  private async run(jobId: number, entry: Running): Promise<void> {
    const log = this.deps.logger.child({ job: jobId });
    const jobDir = path.join(this.deps.settings.downloadsDir, String(jobId));
    const job = this.deps.store.get<TorrentJobInput, TorrentJobData>(jobId)!;
    if (entry.resumed) {
      entry.droplet.adopt(this.deps.ledger.forJob(jobId).at(-1));
      log.info({ state: job.state }, "resuming a job an earlier process left unfinished");
      // A Cancel, failure or shutdown was already being cleaned up when the process stopped: finish that.
      const ending = job.data.cancelRequested ? new JobCancelled() : job.data.ending ? new Error(job.data.ending) : null;
      if (ending) {
        if (ending instanceof JobCancelled) entry.abort.abort(ending);
        await finishBadly(this.endings, jobId, entry, jobDir, ending, log);
        return;
      }
      if (torrentStateReached(job.state, "transferred")) {
        const note = "the bot restarted after your files were saved and verified: they are kept";
        // A droplet left seeding carries on seeding (same aria2) until the policy is met.
        await this.seedThenFinish(jobId, entry, { files: job.data.files ?? [], downloadSeconds: job.data.downloadSeconds ?? 0, note }, log);
        return;
      }
    }
    // The per-job budget holds in every phase, from the droplet's lifetime and price, until the files are safe.
    const budgetWatch = setInterval(() => this.checkBudget(entry), this.deps.settings.budgetCheckMs ?? 1000);
    this.checkBudget(entry);
    let delivered: Delivered;
    try {
      delivered = await this.fetchWithReconnects(jobId, entry, jobDir, log);
    } catch (err) {
      clearInterval(budgetWatch);
      await entry.session?.close().catch(() => undefined);
      if (entry.abort.signal.reason instanceof JobDetached) {
        this.detached(jobId, entry, log);
        return;
      }
      await finishBadly(this.endings, jobId, entry, jobDir, err, log);
      return;
    }
    clearInterval(budgetWatch);
    const note = entry.resumed ? "the bot restarted while this job ran; it carried on where it was and nothing was lost" : undefined;
    await this.seedThenFinish(jobId, entry, { ...delivered, note }, log);
  }

  /** The files are home: seeding first if the job seeds (seed-after-download.ts), then the droplet goes, the job done. */
  private async seedThenFinish(jobId: number, entry: Running, delivered: Delivered, log: Logger): Promise<void> {
    if ((await seedIfDue(this.seedingContext, { jobId, entry, log })) === "detached") return this.detached(jobId, entry, log);
    await finishDelivered(this.endings, jobId, entry, delivered, log);
  }

  /** Gives job `jobId`'s recorded seeding policy to its running aria2 (a change on the card before every byte is in). */
  applySeedPolicy = (jobId: number): Promise<void> => applySeedPolicy(this.seedingContext, this.running.get(jobId), jobId);

  /** "Stop seeding" on a job whose files are home: the droplet is destroyed now. False if it is not seeding. */
  stopSeeding = (jobId: number): boolean => stopSeedingOf(this.running.get(jobId), "stopped by you");

  /**
   * fetchFiles, carried on from the recorded state after an SSH connection dropped under a step (a few times): the
   * droplet, aria2 and the partial files are all still there, exactly as after a restart.
   */
  private async fetchWithReconnects(jobId: number, entry: Running, jobDir: string, log: Logger): Promise<Delivered> {
    for (let reconnects = 0; ; reconnects++) {
      const from = this.deps.store.get(jobId)!.state as TorrentState;
      try {
        return await this.fetchFiles(jobId, entry, from, jobDir, log);
      } catch (err) {
        if (entry.abort.signal.aborted || reconnects >= MAX_RECONNECTS || (entry.session?.droppedConnections() ?? 0) === 0) throw err;
        log.warn({ err, state: this.deps.store.get(jobId)!.state, reconnects }, "the SSH connection dropped; reconnecting and carrying on");
        await entry.session?.close().catch(() => undefined);
        entry.session = null;
        entry.reattach = true;
      }
    }
  }

  /**
   * Every step up to "transferred": the files verified in `jobDir`, starting after `from` (the recorded state; a
   * fresh job is "approved"). Throws on failure, Cancel, shutdown or the budget.
   */
  private async fetchFiles(jobId: number, entry: Running, from: TorrentState, jobDir: string, log: Logger): Promise<Delivered> {
    const job = this.deps.store.get<TorrentJobInput, TorrentJobData>(jobId)!;
    const past = (state: TorrentState) => torrentStateReached(from, state);
    // Known sizes (of the chosen files) are checked before paying for a droplet; every torrent again before its first pull.
    const knownBytes = job.data.selectedBytes ?? job.input.sizeBytes;
    if (!past("droplet_requested") && knownBytes !== null) await this.checkRoom(knownBytes);
    const remoteDir = `/root/dropship/job-${jobId}`;
    const session = await this.bootAndProvision(jobId, entry, past, remoteDir);
    return downloadAndPull(
      { jobId, past, session, remoteDir, jobDir, log, abort: entry.abort, resume: entry.reattach && past("provisioned") },
      {
        store: this.deps.store,
        torrents: this.deps.torrents,
        now: this.now,
        checkRoom: (needBytes) => this.checkRoom(needBytes),
        costSoFar: () => entry.droplet.costUsd(),
        fitDisk: (bytes) => this.fitDisk(jobId, entry, session, remoteDir, bytes, log),
        onMetadata: (meta) => this.onMetadata(jobId, entry, meta, log),
        step: (state, opts) => this.step(jobId, state, entry, opts),
        emit: (state, extra) => this.emit(jobId, state, entry, extra),
      },
    );
  }

  /** The one step after a magnet's metadata: the real torrent on the card, the files chosen, the caps re-checked. */
  private onMetadata(jobId: number, entry: Running, meta: TorrentMetadata, log: Logger): Promise<FileChoice> {
    return settleMetadata(this.afterMetadata, { jobId, meta, abort: entry.abort, log, show: (extra) => this.emit(jobId, "downloading", entry, extra) });
  }

  /**
   * The droplet (created, or the recorded one after a restart) up to "provisioned", with an open SSH session.
   * ansible-playbook starts as soon as DigitalOcean has made the droplet and does its slow start while the droplet
   * boots; it connects once our own SSH session has found sshd answering (recorded as ssh_ready).
   */
  private async bootAndProvision(jobId: number, entry: Running, past: (s: TorrentState) => boolean, remoteDir: string): Promise<DropletSession> {
    const { settings } = this.deps;
    // Re-running the playbook after a restart is safe: every task is idempotent.
    const provisioning = past("provisioned")
      ? null
      : earlyProvisioning(this.deps.provisioner, {
          downloadDir: remoteDir,
          signal: entry.abort.signal,
          onTask: (detail) => this.emit(jobId, this.deps.store.get(jobId)!.state as TorrentState, entry, { detail }),
        });
    // A provisioning run that fails early (a broken venv) stops the boot at once instead of after it.
    const signal = provisioning ? AbortSignal.any([entry.abort.signal, provisioning.failed]) : entry.abort.signal;
    let session: DropletSession;
    try {
      const { ip, hostKeyPublic } = past("droplet_requested")
        ? await entry.droplet.resumeActive(signal)
        : await this.newDroplet(jobId, entry, signal, () => provisioning?.start());
      if (!past("droplet_active")) this.step(jobId, "droplet_active", entry, { data: { ip } });
      provisioning?.start();
      session = await this.deps.ssh.connect(ip, hostKeyPublic, { timeoutMs: settings.bootTimeoutMs, signal }).catch((err: unknown) => {
        if (!entry.reattach || signal.aborted) throw err;
        throw new Error(`its droplet could not be reached again (${errorMessage(err)})`, { cause: err });
      });
      entry.session = session;
      if (!past("ssh_ready")) this.step(jobId, "ssh_ready", entry);
      provisioning?.reachable({ ip, hostKeyPublic });
    } catch (err) {
      if (!provisioning) throw err;
      // The run's own failure (it ended the boot) is the reason, unless the job was stopped for another.
      const failedFirst = provisioning.failed.aborted && !entry.abort.signal.aborted;
      await provisioning.stop(err);
      throw failedFirst ? provisioning.failed.reason : err;
    }
    if (provisioning) {
      await provisioning.finished();
      this.step(jobId, "provisioned", entry);
    }
    return session;
  }

  private async newDroplet(jobId: number, entry: Running, signal: AbortSignal, created: () => void): Promise<{ ip: string; hostKeyPublic: string }> {
    const { store, settings } = this.deps;
    // The card may have chosen a bigger size for the torrent's disk (disk-fit.ts).
    const size = store.get<TorrentJobInput, TorrentJobData>(jobId)!.data.size ?? settings.size;
    return entry.droplet.create(
      jobId,
      signal,
      {
        onRequested: (priceHourly) => this.step(jobId, "droplet_requested", entry, { data: { size, region: settings.region, priceHourly } }),
        onCreated: (dropletId) => {
          store.patchData(jobId, { dropletId });
          created();
        },
      },
      size,
    );
  }

  /** Room on the droplet for `bytes` before aria2 writes them: a volume when its disk is too small (disk-fit.ts). */
  private async fitDisk(jobId: number, entry: Running, session: DropletSession, dir: string, bytes: number, log: Logger): Promise<void> {
    const { volumes, settings, store } = this.deps;
    const dropletDoId = entry.droplet.dropletDoId;
    if (!volumes || !settings.disk || dropletDoId === null) return;
    const deps = {
      jobs: store,
      volumes,
      settings: { ...settings.disk, region: settings.region, attachTimeoutMs: settings.bootTimeoutMs },
      checkCaps: this.deps.checkDiskCaps ?? (() => null),
    };
    const say = (detail: string) => this.emit(jobId, store.get(jobId)!.state as TorrentState, entry, { detail });
    await fitDisk(deps, { jobId, bytes, session, dir, dropletDoId, signal: entry.abort.signal, log, say });
  }

  /** Shutdown with ON_SHUTDOWN=detach: the job stays in its state, its droplet and aria2 keep going until the next start. */
  private detached(jobId: number, entry: Running, log: Logger): void {
    log.info({ state: this.deps.store.get(jobId)?.state }, "left running on its droplet for the next start");
    const state = this.deps.store.get(jobId)!.state as TorrentState;
    this.emit(jobId, state, entry, { detail: "⏸ The bot is restarting: this job keeps running on its droplet and carries on when the bot is back." });
  }

  private async checkRoom(needBytes: number): Promise<void> {
    const { settings, freeSpace } = this.deps;
    const problem = await downloadRoomProblem(settings.downloadsDir, needBytes, settings.minFreeBytes, freeSpace);
    if (problem) throw new Error(problem);
  }

  private checkBudget(entry: Running): void {
    const cost = entry.droplet.costUsd();
    const cap = this.deps.settings.perJobBudgetUsd;
    if (cost > cap && !entry.abort.signal.aborted) {
      entry.abort.abort(new Error(`stopped: the droplet has cost $${cost.toFixed(4)}, over the job's budget of $${cap.toFixed(2)} (BUDGET_PER_JOB_USD)`));
    }
  }

  private step(
    jobId: number,
    state: TorrentState,
    entry: Running,
    opts: StepOptions = {},
  ): void {
    entry.abort.signal.throwIfAborted();
    this.deps.store.transition(jobId, state, { data: opts.data });
    this.emit(jobId, state, entry, { progress: opts.progress, transfer: opts.transfer });
  }

  private emit(jobId: number, state: TorrentState, entry: RunningJob, extra: Partial<TorrentJobEvent>): void {
    const volume = this.deps.store.get<TorrentJobInput, TorrentJobData>(jobId)?.data.volume;
    this.notify({
      jobId,
      state,
      costSoFarUsd: entry.droplet.costUsd(),
      elapsedSeconds: (this.now() - entry.startedAt) / 1000,
      ...(entry.resumed ? { resumed: true } : {}),
      ...(volume ? { volume: { sizeGib: volume.sizeGib, priceHourly: volume.priceHourly } } : {}),
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
