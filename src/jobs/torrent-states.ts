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
  "droplet_destroyed",
  "done",
] as const;

export const TORRENT_ENDINGS = ["failed", "cancelled"] as const;

export type TorrentState = (typeof TORRENT_FLOW)[number] | (typeof TORRENT_ENDINGS)[number];

/** States in which a droplet may exist and must be destroyed on the way out. */
export const DROPLET_STATES: readonly TorrentState[] = [
  "droplet_requested",
  "droplet_active",
  "ssh_ready",
  "provisioned",
  "downloading",
  "downloaded",
  "transferring",
  "transferred",
];

/** What a person reads for each state, in the progress message. */
export const TORRENT_PHASE_LABEL: Record<TorrentState, string> = {
  estimated: "Waiting for Start",
  approved: "Starting",
  droplet_requested: "Creating droplet",
  droplet_active: "Booting",
  ssh_ready: "Provisioning",
  provisioned: "Fetching metadata",
  downloading: "Downloading",
  downloaded: "Downloaded",
  transferring: "Transferring",
  transferred: "Cleaning up",
  droplet_destroyed: "Cleaning up",
  done: "Done",
  failed: "Failed",
  cancelled: "Cancelled",
};
