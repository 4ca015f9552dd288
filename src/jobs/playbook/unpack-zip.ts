// Reads a .zip with yauzl into a ProjectWriter: regular files and folders only, no encryption, no bombs.
import yauzl from "yauzl";
import { ProjectWriter, UnpackError, describeBytes, safeEntryPath } from "./project-writer.js";

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const MADE_BY_UNIX = 3;

type ZipEntryType = "file" | "directory" | "symlink" | "special";

/** What an entry is: its name says folder by a trailing "/", Unix-made zips also record the mode. */
function entryType(entry: yauzl.Entry): ZipEntryType {
  const mode = (entry.externalFileAttributes >>> 16) & 0xffff;
  const fmt = mode & S_IFMT;
  if (entry.versionMadeBy >> 8 === MADE_BY_UNIX && fmt !== 0) {
    if (fmt === S_IFLNK) return "symlink";
    if (fmt === S_IFDIR) return "directory";
    if (fmt !== S_IFREG) return "special";
  }
  return entry.fileName.endsWith("/") ? "directory" : "file";
}

/** yauzl's own name checks fire before we see the entry; its messages are reworded here. */
function rewordYauzlError(err: Error): Error {
  const m = /^(absolute path|invalid relative path|invalid characters in fileName): (.*)$/s.exec(err.message);
  if (m) {
    try {
      safeEntryPath(m[2]!);
    } catch (reworded) {
      return reworded as Error;
    }
    return new UnpackError(`the archive has an unsafe entry name (${JSON.stringify(m[2])}); refused`, m[2]);
  }
  return err;
}

function checkEntry(entry: yauzl.Entry, rel: string, writer: ProjectWriter): void {
  const { limits } = writer;
  if (entry.isEncrypted()) throw new UnpackError(`the archive is password-protected ("${rel}" is encrypted); send it without a password`, rel);
  const type = entryType(entry);
  if (type === "symlink") throw new UnpackError(`the archive contains a symbolic link ("${rel}"); links are refused—replace it with the file itself`, rel);
  if (type === "special") throw new UnpackError(`the archive contains "${rel}", which is not a regular file or folder; refused`, rel);
  if (type === "file" && !entry.canDecodeFileData()) {
    throw new UnpackError(`the archive stores "${rel}" with compression method ${entry.compressionMethod}, which is not supported; use deflate (every zip tool's default)`, rel);
  }
  const ratio = entry.uncompressedSize / Math.max(1, entry.compressedSize);
  if (entry.uncompressedSize > limits.ratioFloorBytes && ratio > limits.maxEntryRatio) {
    throw new UnpackError(
      `the archive looks like a zip bomb: "${rel}" expands ${Math.round(ratio)}× (${entry.compressedSize} → ${entry.uncompressedSize} bytes); refused`,
      rel,
    );
  }
}

export async function unpackZip(bytes: Buffer, writer: ProjectWriter): Promise<void> {
  const zip = await yauzl.fromBufferPromise(bytes, { lazyEntries: true, validateEntrySizes: true, decodeStrings: true, strictFileNames: false });
  try {
    if (zip.entryCount > writer.limits.maxEntries) {
      throw new UnpackError(`the archive has ${zip.entryCount} entries, more than ${writer.limits.maxEntries}; refused`);
    }
    let declared = 0;
    for await (const entry of zip.eachEntry()) {
      writer.countEntry();
      const rel = safeEntryPath(entry.fileName, writer.limits);
      checkEntry(entry, rel ?? entry.fileName, writer);
      if (rel === null) continue;
      if (entryType(entry) === "directory") {
        writer.addDirectory(rel);
        continue;
      }
      declared += entry.uncompressedSize;
      if (declared > writer.limits.maxTotalBytes) {
        throw new UnpackError(`the archive unpacks to more than ${describeBytes(writer.limits.maxTotalBytes)}; refused`);
      }
      await writer.addFile(rel, await zip.openReadStreamPromise(entry), entry.crc32);
    }
  } catch (err) {
    throw rewordYauzlError(err as Error);
  } finally {
    zip.close();
  }
}
