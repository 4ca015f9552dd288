// Reads a .tar.gz with zlib + tar-stream into a ProjectWriter: regular files and folders only, bounded output.
import { Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import zlib from "node:zlib";
import tar from "tar-stream";
import { ProjectWriter, UnpackError, describeBytes, safeEntryPath } from "./project-writer.js";

/** Tar adds a 512-byte header per entry and pads every file to 512 bytes; allow for that on top of the file bytes. */
function maxTarBytes(writer: ProjectWriter): number {
  return writer.limits.maxTotalBytes + writer.limits.maxEntries * 1024 + 1024 * 1024;
}

/** Stops a gzip bomb while it inflates, before tar-stream sees the bytes. */
function outputCap(limit: number, total: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      seen += chunk.length;
      if (seen > limit) done(new UnpackError(`the archive unpacks to more than ${total}; refused`));
      else done(null, chunk);
    },
  });
}

async function readEntries(extract: tar.Extract, writer: ProjectWriter): Promise<void> {
  for await (const entry of extract) {
    const { header } = entry;
    writer.countEntry();
    const rel = safeEntryPath(header.name, writer.limits);
    const shown = rel ?? header.name;
    switch (header.type) {
      case "symlink":
      case "link":
        throw new UnpackError(`the archive contains a ${header.type === "link" ? "hard" : "symbolic"} link ("${shown}"); links are refused—replace it with the file itself`, shown);
      case "directory":
        if (rel !== null) writer.addDirectory(rel);
        entry.resume();
        break;
      case "file":
      case "contiguous-file":
        if (rel === null) entry.resume();
        // streamx's Readable is async-iterable at run time; its types do not say so.
        else await writer.addFile(rel, entry as unknown as AsyncIterable<Buffer>);
        break;
      default:
        throw new UnpackError(`the archive contains "${shown}", which is not a regular file or folder (${header.type ?? "unknown type"}); refused`, shown);
    }
  }
}

export async function unpackTarGz(bytes: Buffer, writer: ProjectWriter): Promise<void> {
  const extract = tar.extract();
    const feeding = pipeline(Readable.from([bytes]), zlib.createGunzip(), outputCap(maxTarBytes(writer), describeBytes(writer.limits.maxTotalBytes)), extract);
  // When reading stops early (a refused entry), tearing down the extractor ends the pipeline too.
  const reading = readEntries(extract, writer).catch((err: unknown) => {
    extract.destroy(err as Error);
    throw err;
  });
  const failures = (await Promise.allSettled([feeding, reading])).flatMap((r) => (r.status === "rejected" ? [r.reason as Error] : []));
  // The other side then fails with "premature close"; the refusal is the message worth showing.
  if (failures.length > 0) throw failures.find((e) => e instanceof UnpackError) ?? failures[0];
}
