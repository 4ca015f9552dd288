// Makes file paths that come from a torrent (chosen by strangers) safe to store and serve: relative, no `..`,
// no control or bidi-override characters, no empty segments, directory structure kept. Deterministic.
import path from "node:path";

const MAX_SEGMENT_BYTES = 255; // NAME_MAX on Linux filesystems

// C0, DEL and C1 controls, and the bidi overrides/isolates used to disguise extensions ("txt.exe").
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\\]/gu;

/**
 * Sanitises a "/"-separated path from a torrent into a safe relative path.
 * - absolute paths become relative; empty and "." segments are dropped
 * - ".." becomes "_" (a segment, so depth and structure are kept)
 * - control characters, bidi overrides and backslashes become "_"
 * - each segment is cut to 255 UTF-8 bytes (keeping a short extension)
 * An input with nothing left becomes "_".
 */
export function sanitizeTorrentPath(p: string): string {
  const segments = p
    .normalize("NFC")
    .split("/")
    .map(sanitizeSegment)
    .filter((s): s is string => s !== null);
  return segments.length > 0 ? segments.join("/") : "_";
}

function sanitizeSegment(raw: string): string | null {
  const s = raw.replace(UNSAFE_CHARS, "_");
  if (s === "" || s === ".") return null;
  if (s === "..") return "_";
  return truncateUtf8(s, MAX_SEGMENT_BYTES);
}

function truncateUtf8(s: string, max: number): string {
  if (Buffer.byteLength(s) <= max) return s;
  const dot = s.lastIndexOf(".");
  const ext = dot > 0 && s.length - dot <= 16 ? s.slice(dot) : "";
  const room = max - Buffer.byteLength(ext);
  let out = "";
  for (const ch of s.slice(0, s.length - ext.length)) {
    if (Buffer.byteLength(out + ch) > room) break;
    out += ch;
  }
  return out + ext;
}

/**
 * Joins a torrent path under `root` after sanitising it, and proves the result stays inside `root`
 * (a second line of defence: throws rather than ever returning a path outside).
 */
export function resolveInside(root: string, torrentPath: string): string {
  const base = path.resolve(root);
  const full = path.resolve(base, sanitizeTorrentPath(torrentPath));
  if (full !== base && !full.startsWith(base + path.sep)) {
    throw new Error(`refusing a torrent path that escapes the download directory: ${JSON.stringify(torrentPath)}`);
  }
  return full;
}
