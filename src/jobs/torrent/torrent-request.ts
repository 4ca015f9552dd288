// What a user asked to download, from a magnet link or a .torrent document: the one shape the rest of
// Dropship (cards, estimates, the job engine) works with.

export interface TorrentFileEntry {
  /** aria2's number for the file (from 1, in the torrent's order, BEP 47 padding files counted): what select-file names. */
  index: number;
  /** Path inside the torrent as its author wrote it, segments joined with "/" (NOT yet sanitised). */
  path: string;
  sizeBytes: number;
}

export interface TorrentRequest {
  source: "magnet" | "torrent-file";
  /** Canonical id: the v1 info hash (40 lower-case hex digits) when there is one, else the v2 hash (64). */
  infoHash: string;
  /** BitTorrent v1 info hash, 40 hex digits; null for a v2-only torrent. */
  infoHashV1: string | null;
  /** BitTorrent v2 info hash (SHA-256, 64 hex digits), when the magnet/torrent carries one. */
  infoHashV2: string | null;
  /** Display name (magnet dn / torrent info.name); null when the magnet has no dn. */
  name: string | null;
  /** Total size in bytes (magnet xl / sum of the torrent's files); null when unknown. */
  sizeBytes: number | null;
  /** Tracker URLs (http, https, udp, ws, wss), deduplicated, in order. */
  trackers: string[];
  /** A magnet for this torrent: the user's own link, or one built from a .torrent document. */
  magnetUri: string;
  /** The .torrent document itself, when the user sent one (aria2.addTorrent needs no metadata phase then). */
  torrentFile?: Buffer;
  /** Files, known only from a .torrent document. */
  files?: TorrentFileEntry[];
}

/** A magnet link found in a message, parsed and validated. */
export type ParsedMagnet = TorrentRequest & { source: "magnet" };

/** A link that looked like a magnet but is broken; `message` says precisely what is wrong. */
export interface TorrentLinkError {
  input: string;
  message: string;
}

const TRACKER_SCHEMES = new Set(["http:", "https:", "udp:", "ws:", "wss:"]);

/** Keeps well-formed tracker URLs of the schemes BitTorrent clients speak, first occurrence wins. */
export function cleanTrackers(urls: readonly string[]): string[] {
  const out: string[] = [];
  for (const u of urls) {
    const t = u.trim();
    if (!URL.canParse(t) || !TRACKER_SCHEMES.has(new URL(t).protocol)) continue;
    if (!out.includes(t)) out.push(t);
  }
  return out;
}
