// Hostile project archives sent as documents: zip slip, absolute paths, links and devices, bombs by ratio, by
// size and by count, huge, deep, duplicate and non-UTF-8 names, tar with "..". Each is refused, recorded as a failed
// upload, and leaves nothing behind: not in DATA_DIR/work, not where its names pointed.
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { rawTarGz, rawZip, type RawZipEntry, type TarEntry } from "../analysis/archive-builders.js";
import type { HostileCase } from "./hostile-runner.js";
import type { HostileWorld } from "./hostile-world.js";

const SITE = { name: "site.yml", data: "- hosts: all\n  tasks: []\n" };
const ZEROS_4M = Buffer.alloc(4 * 1024 * 1024);
/** Unique per run: an absolute entry must not land there. */
const ABS_TARGET = `/tmp/dropship-hostile-abs-${process.pid}.txt`;

/** No file by this name next to the upload's folder or above it, nor at an absolute target. */
const nowhere = (name: string) => (w: HostileWorld) => {
  const places = [path.join(w.dataDir, "work"), w.dataDir, w.dir, path.dirname(w.dir)].map((d) => path.join(d, name));
  return [...places, ABS_TARGET].filter((p) => fs.existsSync(p)).map((p) => `a file was written at ${p}`);
};

const zipCase = (name: string, entries: () => RawZipEntry[], refusal: RegExp, escapee?: string): HostileCase => ({
  area: "archive",
  name: `zip: ${name}`,
  input: { document: { fileName: "project.zip", bytes: async () => rawZip(entries()) } },
  refusal,
  records: "failed-upload",
  ...(escapee ? { check: nowhere(escapee) } : {}),
});

const tarCase = (name: string, bytes: () => Promise<Buffer>, refusal: RegExp, escapee?: string): HostileCase => ({
  area: "archive",
  name: `tar.gz: ${name}`,
  input: { document: { fileName: "project.tar.gz", bytes } },
  refusal,
  records: "failed-upload",
  ...(escapee ? { check: nowhere(escapee) } : {}),
});
const tar = (entries: TarEntry[]) => () => rawTarGz(entries);

const SLIP = /points outside it .*"zip slip"; refused/;
const ABSOLUTE = /has an entry with an absolute path/;
const NOT_REGULAR = /which is not a regular file or folder/;
const NOT_UTF8 = /name that is not valid UTF-8/;

/** A ustar header (POSIX.1-1988) for a file or folder; written by hand so bombs are cheap to build. */
function tarHeader(name: string | Buffer, size: number, type: "0" | "5" = "0"): Buffer {
  const h = Buffer.alloc(512);
  (typeof name === "string" ? Buffer.from(name) : name).copy(h, 0, 0, 100);
  h.write("0000644\0", 100, "latin1");
  h.write("0000000\0", 108, "latin1");
  h.write("0000000\0", 116, "latin1");
  h.write(`${size.toString(8).padStart(11, "0")}\0`, 124, "latin1");
  h.write("00000000000\0", 136, "latin1");
  h.write(type, 156, "latin1");
  h.write("ustar\u000000", 257, "latin1");
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return h;
}

const gzip = promisify(zlib.gzip);

/** Entries (header + data padded to 512), the end-of-archive blocks, then `trailing` zero bytes; gzipped fast. */
function tarGz(entries: { name: string | Buffer; data?: Buffer; type?: "0" | "5" }[], trailing = 0): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    parts.push(tarHeader(e.name, data.length, e.type), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024 + trailing));
  return gzip(Buffer.concat(parts), { level: 1 });
}
const SITE_RAW = { name: SITE.name, data: Buffer.from(SITE.data) };

export const archiveCases: HostileCase[] = [
  zipCase("../ one level up", () => [SITE, { name: "../hostile-slip-1.txt", data: "boom" }], SLIP, "hostile-slip-1.txt"),
  zipCase("../../../ to the world's folder", () => [SITE, { name: "../../../hostile-slip-2.txt", data: "boom" }], SLIP, "hostile-slip-2.txt"),
  zipCase(".. hidden mid-path", () => [SITE, { name: "roles/x/../../../hostile-slip-3.txt", data: "boom" }], SLIP, "hostile-slip-3.txt"),
  zipCase("an absolute path", () => [SITE, { name: ABS_TARGET, data: "boom" }], ABSOLUTE, path.basename(ABS_TARGET)),
  zipCase("a drive letter", () => [SITE, { name: "C:/Windows/evil.txt", data: "x" }], ABSOLUTE),
  zipCase("backslashes", () => [SITE, { name: "..\\..\\hostile-bs.txt", data: "x" }], /backslash in its path|"zip slip"/, "hostile-bs.txt"),
  zipCase("a symlink to /etc/passwd", () => [SITE, { name: "passwd.yml", data: "/etc/passwd", unixMode: 0o120777 }], /contains a symbolic link \("passwd\.yml"\)/),
  zipCase("a symlinked folder, then a file through it", () => [{ name: "out", data: "/tmp", unixMode: 0o120777 }, { name: "out/hostile-through.txt", data: "x" }], /symbolic link \("out"\)/, "hostile-through.txt"),
  zipCase("a character device", () => [SITE, { name: "tty", unixMode: 0o020644 }], NOT_REGULAR),
  zipCase("a fifo", () => [SITE, { name: "fifo", unixMode: 0o010644 }], NOT_REGULAR),
  zipCase("a bomb by ratio", () => [SITE, { name: "bomb.yml", data: ZEROS_4M, deflate: true }], /looks like a zip bomb: "bomb\.yml" expands \d+×/),
  zipCase("a bomb by count (5001 entries)", () => Array.from({ length: 5001 }, (_, i) => ({ name: `f${i}.yml`, data: "" })), /5001 entries, more than 5000; refused/),
  zipCase("a 2000-character name", () => [SITE, { name: `${"n".repeat(2000)}.yml`, data: "x" }], /path longer than 1024 characters/),
  zipCase("folders 70 deep", () => [SITE, { name: `${"d/".repeat(70)}x.yml`, data: "x" }], /nests folders more than 64 deep/),
  zipCase("the same name twice", () => [SITE, { name: "site.yml", data: "- hosts: evil\n" }], /"site\.yml" twice/),
  zipCase("a name that is not UTF-8", () => [SITE, { name: Buffer.from([0x62, 0xff, 0xfe, 0x2e, 0x79, 0x6d, 0x6c]), data: "x" }], NOT_UTF8),
  zipCase("a control character in a name", () => [SITE, { name: "a\u0001.yml", data: "x" }], /control characters in its name/),
  zipCase("a NUL in a name", () => [SITE, { name: "site.yml\u0000.txt", data: "x" }], /control characters in its name/),
  zipCase("a password", () => [{ ...SITE, encrypted: true }], /password-protected/),
  zipCase("a file that is also a folder", () => [SITE, { name: "a", data: "x" }, { name: "a/b.yml", data: "y" }], /sits under a path that is a file/),
  zipCase("only a folder", () => [{ name: "empty/" }], /contains no files/),
  {
    area: "archive",
    name: "zip: truncated",
    input: { document: { fileName: "project.zip", bytes: async () => rawZip([SITE, { name: "b.yml", data: "y" }]).subarray(0, 60) } },
    refusal: /not a readable zip archive \(corrupt or truncated\)/,
    records: "failed-upload",
  },
  {
    area: "archive",
    name: "zip: a checksum that does not match",
    input: {
      document: {
        fileName: "project.zip",
        bytes: async () => {
          const z = rawZip([SITE]);
          const at = 30 + SITE.name.length + 2;
          z[at] = z[at]! ^ 0xff;
          return z;
        },
      },
    },
    refusal: /does not match its checksum/,
    records: "failed-upload",
  },

  tarCase("../../ out of the folder", tar([SITE, { name: "a/../../hostile-tslip.txt", data: "boom" }]), SLIP, "hostile-tslip.txt"),
  tarCase("a .. folder entry", tar([SITE, { name: "../", type: "directory" }]), SLIP),
  tarCase("./../ out of the folder", tar([SITE, { name: "./../hostile-tslip2.txt", data: "boom" }]), SLIP, "hostile-tslip2.txt"),
  tarCase("an absolute path", tar([SITE, { name: ABS_TARGET, data: "boom" }]), ABSOLUTE),
  tarCase("a symlink to /etc/passwd", tar([SITE, { name: "passwd.yml", type: "symlink", linkname: "/etc/passwd" }]), /contains a symbolic link \("passwd\.yml"\)/),
  tarCase("a hard link to /etc/shadow", tar([SITE, { name: "shadow.yml", type: "link", linkname: "/etc/shadow" }]), /contains a hard link \("shadow\.yml"\)/),
  tarCase("a character device", tar([SITE, { name: "tty", type: "character-device" }]), /not a regular file or folder \(character-device\)/),
  tarCase("a fifo", tar([SITE, { name: "fifo", type: "fifo" }]), /not a regular file or folder \(fifo\)/),
  tarCase("a bomb by size (101 MB of zeros)", async () => tarGz([SITE_RAW, { name: "zeros.bin", data: Buffer.alloc(101 * 1024 * 1024) }]), /(more|larger) than 100 MB/),
  tarCase("a bomb by zeros after the end", async () => tarGz([SITE_RAW], 110 * 1024 * 1024), /more than 100 MB; refused/),
  tarCase("a bomb by count (5001 entries)", async () => tarGz(Array.from({ length: 5001 }, (_, i) => ({ name: `f${i}`, data: Buffer.alloc(0) }))), /more than 5000 entries; refused/),
  tarCase("the same name twice", tar([SITE, { name: "site.yml", data: "- hosts: evil\n" }]), /"site\.yml" twice/),
  tarCase("a name that is not UTF-8", async () => tarGz([SITE_RAW, { name: Buffer.from([0x62, 0xff, 0xfe, 0x2e, 0x79, 0x6d, 0x6c]), data: Buffer.from("x") }]), NOT_UTF8),
  tarCase("a 2000-character name", tar([SITE, { name: `${"n".repeat(2000)}.yml`, data: "x" }]), /path longer than 1024 characters/),
  tarCase("not a tar inside the gzip", async () => zlib.gzipSync(Buffer.from("just text\n".repeat(100))), /corrupt or truncated/),
];
