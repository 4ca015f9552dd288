// What the job engine needs from a cloud: sizes and prices, an SSH key, droplets it can create, wait for, find by
// tag and destroy, and block storage volumes for a disk that is too small. One implementation (DigitalOcean); tests
// aim it at the fake API.
import type { DropletSpec } from "../jobs/torrent/torrent-ports.js";

export interface CloudSize {
  slug: string;
  priceHourly: number;
  priceMonthly: number;
  /** Monthly outbound transfer allowance in TB (DigitalOcean counts 1 TB as 1,000 GiB). */
  transferTb: number;
  regions: string[];
  available: boolean;
  vcpus: number;
  memoryMb: number;
  diskGb: number;
  description: string;
}

export type DropletStatus = "new" | "active" | "off" | "archive";

export interface CloudDroplet {
  id: number;
  name: string;
  status: DropletStatus;
  /** The public IPv4 address, once DigitalOcean has assigned one. */
  publicIpv4: string | null;
  tags: string[];
  sizeSlug: string;
  region: string;
  createdAt: Date;
}

/** The domain's DropletSpec: what a droplet is created with. */
export type CreateDropletRequest = DropletSpec;

/** A block storage volume (sizes in GiB, 1024^3 bytes). */
export interface CloudVolume {
  /** DigitalOcean's volume id (a UUID). */
  id: string;
  name: string;
  sizeGib: number;
  region: string;
  /** The droplet it is attached to (at most one), else empty. */
  dropletIds: number[];
  tags: string[];
  createdAt: Date;
}

export interface CreateVolumeRequest {
  /** Lowercase letters, digits and "-", starting with a letter, at most 64; unique in its region. */
  name: string;
  region: string;
  sizeGib: number;
  /** The LAST one is unique to the job (dropship-job-<id>), as for droplets. */
  tags: string[];
  description?: string;
}

export interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface CloudProvider {
  /** Checks the token works (call it at start to fail fast); status is "active", "warning" or "locked". */
  describeAccount(): Promise<{ email: string; status: string; dropletLimit: number }>;
  /** All sizes, cached for a while; `refresh` forces a new fetch. */
  listSizes(opts?: { refresh?: boolean }): Promise<CloudSize[]>;
  getSize(slug: string): Promise<CloudSize | null>;
  /** Null when `size` can be created in `region`; otherwise what to tell the user, with alternatives. */
  sizeProblem(size: string, region: string): Promise<string | null>;
  /** Registers the public key once (found again by its fingerprint); returns its DigitalOcean id. */
  ensureSshKey(name: string, publicKey: string): Promise<number>;
  /**
   * Creates the droplet once: after an attempt whose answer was lost it looks for the droplet by the request's last tag
   * before trying again. `afterLostAnswer` says one was lost on the way — a droplet that attempt made may still appear
   * later (a duplicate), carrying the same tag.
   */
  createDroplet(req: CreateDropletRequest, opts?: { signal?: AbortSignal }): Promise<CloudDroplet & { afterLostAnswer: boolean }>;
  /** Null when the droplet does not exist (any more). */
  getDroplet(id: number): Promise<CloudDroplet | null>;
  /** Polls with backoff until the droplet is active with a public IPv4. Active is not "answers SSH". */
  waitUntilActive(id: number, opts: WaitOptions): Promise<{ droplet: CloudDroplet; ip: string }>;
  /** Destroys the droplet and returns once DigitalOcean says it is gone (404). Already gone is fine. */
  destroyDroplet(id: number, opts?: { timeoutMs?: number }): Promise<void>;
  /**
   * Droplets carrying the tag. With `settleSince`, lists again until a droplet created then must show (lists lag new
   * droplets), returning every droplet seen: how a create whose answer was lost is found.
   */
  listDropletsByTag(tag: string, opts?: { settleSince?: Date }): Promise<CloudDroplet[]>;
  /** Destroys every droplet with the tag, confirms none is left, and returns the ids that were there. */
  destroyByTag(tag: string, opts?: { timeoutMs?: number }): Promise<number[]>;
  /**
   * Creates the volume (ext4-formatted) once: after an attempt whose answer was lost, or a refusal because the name is
   * taken, it looks for the volume by name and takes it if it carries the request's last tag.
   */
  createVolume(req: CreateVolumeRequest, opts?: { signal?: AbortSignal }): Promise<CloudVolume>;
  /** The volume called `name` in `region`, or null. */
  findVolume(name: string, region: string): Promise<CloudVolume | null>;
  /** Attaches the volume to the droplet and waits until the attach action has completed. Already attached is fine. */
  attachVolume(volumeId: string, dropletId: number, region: string, opts: WaitOptions): Promise<void>;
  /**
   * Deletes the volume; already gone is fine. While it is still attached (a destroyed droplet releases its volumes a
   * few seconds later) DigitalOcean refuses with a 409: it tries again until `timeoutMs` (default 60 s).
   */
  deleteVolume(volumeId: string, opts?: { timeoutMs?: number }): Promise<void>;
  /** Every volume carrying the tag (the API cannot filter volumes by tag: all are listed). */
  listVolumesByTag(tag: string): Promise<CloudVolume[]>;
}
