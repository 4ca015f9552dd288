// What the torrent job needs from the world, as small interfaces; the composition root (src/app) adapts the real
// adapters (src/cloud, src/remote, src/aria2, src/ansible) to them.
import type http from "node:http";
import type { SeedPolicy } from "./seeding-policy.js";

/** What a droplet is created with. */
export interface DropletSpec {
  /** A hostname: ^[a-zA-Z0-9]?[a-z0-9A-Z.\-]*[a-z0-9A-Z]$. */
  name: string;
  region: string;
  size: string;
  image: string;
  /** Each ^[a-zA-Z0-9_\-:]+$; the LAST one is unique to the droplet (dropship-job-<id>), so a lost create is found by it. */
  tags: string[];
  sshKeyIds: number[];
  /** cloud-init user_data, at most 64 KiB. */
  userData: string;
}

/** A droplet size as the card prices it. */
export interface DropletSize {
  slug: string;
  priceHourly: number;
  priceMonthly: number;
  /** Monthly outbound transfer allowance in TB. */
  transferTb: number;
}

/** Droplets and volumes as the reaper sees them: everything carrying a tag, and destroying one. */
export interface DropletFleet {
  listDropletsByTag(tag: string): Promise<{ id: number; name: string; tags: string[]; createdAt: Date }[]>;
  /** Destroys and confirms the droplet is gone (a missing droplet counts as gone). */
  destroyDroplet(id: number): Promise<void>;
  listVolumesByTag(tag: string): Promise<{ id: string; name: string; region: string; tags: string[]; createdAt: Date }[]>;
  /** Deletes the volume, waiting while a destroyed droplet still holds it (a missing volume counts as gone). */
  deleteVolume(id: string): Promise<void>;
}

/** What a block storage volume is created with. */
export interface VolumeSpec {
  /** Lowercase letters, digits and "-", starting with a letter, at most 64; unique in its region. */
  name: string;
  region: string;
  sizeGib: number;
  /** The LAST one is unique to the job (dropship-job-<id>). */
  tags: string[];
}

/** DigitalOcean's block storage, narrowed to what a job whose droplet's disk is too small does with it. */
export interface VolumePort {
  /** Creates it (formatted ext4) once, though an attempt's answer may be lost; returns its id. */
  create(spec: VolumeSpec, opts?: { signal?: AbortSignal }): Promise<{ id: string; createdAt: number }>;
  /** The volume of that name in the region (a create whose answer never reached the ledger), or null. */
  find(name: string, region: string): Promise<{ id: string; createdAt: number } | null>;
  /** Attaches it and waits until the attach has completed. */
  attach(volumeId: string, dropletId: number, region: string, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<void>;
  /** Deletes it once its (destroyed) droplet has let go of it; a missing volume counts as gone. */
  delete(volumeId: string): Promise<void>;
}

/** DigitalOcean, narrowed to what one torrent job does with it. */
export interface DropletPort {
  /** Hourly price of a size slug; throws an actionable error for an unknown size. */
  priceHourly(size: string): Promise<number>;
  /** Registers the bot's SSH public key once; returns its id. */
  ensureSshKey(): Promise<number>;
  /**
   * Creates it once, though an attempt's answer may be lost on the way; `afterLostAnswer` then says so: a droplet that
   * attempt made may appear later, tagged like this one.
   */
  create(spec: DropletSpec): Promise<{ id: number; afterLostAnswer?: boolean }>;
  waitUntilActive(id: number, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<{ ip: string }>;
  /** Destroys and confirms the droplet is gone (a missing droplet counts as gone). */
  destroy(id: number): Promise<void>;
  /**
   * Droplets carrying the tag. With `settleSince` (epoch ms), lists again until a droplet created then must show
   * (DigitalOcean's lists lag new droplets): how a create whose answer was lost, or a duplicate of it, is found.
   */
  listByTag(tag: string, opts?: { settleSince?: number }): Promise<{ id: number; name: string; createdAt: string }[]>;
}

export interface RemoteFile {
  /** Path relative to the listed directory, '/'-separated, as the remote reports it. */
  path: string;
  size: number;
}

/** An SSH session to a droplet whose host key was pinned before it booted. */
export interface DropletSession {
  exec(argv: string[], opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** An http.Agent whose connections are tunnelled to host:port as seen from the droplet. */
  httpAgent(host: string, port: number): http.Agent;
  listFiles(dir: string): Promise<RemoteFile[]>;
  /** Pulls one file, resuming after dropped connections, and verifies size and SHA-256 against the remote copy. */
  download(remotePath: string, localPath: string, opts: { signal?: AbortSignal; onProgress?: (bytes: number) => void }): Promise<{ sha256: string; size: number; resumes: number }>;
  /** Connections that dropped under this session so far (each next call reconnects with the pinned key). */
  droppedConnections(): number;
  close(): Promise<void>;
}

export interface SshPort {
  /** Waits until sshd on `ip` answers with exactly `hostKeyPublic`, then returns a session. */
  connect(ip: string, hostKeyPublic: string, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<DropletSession>;
}

/** A droplet that answers SSH with its pinned host key. */
export interface ProvisionTarget {
  ip: string;
  hostKeyPublic: string;
}

/** Runs the provisioning playbook against a droplet (ansible-playbook from the pinned torrent venv). */
export interface ProvisionPort {
  /**
   * Starts ansible-playbook at once — its venv check, Python start and loading overlap the droplet's boot — and lets
   * it connect once `target` resolves (the droplet answers SSH). A rejected `target` or an aborted `signal` ends it.
   */
  provision(
    run: { target: Promise<ProvisionTarget>; downloadDir: string },
    opts: { signal?: AbortSignal; onTask?: (name: string) => void },
  ): Promise<void>;
}

export interface HostKeyPair {
  privateKey: string;
  publicKey: string;
}

export interface CloudInitPort {
  generateHostKey(): HostKeyPair;
  userData(hostKey: HostKeyPair): string;
}

/** One progress reading of a torrent, in numbers. */
export interface TorrentProgress {
  phase: "metadata" | "downloading" | "complete";
  name: string | null;
  totalBytes: number;
  completedBytes: number;
  downloadSpeed: number;
  seeders: number;
  connections: number;
  etaSeconds: number | null;
  /** Bytes sent to the swarm so far, and at what rate (absent where the client does not say). */
  uploadedBytes?: number;
  uploadSpeed?: number;
  /** The selected files as aria2 reports them (absolute paths on the droplet), in the torrent's order; empty before the metadata. */
  files: TorrentFileProgress[];
}

/** One file of a downloading torrent: complete when completedBytes reaches size (aria2 counts only verified pieces). */
export interface TorrentFileProgress {
  path: string;
  size: number;
  completedBytes: number;
}

/** What a magnet's metadata says about the torrent. */
export interface TorrentMetadata {
  name: string | null;
  totalBytes: number;
  /** `index` is aria2's file number (from 1, the torrent's order), what `select-file` names. */
  files: { index: number; path: string; size: number }[];
}

/** Which files to fetch, as aria2's `select-file` ("2,5,7"); null: every file. */
export interface FileSelection {
  selectFiles: string | null;
}

export interface DownloadedTorrent {
  name: string | null;
  /** Absolute paths on the droplet, with sizes. */
  files: { path: string; size: number }[];
  /** Seconds aria2 spent moving bytes (from the first byte to completion). */
  transferSeconds: number;
  /** aria2 still runs, giving the torrent to the swarm (the job's seeding policy): `seed` follows it. */
  seeding: boolean;
}

/** One reading of a download that is seeding. */
export interface SeedingProgress {
  uploadedBytes: number;
  /** The chosen files' size: what the share ratio divides by. */
  sizeBytes: number;
  uploadSpeed: number;
  connections: number;
}

/** How seeding ended on the droplet's side. */
export interface SeedingEnd {
  /** aria2 met its own rule and stopped ("complete"), the job's check said so first ("met"), or aria2 is gone. */
  how: "complete" | "met" | "gone";
  uploadedBytes: number;
  sizeBytes: number;
}

/** aria2 on the droplet: started over SSH, driven over JSON-RPC through the session's tunnel. */
export interface TorrentClientPort {
  download(
    session: DropletSession,
    opts: {
      dir: string;
      source: { magnetUri: string } | { torrentFile: Buffer };
      signal?: AbortSignal;
      onProgress: (p: TorrentProgress) => void;
      /** The job may have started aria2 on this droplet before a restart: reattach to it, or restart it keeping what is on disk. */
      resume?: boolean;
      /** Files already chosen (a .torrent's card, or a magnet's choice before a restart); absent or null: every file. */
      selectFiles?: string | null;
      /**
       * A magnet's metadata is in: the real name, size and files, before a byte of content is fetched (the download
       * waits until this resolves; throwing ends it). It answers which files to fetch. Not called for a .torrent,
       * whose files were known from the start.
       */
      onMetadata?: (meta: TorrentMetadata) => Promise<FileSelection | void>;
      /**
       * How long to seed once every byte is in (read when aria2 is started, so a later choice is taken then too).
       * With a policy other than none, download() returns once aria2 has every byte and leaves it seeding.
       */
      seedPolicy?: () => SeedPolicy;
    },
  ): Promise<DownloadedTorrent>;
  /**
   * Follows the job's aria2 on the droplet while it seeds, until aria2 stops by its own rule, `met` says the job's
   * policy is met (it is then stopped), or aria2 is gone (a droplet whose aria2 did not survive a restart).
   */
  seed(
    session: DropletSession,
    opts: { dir: string; signal?: AbortSignal; onProgress: (p: SeedingProgress) => void; met: (p: SeedingProgress) => boolean },
  ): Promise<SeedingEnd>;
  /** Tells the job's running aria2 a new seeding policy (before it has every byte); false if no aria2 runs for it. */
  applySeedPolicy(session: DropletSession, dir: string, policy: SeedPolicy, signal?: AbortSignal): Promise<boolean>;
}
