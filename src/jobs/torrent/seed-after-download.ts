// The job's "seeding" state: its files are verified at home, and the droplet's aria2 keeps giving the torrent to the
// swarm until the owner's seeding policy is met (aria2's own rule, or the job's check of the same rule), "Stop
// seeding" is pressed, or the per-job budget is reached. However it ends the files stay and the job ends done; what
// seeding reached (ratio, time) is recorded for the summary. A restart picks it up here, on the same aria2.
import type { Logger } from "../../shared/logger.js";
import type { JobStore } from "../job-store.js";
import type { RunningJob } from "./job-endings.js";
import { JobCancelled, JobDetached, errorMessage, type TorrentJobData, type TorrentJobEvent, type TorrentJobInput } from "./torrent-job-model.js";
import { encodeSeedPolicy, seedPolicyMet, seedPolicyOf, shareRatio } from "./seeding-policy.js";
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

export interface SeedingDeps {
  store: JobStore;
  torrents: TorrentClientPort;
  ssh: SshPort;
  bootTimeoutMs: number;
  now: () => number;
  step(state: TorrentState, data?: Record<string, unknown>): void;
  emit(state: TorrentState, extra: Partial<TorrentJobEvent>): void;
}

/** How often the upload so far is written to the job (a restart shows it until aria2 answers again). */
const RECORD_EVERY_MS = 5000;

export async function seedAfterDownload(run: SeedingRun, deps: SeedingDeps): Promise<void> {
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
  const seeded: SeedingSummary = { ...shown(), endedBy };
  log.info({ seeded }, "seeding ended");
  store.patchData(jobId, { seeded, seedingUpload: last.uploadedBytes });
}
