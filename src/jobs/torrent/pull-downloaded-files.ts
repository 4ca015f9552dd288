// The transfer step of a torrent job: pulls what aria2 downloaded off the droplet over SFTP into the job's download
// directory, under safe, unique local names, reporting bytes as they arrive. Each file is pulled as soon as aria2 has
// all of it, while the rest of the torrent still downloads; what is left, once the torrent is complete. Two pulls at a
// time: each keeps several SFTP sessions busy, but a file also costs round trips of its own (stat, opening, the host's
// checksum, closing) that a second pull fills; the connection's sessions allow two (sftp-transfer.ts).
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "../../shared/logger.js";
import { sanitizeTorrentPath } from "./sanitize-path.js";
import type { DropletSession, TorrentFileProgress } from "./torrent-ports.js";

export interface DeliveredFile {
  /** Safe path relative to the job's download directory. */
  path: string;
  size: number;
  sha256: string;
  /** Times the pull resumed after a dropped connection. */
  resumes: number;
}

/** A file verified on the bot's disk, recorded in the job's data at once: a restart does not pull it again. */
export interface PulledFile extends DeliveredFile {
  /** Where aria2 wrote it on the droplet. */
  remotePath: string;
  /** When its SHA-256 was found to match the droplet's copy (ms since epoch). */
  verifiedAt: number;
}

export interface TransferProgress {
  doneBytes: number;
  totalBytes: number;
  bytesPerSecond: number;
  filesDone: number;
  filesTotal: number;
}

/** A torrent's file on the droplet (absolute path). */
export interface RemoteTorrentFile {
  path: string;
  size: number;
}

export interface FilePullsOptions {
  session: DropletSession;
  remoteDir: string;
  localDir: string;
  signal: AbortSignal;
  now: () => number;
  log: Logger;
  /** Files already verified on the bot's disk (the job's data, e.g. before a restart). */
  pulled: PulledFile[];
  /** Throws when the bot's disk has no room for `needBytes` more; asked once, before the first pull. */
  checkRoom(needBytes: number): Promise<void>;
  /** A file was verified: `all` is every file verified so far, to record. */
  onPulled(file: PulledFile, all: PulledFile[]): void;
  onProgress(p: TransferProgress): void;
  /** A pull failed (after its own retries): the job fails with `err`. Called once. */
  onFailure(err: unknown): void;
}

/**
 * Files pulled at once. OpenSSH allows 10 sessions per connection (MaxSessions): the pull's 7 SFTP sessions (shared by
 * all pulls), the shared one and one checksum command per pull leave room for two. Measured on loopback, 20 files of
 * 5 MiB: 2.7 s one at a time, 1.4–2.0 s two at a time, 2.2 s four at a time (sessions refused and retried).
 */
export const PARALLEL_PULLS = 2;

/** Pulls a torrent's files as they complete on the droplet; `finish` pulls the rest and returns them all. */
export class FilePulls {
  /** The torrent's files in aria2's order and their local names: fixed the first time the whole list is known. */
  private files: { remote: RemoteTorrentFile; local: string }[] | null = null;
  private readonly verified = new Map<string, PulledFile>();
  private readonly queued = new Set<string>();
  /** Queued and not started yet, in the order they were queued. */
  private readonly waiting: { remote: RemoteTorrentFile; local: string }[] = [];
  private readonly running = new Set<Promise<void>>();
  private failure: { err: unknown } | null = null;
  private readonly stopper = new AbortController();
  private readonly signal: AbortSignal;
  /** The disk check, made once before the first pull (concurrent first pulls share it). */
  private room: Promise<void> | null = null;
  /** When this process began pulling, and the bytes on disk then: the speed is measured from there. */
  private run: { startedAt: number; bytes: number } | null = null;
  /** Bytes so far of each pull in flight, by remote path. */
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly o: FilePullsOptions) {
    this.signal = AbortSignal.any([o.signal, this.stopper.signal]);
    // Verified before (a restart): kept while the file on disk is still the one verified.
    for (const f of o.pulled) if (sizeOf(path.join(o.localDir, ...f.path.split("/"))) === f.size) this.verified.set(f.remotePath, f);
  }

  /** A progress reading of the download: every file aria2 has whole is queued for its pull. */
  offer(files: TorrentFileProgress[]): void {
    if (files.length === 0 || this.failure || this.signal.aborted) return;
    const known = this.know(files.map((f) => ({ path: f.path, size: f.size })));
    // An empty file may not exist on the droplet before the download ends: it is pulled with the rest.
    for (const f of files) if (f.size > 0 && f.completedBytes >= f.size) this.enqueue(known.get(f.path)!);
  }

  /**
   * The download is complete: pulls every file not pulled yet (after the pulls in flight) and returns them all in the
   * torrent's order. Throws the first failed pull's error, or the abort's reason.
   */
  async finish(files: RemoteTorrentFile[]): Promise<DeliveredFile[]> {
    if (!this.failure) for (const f of this.know(files).values()) this.enqueue(f);
    await this.settled();
    if (this.failure) throw this.failure.err;
    this.signal.throwIfAborted();
    return this.files!.map(({ remote }) => {
      const { path: p, size, sha256, resumes } = this.verified.get(remote.path)!;
      return { path: p, size, sha256, resumes };
    });
  }

  /** Stops pulling (the download failed or the job is ending) and waits for the pull in flight to give up. */
  async stop(reason: unknown): Promise<void> {
    this.stopper.abort(reason);
    await this.settled();
  }

  /** Fixes the torrent's files and their local names the first time; later lists must be the same torrent. */
  private know(files: RemoteTorrentFile[]): Map<string, { remote: RemoteTorrentFile; local: string }> {
    if (!this.files) {
      const names = localNames(this.o.remoteDir, files);
      this.files = files.map((remote, i) => ({ remote, local: names[i]! }));
    } else if (files.length !== this.files.length || files.some((f, i) => f.path !== this.files![i]!.remote.path)) {
      throw new Error("aria2 reported a different list of files for the same torrent");
    }
    return new Map(this.files.map((f) => [f.remote.path, f]));
  }

  private enqueue(file: { remote: RemoteTorrentFile; local: string }): void {
    if (this.queued.has(file.remote.path)) return;
    this.queued.add(file.remote.path);
    this.waiting.push(file);
    this.startPulls();
  }

  /** Starts queued pulls while fewer than PARALLEL_PULLS run; each that ends starts the next. */
  private startPulls(): void {
    while (this.running.size < PARALLEL_PULLS && this.waiting.length > 0) {
      const file = this.waiting.shift()!;
      const pull: Promise<void> = this.pullOrFail(file).finally(() => {
        this.running.delete(pull);
        this.startPulls();
      });
      this.running.add(pull);
    }
  }

  /** Resolves once no pull runs and none waits (or they were given up after a failure or the abort). */
  private async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
  }

  private async pullOrFail(file: { remote: RemoteTorrentFile; local: string }): Promise<void> {
    if (this.failure || this.signal.aborted) return;
    try {
      await this.pullOne(file.remote, file.local);
    } catch (err) {
      if (this.failure) return; // the other pull failed first: its error is the job's
      this.failure = { err: this.signal.aborted ? this.signal.reason : err };
      if (!this.signal.aborted) this.o.onFailure(err);
    }
  }

  private async pullOne(remote: RemoteTorrentFile, safe: string): Promise<void> {
    const local = path.join(this.o.localDir, ...safe.split("/"));
    if (this.verified.get(remote.path)?.path === safe) return;
    this.room ??= this.o.checkRoom(this.files!.filter((f) => !this.verified.has(f.remote.path)).reduce((n, f) => n + f.remote.size, 0));
    await this.room;
    fs.mkdirSync(path.dirname(local), { recursive: true });
    // The pull appends to what is there (a resume) and never creates an empty file: an empty torrent file needs one.
    fs.closeSync(fs.openSync(local, "a"));
    this.run ??= { startedAt: this.o.now(), bytes: this.doneBytes() };
    const got = await this.o.session.download(remote.path, local, {
      signal: this.signal,
      onProgress: (bytes) => {
        this.inFlight.set(remote.path, bytes);
        this.report();
      },
    }).finally(() => this.inFlight.delete(remote.path));
    const file: PulledFile = { path: safe, size: got.size, sha256: got.sha256, resumes: got.resumes, remotePath: remote.path, verifiedAt: this.o.now() };
    this.verified.set(remote.path, file);
    if (got.resumes > 0) this.o.log.info({ file: safe, resumes: got.resumes }, "transfer resumed after dropped connections");
    // Recorded in the torrent's order, whichever of two pulls ended first.
    this.o.onPulled(file, this.files!.flatMap((f) => this.verified.get(f.remote.path) ?? []));
    this.report();
  }

  /** Bytes verified, plus those of the files in flight so far. */
  private doneBytes(): number {
    let inFlight = 0;
    for (const bytes of this.inFlight.values()) inFlight += bytes;
    return this.files!.reduce((n, f) => n + (this.verified.get(f.remote.path)?.size ?? 0), 0) + inFlight;
  }

  private report(): void {
    const files = this.files!;
    const doneBytes = this.doneBytes();
    const seconds = this.run ? Math.max(0.001, (this.o.now() - this.run.startedAt) / 1000) : 1;
    this.o.onProgress({
      doneBytes,
      totalBytes: files.reduce((n, f) => n + f.remote.size, 0),
      bytesPerSecond: this.run ? Math.max(0, doneBytes - this.run.bytes) / seconds : 0,
      filesDone: files.filter((f) => this.verified.has(f.remote.path)).length,
      filesTotal: files.length,
    });
  }
}

/**
 * Safe, unique local paths for a torrent's files, in its order: a pure function of the list, so a file pulled early,
 * or before a restart, gets the same name it would get at the end. Throws for a path outside the job's directory.
 */
export function localNames(remoteDir: string, files: RemoteTorrentFile[]): string[] {
  const taken = new Set<string>();
  return files.map((file) => {
    const rel = path.posix.relative(remoteDir, file.path);
    if (rel.startsWith("..") || path.posix.isAbsolute(rel)) throw new Error(`aria2 wrote ${file.path} outside the job's directory`);
    return uniquePath(sanitizeTorrentPath(rel), taken);
  });
}

/** Two torrent paths may sanitise to the same name (or differ only in case): the later gets " (2)", " (3)"… */
function uniquePath(p: string, taken: Set<string>): string {
  let candidate = p;
  for (let i = 2; taken.has(candidate.toLowerCase()); i++) {
    const ext = path.posix.extname(p);
    candidate = `${p.slice(0, p.length - ext.length)} (${i})${ext}`;
  }
  taken.add(candidate.toLowerCase());
  return candidate;
}

function sizeOf(file: string): number | null {
  try {
    return fs.statSync(file).size;
  } catch {
    return null;
  }
}
