// .torrent documents: real ones made by mktorrent, hand-made hostile ones, and junk.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseTorrentLinks } from "../../../src/jobs/torrent/parse-magnet.js";
import { parseTorrentFile, TorrentFileError } from "../../../src/jobs/torrent/parse-torrent-file.js";
import { sanitizeTorrentPath } from "../../../src/jobs/torrent/sanitize-path.js";

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "torrent-file-test-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function mktorrent(target: string, ...trackers: string[]): Buffer {
  const out = path.join(dir, `${path.basename(target)}.torrent`);
  execFileSync("mktorrent", ["-d", ...trackers.flatMap((t) => ["-a", t]), "-o", out, target], { stdio: "ignore" });
  return fs.readFileSync(out);
}

/** A minimal bencoder, to write torrents mktorrent refuses to make (".." in a path, v2-only). */
function bencode(v: unknown): Buffer {
  if (typeof v === "number") return Buffer.from(`i${v}e`);
  if (typeof v === "string" || Buffer.isBuffer(v)) {
    const b = Buffer.isBuffer(v) ? v : Buffer.from(v);
    return Buffer.concat([Buffer.from(`${b.length}:`), b]);
  }
  if (Array.isArray(v)) return Buffer.concat([Buffer.from("l"), ...v.map(bencode), Buffer.from("e")]);
  const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
  return Buffer.concat([Buffer.from("d"), ...entries.flatMap(([k, x]) => [bencode(k), bencode(x)]), Buffer.from("e")]);
}

describe("parseTorrentFile", () => {
  it("reads a single-file torrent made by mktorrent", async () => {
    const file = path.join(dir, "song one.flac");
    fs.writeFileSync(file, Buffer.alloc(300_000, 7));
    const buf = mktorrent(file, "http://127.0.0.1:6969/announce", "udp://t.example:80");
    const t = await parseTorrentFile(buf);
    const info = buf.subarray(buf.indexOf("4:info") + 6, buf.length - 1);
    expect(t).toMatchObject({
      source: "torrent-file",
      infoHash: createHash("sha1").update(info).digest("hex"),
      infoHashV2: null,
      name: "song one.flac",
      sizeBytes: 300_000,
      trackers: ["http://127.0.0.1:6969/announce", "udp://t.example:80"],
      files: [{ path: "song one.flac", sizeBytes: 300_000 }],
    });
    expect(t.torrentFile?.equals(buf)).toBe(true);
    // The magnet built from it parses back to the same torrent.
    const back = parseTorrentLinks(t.magnetUri).magnets[0];
    expect(back).toMatchObject({ infoHash: t.infoHash, name: "song one.flac", sizeBytes: 300_000, trackers: t.trackers });
  });

  it("lists every file of a multi-file torrent with nested folders", async () => {
    const root = path.join(dir, "album");
    fs.mkdirSync(path.join(root, "disc 1", "extras"), { recursive: true });
    fs.writeFileSync(path.join(root, "disc 1", "01 - intro.mp3"), "a".repeat(1000));
    fs.writeFileSync(path.join(root, "disc 1", "extras", `-rf "cover" 'ünï'.jpg`), "b".repeat(2000));
    fs.writeFileSync(path.join(root, "README"), "c");
    const t = await parseTorrentFile(mktorrent(root, "http://127.0.0.1:1/announce"));
    expect(t.name).toBe("album");
    expect(t.sizeBytes).toBe(3001);
    expect(t.files?.map((f) => f.path).sort()).toEqual(
      ["album/README", "album/disc 1/01 - intro.mp3", `album/disc 1/extras/-rf "cover" 'ünï'.jpg`].sort(),
    );
  });

  it("refuses a '..' segment, which aria2 would refuse on the droplet (the sanitiser still neutralises one)", async () => {
    const info = {
      name: "evil",
      "piece length": 16384,
      pieces: Buffer.alloc(20),
      files: [
        { length: 3, path: ["..", "..", "etc", "passwd"] },
        { length: 2, path: ["ok.txt"] },
      ],
    };
    const err = await parseTorrentFile(bencode({ announce: "http://127.0.0.1:1/announce", info })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TorrentFileError);
    expect((err as Error).message).toBe('this .torrent has a file path that leaves its folder ("evil/../../etc/passwd"); the downloader (aria2) refuses such torrents');
    expect(sanitizeTorrentPath("evil/../../etc/passwd")).toBe("evil/_/_/etc/passwd");
  });

  it("computes the v2 hash of a hybrid torrent", async () => {
    const info = { name: "h", "piece length": 16384, pieces: Buffer.alloc(20), length: 5, "meta version": 2 };
    const buf = bencode({ info });
    const t = await parseTorrentFile(buf);
    expect(t.infoHashV2).toBe(createHash("sha256").update(bencode(info)).digest("hex"));
  });

  const junk: [string, Buffer, string | RegExp][] = [
    ["empty", Buffer.alloc(0), "the .torrent file is empty"],
    ["a PNG", Buffer.from("\x89PNG\r\n\x1a\n...."), "this is not a .torrent file (it is not a bencoded dictionary)"],
    ["a dictionary without info", bencode({ announce: "x" }), "this .torrent is incomplete: it has no info"],
    ["no pieces", bencode({ info: { name: "x", "piece length": 1, length: 1 } }), "this .torrent is incomplete: it has no info.pieces"],
    [
      "a v2-only torrent",
      bencode({ info: { name: "x", "piece length": 16384, "meta version": 2, "file tree": {} } }),
      /v2-only \.torrent/,
    ],
    ["a '.' segment", bencode({ info: { name: "x", "piece length": 16384, pieces: Buffer.alloc(20), files: [{ length: 1, path: [".", "a"] }] } }), /leaves its folder \("x\/\.\/a"\)/],
    ["an absolute name", bencode({ info: { name: "/etc", "piece length": 16384, pieces: Buffer.alloc(20), length: 1 } }), /leaves its folder \("\/etc"\)/],
    [
      "a petabyte with one piece hash",
      bencode({ info: { name: "x", "piece length": 16384, pieces: Buffer.alloc(20), length: 2 ** 50 } }),
      "this .torrent is inconsistent: it has 1 piece hashes for 1125899906842624 bytes in pieces of 16384 (68719476736 expected); the downloader (aria2) refuses such torrents",
    ],
    ["more piece hashes than data", bencode({ info: { name: "x", "piece length": 16384, pieces: Buffer.alloc(40), length: 5 } }), /2 piece hashes for 5 bytes/],
    ["truncated bencoding", Buffer.from("d4:infod4:name3:abce"), /not a valid \.torrent file|incomplete/],
  ];
  it.each(junk)("refuses %s with a clear message", async (_label, buf, expected) => {
    const err = await parseTorrentFile(buf).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TorrentFileError);
    if (typeof expected === "string") expect((err as Error).message).toBe(expected);
    else expect((err as Error).message).toMatch(expected);
  });
});
