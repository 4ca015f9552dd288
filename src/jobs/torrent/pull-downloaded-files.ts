// The transfer step of a torrent job: pulls what aria2 downloaded off the droplet over SFTP into the job's download
// directory, under safe, unique local names, reporting bytes as they arrive.
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "../../shared/logger.js";
import { sanitizeTorrentPath } from "./sanitize-path.js";
import type { DropletSession } from "./torrent-ports.js";

export interface DeliveredFile {
  /** Safe path relative to the job's download directory. */
  path: string;
  size: number;
  sha256: string;
  /** Times the pull resumed after a dropped connection. */
  resumes: number;
}

export interface TransferProgress {
  doneBytes: number;
  totalBytes: number;
  bytesPerSecond: number;
}

export async function pullDownloadedFiles(
  session: DropletSession,
  files: { remoteDir: string; remoteFiles: { path: string; size: number }[]; localDir: string },
  opts: { signal: AbortSignal; now: () => number; log: Logger; onProgress(p: TransferProgress): void },
): Promise<DeliveredFile[]> {
  const { remoteDir, remoteFiles, localDir } = files;
  const totalBytes = remoteFiles.reduce((n, f) => n + f.size, 0);
  let doneBytes = 0;
  const startedAt = opts.now();
  const speed = (bytes: number) => bytes / Math.max(0.001, (opts.now() - startedAt) / 1000);
  const delivered: DeliveredFile[] = [];
  const taken = new Set<string>();
  for (const file of remoteFiles) {
    const rel = path.posix.relative(remoteDir, file.path);
    if (rel.startsWith("..") || path.posix.isAbsolute(rel)) throw new Error(`aria2 wrote ${file.path} outside the job's directory`);
    const safe = uniquePath(sanitizeTorrentPath(rel), taken);
    const local = path.join(localDir, ...safe.split("/"));
    fs.mkdirSync(path.dirname(local), { recursive: true });
    const base = doneBytes;
    const got = await session.download(file.path, local, {
      signal: opts.signal,
      onProgress: (bytes) => opts.onProgress({ doneBytes: base + bytes, totalBytes, bytesPerSecond: speed(base + bytes) }),
    });
    doneBytes += got.size;
    delivered.push({ path: safe, size: got.size, sha256: got.sha256, resumes: got.resumes });
    if (got.resumes > 0) opts.log.info({ file: safe, resumes: got.resumes }, "transfer resumed after dropped connections");
  }
  return delivered;
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
