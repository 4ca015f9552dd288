// SFTP transfers for SshHost: resumable, verified downloads (pipelined reads, in-order appends) and recursive listings.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import pRetry, { AbortError } from "p-retry";
import type ssh2 from "ssh2";
import { run, type Host } from "../hosts/host.js";
import { abortError } from "./local-host.js";

/** Read size and requests in flight: enough to fill a fast link without a per-request round trip. */
const CHUNK = 64 * 1024;
const IN_FLIGHT = 16;

/** What a pull needs of a connection: commands (for the remote checksum) and an SFTP session. SshHost is one. */
export interface SftpHost extends Host {
  sftp(): Promise<ssh2.SFTPWrapper>;
}

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
  let attempts = 0;
  const total = await pRetry(() => remoteSize(host, remotePath), retryOptions(opts));
  await pRetry(async () => {
    attempts++;
    let start = fs.existsSync(localPath) ? fs.statSync(localPath).size : 0;
    if (start > total) {
      fs.truncateSync(localPath, 0); // a different, larger file was there before: start over
      start = 0;
    }
    if (start === total && total > 0) return;
    const sftp = await host.sftp();
    await copyToLocal(sftp, remotePath, localPath, start, total, (bytes) => opts.onProgress?.({ bytes, total }), opts.signal);
  }, retryOptions(opts));
  const size = fs.statSync(localPath).size;
  const [local, remote] = await Promise.all([sha256OfFile(localPath), remoteSha256(host, remotePath)]);
  if (size !== total || local !== remote) {
    fs.rmSync(localPath, { force: true });
    throw new Error(
      `the copy of ${remotePath} from ${host.label} does not match the original (${size} of ${total} bytes, sha256 ${local.slice(0, 12)}… vs ${remote.slice(0, 12)}…); the partial file was removed, try again`,
    );
  }
  return { bytes: size, sha256: local, resumes: attempts - 1 };
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

async function remoteSha256(host: SftpHost, remotePath: string): Promise<string> {
  const { stdout } = await run(host, ["sha256sum", "--", remotePath]);
  // sha256sum prefixes the line with "\" when it had to escape the file name.
  const hash = stdout.trim().replace(/^\\/, "").split(/\s+/)[0] ?? "";
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error(`sha256sum on ${host.label} gave no checksum for ${remotePath}`);
  return hash;
}

function sha256OfFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    fs.createReadStream(file)
      .on("data", (d) => h.update(d))
      .on("error", reject)
      .on("end", () => resolve(h.digest("hex")));
  });
}

function openRemote(sftp: ssh2.SFTPWrapper, remotePath: string): Promise<Buffer> {
  return new Promise((resolve, reject) => sftp.open(remotePath, "r", (err, handle) => (err ? reject(err) : resolve(handle))));
}

/** Appends remote bytes [start, total) to localPath; the local size is always a clean prefix, so resuming is exact. */
async function copyToLocal(
  sftp: ssh2.SFTPWrapper,
  remotePath: string,
  localPath: string,
  start: number,
  total: number,
  onWritten: (bytes: number) => void,
  signal?: AbortSignal,
): Promise<void> {
  const handle = await openRemote(sftp, remotePath);
  const fd = fs.openSync(localPath, "a");
  try {
    await pipelinedCopy(sftp, handle, fd, start, total, onWritten, signal);
  } finally {
    fs.closeSync(fd);
    sftp.close(handle, () => {});
  }
}

function pipelinedCopy(
  sftp: ssh2.SFTPWrapper,
  handle: Buffer,
  fd: number,
  start: number,
  total: number,
  onWritten: (bytes: number) => void,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const ready = new Map<number, Buffer>();
    let nextRequest = start;
    let nextWrite = start;
    let inFlight = 0;
    let writing = false;
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      signal?.removeEventListener("abort", onAbort);
      sftp.removeListener("close", onClose);
      if (err) reject(err);
      else resolve();
    };
    const onAbort = () => finish(abortError(signal!));
    const onClose = () => finish(new Error("the SFTP session closed mid-transfer"));
    signal?.addEventListener("abort", onAbort, { once: true });
    sftp.once("close", onClose);
    const request = (off: number, len: number) => {
      inFlight++;
      const buf = Buffer.allocUnsafe(len);
      sftp.read(handle, buf, 0, len, off, (err, n) => {
        inFlight--;
        if (done) return;
        if (err) return finish(err);
        if (n === 0) return finish(new AbortError("the remote file got shorter during the download"));
        ready.set(off, buf.subarray(0, n));
        if (n < len) request(off + n, len - n); // a short read: ask for the rest
        flush();
        pump();
      });
    };
    const pump = () => {
      while (!done && inFlight < IN_FLIGHT && nextRequest < total) {
        const len = Math.min(CHUNK, total - nextRequest);
        request(nextRequest, len);
        nextRequest += len;
      }
    };
    const flush = () => {
      if (writing || done) return;
      const chunk = ready.get(nextWrite);
      if (!chunk) {
        if (nextWrite >= total) finish();
        return;
      }
      ready.delete(nextWrite);
      writing = true;
      fs.write(fd, chunk, 0, chunk.length, null, (err) => {
        writing = false;
        if (err) return finish(new AbortError(`cannot write the local file: ${err.message}`));
        nextWrite += chunk.length;
        onWritten(nextWrite);
        flush();
      });
    };
    pump();
    flush();
  });
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
