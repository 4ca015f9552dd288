// A torrent job from "provisioned" to "transferred": aria2 downloads on the droplet while every file it has finished
// is pulled to the bot's disk, verified and recorded; once aria2 is done ("downloaded"), whatever is left is pulled
// ("transferring"). The job stays "downloading" while the early pulls run. A restart keeps the files already verified.
import { jobSeedPolicy } from "./seed-after-download.js";
import type { Logger } from "../../shared/logger.js";
import type { JobStore } from "../job-store.js";
import type { FileChoice } from "./after-metadata.js";
import { FilePulls, type DeliveredFile, type TransferProgress } from "./pull-downloaded-files.js";
import type { TorrentJobData, TorrentJobEvent, TorrentJobInput } from "./torrent-job-model.js";
import type { DropletSession, TorrentClientPort, TorrentMetadata, TorrentProgress } from "./torrent-ports.js";
import type { TorrentState } from "./torrent-states.js";

export interface StepOptions {
  data?: Record<string, unknown>;
  progress?: TorrentProgress;
  transfer?: TransferProgress;
}

export interface DownloadRun {
  jobId: number;
  /** Whether the job's recorded state has reached `state` (where this run starts from). */
  past(state: TorrentState): boolean;
  session: DropletSession;
  remoteDir: string;
  jobDir: string;
  log: Logger;
  /** The job's own: a Cancel answered to a size question aborts it. */
  abort: AbortController;
  /** aria2 was (or may have been) started on the droplet by an earlier process. */
  resume: boolean;
}

export interface DownloadRunDeps {
  store: JobStore;
  torrents: TorrentClientPort;
  now: () => number;
  /** A magnet's metadata is in: the real torrent on the card, the owner's choice of files, the caps (after-metadata.ts). */
  onMetadata(meta: TorrentMetadata): Promise<FileChoice>;
  /** Room on the droplet for `bytes` before aria2 writes them (disk-fit.ts). */
  fitDisk(bytes: number): Promise<void>;
  /** Throws when the bot's disk has no room for `needBytes` more. */
  checkRoom(needBytes: number): Promise<void>;
  /** The droplet's bill so far: recorded when the files are home, the rest being what seeding adds. */
  costSoFar(): number;
  /** Records the job's next state (throws if the job is being stopped) and tells the chat. */
  step(state: TorrentState, opts?: StepOptions): void;
  emit(state: TorrentState, extra: Partial<TorrentJobEvent>): void;
}

export async function downloadAndPull(run: DownloadRun, deps: DownloadRunDeps): Promise<{ files: DeliveredFile[]; downloadSeconds: number }> {
  const { store } = deps;
  const { jobId, past, log } = run;
  const signal = run.abort.signal;
  const job = store.get<TorrentJobInput, TorrentJobData>(jobId)!;
  let state: TorrentState = past("transferring") ? "transferring" : past("downloaded") ? "downloaded" : "downloading";
  let lastProgress: TorrentProgress | undefined;
  let lastTransfer: TransferProgress | undefined;
  // A failed pull stops the download: the job fails with the pull's error.
  const pullFailed = new AbortController();
  const pulls = new FilePulls({
    session: run.session,
    remoteDir: run.remoteDir,
    localDir: run.jobDir,
    signal,
    now: deps.now,
    log,
    pulled: job.data.pulled ?? [],
    checkRoom: deps.checkRoom,
    onPulled: (file, all) => {
      store.patchData(jobId, { pulled: all });
      log.debug({ file: file.path, size: file.size, state }, "file pulled and verified");
    },
    onProgress: (transfer) => {
      lastTransfer = transfer;
      deps.emit(state, { transfer, progress: state === "downloading" ? lastProgress : undefined });
    },
    onFailure: (err) => pullFailed.abort(err),
  });
  try {
    let remote: { name: string | null; files: { path: string; size: number }[]; downloadSeconds: number };
    if (!past("downloaded")) {
      // Room before aria2 writes: a .torrent's size is known now, a magnet's once its metadata is in (again after a
      // restart) — of the files chosen, when a choice was made (the card's picker, or the one after the metadata).
      const knownBytes = job.data.selectedBytes ?? (job.input.torrentFile ? job.input.sizeBytes : (job.data.realSizeBytes ?? null));
      if (knownBytes !== null) await deps.fitDisk(knownBytes);
      if (!past("downloading")) deps.step("downloading");
      const source = job.input.torrentFile ? { torrentFile: Buffer.from(job.input.torrentFile, "base64") } : { magnetUri: job.input.magnetUri! };
      const downloaded = await deps.torrents.download(run.session, {
        dir: run.remoteDir,
        source,
        signal: AbortSignal.any([signal, pullFailed.signal]),
        resume: run.resume,
        // Chosen on a .torrent's card, or after the metadata before a restart (re-read: the metadata step records it).
        selectFiles: store.get<TorrentJobInput, TorrentJobData>(jobId)!.data.selectFiles ?? null,
        // Re-read each time: the owner may change it on the card until aria2 has every byte.
        seedPolicy: () => jobSeedPolicy(store, jobId),
        onMetadata: async (meta) => {
          const choice = await deps.onMetadata(meta);
          // The size of the files chosen is known now: a bot's disk without room stops the job here, not after the
          // download (a magnet without xl=); then room on the droplet before aria2 writes them.
          const pulledBytes = (job.data.pulled ?? []).reduce((n, f) => n + f.size, 0);
          await deps.checkRoom(Math.max(0, choice.bytes - pulledBytes));
          await deps.fitDisk(choice.bytes);
          return choice;
        },
        onProgress: (p) => {
          lastProgress = p;
          deps.emit("downloading", { progress: p, transfer: lastTransfer });
          // Only the files chosen are reported (a piece shared with a chosen file can complete one that was not).
          pulls.offer(p.files);
        },
      });
      remote = { name: downloaded.name, files: downloaded.files, downloadSeconds: downloaded.transferSeconds };
      // allBytesAt: aria2 seeds from here on, while the rest is pulled (the policy's minutes count from it).
      const seeding = downloaded.seeding ? { allBytesAt: deps.now() } : {};
      deps.step("downloaded", { data: { name: remote.name, remoteFiles: remote.files, downloadSeconds: remote.downloadSeconds, ...seeding }, progress: lastProgress });
      state = "downloaded";
    } else {
      remote = { name: job.data.name ?? null, files: job.data.remoteFiles ?? [], downloadSeconds: job.data.downloadSeconds ?? 0 };
    }
    if (!past("transferring")) deps.step("transferring", { transfer: lastTransfer });
    state = "transferring";
    const files = await pulls.finish(remote.files);
    deps.step("transferred", { data: { files, costAtTransferUsd: deps.costSoFar() } });
    return { files, downloadSeconds: remote.downloadSeconds };
  } catch (err) {
    // Nothing may still write into the job's directory once the job fails (its partial files are removed).
    await pulls.stop(err);
    throw pullFailed.signal.aborted && !signal.aborted ? pullFailed.signal.reason : err;
  }
}
