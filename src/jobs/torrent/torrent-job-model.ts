// What a torrent job is given, what it needs and what it tells the chat; the runner (torrent-job.ts) does the work.
import type { Logger } from "../../shared/logger.js";
import type { CancellableKind } from "../cancel-job.js";
import type { JobStore } from "../job-store.js";
import type { DropletLedger } from "./droplet-ledger.js";
import type { RealSizeChecker, SizeQuestion } from "./metadata-check.js";
import type { FilePreferences, PickerShown, SelectionEstimator, TorrentSummary } from "./after-metadata.js";
import type { PickerFile, PickerState } from "./file-picker.js";
import type { DropletSettings } from "./droplet-lifecycle.js";
import type { DiskSettings } from "./disk-fit.js";
import type { JobVolumes } from "./job-volumes.js";
import type { FreeSpaceProbe } from "./download-room.js";
import type { DeliveredFile, PulledFile, TransferProgress } from "./pull-downloaded-files.js";
import type { CloudInitPort, DropletPort, ProvisionPort, SshPort, TorrentClientPort, TorrentProgress } from "./torrent-ports.js";
import type { TorrentState } from "./torrent-states.js";
import type { SeedingShown, SeedingSummary } from "./seed-after-download.js";

export interface TorrentJobInput {
  infoHash: string;
  name: string | null;
  sizeBytes: number | null;
  magnetUri: string | null;
  /** A .torrent document, base64, when the user sent one. */
  torrentFile: string | null;
}

/** What a torrent job records about itself as it goes (jobs.data): enough for a restarted bot to carry it on. */
export interface TorrentJobData {
  /** When Start was pressed (ms), for elapsed times that survive a restart. */
  startedAt?: number;
  cardMessageId?: number;
  name?: string | null;
  /** What aria2 downloaded, as paths on the droplet: a restart after "downloaded" pulls exactly these. */
  remoteFiles?: { path: string; size: number }[];
  downloadSeconds?: number;
  /** Files verified on the bot's disk so far, each recorded as soon as it is (early pulls while aria2 still downloads). */
  pulled?: PulledFile[];
  /** The verified files, from "transferred" on. */
  files?: DeliveredFile[];
  /** Cancel was pressed: a restart during the clean-up finishes the cancel. */
  cancelRequested?: boolean;
  /** The job was failing with this reason when the process stopped: a restart finishes the failure. */
  ending?: string;
  /** The size question the job waits on (a restart asks it again, keeping its deadline); null once answered. */
  sizeQuestion?: SizeQuestion | null;
  /** The owner pressed Continue at the real size's estimate. */
  sizeAccepted?: boolean;
  /** The real size once the metadata is in (every file). */
  realSizeBytes?: number;
  /** The torrent's files as aria2 numbers them: a .torrent's from the card on, a magnet's once its metadata is in. */
  torrentFiles?: PickerFile[];
  /** The file picker while it is open (the card of a .torrent, or a magnet paused after its metadata); null once closed. */
  picker?: PickerState | null;
  /** When the open picker of a running job follows its owner's default (ms since epoch). */
  pickerDeadline?: number;
  /**
   * The files chosen, as aria2's `select-file` ("2,5"); null: every file. Absent until decided (a magnet before its
   * metadata). aria2 gets it at start (a .torrent), after the metadata, and again whenever it is started anew.
   */
  selectFiles?: string | null;
  /** The chosen files' size, once decided. */
  selectedBytes?: number;
  /** The droplet size the card chose for the disk (default DO_SIZE), its estimate and expected seconds. */
  size?: string;
  estimateUsd?: number | null;
  estimateSeconds?: number | null;
  /** A block storage volume attached for room (disk-fit.ts). */
  volume?: { name: string; sizeGib: number; priceHourly: number };
  /** How long to seed after the download (seeding-policy.ts code: "n", "r1.0", "t30"); absent: none. */
  seedPolicy?: string;
  /** When aria2 had every byte and went on seeding (ms); absent when it did not seed. */
  allBytesAt?: number;
  /** The droplet's cost when the files were verified at home: the rest of its bill is what seeding added. */
  costAtTransferUsd?: number;
  /** Bytes uploaded so far (written every few seconds while seeding). */
  seedingUpload?: number;
  /** What seeding reached, once it ended. */
  seeded?: SeedingSummary;
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
  result?: {
    files: DeliveredFile[];
    totalBytes: number;
    actualUsd: number;
    durationSeconds: number;
    overheadSeconds: number;
    /** The files are safe, but something after the transfer went wrong (the droplet is not destroyed yet, a late Cancel). */
    warning?: string;
    /** A volume was attached for room: its size and its share of actualUsd. */
    volume?: { sizeGib: number; usd: number };
    /** The job seeded after its download: what it reached, and what it added to actualUsd. */
    seeding?: SeedingSummary & { usd: number };
  };
  error?: string;
  /** For a failed or cancelled job: what its clean-up did, so the chat says what is true. */
  cleanup?: JobCleanup;
  /** Why a job was cancelled without a press of Cancel (the picker's default was to cancel). */
  cancelReason?: string;
  /** The job was picked up after a restart. */
  resumed?: boolean;
  /** The job waits for its owner: the real size breaks a cap (Continue / Cancel). */
  question?: SizeQuestion;
  /** The metadata is in: the real name, size, file count and estimate. */
  summary?: TorrentSummary;
  /** The job waits for its owner to choose files. */
  picker?: PickerShown;
  /** A volume attached to the droplet for room: its size and price (its cost is in costSoFarUsd). */
  volume?: { sizeGib: number; priceHourly: number };
  /** The files are home and the droplet seeds: the policy, the ratio and upload so far. */
  seeding?: SeedingShown;
  /** The job's seeding policy (its code), on every event: the card offers to change it or to stop seeding. */
  seedPolicy?: string;
}

/** What a failed or cancelled job's clean-up did. Partial files are always removed. */
export interface JobCleanup {
  /** DigitalOcean created a droplet for the job (only then was anything rented). */
  dropletCreated: boolean;
  /** Every droplet of the job is confirmed gone; false while DigitalOcean refuses (the reaper retries and books it). */
  dropletDestroyed: boolean;
  /** Why the destroy failed, when it did. */
  destroyError?: string;
}

export interface TorrentJobSettings extends DropletSettings {
  downloadsDir: string;
  perJobBudgetUsd: number;
  /** Free space to keep in downloadsDir on top of a torrent's files (DOWNLOAD_MIN_FREE_MB). */
  minFreeBytes: number;
  /** How often the per-job budget is checked against the droplet's cost so far (default 1 s). */
  budgetCheckMs?: number;
  /** How long a size question waits for its answer before the job is cancelled (default 3 minutes). */
  sizeQuestionTimeoutMs?: number;
  /** How long the file picker waits after the last press before the owner's default applies (default 3 minutes). */
  pickerTimeoutMs?: number;
  /** Room kept on the droplet on top of the files, and the volumes' price (disk-fit.ts); absent: no disk check. */
  disk?: DiskSettings;
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
  /** Free bytes where downloads go (default: statfs). */
  freeSpace?: FreeSpaceProbe;
  /** What a magnet's real size means for the money (no check when absent). */
  checkRealSize?: RealSizeChecker;
  /** The estimate for a number of bytes, for the card after the metadata and the picker's running total. */
  estimateSelection?: SelectionEstimator;
  /** A user's /settings about choosing files (default: ask, and download all when the picker times out). */
  filePreferences?: (ownerId: number) => FilePreferences;
  /** Block storage for a droplet whose disk is too small, and how its cost is checked against the caps (disk-fit.ts). */
  volumes?: JobVolumes;
  checkDiskCaps?: (jobId: number, ownerId: number, usd: number, capsAccepted: boolean) => string | null;
}

/** A shutdown with ON_SHUTDOWN=detach: the job is left running on its droplet for the next start. */
export class JobDetached extends Error {
  constructor() {
    super("the bot is shutting down; the job is left on its droplet and resumes at the next start");
    this.name = "JobDetached";
  }
}

/** Thrown when the user cancels, or their standing choice does (`why`); carries no blame. */
export class JobCancelled extends Error {
  constructor(readonly why: string | null = null) {
    super(why ? `cancelled: ${why}` : "cancelled by the user");
    this.name = "JobCancelled";
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** How the generic cancel (jobs/cancel-job.ts) stops torrent jobs: a card not yet started, or a running job. */
export function torrentCancellation(
  runner: { isRunning(jobId: number): boolean; cancel(jobId: number): Promise<boolean> },
  jobs: Pick<JobStore, "spendForJob" | "get">,
): CancellableKind {
  return {
    waitingStates: ["estimated"],
    isRunning: (jobId) => runner.isRunning(jobId),
    stop: async (jobId) => void (await runner.cancel(jobId)),
    describeStopped: (jobId) => {
      const cost = `$${(jobs.spendForJob(jobId).actual ?? 0).toFixed(4)}`;
      // A Cancel that arrives after the files were verified does not throw them away.
      const job = jobs.get<unknown, { cleanup?: JobCleanup }>(jobId);
      if (job?.state === "done") return `too late to stop: its files were already saved, so they are kept (see its links). It cost ${cost}.`;
      const cleanup = job?.data.cleanup;
      if (cleanup && !cleanup.dropletCreated) return `no droplet had been created yet. It cost ${cost}.`;
      if (cleanup && !cleanup.dropletDestroyed) return `its droplet could not be destroyed yet (${cleanup.destroyError ?? "DigitalOcean refused"}); Dropship keeps trying and books its cost. It cost ${cost} so far.`;
      return `its droplet is destroyed. It cost ${cost}.`;
    },
  };
}
