// Writes an archive's entries under one directory, refusing unsafe paths and enforcing the size and count limits.
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

export interface UnpackLimits {
  /** Entries of every kind (files, folders, skipped ones). */
  maxEntries: number;
  /** Bytes of all files once unpacked. */
  maxTotalBytes: number;
  /** A zip entry larger than ratioFloorBytes that is more than this many times its compressed size is a bomb. */
  maxEntryRatio: number;
  ratioFloorBytes: number;
  /** Characters in one entry's path, and folders deep. */
  maxPathLength: number;
  maxDepth: number;
}

export const DEFAULT_UNPACK_LIMITS: UnpackLimits = Object.freeze({
  maxEntries: 5000,
  maxTotalBytes: 100 * 1024 * 1024,
  maxEntryRatio: 100,
  ratioFloorBytes: 1024 * 1024,
  maxPathLength: 1024,
  maxDepth: 64,
});

/** "100 MB", "512 KB", "1000 bytes": a limit as a person reads it. */
export function describeBytes(n: number): string {
  if (n >= 1024 * 1024) return `${Math.round(n / 1024 / 1024)} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} bytes`;
}

/** The upload cannot be used; the message says why in words a person can act on. */
export class UnpackError extends Error {
  constructor(
    message: string,
    /** The archive entry at fault, when there is one. */
    readonly entry?: string,
  ) {
    super(message);
    this.name = "UnpackError";
  }
}

/**
 * The entry's path made relative and checked: no "..", no absolute paths or drive letters, no control characters.
 * Returns null for entries that carry nothing (".", "./") and for macOS metadata (__MACOSX/, ._* AppleDouble files).
 */
export function safeEntryPath(raw: string, limits: Pick<UnpackLimits, "maxPathLength" | "maxDepth"> = DEFAULT_UNPACK_LIMITS): string | null {
  const shown = JSON.stringify(raw.length > 120 ? `${raw.slice(0, 117)}...` : raw);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw new UnpackError(`the archive has an entry with control characters in its name (${shown}); refused`, raw);
  // Decoders put U+FFFD where a name's bytes are not UTF-8: the name on disk would not be the one in the archive.
  if (raw.includes("\uFFFD")) throw new UnpackError(`the archive has an entry with a name that is not valid UTF-8 (${shown}); refused`, raw);
  if (raw.includes("\\")) throw new UnpackError(`the archive has an entry with a backslash in its path (${shown}); refused`, raw);
  if (raw.startsWith("/") || /^[A-Za-z]:/.test(raw)) throw new UnpackError(`the archive has an entry with an absolute path (${shown}); refused`, raw);
  const parts = raw.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new UnpackError(`the archive has an entry that points outside it (${shown}, "..")—a "zip slip"; refused`, raw);
  if (parts.length === 0) return null;
  if (parts[0] === "__MACOSX" || parts.at(-1)!.startsWith("._")) return null;
  const rel = parts.join("/");
  if (rel.length > limits.maxPathLength) throw new UnpackError(`the archive has a path longer than ${limits.maxPathLength} characters (${shown}); refused`, raw);
  if (parts.length > limits.maxDepth) throw new UnpackError(`the archive nests folders more than ${limits.maxDepth} deep (${shown}); refused`, raw);
  return rel;
}

/** Creates folders and files under `dir`; never follows or creates links, never overwrites. */
export class ProjectWriter {
  private entries = 0;
  private bytes = 0;
  private files = 0;

  constructor(
    readonly dir: string,
    readonly limits: UnpackLimits,
  ) {}

  get stats(): { entries: number; files: number; bytes: number } {
    return { entries: this.entries, files: this.files, bytes: this.bytes };
  }

  /** Counts one entry of any kind against maxEntries. */
  countEntry(): void {
    this.entries += 1;
    if (this.entries > this.limits.maxEntries) {
      throw new UnpackError(`the archive has more than ${this.limits.maxEntries} entries; refused (a project that large cannot be analysed here)`);
    }
  }

  addDirectory(rel: string): void {
    try {
      fs.mkdirSync(this.target(rel), { recursive: true, mode: 0o755 });
    } catch (err) {
      if (err instanceof UnpackError) throw err;
      throw new UnpackError(`the archive has "${rel}" as both a file and a folder; refused`, rel);
    }
  }

  /** Streams one file to disk; checks the running total and, for zip entries, the CRC-32 the archive recorded. */
  async addFile(rel: string, chunks: AsyncIterable<Buffer | Uint8Array> | Iterable<Buffer | Uint8Array>, expectedCrc32?: number): Promise<void> {
    const target = this.target(rel);
    try {
      fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
    } catch (err) {
      throw new UnpackError(`the archive's entry "${rel}" sits under a path that is a file (${(err as NodeJS.ErrnoException).code}); refused`, rel);
    }
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(target, "wx", 0o644);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EEXIST" || code === "EISDIR") throw new UnpackError(`the archive has "${rel}" twice; refused`, rel);
      throw err;
    }
    let crc = 0;
    try {
      for await (const chunk of chunks) {
        this.bytes += chunk.length;
        if (this.bytes > this.limits.maxTotalBytes) {
          throw new UnpackError(`the project is larger than ${describeBytes(this.limits.maxTotalBytes)} once unpacked; refused`, rel);
        }
        if (expectedCrc32 !== undefined) crc = zlib.crc32(chunk, crc);
        await handle.write(chunk);
      }
    } finally {
      await handle.close();
    }
    if (expectedCrc32 !== undefined && crc !== expectedCrc32 >>> 0) {
      throw new UnpackError(`the archive is corrupt: "${rel}" does not match its checksum`, rel);
    }
    this.files += 1;
  }

  private target(rel: string): string {
    const target = path.resolve(this.dir, rel);
    // safeEntryPath already refused "..", and no links are ever created, so this is belt and braces.
    if (!target.startsWith(this.dir + path.sep)) throw new UnpackError(`the archive has an entry outside the project ("${rel}"); refused`, rel);
    return target;
  }
}
