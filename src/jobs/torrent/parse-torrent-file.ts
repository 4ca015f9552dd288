// Reads a .torrent document (sent to the bot as a file) with parse-torrent into a TorrentRequest:
// name, total size, files, info hash, trackers — and says plainly what is wrong with junk.
import { createHash } from "node:crypto";
import parseTorrent, { type ParsedTorrentFile } from "parse-torrent";
import { encode as encodeMagnet } from "magnet-uri";
import { cleanTrackers, type TorrentFileEntry, type TorrentRequest } from "./torrent-request.js";

/** A .torrent document that cannot be used; the message is meant for the user. */
export class TorrentFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TorrentFileError";
  }
}

/** Far above any real .torrent (Telegram bots may fetch up to 20 MB anyway). */
const MAX_TORRENT_BYTES = 20 * 1024 * 1024;

export async function parseTorrentFile(buf: Uint8Array): Promise<TorrentRequest> {
  if (buf.length === 0) throw new TorrentFileError("the .torrent file is empty");
  if (buf.length > MAX_TORRENT_BYTES) throw new TorrentFileError("this file is too large to be a .torrent");
  // Every .torrent is a bencoded dictionary: it starts with "d" and ends with "e".
  if (buf[0] !== 0x64 || buf[buf.length - 1] !== 0x65) {
    throw new TorrentFileError("this is not a .torrent file (it is not a bencoded dictionary)");
  }
  let t: ParsedTorrentFile;
  try {
    t = await parseTorrent(buf);
  } catch (err) {
    throw new TorrentFileError(explain(err as Error, buf));
  }
  // parse-torrent takes any 20-byte buffer for a bare info hash; a real .torrent always has an info dict.
  if (!t.info) throw new TorrentFileError("this is not a valid .torrent file (it has no info dictionary)");
  const files = rawFiles(t);
  checkPaths(t.name, files);
  checkPieces(t);
  const sizeBytes = files.reduce((s, f) => s + f.sizeBytes, 0);
  const trackers = cleanTrackers(t.announce);
  const v2 = v2Hash(t);
  return {
    source: "torrent-file",
    infoHash: t.infoHash,
    infoHashV1: t.infoHash,
    infoHashV2: v2,
    name: t.name,
    sizeBytes,
    trackers,
    magnetUri: encodeMagnet({ xt: `urn:btih:${t.infoHash}`, dn: t.name, xl: String(sizeBytes), tr: trackers }),
    torrentFile: Buffer.from(buf),
    files,
  };
}

function explain(err: Error, buf: Uint8Array): string {
  const missing = /missing required field: (.*)$/.exec(err.message)?.[1];
  if (missing === "info.pieces" && Buffer.from(buf).includes("12:meta versioni2e")) {
    return "this is a BitTorrent v2-only .torrent; the downloader (aria2) needs a v1 or hybrid torrent";
  }
  if (missing) return `this .torrent is incomplete: it has no ${missing}`;
  return `this is not a valid .torrent file (${err.message})`;
}

/**
 * Files as the author wrote them. parse-torrent's own `files[].path` runs through path.join, which would
 * silently resolve a hostile ".." — so read the raw segments and leave sanitising to sanitizeTorrentPath.
 */
function rawFiles(t: ParsedTorrentFile): TorrentFileEntry[] {
  const list = t.info.files as { length: number; path?: Uint8Array[]; "path.utf-8"?: Uint8Array[] }[] | undefined;
  if (!list) return [{ index: 1, path: t.name, sizeBytes: t.length }];
  // aria2 numbers every entry, padding files included (it does not know BEP 47): keep its numbers for select-file.
  return list
    .map((f, i) => ({ f, index: i + 1 }))
    .filter(({ f }) => !isPadding(f))
    .map(({ f, index }) => ({
      index,
      path: [t.name, ...(f["path.utf-8"] ?? f.path ?? []).map((seg) => Buffer.from(seg).toString("utf8"))].join("/"),
      sizeBytes: f.length,
    }));
}

/**
 * aria2 refuses a torrent whose name or file paths have "." or ".." segments or start at "/" ("directory
 * traversal"); refusing it here saves renting a droplet for a download that cannot start.
 */
function checkPaths(name: string, files: TorrentFileEntry[]): void {
  const leaves = (p: string) => p.startsWith("/") || p.split("/").some((seg) => seg === "." || seg === "..");
  const bad = leaves(name) ? name : files.find((f) => leaves(f.path))?.path;
  if (bad === undefined) return;
  const shown = bad.length > 120 ? `${bad.slice(0, 117)}...` : bad;
  throw new TorrentFileError(`this .torrent has a file path that leaves its folder (${JSON.stringify(shown)}); the downloader (aria2) refuses such torrents`);
}

/** One 20-byte hash per piece of the data, as aria2 checks ("Too few/many piece hash"); a lie about the size fails it. */
function checkPieces(t: ParsedTorrentFile): void {
  const hashBytes = Buffer.from(t.info.pieces as Uint8Array).length;
  const pieceLength = Number(t.info["piece length"]);
  const expected = Math.ceil(t.length / pieceLength);
  if (hashBytes === expected * 20) return;
  throw new TorrentFileError(
    `this .torrent is inconsistent: it has ${Math.floor(hashBytes / 20)} piece hashes for ${t.length} bytes in pieces of ${pieceLength} ` +
      `(${expected} expected); the downloader (aria2) refuses such torrents`,
  );
}

/** BEP 47 padding files (attr contains "p") are not real content. */
function isPadding(f: object): boolean {
  const attr = (f as { attr?: Uint8Array }).attr;
  return attr !== undefined && Buffer.from(attr).toString("latin1").includes("p");
}

/** A hybrid torrent (BEP 52, "meta version" 2) also has a v2 hash: SHA-256 of the same info dictionary. */
function v2Hash(t: ParsedTorrentFile): string | null {
  if (t.info["meta version"] !== 2) return null;
  return createHash("sha256").update(t.infoBuffer).digest("hex");
}
