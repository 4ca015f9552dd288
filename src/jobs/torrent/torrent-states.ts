// The torrent job's states as data: the happy path in order, and the final states any step may fall to.
export const TORRENT_FLOW = [
  "estimated",
  "approved",
  "droplet_requested",
  "droplet_active",
  "ssh_ready",
  "provisioned",
  "downloading",
  "downloaded",
  "transferring",
  "transferred",
  "seeding",
  "droplet_destroyed",
  "done",
] as const;

export const TORRENT_ENDINGS = ["failed", "cancelled"] as const;

/**
 * Steps of the flow a job may pass over: "seeding" (the files are home, the droplet still gives to the swarm until
 * the job's seeding policy is met) only when the job seeds.
 */
const TORRENT_OPTIONAL_STEPS: readonly string[] = ["seeding"];

export type TorrentState = (typeof TORRENT_FLOW)[number] | (typeof TORRENT_ENDINGS)[number];

/**
 * A torrent job moves one step along the flow, or ends failed/cancelled from any state before done. Once its files
 * are verified ("transferred") it may also end done without "droplet_destroyed": a droplet that cannot be destroyed
 * yet is the reaper's to retry, and does not cost the user the files (from "seeding" too). An optional step may be
 * passed over.
 */
export function torrentMayMove(from: string, to: string): boolean {
  if ((TORRENT_ENDINGS as readonly string[]).includes(to)) return from !== "done";
  if ((from === "transferred" || from === "seeding") && to === "done") return true;
  const next = nextTorrentState(from);
  if (next === to) return true;
  return next !== null && TORRENT_OPTIONAL_STEPS.includes(next) && nextTorrentState(next) === to;
}

/** The one state a torrent job may move to from `current` on its happy path; null at the end. */
function nextTorrentState(current: string): TorrentState | null {
  const i = (TORRENT_FLOW as readonly string[]).indexOf(current);
  if (i < 0) throw new Error(`${current} is not a state of the torrent flow`);
  return TORRENT_FLOW[i + 1] ?? null;
}

/** Whether a job recorded in `state` has already passed (or is at) `step` of the happy path. */
export function torrentStateReached(state: string, step: TorrentState): boolean {
  const flow = TORRENT_FLOW as readonly string[];
  const at = flow.indexOf(state);
  return at >= 0 && at >= flow.indexOf(step);
}
