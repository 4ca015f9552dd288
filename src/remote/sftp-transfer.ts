// SFTP transfers for SshHost: resumable, verified pulls at the link's rate, and recursive listings.
// A pull keeps a window of large reads in flight over several SFTP sessions (sftp-pipeline.ts), appends in order so
// the local file is always a clean prefix (resume is exact), hashes while receiving, and checks the result against
// sha256sum run on the host at the same time as the copy (remote-checksum.ts).
import { createHash, type Hash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import pRetry, { AbortError } from "p-retry";
import type ssh2 from "ssh2";
import type { Host } from "../hosts/host.js";
import { identityMatches, remoteChecksum, type RemoteChecksum } from "./remote-checksum.js";
import { pullInOrder, type ReadSession } from "./sftp-pipeline.js";

/** What a pull needs of a connection: commands (for the remote checksum) and SFTP sessions. SshHost is one. */
export interface SftpHost extends Host {
  /** The connection's shared SFTP session (stat, listings). */
  sftp(): Promise<ssh2.SFTPWrapper>;
  /** Up to `count` SFTP sessions kept open for pulls (fewer if the server refuses more, at least one). */
  sftpSessions(count: number): Promise<ssh2.SFTPWrapper[]>;
}

/**
 * Defaults sized for a 400 Mbit/s link with 100 ms of round trip (bandwidth × delay = 5 MB). ssh2 gives a channel a
 * 2 MiB window and tops it up only when half is used, so one SFTP session carries about 1 MiB per round trip (measured
 * ~9 MB/s at 100 ms): seven sessions carry ~60 MB/s there. 24 MiB of reads are requested ahead, in 256 KiB reads
 * (OpenSSH's sftp-server caps reads at 255 KiB and says so through limits@openssh.com; ssh2 keeps to that).
 * OpenSSH's default MaxSessions is 10 per connection: seven (shared by the pulls in flight), the shared SFTP session
 * and one checksum command for each of two pulls at once (pull-downloaded-files.ts); if the server refuses one, the pool
 * keeps what it got, and a refused checksum command is tried again.
 */
export const PULL_DEFAULTS = { sessions: 7, windowBytes: 24 * 1024 * 1024, chunkBytes: 256 * 1024 };

export interface DownloadProgress {
  bytes: number;
  total: number;
}

export interface DownloadOptions {
  onProgress?(p: DownloadProgress): void;
  signal?: AbortSignal;
  /** Reconnect-and-resume attempts after a failure (default 6, with backoff). */
  retries?: number;
  minRetryDelayMs?: number;
  /** SFTP sessions to read through (fewer are used if the server refuses more); default PULL_DEFAULTS.sessions. */
  sessions?: number;
  /** Bytes requested ahead of what is written; default PULL_DEFAULTS.windowBytes. */
  windowBytes?: number;
  /** Bytes per read request, lowered to what the server allows; default PULL_DEFAULTS.chunkBytes. */
  chunkBytes?: number;
}

export interface DownloadResult {
  bytes: number;
  sha256: string;
  /** How many times the transfer resumed after a failure. */
  resumes: number;
}

export interface RemoteFile {
  /** Path relative to the listed directory, with "/" separators. */
  path: string;
  size: number;
}

export async function downloadOverSftp(host: SftpHost, remotePath: string, localPath: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  fs.mkdirSync(path.dirname(localPath), { recursive: true });
  // The host hashes its copy while ours travels (stopping us stops it too), once the pull's sessions are open: the
  // hash then takes no CPU from their start, nor a session from the server's MaxSessions before them.
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
  const sessionsOpen = host.sftpSessions(opts.sessions ?? PULL_DEFAULTS.sessions).catch(() => {});
  const checksum = sessionsOpen.then(() => pRetry(() => remoteChecksum(host, remotePath, signal), { ...retryOptions(opts), signal }));
  checksum.catch(() => {});
  try {
    const first = await pRetry(() => remoteStat(host, remotePath), retryOptions(opts));
    return await pullVerified(host, remotePath, localPath, { first, checksum }, opts);
  } finally {
    stop.abort();
  }
}

async function pullVerified(
  host: SftpHost,
  remotePath: string,
  localPath: string,
  at: { first: RemoteStat; checksum: Promise<RemoteChecksum> },
  opts: DownloadOptions,
): Promise<DownloadResult> {
  const total = at.first.size;
  const digest = new PrefixDigest();
  let attempts = 0;
  await pRetry(async () => {
    attempts++;
    let start = fs.existsSync(localPath) ? fs.statSync(localPath).size : 0;
    if (start > total) {
      fs.truncateSync(localPath, 0); // a different, larger file was there before: start over
      start = 0;
    }
    await digest.catchUp(localPath, start);
    if (start < total) await pullAttempt(host, remotePath, localPath, { start, total, digest }, opts);
  }, retryOptions(opts));
  const [sum, last] = await Promise.all([at.checksum, pRetry(() => remoteStat(host, remotePath), retryOptions(opts))]);
  verify({ host, remotePath, localPath, first: at.first, last, sum, local: digest });
  return { bytes: total, sha256: digest.hex(), resumes: attempts - 1 };
}

function verify(v: {
  host: SftpHost;
  remotePath: string;
  localPath: string;
  first: RemoteStat;
  last: RemoteStat;
  sum: RemoteChecksum;
  local: PrefixDigest;
}): void {
  const total = v.first.size;
  const size = fs.statSync(v.localPath).size;
  const where = `${v.remotePath} on ${v.host.label}`;
  // Unchanged from the first stat to the last, and during the hash (to the nanosecond) in between.
  if (v.sum.before !== v.sum.after || !identityMatches(v.sum.after, v.first) || v.last.size !== total || v.last.mtime !== v.first.mtime) {
    fs.rmSync(v.localPath, { force: true });
    throw new AbortError(`${where} changed while it was being copied; the partial copy was removed — try again once nothing writes to it`);
  }
  const local = v.local.hex();
  if (size !== total || local !== v.sum.sha256) {
    fs.rmSync(v.localPath, { force: true });
    throw new Error(
      `the copy of ${where} does not match the original (${size} of ${total} bytes, sha256 ${local.slice(0, 12)}… vs ${v.sum.sha256.slice(0, 12)}…); the partial file was removed, try again`,
    );
  }
}

/** One connection's worth of the pull: opens the sessions, reads [start, total) in order, appends and hashes it. */
async function pullAttempt(
  host: SftpHost,
  remotePath: string,
  localPath: string,
  at: { start: number; total: number; digest: PrefixDigest },
  opts: DownloadOptions,
): Promise<void> {
  const sessions = await openHandles(await host.sftpSessions(opts.sessions ?? PULL_DEFAULTS.sessions), remotePath);
  const file = await fs.promises.open(localPath, "a");
  // A failed pull returns only once its last write has landed: the next attempt resumes from the file's size.
  let lastWrite: Promise<unknown> = Promise.resolve();
  const append = async (chunks: Buffer[], bytes: number) => {
    at.digest.update(chunks, bytes);
    const { bytesWritten } = await file.writev(chunks).catch((err: Error) => {
      throw new AbortError(`cannot write the local file: ${err.message}`);
    });
    if (bytesWritten !== bytes) throw new AbortError(`cannot write the local file: ${bytesWritten} of ${bytes} bytes written`);
    opts.onProgress?.({ bytes: at.digest.bytes, total: at.total });
  };
  try {
    await pullInOrder({
      sessions,
      start: at.start,
      total: at.total,
      chunkBytes: Math.min(opts.chunkBytes ?? PULL_DEFAULTS.chunkBytes, readLimit(sessions[0]!.sftp)),
      windowBytes: opts.windowBytes ?? PULL_DEFAULTS.windowBytes,
      signal: opts.signal,
      sink(chunks, bytes) {
        const w = append(chunks, bytes);
        lastWrite = w.catch(() => {});
        return w;
      },
    });
  } finally {
    await lastWrite;
    await file.close();
    for (const s of sessions) s.sftp.close(s.handle, () => {});
  }
}

/** The file opened on each session. */
async function openHandles(sessions: ssh2.SFTPWrapper[], remotePath: string): Promise<ReadSession[]> {
  const opened = await Promise.allSettled(
    sessions.map((sftp) => new Promise<Buffer>((resolve, reject) => sftp.open(remotePath, "r", (err, h) => (err ? reject(err) : resolve(h))))),
  );
  const failed = opened.find((o): o is PromiseRejectedResult => o.status === "rejected");
  if (!failed) return opened.map((o, i) => ({ sftp: sessions[i]!, handle: (o as PromiseFulfilledResult<Buffer>).value }));
  opened.forEach((o, i) => o.status === "fulfilled" && sessions[i]!.close(o.value, () => {}));
  throw failed.reason;
}

/** The largest read the server answers in full, as ssh2 learnt it (limits@openssh.com); ssh2 splits longer reads
 * into sequential requests, which would serialise the pipeline. */
function readLimit(sftp: ssh2.SFTPWrapper): number {
  const learnt = (sftp as unknown as { _maxReadLen?: unknown })._maxReadLen;
  return typeof learnt === "number" && learnt > 0 ? learnt : 32 * 1024;
}

/** SHA-256 of the local file's clean prefix, kept in step with the appends; re-read from disk only when behind. */
class PrefixDigest {
  private hash: Hash = createHash("sha256");
  bytes = 0;

  update(chunks: Buffer[], bytes: number): void {
    for (const c of chunks) this.hash.update(c);
    this.bytes += bytes;
  }

  async catchUp(file: string, size: number): Promise<void> {
    if (this.bytes === size) return;
    if (this.bytes > size) {
      this.hash = createHash("sha256");
      this.bytes = 0;
    }
    if (size === 0) return;
    for await (const chunk of fs.createReadStream(file, { start: this.bytes, end: size - 1 })) this.update([chunk as Buffer], (chunk as Buffer).length);
  }

  hex(): string {
    return this.hash.copy().digest("hex");
  }
}

function retryOptions(opts: DownloadOptions) {
  return {
    retries: opts.retries ?? 6,
    minTimeout: opts.minRetryDelayMs ?? 200,
    factor: 2,
    maxTimeout: 10_000,
    signal: opts.signal,
  };
}

interface RemoteStat {
  size: number;
  /** Whole seconds: all SFTP version 3 carries. */
  mtime: number;
}

async function remoteStat(host: SftpHost, remotePath: string): Promise<RemoteStat> {
  const sftp = await host.sftp();
  return new Promise((resolve, reject) =>
    sftp.stat(remotePath, (err, st) => {
      if (!err) return st.isFile() ? resolve({ size: st.size, mtime: st.mtime }) : reject(new AbortError(`${remotePath} on ${host.label} is not a regular file`));
      const code = (err as Error & { code?: number }).code;
      // Missing or forbidden files will not appear by retrying; a dropped connection might recover.
      if (code === 2 || code === 3) reject(new AbortError(`cannot download ${remotePath} from ${host.label}: ${code === 2 ? "no such file" : "permission denied"}`));
      else reject(err);
    }),
  );
}

export async function listRemoteFiles(host: SftpHost, remoteDir: string): Promise<RemoteFile[]> {
  const sftp = await host.sftp();
  const out: RemoteFile[] = [];
  const walk = async (rel: string): Promise<void> => {
    const dir = rel === "" ? remoteDir : `${remoteDir.replace(/\/+$/, "")}/${rel}`;
    const entries = await new Promise<ssh2.FileEntryWithStats[]>((resolve, reject) =>
      sftp.readdir(dir, (err, list) => (err ? reject(new Error(`cannot list ${dir} on ${host.label}: ${err.message}`)) : resolve(list))),
    );
    for (const e of entries) {
      const child = rel === "" ? e.filename : `${rel}/${e.filename}`;
      if (e.attrs.isDirectory()) await walk(child);
      else if (e.attrs.isFile()) out.push({ path: child, size: e.attrs.size });
    }
  };
  await walk("");
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

// Re-exported so callers can tell "do not retry" failures apart.
export { AbortError as DownloadAbortError };
