// Unpacking uploads safely: real zip/tar.gz archives work; zip slip, links, bombs, lies and corruption are refused
// with a clear message and nothing is left on disk.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UnpackError, projectUploadKind, safeEntryPath, unpackProject, type UnpackedProject } from "../../src/jobs/playbook/unpack-project.js";
import { rawTarGz, rawZip, tarCommand, writeTree, zipCommand } from "./archive-builders.js";

let work: string;
/** Where unpackProject makes its temp dirs in these tests, so "nothing left behind" can be checked exactly. */
let tmp: string;
const unpacked: UnpackedProject[] = [];

beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-unpack-test-"));
  tmp = path.join(work, "tmp");
  fs.mkdirSync(tmp);
});

afterEach(() => {
  for (const u of unpacked.splice(0)) u.remove();
  fs.rmSync(work, { recursive: true, force: true });
});

async function unpack(bytes: Buffer, name: string, limits = {}): Promise<UnpackedProject> {
  const u = await unpackProject(bytes, name, { tmpDir: tmp, limits });
  unpacked.push(u);
  return u;
}

/** Expects a refusal whose message matches, and an empty temp area afterwards. */
async function refused(bytes: Buffer, name: string, message: RegExp, limits = {}): Promise<UnpackError> {
  const err = await unpackProject(bytes, name, { tmpDir: tmp, limits }).then(
    (u) => {
      unpacked.push(u);
      throw new Error(`expected ${name} to be refused, it unpacked to ${u.root}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UnpackError);
  expect((err as Error).message).toMatch(message);
  expect(fs.readdirSync(tmp)).toEqual([]);
  return err as UnpackError;
}

const listTree = (dir: string): string[] =>
  fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();

const PROJECT = {
  "site.yml": "- hosts: all\n  tasks:\n    - ansible.builtin.ping:\n",
  "roles/web/tasks/main.yml": "- name: hi\n  ansible.builtin.debug: { msg: hi }\n",
  "group_vars/all.yml": "x: 1\n",
};

describe("projectUploadKind", () => {
  it("goes by the file name", () => {
    expect(["a.yml", "b.YAML", "p.zip", "p.tar.gz", "p.TGZ", "x.torrent", "p.tar", "notes.txt"].map(projectUploadKind)).toEqual([
      "yaml", "yaml", "zip", "tar.gz", "tar.gz", null, null, null,
    ]);
  });
});

describe("good archives", () => {
  it("unpacks a zip made by zip(1), keeping folders", async () => {
    const src = path.join(work, "src");
    writeTree(src, PROJECT);
    const u = await unpack(zipCommand(src, ["."]), "project.zip");
    expect(u.kind).toBe("zip");
    expect(u.root).toBe(u.dir);
    expect(listTree(u.root)).toEqual(Object.keys(PROJECT).sort());
    expect(fs.readFileSync(path.join(u.root, "site.yml"), "utf8")).toBe(PROJECT["site.yml"]);
    expect(u.files).toBe(3);
    u.remove();
    expect(fs.existsSync(u.dir)).toBe(false);
  });

  it("unpacks a tar.gz made by tar(1), including its ./ entries", async () => {
    const src = path.join(work, "src");
    writeTree(src, PROJECT);
    const u = await unpack(tarCommand(src, ["."]), "project.tgz");
    expect(u.kind).toBe("tar.gz");
    expect(u.root).toBe(u.dir);
    expect(listTree(u.root)).toEqual(Object.keys(PROJECT).sort());
    expect(u.bytes).toBe(Object.values(PROJECT).reduce((n, s) => n + s.length, 0));
  });

  it("treats a single top-level folder as the project root (zip and tar.gz), ignoring __MACOSX", async () => {
    const src = path.join(work, "src");
    writeTree(src, Object.fromEntries(Object.entries(PROJECT).map(([k, v]) => [`myproject/${k}`, v])));
    writeTree(src, { "__MACOSX/myproject/._site.yml": "\u0000\u0005binary" });
    const z = await unpack(zipCommand(src, ["myproject", "__MACOSX"]), "p.zip");
    expect(z.root).toBe(path.join(z.dir, "myproject"));
    expect(listTree(z.root)).toEqual(Object.keys(PROJECT).sort());
    expect(fs.existsSync(path.join(z.dir, "__MACOSX"))).toBe(false);
    const t = await unpack(tarCommand(src, ["myproject"]), "p.tar.gz");
    expect(t.root).toBe(path.join(t.dir, "myproject"));
  });

  it("makes a bare playbook a one-file project with a safe name", async () => {
    const u = await unpack(Buffer.from(PROJECT["site.yml"]), "../../deploy me.yml");
    expect(u.kind).toBe("yaml");
    expect(u.playbook).toBe("deploy_me.yml");
    expect(fs.readdirSync(u.root)).toEqual(["deploy_me.yml"]);
  });
});

describe("refused", () => {
  it("zip slip, in zip and tar.gz", async () => {
    await refused(rawZip([{ name: "site.yml", data: "x" }, { name: "../../evil.sh", data: "boom" }]), "slip.zip", /outside it.*zip slip/);
    await refused(rawZip([{ name: "roles/../../evil.sh", data: "boom" }]), "slip.zip", /zip slip/);
    await refused(await rawTarGz([{ name: "site.yml", data: "x" }, { name: "a/../../evil.sh", data: "boom" }]), "slip.tar.gz", /zip slip/);
    expect(fs.existsSync(path.join(work, "evil.sh"))).toBe(false);
  });

  it("absolute paths and drive letters", async () => {
    await refused(rawZip([{ name: "/etc/cron.d/evil", data: "x" }]), "abs.zip", /absolute path/);
    await refused(rawZip([{ name: "C:/Windows/evil", data: "x" }]), "drive.zip", /absolute path/);
    await refused(rawZip([{ name: "C:\\Windows\\evil", data: "x" }]), "drive.zip", /absolute path/);
    await refused(await rawTarGz([{ name: "/etc/cron.d/evil", data: "x" }]), "abs.tgz", /absolute path/);
  });

  it("symbolic links, hard links and devices", async () => {
    const src = path.join(work, "src");
    writeTree(src, { "site.yml": "- hosts: all\n" });
    fs.symlinkSync("/etc/passwd", path.join(src, "passwd.yml"));
    await refused(zipCommand(src, ["."]), "link.zip", /symbolic link \("passwd\.yml"\)/);
    await refused(tarCommand(src, ["."]), "link.tar.gz", /symbolic link \("passwd\.yml"\)/);
    await refused(rawZip([{ name: "x.yml", data: "/etc/shadow", unixMode: 0o120777 }]), "link.zip", /symbolic link/);
    await refused(await rawTarGz([{ name: "site.yml", data: "x" }, { name: "h.yml", type: "link", linkname: "/etc/shadow" }]), "h.tgz", /hard link/);
    await refused(await rawTarGz([{ name: "dev", type: "character-device" }]), "dev.tgz", /not a regular file or folder \(character-device\)/);
    await refused(await rawTarGz([{ name: "fifo", type: "fifo" }]), "fifo.tgz", /not a regular file or folder/);
    await refused(rawZip([{ name: "fifo", unixMode: 0o010644 }]), "fifo.zip", /not a regular file or folder/);
  });

  it("too many entries", async () => {
    const many = Array.from({ length: 30 }, (_, i) => ({ name: `f${i}.yml`, data: "x: 1\n" }));
    await refused(rawZip(many), "many.zip", /30 entries, more than 20/, { maxEntries: 20 });
    await refused(await rawTarGz(many), "many.tgz", /more than 20 entries/, { maxEntries: 20 });
    expect((await unpack(rawZip(many), "ok.zip", { maxEntries: 30 })).files).toBe(30);
  });

  it("a zip bomb entry (compression ratio) and archives too large once unpacked", async () => {
    const zeros = Buffer.alloc(4 * 1024 * 1024);
    await refused(rawZip([{ name: "site.yml", data: "x" }, { name: "bomb.yml", data: zeros, deflate: true }]), "bomb.zip", /zip bomb.*"bomb\.yml" expands \d+×/);
    // A gzip bomb: each entry is fine on its own, the total is not; stopped while inflating.
    const big = Array.from({ length: 3 }, (_, i) => ({ name: `f${i}.bin`, data: zeros }));
    await refused(await rawTarGz(big), "bomb.tar.gz", /(more than|larger than) 10 MB/, { maxTotalBytes: 10 * 1024 * 1024 });
    await refused(rawZip(big.map((b) => ({ ...b, deflate: false }))), "big.zip", /(more than|larger than) 10 MB/, { maxTotalBytes: 10 * 1024 * 1024 });
    // Zeros after the tar's end: no entry grows, only the inflated stream does.
    const tarBytes = zlib.gunzipSync(await rawTarGz([{ name: "site.yml", data: "x" }]));
    const padded = zlib.gzipSync(Buffer.concat([tarBytes, Buffer.alloc(8 * 1024 * 1024)]));
    await refused(padded, "padded.tgz", /more than 1 MB; refused/, { maxTotalBytes: 1024 * 1024, maxEntries: 10 });
    await refused(Buffer.from("a: 1\n".repeat(300)), "big.yml", /larger than 1000 bytes once unpacked/, { maxTotalBytes: 1000 });
  });

  it("encrypted zips", async () => {
    const src = path.join(work, "src");
    writeTree(src, PROJECT);
    await refused(zipCommand(src, ["."], "hunter2"), "enc.zip", /password-protected \("[^"]+" is encrypted\); send it without a password/);
    await refused(rawZip([{ name: "site.yml", data: "secret", encrypted: true }]), "enc.zip", /password-protected/);
  });

  it("corrupt and truncated archives", async () => {
    const src = path.join(work, "src");
    writeTree(src, PROJECT);
    const zip = zipCommand(src, ["."]);
    await refused(zip.subarray(0, zip.length - 30), "cut.zip", /not a readable zip archive \(corrupt or truncated\)/);
    const flipped = rawZip([{ name: "site.yml", data: "- hosts: all\n" }]);
    const at = 30 + "site.yml".length + 3; // one byte of the stored data: only the CRC can tell
    flipped[at] = flipped[at]! ^ 0xff;
    await refused(flipped, "crc.zip", /corrupt: "site\.yml" does not match its checksum/);
    const tgz = tarCommand(src, ["."]);
    await refused(tgz.subarray(0, Math.floor(tgz.length / 2)), "cut.tgz", /not a readable gzip-compressed tar archive \(corrupt or truncated\)/);
    await refused(zlib.gzipSync(Buffer.from("just some text, not a tar archive\n".repeat(40))), "text.tar.gz", /corrupt or truncated/);
  });

  it("files that are not what their name says", async () => {
    const src = path.join(work, "src");
    writeTree(src, PROJECT);
    await refused(tarCommand(src, ["."]), "project.zip", /not a zip archive \(it is gzip-compressed: name it \.tar\.gz\)/);
    await refused(zipCommand(src, ["."]), "project.tar.gz", /not a gzip-compressed tar archive \(it is a zip archive: name it \.zip\)/);
    await refused(zipCommand(src, ["."]), "site.yml", /not a YAML playbook: it is a zip archive/);
    await refused(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 1]), "site.yml", /binary file/);
    await refused(Buffer.from([0x68, 0x69, 0xff, 0xfe, 0x0a]), "site.yml", /not UTF-8 text/);
    await refused(Buffer.from("%PDF-1.4 ..."), "doc.zip", /not a zip archive/);
    await refused(Buffer.from("x"), "movie.mkv", /not a playbook/);
  });

  it("an archive with no files, and a file that is also a folder", async () => {
    await refused(rawZip([{ name: "empty/" }]), "empty.zip", /contains no files/);
    await refused(await rawTarGz([{ name: "a", data: "x" }, { name: "a/b.yml", data: "y" }]), "clash.tgz", /under a path that is a file/);
    await refused(await rawTarGz([{ name: "a.yml", data: "x" }, { name: "a.yml", data: "y" }]), "twice.tgz", /"a\.yml" twice/);
  });
});

describe("safeEntryPath", () => {
  it("normalises harmless forms and refuses control characters", () => {
    expect(safeEntryPath("./a//b/./c.yml")).toBe("a/b/c.yml");
    expect(safeEntryPath("./")).toBeNull();
    expect(safeEntryPath("x/._site.yml")).toBeNull();
    expect(() => safeEntryPath("a\u0007b")).toThrow(/control characters/);
    expect(() => safeEntryPath("a/".repeat(70) + "x")).toThrow(/more than 64 deep/);
  });
});
