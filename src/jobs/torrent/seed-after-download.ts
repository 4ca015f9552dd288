// The job's "seeding" state: its files are verified at home, and the droplet's aria2 keeps giving the torrent to the
// swarm until the owner's seeding policy is met (aria2's own rule, or the job's check of the same rule), "Stop
// seeding" is pressed, or the per-job budget is reached. However it ends the files stay and the job ends done; what
// seeding reached (ratio, time) is recorded for the summary. A restart picks it up here, on the same aria2.
import type { Logger } from "../../shared/logger.js";
import type { JobStore } from "../job-store.js";
import type { EndingContext, RunningJob } from "./job-endings.js";
import { JobCancelled, JobDetached, errorMessage, type TorrentJobData, type TorrentJobEvent, type TorrentJobInput } from "./torrent-job-model.js";
import { encodeSeedPolicy, seedPolicyMet, seedPolicyOf, shareRatio, type SeedPolicy } from "./seeding-policy.js";
import type { DropletSession, SeedingProgress, SshPort, TorrentClientPort } from "./torrent-ports.js";
import type { TorrentState } from "./torrent-states.js";

/** Why seeding stopped before its policy was met, the files being home: "Stop seeding", or the budget. */
export class SeedingStopped extends Error {
  constructor(readonly why: string) {
    super(`seeding stopped: ${why}`);
    this.name = "SeedingStopped";
  }
}

/** What seeding reached, recorded with the job and shown in its summary. */
export interface SeedingSummary {
  /** The policy it ran under, as its code ("r1.0", "t30"). */
  policy: string;
  uploadedBytes: number;
  sizeBytes: number;
  ratio: number;
  /** From the moment aria2 had every byte to the end of seeding. */
  seconds: number;
  /** Why it ended, in words: "the policy was met", "stopped by you", the budget… */
  endedBy: string;
}

/** What the card shows while the droplet seeds. */
export interface SeedingShown {
  policy: string;
  uploadedBytes: number;
  sizeBytes: number;
  ratio: number;
  seconds: number;
  uploadSpeed: number;
}

export interface SeedingRun {
  jobId: number;
  entry: RunningJob;
  log: Logger;
  session: DropletSession | null;
  /** The job's own signal (Cancel, shutdown) together with the seeding's (Stop seeding, budget). */
  signal: AbortSignal;
}

/** What seeding needs from the runner: the endings' context, aria2 and SSH, and the per-job budget's check. */
export interface SeedingContext extends EndingContext {
  store: JobStore;
  torrents: TorrentClientPort;
  ssh: SshPort;
  bootTimeoutMs: number;
  /** The per-job budget is checked this often while seeding (it stops the seeding, not the job). */
  budgetCheckMs: number;
  perJobBudgetUsd: number;
}

/** The same, for one job. */
interface SeedingDeps {
  store: JobStore;
  torrents: TorrentClientPort;
  ssh: SshPort;
  bootTimeoutMs: number;
  now: () => number;
  budgetCheckMs: number;
  checkBudget(): void;
  step(state: TorrentState, data?: Record<string, unknown>): void;
  emit(state: TorrentState, extra: Partial<TorrentJobEvent>): void;
}

/** How often the upload so far is written to the job (a restart shows it until aria2 answers again). */
const RECORD_EVERY_MS = 5000;

/** The job's seeding policy as recorded now (the card may change it until aria2 has every byte). */
export function jobSeedPolicy(store: Pick<JobStore, "get">, jobId: number): SeedPolicy {
  return seedPolicyOf(store.get<TorrentJobInput, TorrentJobData>(jobId)!.data.seedPolicy);
}

/** Whether a job seeds once its files are home: a policy, an aria2 left seeding for it, and no seeding ended yet. */
export function seedsAfterDownload(data: TorrentJobData): boolean {
  return seedPolicyOf(data.seedPolicy).kind !== "none" && data.allBytesAt !== undefined && data.seeded === undefined;
}

/**
 * The job's recorded policy for its running aria2 (a change on the card before every byte is in). Before
 * "downloading" aria2 is not started yet and starts with it; a failure is logged: the job still stops at the policy.
 */
export async function applySeedPolicy(ctx: Pick<SeedingContext, "store" | "torrents" | "deps">, entry: RunningJob | undefined, jobId: number): Promise<void> {
  const job = ctx.store.get<TorrentJobInput, TorrentJobData>(jobId);
  if (!entry?.session || job?.state !== "downloading") return;
  await ctx.torrents.applySeedPolicy(entry.session, `/root/dropship/job-${jobId}`, seedPolicyOf(job.data.seedPolicy), entry.abort.signal).catch((err: unknown) => {
    ctx.deps.logger.warn({ err, job: jobId }, "could not give the new seeding policy to aria2; the job still stops at it");
  });
}

/** A running job as seeding sees it: its controller exists while the droplet seeds with the files home. */
export interface SeedingJob extends RunningJob {
  seeding: AbortController | null;
}

/**
 * Seeds if the job is due to (a policy, aria2 seeding, not over yet). "detached" when a detaching shutdown left the
 * droplet seeding for the next start (the job's session is closed); "done" otherwise, however seeding ended.
 */
export async function seedIfDue(ctx: SeedingContext, run: { jobId: number; entry: SeedingJob; log: Logger }): Promise<"done" | "detached"> {
  const { jobId, entry, log } = run;
  const job = ctx.store.get<TorrentJobInput, TorrentJobData>(jobId)!;
  if (!seedsAfterDownload(job.data) || job.state === "droplet_destroyed") return "done";
  entry.seeding = new AbortController();
  const deps: SeedingDeps = {
    ...ctx,
    // The per-job budget stops the seeding, the files already home: the job ends done, not failed.
    checkBudget: () => {
      if (entry.droplet.costUsd() > ctx.perJobBudgetUsd) stopSeedingOf(entry, `the droplet reached the job's budget of $${ctx.perJobBudgetUsd.toFixed(2)} (BUDGET_PER_JOB_USD)`);
    },
    // A step is recorded, then shown; a job already being stopped (Cancel, shutdown) takes no new step.
    step: (state, data) => {
      entry.abort.signal.throwIfAborted();
      ctx.store.transition(jobId, state, { data });
      ctx.emit(jobId, state, entry, {});
    },
    emit: (state, extra) => ctx.emit(jobId, state, entry, extra),
  };
  await seedAfterDownload({ jobId, entry, log, session: entry.session, signal: AbortSignal.any([entry.abort.signal, entry.seeding.signal]) }, deps);
  if (!(entry.abort.signal.reason instanceof JobDetached)) return "done";
  await entry.session?.close().catch(() => undefined);
  return "detached";
}

/** Stops a job's seeding (Stop seeding, the budget); false when it is not seeding. */
export function stopSeedingOf(entry: SeedingJob | undefined, why: string): boolean {
  if (!entry?.seeding || entry.seeding.signal.aborted) return false;
  entry.seeding.abort(new SeedingStopped(why));
  return true;
}

async function seedAfterDownload(run: SeedingRun, deps: SeedingDeps): Promise<void> {
  const budgetWatch = setInterval(() => deps.checkBudget(), deps.budgetCheckMs);
  try {
    await seed(run, deps);
  } finally {
    clearInterval(budgetWatch);
  }
}

async function seed(run: SeedingRun, deps: SeedingDeps): Promise<void> {
  const { store } = deps;
  const { jobId, entry, log, signal } = run;
  const data = () => store.get<TorrentJobInput, TorrentJobData>(jobId)!.data;
  const start = data();
  const allBytesAt = start.allBytesAt ?? deps.now();
  const dir = `/root/dropship/job-${jobId}`;
  let last: SeedingProgress = {
    uploadedBytes: start.seedingUpload ?? 0,
    sizeBytes: (start.files ?? []).reduce((n, f) => n + f.size, 0),
    uploadSpeed: 0,
    connections: 0,
  };
  let recordedAt = 0;
  const seconds = () => (deps.now() - allBytesAt) / 1000;
  const shown = (): SeedingShown => ({
    policy: encodeSeedPolicy(seedPolicyOf(data().seedPolicy)),
    uploadedBytes: last.uploadedBytes,
    sizeBytes: last.sizeBytes,
    ratio: shareRatio(last),
    seconds: seconds(),
    uploadSpeed: last.uploadSpeed,
  });
  let endedBy: string;
  try {
    if (store.get(jobId)!.state !== "seeding") deps.step("seeding");
    deps.emit("seeding", { seeding: shown() });
    let session = run.session;
    if (!session) {
      // A restart: the droplet and its aria2 are where the earlier process left them.
      const { ip, hostKeyPublic } = await entry.droplet.resumeActive(signal);
      session = await deps.ssh.connect(ip, hostKeyPublic, { timeoutMs: deps.bootTimeoutMs, signal });
      entry.session = session;
    }
    const end = await deps.torrents.seed(session, {
      dir,
      signal,
      onProgress: (p) => {
        if (p.sizeBytes > 0) last = p;
        deps.emit("seeding", { seeding: shown() });
        if (deps.now() - recordedAt >= RECORD_EVERY_MS) {
          recordedAt = deps.now();
          store.patchData(jobId, { seedingUpload: last.uploadedBytes });
        }
      },
      met: (p) => seedPolicyMet(seedPolicyOf(data().seedPolicy), { uploadedBytes: p.uploadedBytes, sizeBytes: p.sizeBytes, seedingSeconds: seconds() }),
    });
    if (end.sizeBytes > 0) last = { ...last, uploadedBytes: end.uploadedBytes, sizeBytes: end.sizeBytes };
    endedBy = end.how === "gone" ? "aria2 on the droplet had already stopped" : "the policy was met";
  } catch (err) {
    const reason: unknown = signal.reason;
    if (reason instanceof JobDetached) return;
    if (reason instanceof SeedingStopped) endedBy = reason.why;
    else if (reason instanceof JobCancelled) endedBy = "cancelled";
    else if (signal.aborted) endedBy = errorMessage(reason);
    else {
      // The files are home: a droplet that stops answering ends the seeding, not the job.
      log.warn({ err }, "seeding ended by an error; the files are kept");
      endedBy = `it failed: ${errorMessage(err)}`;
    }
  }
  const { policy, uploadedBytes, sizeBytes, ratio, seconds: secs } = shown();
  const seeded: SeedingSummary = { policy, uploadedBytes, sizeBytes, ratio, seconds: secs, endedBy };
  log.info({ seeded }, "seeding ended");
  store.patchData(jobId, { seeded, seedingUpload: last.uploadedBytes });
}
