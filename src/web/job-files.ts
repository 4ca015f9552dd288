// Finds a job's files on disk without ever leaving <filesRoot>/<jobId>: canonical segments only, no symlinks.
import { promises as fs } from "node:fs";
import path from "node:path";

/** Written when a job has finished delivering; the retention clock starts at its mtime. Never served or listed. */
export const DELIVERED_MARKER = ".dropship-delivered";

export interface JobFile {
  relPath: string;
  size: number;
}

export type ResolvedFile = { ok: true; absPath: string; jobDir: string; size: number } | { ok: false; reason: "not-found" | "symlink" | "not-a-file" };

/**
 * Resolves already-validated segments under the job directory. The real path must equal the lexical one, so
 * a symlink anywhere between the job directory and the file is refused rather than followed.
 */
export async function resolveJobFile(filesRoot: string, jobId: string, segments: string[]): Promise<ResolvedFile> {
  if (segments.length === 1 && segments[0] === DELIVERED_MARKER) return { ok: false, reason: "not-found" };
  const realRoot = await realpathOrNull(filesRoot);
  if (realRoot === null) return { ok: false, reason: "not-found" };
  const jobDir = path.join(realRoot, jobId);
  const lexical = path.resolve(jobDir, ...segments);
  if (!lexical.startsWith(jobDir + path.sep)) return { ok: false, reason: "not-found" };
  const real = await realpathOrNull(lexical);
  if (real === null) return { ok: false, reason: "not-found" };
  if (real !== lexical) return { ok: false, reason: "symlink" };
  const stat = await fs.lstat(real);
  if (!stat.isFile()) return { ok: false, reason: "not-a-file" };
  return { ok: true, absPath: real, jobDir, size: stat.size };
}

/** Every regular file of a job, '/'-separated and sorted; symlinks and the delivery marker are skipped. */
export async function listJobFiles(filesRoot: string, jobId: string): Promise<JobFile[] | null> {
  const jobDir = path.join(filesRoot, jobId);
  const top = await fs.lstat(jobDir).catch(() => null);
  if (top === null || !top.isDirectory()) return null;
  const files: JobFile[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const relPath = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
      if (relPath === DELIVERED_MARKER) continue;
      const abs = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(abs, relPath);
      else if (entry.isFile()) files.push({ relPath, size: (await fs.lstat(abs)).size });
    }
  };
  await walk(jobDir, "");
  return files.sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0));
}

async function realpathOrNull(p: string): Promise<string | null> {
  try {
    return await fs.realpath(p);
  } catch {
    return null;
  }
}
