// Turns aria2's tellStatus (all numbers as strings) into TorrentProgress numbers, and aria2's error codes
// into sentences a user can act on. Pure functions: no I/O.
import path from "node:path";

/** aria2.tellStatus as aria2 1.36 sends it (FACTS.md "aria2"): every number is a decimal string. */
export interface Aria2Status {
  gid: string;
  status: "active" | "waiting" | "paused" | "error" | "complete" | "removed";
  totalLength: string;
  completedLength: string;
  uploadLength?: string;
  downloadSpeed: string;
  uploadSpeed: string;
  numSeeders?: string;
  seeder?: string;
  connections: string;
  errorCode?: string;
  errorMessage?: string;
  followedBy?: string[];
  following?: string;
  infoHash?: string;
  dir?: string;
  files?: Aria2File[];
  bittorrent?: { info?: { name: string }; announceList?: string[][]; mode?: "single" | "multi" };
}

export interface Aria2File {
  index: string;
  path: string;
  length: string;
  completedLength: string;
  selected: string;
}

export type TorrentPhase = "metadata" | "downloading" | "complete" | "error";

export interface TorrentFileProgress {
  /** aria2's file number (from 1, in the torrent's order): what `select-file` names. */
  index: number;
  /** Relative to the download dir, as aria2 stores it (control characters percent-encoded); not sanitised. */
  path: string;
  sizeBytes: number;
  completedBytes: number;
  selected: boolean;
}

export interface TorrentProgress {
  /** The gid these figures belong to: after the metadata phase, the real download's gid. */
  gid: string;
  phase: TorrentPhase;
  name: string | null;
  infoHash: string | null;
  totalBytes: number;
  completedBytes: number;
  /** Bytes per second. */
  downloadSpeed: number;
  uploadSpeed: number;
  /** Bytes sent to the swarm by this download so far (aria2's uploadLength). */
  uploadedBytes: number;
  seeders: number;
  connections: number;
  /** null while nothing is flowing. */
  etaSeconds: number | null;
  errorCode: number | null;
  /** A sentence for the user when phase is "error". */
  errorMessage: string | null;
  files: TorrentFileProgress[];
}

export interface ProgressContext {
  /** The --bt-stop-timeout in force, so that "dead torrent" messages can say how long we waited. */
  stallTimeoutSeconds?: number;
}

const METADATA_PREFIX = "[METADATA]";

/** A magnet's first job: it fetches the info dictionary from peers, then hands over to followedBy[0]. */
export function isMetadataJob(st: Aria2Status): boolean {
  return st.bittorrent !== undefined && st.bittorrent.info === undefined;
}

export function toTorrentProgress(st: Aria2Status, ctx: ProgressContext = {}): TorrentProgress {
  const metadata = isMetadataJob(st);
  const total = num(st.totalLength);
  const done = num(st.completedLength);
  const speed = num(st.downloadSpeed);
  let phase: TorrentPhase;
  let errorCode: number | null = null;
  let errorMessage: string | null = null;
  if (st.status === "error") {
    phase = "error";
    errorCode = num(st.errorCode);
    errorMessage = describeAria2Error(errorCode, st.errorMessage ?? "", { metadata, ...ctx });
  } else if (st.status === "removed") {
    phase = "error";
    errorMessage = "the download was removed from aria2 (cancelled)";
  } else if (st.status === "complete") {
    phase = metadata ? "error" : "complete";
    if (metadata) errorMessage = "aria2 fetched the torrent's metadata but did not start the download";
  } else {
    phase = metadata ? "metadata" : "downloading";
  }
  return {
    gid: st.gid,
    phase,
    name: st.bittorrent?.info?.name ?? metadataName(st),
    infoHash: st.infoHash ?? null,
    totalBytes: metadata ? 0 : total,
    completedBytes: metadata ? 0 : done,
    downloadSpeed: speed,
    uploadSpeed: num(st.uploadSpeed),
    uploadedBytes: num(st.uploadLength),
    seeders: num(st.numSeeders),
    connections: num(st.connections),
    etaSeconds: !metadata && speed > 0 && total > done ? Math.ceil((total - done) / speed) : null,
    errorCode,
    errorMessage,
    files: metadata ? [] : (st.files ?? []).map((f) => fileProgress(f, st.dir)),
  };
}

function metadataName(st: Aria2Status): string | null {
  const p = st.files?.[0]?.path ?? "";
  return p.startsWith(METADATA_PREFIX) && p.length > METADATA_PREFIX.length ? p.slice(METADATA_PREFIX.length) : null;
}

function fileProgress(f: Aria2File, dir: string | undefined): TorrentFileProgress {
  const rel = dir && f.path.startsWith(dir.replace(/\/+$/, "") + "/") ? path.posix.relative(dir, f.path) : f.path;
  return { index: num(f.index), path: rel, sizeBytes: num(f.length), completedBytes: num(f.completedLength), selected: f.selected === "true" };
}

function num(s: string | undefined): number {
  const n = Number(s ?? 0);
  return Number.isFinite(n) ? n : 0;
}

// aria2's exit status codes (aria2c(1), "EXIT STATUS"), worded for someone waiting for their files.
const ARIA2_ERRORS: Record<number, string> = {
  1: "aria2 failed with an unknown error",
  2: "a connection timed out",
  3: "a resource was not found",
  5: "the download was too slow and was aborted",
  6: "a network problem interrupted the download",
  9: "the droplet's disk is full: choose a droplet size with more disk",
  13: "the file already exists on the droplet",
  16: "aria2 could not create a file on the droplet",
  17: "aria2 hit a disk error on the droplet",
  18: "aria2 could not create a directory on the droplet",
  19: "a tracker's host name could not be resolved",
  25: "the torrent's metadata is not valid bencoding",
  26: "the torrent's metadata is corrupt or incomplete",
  27: "aria2 rejected the magnet link as malformed",
  28: "aria2 rejected an option (check ARIA2_EXTRA_OPTIONS)",
  32: "a piece failed its checksum",
};

/** A sentence for aria2's errorCode/errorMessage; code 7 with no message is the stall timeout firing. */
export function describeAria2Error(
  code: number,
  aria2Message: string,
  ctx: ProgressContext & { metadata?: boolean } = {},
): string {
  const detail = aria2Message.trim();
  if (code === 7 && detail === "") {
    const wait = ctx.stallTimeoutSeconds ? `for ${ctx.stallTimeoutSeconds} s` : "for too long";
    return ctx.metadata
      ? `no peer sent the torrent's metadata ${wait}: the torrent looks dead (no reachable seeders)`
      : `no peers sent data ${wait}: the torrent looks dead`;
  }
  const base = ARIA2_ERRORS[code] ?? `aria2 stopped with error code ${code}`;
  return detail ? `${base} (aria2: ${detail})` : base;
}
