// Builds archives for the unpacking tests: real ones with the zip/tar commands, hostile ones byte by byte.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import tar from "tar-stream";

export interface RawZipEntry {
  /** The name as written; bytes for names no encoder would produce (not UTF-8 although flagged so). */
  name: string | Buffer;
  data?: Buffer | string;
  /** Unix mode (e.g. 0o120777 for a symlink); recorded as "made by Unix". */
  unixMode?: number;
  /** Set bit 0 of the general purpose flag: "encrypted". */
  encrypted?: boolean;
  deflate?: boolean;
}

/**
 * A zip written field by field (PKWARE APPNOTE 4.3), so that names and attributes no zip tool would write
 * (../, /etc, C:\, symlinks, the encryption flag) can be tested.
 */
export function rawZip(entries: RawZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const data = Buffer.from(e.data ?? "");
    const packed = e.deflate ? zlib.deflateRawSync(data) : data;
    // Traditional PKWARE encryption puts a 12-byte header before the data (its content does not matter here).
    const stored = e.encrypted ? Buffer.concat([Buffer.alloc(12, 7), packed]) : packed;
    const name = typeof e.name === "string" ? Buffer.from(e.name, "utf8") : e.name;
    const crc = zlib.crc32(data);
    const flags = (e.encrypted ? 1 : 0) | 0x0800; // bit 11: UTF-8 names
    const method = e.deflate ? 8 : 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(stored.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    locals.push(local, name, stored);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(e.unixMode !== undefined ? (3 << 8) | 20 : 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(stored.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(e.unixMode !== undefined ? (e.unixMode << 16) >>> 0 : 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + stored.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

export interface TarEntry {
  name: string;
  data?: string | Buffer;
  type?: "file" | "directory" | "symlink" | "link" | "fifo" | "character-device";
  linkname?: string;
}

/** A .tar.gz from tar-stream, which writes whatever names and types it is given. */
export async function rawTarGz(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    const type = e.type ?? "file";
    const data = type === "file" ? Buffer.from(e.data ?? "") : undefined;
    pack.entry({ name: e.name, type, ...(e.linkname ? { linkname: e.linkname } : {}), ...(data ? { size: data.length } : {}) }, data ?? "");
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  return zlib.gzipSync(Buffer.concat(chunks));
}

/** Writes files (path → content) under dir. */
export function writeTree(dir: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
}

/** `zip -r -y` (links stored as links) of the given names, run in `cwd`; with a password when given. */
export function zipCommand(cwd: string, names: string[], password?: string): Buffer {
  const out = path.join(cwd, "..", `${path.basename(cwd)}-${process.hrtime.bigint()}.zip`);
  execFileSync("zip", ["-q", "-r", "-y", ...(password ? ["-P", password] : []), out, ...names], { cwd });
  const bytes = fs.readFileSync(out);
  fs.rmSync(out);
  return bytes;
}

/** `tar -czf` of the given names, run in `cwd`. */
export function tarCommand(cwd: string, names: string[]): Buffer {
  return execFileSync("tar", ["-czf", "-", ...names], { cwd, maxBuffer: 64 * 1024 * 1024 });
}
