// File names chosen by strangers become safe relative paths, deterministically, structure kept.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { resolveInside, sanitizeTorrentPath } from "../../../src/jobs/torrent/sanitize-path.js";

describe("sanitizeTorrentPath", () => {
  const cases: [string, string][] = [
    ["album/disc 1/01 - intro.mp3", "album/disc 1/01 - intro.mp3"],
    [`multi/-rf "quoted" 'single' ünïcödé 🎉.txt`, `multi/-rf "quoted" 'single' ünïcödé 🎉.txt`],
    ["evil/../../etc/passwd", "evil/_/_/etc/passwd"],
    ["../x", "_/x"],
    ["/etc/passwd", "etc/passwd"],
    ["a//b///c", "a/b/c"],
    ["a/./b/.", "a/b"],
    ["a/.../..evil/...", "a/.../..evil/..."],
    ["ctl\x01char\ttab\n.txt", "ctl_char_tab_.txt"],
    ["nul\x00byte\x7f\x9b", "nul_byte__"],
    ["report\u202Etxt.exe", "report_txt.exe"],
    ["back\\..\\slash", "back_.._slash"],
    ["e\u0301", "\u00e9"], // NFC: decomposed é becomes one code point
    ["👨‍👩‍👧 family.jpg", "👨‍👩‍👧 family.jpg"], // zero-width joiners inside emoji are kept
    ["", "_"],
    ["/", "_"],
    ["..", "_"],
    ["./.", "_"],
  ];
  it.each(cases)("%j → %j", (input, expected) => {
    expect(sanitizeTorrentPath(input)).toBe(expected);
    expect(sanitizeTorrentPath(sanitizeTorrentPath(input))).toBe(expected); // idempotent
  });

  it("cuts over-long names to 255 bytes at a character boundary, keeping the extension", () => {
    const long = "ü".repeat(200) + ".mkv"; // 404 bytes
    const out = sanitizeTorrentPath(`dir/${long}`);
    const name = out.split("/")[1]!;
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
    expect(name.endsWith(".mkv")).toBe(true);
    expect(name).toBe("ü".repeat(125) + ".mkv");
  });
});

describe("resolveInside", () => {
  it("always lands inside the root, even for hostile paths", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "resolve-inside-"));
    try {
      for (const p of ["../../etc/passwd", "/abs/olute", "a/../../b", "..", "x\x00y"]) {
        const full = resolveInside(root, p);
        expect(full.startsWith(root + path.sep), `${p} → ${full}`).toBe(true);
      }
      expect(resolveInside(root, "multi/sub dir/f.txt")).toBe(path.join(root, "multi", "sub dir", "f.txt"));
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
