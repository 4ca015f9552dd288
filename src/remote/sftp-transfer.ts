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
import { identitySize, remoteChecksum, remoteIdentity } from "./remote-checksum.js";
import { pullInOrder, type ReadSession } from "./sftp-pipeline.js";

/** What a pull needs of a connection: commands (for the remote checksum) and SFTP sessions. SshHost is one. */
export interface SftpHost extends Host {
  /** The connection's shared SFTP session (stat, listings). */
  sftp(): Promise<ssh2.SFTPWrapper>;
  /** A new SFTP session of its own, which the caller ends. */
  openSftp(): Promise<ssh2.SFTPWrapper>;
}

/**
 * Defaults sized for a 400 Mbit/s link with 100 ms of round trip (bandwidth × delay = 5 MB): four sessions of ssh2's
 * 2 MiB channel window each, 16 MiB of reads requested ahead, 256 KiB reads (OpenSSH's sftp-server caps them at
 * 255 KiB and says so through limits@openssh.com; ssh2 keeps to that). OpenSSH's default MaxSessions is 10 per
 * connection, and the job also needs a session for aria2 and one for the checksum: four leaves room.
 */
export const PULL_DEFAULTS = { sessions: 4, windowBytes: 16 * 1024 * 1024, chunkBytes: 256 * 1024 };

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
  const total = await pRetry(() => remoteSize(host, remotePath), retryOptions(opts));
  // The host hashes its copy while ours travels; stopping us stops it too.
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
  const checksum = pRetry(() => remoteChecksum(host, remotePath, signal), { ...retryOptions(opts), signal });
  checksum.catch(() => {});
  const digest = new PrefixDigest();
  let attempts = 0;
  try {
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
    const [sum, now] = await Promise.all([checksum, pRetry(() => remoteIdentity(host, remotePath, signal), retryOptions(opts))]);
    verify({ host, remotePath, localPath, total, sum, now, local: digest });
    return { bytes: total, sha256: digest.hex(), resumes: attempts - 1 };
  } finally {
    stop.abort();
  }
}

function verify(v: {
  host: SftpHost;
  remotePath: string;
  localPath: string;
  total: number;
  sum: { sha256: string; before: string; after: string };
  now: string;
  local: PrefixDigest;
}): void {
  const size = fs.statSync(v.localPath).size;
  const where = `${v.remotePath} on ${v.host.label}`;
  if (v.sum.before !== v.sum.after || v.sum.after !== v.now || identitySize(v.now) !== v.total) {
    fs.rmSync(v.localPath, { force: true });
    throw new AbortError(`${where} changed while it was being copied; the partial copy was removed — try again once nothing writes to it`);
  }
  const local = v.local.hex();
  if (size !== v.total || local !== v.sum.sha256) {
    fs.rmSync(v.localPath, { force: true });
    throw new Error(
      `the copy of ${where} does not match the original (${size} of ${v.total} bytes, sha256 ${local.slice(0, 12)}… vs ${v.sum.sha256.slice(0, 12)}…); the partial file was removed, try again`,
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
  const sessions = await openReadSessions(host, remotePath, opts.sessions ?? PULL_DEFAULTS.sessions);
  const file = await fs.promises.open(localPath, "a");
  try {
    await pullInOrder({
      sessions,
      start: at.start,
      total: at.total,
      chunkBytes: Math.min(opts.chunkBytes ?? PULL_DEFAULTS.chunkBytes, readLimit(sessions[0]!.sftp)),
      windowBytes: opts.windowBytes ?? PULL_DEFAULTS.windowBytes,
      signal: opts.signal,
      async sink(chunks, bytes) {
        at.digest.update(chunks, bytes);
        const { bytesWritten } = await file.writev(chunks).catch((err: Error) => {
          throw new AbortError(`cannot write the local file: ${err.message}`);
        });
        if (bytesWritten !== bytes) throw new AbortError(`cannot write the local file: ${bytesWritten} of ${bytes} bytes written`);
        opts.onProgress?.({ bytes: at.digest.bytes, total: at.total });
      },
    });
  } finally {
    await file.close();
    for (const s of sessions) s.sftp.end();
  }
}

/** Up to `count` sessions with the file open; fewer if the server refuses more channels, and at least one. */
async function openReadSessions(host: SftpHost, remotePath: string, count: number): Promise<ReadSession[]> {
  const tries = await Promise.allSettled(Array.from({ length: Math.max(1, count) }, () => openReadSession(host, remotePath)));
  const sessions = tries.flatMap((t) => (t.status === "fulfilled" ? [t.value] : []));
  if (sessions.length === 0) throw (tries[0] as PromiseRejectedResult).reason;
  return sessions;
}

async function openReadSession(host: SftpHost, remotePath: string): Promise<ReadSession> {
  const sftp = await host.openSftp();
  try {
    const handle = await new Promise<Buffer>((resolve, reject) => sftp.open(remotePath, "r", (err, h) => (err ? reject(err) : resolve(h))));
    return { sftp, handle };
  } catch (err) {
    sftp.end();
    throw err;
  }
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

async function remoteSize(host: SftpHost, remotePath: string): Promise<number> {
  const sftp = await host.sftp();
  return new Promise((resolve, reject) =>
    sftp.stat(remotePath, (err, st) => {
      if (!err) return st.isFile() ? resolve(st.size) : reject(new AbortError(`${remotePath} on ${host.label} is not a regular file`));
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
