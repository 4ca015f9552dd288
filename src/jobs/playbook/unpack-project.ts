// Turns an uploaded playbook (.yml/.yaml) or project archive (.zip, .tar.gz/.tgz) into a fresh temporary project
// directory for the analysis, refusing anything unsafe (paths leaving it, links, devices, bombs, lies about the type).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DEFAULT_UNPACK_LIMITS, ProjectWriter, UnpackError, type UnpackLimits } from "./project-writer.js";
import { unpackTarGz } from "./unpack-tar.js";
import { unpackZip } from "./unpack-zip.js";

export { DEFAULT_UNPACK_LIMITS, UnpackError, safeEntryPath, type UnpackLimits } from "./project-writer.js";

export type ProjectUploadKind = "yaml" | "zip" | "tar.gz";

export interface UnpackedProject {
  kind: ProjectUploadKind;
  /** The temporary directory everything was written to; remove() deletes it. */
  dir: string;
  /** The project root: `dir`, or the archive's single top-level folder. */
  root: string;
  /** For a bare playbook: its file name inside root (it is the entry). */
  playbook?: string;
  files: number;
  bytes: number;
  /** Deletes the temporary directory; safe to call twice. */
  remove(): void;
}

export interface UnpackOptions {
  limits?: Partial<UnpackLimits>;
  /** Where the temporary directory is made (default: the OS temp dir). */
  tmpDir?: string;
}

/** The kind an upload's file name says it is, or null when it is none of ours. */
export function projectUploadKind(fileName: string): ProjectUploadKind | null {
  if (/\.ya?ml$/i.test(fileName)) return "yaml";
  if (/\.zip$/i.test(fileName)) return "zip";
  if (/\.(tar\.gz|tgz)$/i.test(fileName)) return "tar.gz";
  return null;
}

/** What the first bytes say a file is, for "this is not what its name says" messages. */
function sniff(bytes: Buffer): "zip" | "gzip" | "other" {
  if (bytes.length >= 4 && bytes.readUInt16BE(0) === 0x504b && [0x0304, 0x0506, 0x0708].includes(bytes.readUInt16BE(2))) return "zip";
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) return "gzip";
  return "other";
}

function assertIsWhatItSays(bytes: Buffer, fileName: string, kind: ProjectUploadKind): void {
  const actual = sniff(bytes);
  const named = JSON.stringify(fileName);
  if (kind === "zip" && actual !== "zip") {
    throw new UnpackError(`${named} is not a zip archive${actual === "gzip" ? " (it is gzip-compressed: name it .tar.gz)" : ""}`);
  }
  if (kind === "tar.gz" && actual !== "gzip") {
    throw new UnpackError(`${named} is not a gzip-compressed tar archive${actual === "zip" ? " (it is a zip archive: name it .zip)" : ""}`);
  }
  if (kind === "yaml") {
    if (actual !== "other") throw new UnpackError(`${named} is not a YAML playbook: it is a ${actual} archive—send it with the matching name (.zip or .tar.gz)`);
    if (bytes.includes(0)) throw new UnpackError(`${named} is not a YAML playbook: it is a binary file`);
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw new UnpackError(`${named} is not a YAML playbook: it is not UTF-8 text`);
    }
  }
}

/** A file name safe to write: the base name, with anything odd replaced. */
function playbookFileName(fileName: string): string {
  const base = path.basename(fileName.replace(/\\/g, "/")).replace(/[^\w.@+-]/g, "_");
  return /\.ya?ml$/i.test(base) && !base.startsWith(".") ? base : "playbook.yml";
}

/** An archive whose only top-level entry is a folder: that folder is the project. */
function projectRoot(dir: string): string {
  const top = fs.readdirSync(dir, { withFileTypes: true });
  return top.length === 1 && top[0]!.isDirectory() ? path.join(dir, top[0]!.name) : dir;
}

/**
 * Unpacks `bytes` (an upload named `fileName`) into a new temporary directory. On any refusal it throws an
 * UnpackError and leaves nothing behind; on success the caller owns the directory and must call remove().
 */
export async function unpackProject(bytes: Buffer, fileName: string, opts: UnpackOptions = {}): Promise<UnpackedProject> {
  const kind = projectUploadKind(fileName);
  if (!kind) throw new UnpackError(`${JSON.stringify(fileName)} is not a playbook (.yml, .yaml) or project archive (.zip, .tar.gz, .tgz)`);
  const limits: UnpackLimits = { ...DEFAULT_UNPACK_LIMITS, ...opts.limits };
  assertIsWhatItSays(bytes, fileName, kind);
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(opts.tmpDir ?? os.tmpdir(), "dropship-project-")));
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  try {
    const writer = new ProjectWriter(dir, limits);
    let playbook: string | undefined;
    if (kind === "yaml") {
      playbook = playbookFileName(fileName);
      writer.countEntry();
      await writer.addFile(playbook, [bytes]);
    } else if (kind === "zip") {
      await unpackZip(bytes, writer);
    } else {
      await unpackTarGz(bytes, writer);
    }
    if (writer.stats.files === 0) throw new UnpackError(`${JSON.stringify(fileName)} contains no files`);
    const root = kind === "yaml" ? dir : projectRoot(dir);
    return { kind, dir, root, ...(playbook ? { playbook } : {}), files: writer.stats.files, bytes: writer.stats.bytes, remove };
  } catch (err) {
    remove();
    if (err instanceof UnpackError) throw err;
    const what = kind === "zip" ? "zip archive" : "gzip-compressed tar archive";
    throw new UnpackError(`${JSON.stringify(fileName)} is not a readable ${what} (corrupt or truncated): ${(err as Error).message}`);
  }
}
