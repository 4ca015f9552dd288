// Hostile documents (.torrent files that are not bencode, that point outside their folder or lie about their
// pieces; files that are not what their name says; files too large) and captions that name an entry playbook
// outside the project, by an absolute path, or through a link.
import fs from "node:fs";
import path from "node:path";
import { rawZip } from "../analysis/archive-builders.js";
import { VALID_PLAYBOOK } from "./hostile-fixtures.js";
import type { HostileCase } from "./hostile-runner.js";
import type { HostileWorld } from "./hostile-world.js";

/** Enough bencode to write torrents no tool would make. */
export function bencode(v: unknown): Buffer {
  if (typeof v === "number") return Buffer.from(`i${v}e`);
  if (typeof v === "string" || Buffer.isBuffer(v)) {
    const b = Buffer.isBuffer(v) ? v : Buffer.from(v);
    return Buffer.concat([Buffer.from(`${b.length}:`), b]);
  }
  if (Array.isArray(v)) return Buffer.concat([Buffer.from("l"), ...v.map(bencode), Buffer.from("e")]);
  const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
  return Buffer.concat([Buffer.from("d"), ...entries.flatMap(([k, x]) => [bencode(k), bencode(x)]), Buffer.from("e")]);
}

const torrent = (info: Record<string, unknown>) => bencode({ announce: "http://127.0.0.1:1/announce", info });
const ONE_PIECE = { "piece length": 16384, pieces: Buffer.alloc(20) };
const NOT_USABLE = /^⚠️ That is not a usable \.torrent file: /;
const LEAVES = /has a file path that leaves its folder/;

const doc = (area: "document" | "caption", name: string, fileName: string, bytes: Buffer | string, refusal: RegExp, extra: Partial<HostileCase> = {}, caption?: string): HostileCase => ({
  area,
  name,
  input: { document: { fileName, bytes: Buffer.from(bytes), ...(caption ? { caption } : {}) } },
  refusal,
  ...extra,
});

/** A project with one playbook (site.yml), zipped; `more` adds entries. */
const project = (more: Parameters<typeof rawZip>[0] = []) => rawZip([{ name: "proj/site.yml", data: VALID_PLAYBOOK }, { name: "proj/other.yml", data: VALID_PLAYBOOK }, ...more]);
const FAILED = { records: "failed-upload" as const };

/** Nothing was written next to DATA_DIR by a name that tried to climb out of it. */
const nothingBeside = (name: string) => (w: HostileWorld) => [w.dir, path.dirname(w.dir), w.dataDir].filter((d) => fs.existsSync(path.join(d, name))).map((d) => `${name} was written in ${d}`);

export const documentCases: HostileCase[] = [
  doc("document", ".torrent that is plain text", "x.torrent", "hello, this is not bencode", NOT_USABLE),
  doc("document", ".torrent that is a dictionary of junk", "x.torrent", "d3:foo", /not a \.torrent file|not a valid \.torrent/),
  doc("document", ".torrent that is broken bencode inside", "x.torrent", "d4:infod4:name3:abce", /not a valid \.torrent file|incomplete/),
  doc("document", "empty .torrent", "x.torrent", "", /^⚠️ That is not a usable \.torrent file: the \.torrent file is empty$/),
  doc("document", ".torrent without an info dictionary", "x.torrent", bencode({ announce: "x" }), /incomplete: it has no info/),
  doc("document", ".torrent with ../ in a file path", "evil.torrent", torrent({ name: "evil", ...ONE_PIECE, files: [{ length: 3, path: ["..", "..", "etc", "passwd"] }] }), LEAVES),
  doc("document", ".torrent whose name is ..", "evil.torrent", torrent({ name: "..", ...ONE_PIECE, length: 5 }), LEAVES),
  doc("document", ".torrent whose name is absolute", "evil.torrent", torrent({ name: "/etc", ...ONE_PIECE, length: 5 }), LEAVES),
  doc("document", ".torrent with a . segment", "evil.torrent", torrent({ name: "evil", ...ONE_PIECE, files: [{ length: 3, path: ["a", ".", "b"] }] }), LEAVES),
  doc("document", ".torrent with a segment that hides ../", "evil.torrent", torrent({ name: "evil", ...ONE_PIECE, files: [{ length: 3, path: ["a/../../b"] }] }), LEAVES),
  doc("document", ".torrent claiming a petabyte with one piece hash", "big.torrent", torrent({ name: "big", ...ONE_PIECE, length: 2 ** 50 }), /piece hashes/),
  doc("document", ".torrent with far more piece hashes than data", "pieces.torrent", torrent({ name: "p", "piece length": 16384, pieces: Buffer.alloc(20 * 50_000), length: 5 }), /piece hashes/),
  doc("document", "v2-only .torrent", "v2.torrent", torrent({ name: "x", "piece length": 16384, "meta version": 2, "file tree": {} }), /v2-only \.torrent/),
  {
    area: "document",
    name: ".torrent over 10 MB (never fetched)",
    input: { document: { fileName: "huge.torrent", bytes: Buffer.alloc(11 * 1024 * 1024, 0x64) } },
    refusal: /too large to be a \.torrent/,
  },
  doc("document", "an executable", "payload.exe", "MZ\u0090\u0000", /^I can't use this file\./),
  doc("document", "a file without an extension", "README", "hello", /^I can't use this file\./),
  doc("document", "a zip under a markup name", "<b>x</b>.zip", "not a zip", /is not a zip archive/, { ...FAILED, literal: "<b>x</b>.zip" }),
  doc("document", "a playbook that is binary", "site.yml", "- hosts: all\u0000\u0001\u0002", /not a YAML playbook: it is a binary file/, FAILED),
  doc("document", "a playbook that is not UTF-8", "site.yml", Buffer.from([0x2d, 0x20, 0xff, 0xfe, 0x0a]), /not a YAML playbook: it is not UTF-8 text/, FAILED),
  doc("document", "a zip named .yml", "site.yml", rawZip([{ name: "a.yml", data: "x" }]), /not a YAML playbook: it is a zip archive/, FAILED),
  doc("document", "a gzip named .zip", "p.zip", Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]), /not a zip archive \(it is gzip-compressed/, FAILED),
  doc("document", "a zip named .tar.gz", "p.tar.gz", rawZip([{ name: "a.yml", data: "x" }]), /not a gzip-compressed tar archive \(it is a zip archive/, FAILED),
  doc("document", "a playbook named to climb out of the folder", "../../hostile-climb.yml", "- hosts: all\u0000", /binary file/, { ...FAILED, check: nothingBeside("hostile-climb.yml") }),
  doc("document", "a YAML bomb (billion laughs)", "bomb.yml", billionLaughs(), /alias|too many|YAML/i, FAILED),
  doc("document", "a playbook that is not a list of plays", "site.yml", "hosts: all\ntasks: []\n", /play|list/i, FAILED),
  {
    area: "document",
    name: "a playbook over 20 MB (never fetched)",
    input: { document: { fileName: "big.yml", bytes: Buffer.alloc(21 * 1024 * 1024, 0x20) } },
    refusal: /Telegram lets bots download files up to 20 MB/,
  },

  doc("caption", "entry: ../../etc/passwd", "p.zip", project(), /entry playbook \.\.\/\.\.\/etc\/passwd is outside the project/, FAILED, "entry: ../../etc/passwd"),
  doc("caption", "entry climbing to a file that exists", "p.zip", project(), /entry playbook .*etc\/passwd is outside the project/, FAILED, `entry: ${"../".repeat(20)}etc/passwd`),
  doc("caption", "entry climbing to a file that does not exist (same answer)", "p.zip", project(), /entry playbook .*no-such-file is outside the project/, FAILED, `entry: ${"../".repeat(20)}etc/no-such-file`),
  doc("caption", "entry: an absolute path", "p.zip", project(), /entry playbook \/etc\/passwd is outside the project/, FAILED, "entry: /etc/passwd"),
  doc("caption", "a bare absolute path as the caption", "p.zip", project(), /entry playbook \/etc\/hosts\.yml is outside the project/, FAILED, "/etc/hosts.yml"),
  doc("caption", "entry: a symlinked playbook", "p.zip", project([{ name: "proj/link.yml", data: "/etc/passwd", unixMode: 0o120777 }]), /contains a symbolic link \("proj\/link\.yml"\)/, FAILED, "entry: link.yml"),
  doc("caption", "entry with markup", "p.zip", project(), /entry playbook <b>x<\/b>\.yml not found/, { ...FAILED, literal: "<b>x</b>.yml" }, "entry: <b>x</b>.yml"),
  doc("caption", "entry with an RTL override", "p.zip", project(), /entry playbook site\.yml\u202egpj\.yml not found/, FAILED, "entry: site.yml\u202egpj.yml"),
  doc("caption", "a broken magnet in a caption", "notes.txt", "x", /^⚠️ That magnet link is broken: /, {}, `magnet:?xt=urn:btih:${"a".repeat(39)}`),
];

/** Nine levels of nine aliases: a few hundred bytes that expand to 10⁹ strings in a naive parser. */
function billionLaughs(): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i);
    const cur = String.fromCharCode(97 + i);
    lines.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(",")}]`);
  }
  return `- hosts: all\n  vars:\n${lines.map((l) => `    ${l}`).join("\n")}\n  tasks: []\n`;
}
