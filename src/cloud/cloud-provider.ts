// What the job engine needs from a cloud: sizes and prices, an SSH key, and droplets it can create, wait
// for, find by tag and destroy. One implementation (DigitalOcean); tests aim it at the fake API.
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
}
