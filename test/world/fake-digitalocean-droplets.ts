// The fake DigitalOcean's droplets: validation of create requests as the spec states them, the
// new → active lifecycle, and per droplet a network namespace (its "public IP" on the world's bridge) with a real
// sshd in it and cloud-init run from its user_data (fake-droplet-image.ts).
import { randomInt } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import ssh2 from "ssh2";
import { startSshHost, type SshHost } from "./sshd-host.js";
import { cloudInitRun, dropletImagePrepare } from "./fake-droplet-image.js";
import type { DropletNetns, WorldNet } from "./world-net.js";
import { readCloudInit, type CloudInitRequest } from "./fake-digitalocean-cloud-init.js";
import { ApiError, notFound, unprocessable } from "./fake-digitalocean-http.js";
import type { FakeRegion, FakeSize } from "./fake-digitalocean-catalog.js";
import { generateEd25519OpenSsh } from "../../src/shared/ed25519-openssh.js";

/** From components/schemas/droplet_single_create and tags_base in the OpenAPI spec. */
const NAME_PATTERN = /^[a-zA-Z0-9]?[a-z0-9A-Z.-]*[a-z0-9A-Z]$/;
const TAG_PATTERN = /^[a-zA-Z0-9_\-:]+$/;
const USER_DATA_MAX_BYTES = 64 * 1024;

export type DropletStatus = "new" | "active" | "off" | "archive";

export interface FakeAction {
  id: number;
  status: "in-progress" | "completed" | "errored";
  type: string;
  started_at: string;
  completed_at: string | null;
  resource_id: number;
  resource_type: "droplet";
  region_slug: string;
}

export interface FakeDroplet {
  id: number;
  name: string;
  status: DropletStatus;
  tags: string[];
  size: FakeSize;
  region: FakeRegion;
  image: { id: number; slug: string; name: string; distribution: string };
  createdAt: Date;
  /** The droplet's "public IPv4": its address in its own network namespace, where its sshd listens on port 22. */
  ip: string;
  netns: DropletNetns;
  dir: string;
  userData: string | undefined;
  cloudInit: CloudInitRequest;
  /** Its disk's size as the droplet sees it (the size's GiB, scaled down); null: this machine's disk, unlimited. */
  diskBytes: number | null;
  /** The host public key the droplet presents (from user_data, or generated when none was given). */
  hostPublicKey: string;
  authorizedKeys: string[];
  host: SshHost | null;
  /** cloud-init's later stages (packages), running on the droplet once its sshd is up; output in dir/cloud-init.log. */
  cloudInitDone: Promise<number | null> | null;
  /** Why the droplet's sshd is not running although it should (bad host key, ...). */
  hostError: string | null;
  destroyed: boolean;
  actions: FakeAction[];
}

export interface RegisteredKey {
  id: number;
  fingerprint: string;
  public_key: string;
  name: string;
}

export interface DropletWorldOptions {
  dir: string;
  net: WorldNet;
  activeDelayMs: number;
  /** Extra time between "active" and sshd listening (a real droplet is active before it answers SSH); null: 300–1000 ms. */
  sshDelayMs: number | null;
  /** How long cloud-init's package step holds the package manager's lock. */
  cloudInitPackagesMs: number;
  /** How long a destroyed droplet stays visible (status "off") before it is gone (404). */
  destroyDelayMs: number;
  dropletLimit: number;
  /** Bytes of a droplet's disk per GiB of its size (the catalog's `disk`); null: no limit. */
  diskBytesPerGib: number | null;
  images: { id: number; slug: string; name: string; distribution: string }[];
  log: (msg: string) => void;
  /** Told when a droplet is powered off for good (its destroy began). */
  onDestroyed?: (d: FakeDroplet) => void;
}

type CreateContext = { sizes: FakeSize[]; regions: FakeRegion[]; keys: RegisteredKey[] };

export function validateCreate(body: unknown, ctx: CreateContext, world: DropletWorld): ValidCreate {
  if (!body || typeof body !== "object" || Array.isArray(body)) throw unprocessable("The request body must be a JSON object.");
  const b = body as Record<string, unknown>;
  if ("names" in b) throw unprocessable("This fake supports single droplet creates only; send `name`.");
  const name = b.name;
  if (typeof name !== "string" || name === "") throw unprocessable("Name is required.");
  if (name.length > 255 || !NAME_PATTERN.test(name)) {
    throw unprocessable("Name Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)");
  }
  if (typeof b.size !== "string") throw unprocessable("You specified an invalid size for Droplet creation.");
  const size = ctx.sizes.find((s) => s.slug === b.size);
  if (!size) throw unprocessable("You specified an invalid size for Droplet creation.");
  const image = world.opts.images.find((i) => i.slug === b.image || i.id === b.image);
  if (!image) throw unprocessable("You specified an invalid image for Droplet creation.");
  const regionSlug = typeof b.region === "string" ? b.region : size.regions[0];
  const region = ctx.regions.find((r) => r.slug === regionSlug);
  if (!region) throw unprocessable("You specified an invalid region for Droplet creation.");
  if (!region.available) throw unprocessable("Region is not available");
  if (!size.available || !size.regions.includes(region.slug)) throw unprocessable("Size is not available in this region.");
  const tags = b.tags ?? [];
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== "string" || t.length > 255 || !TAG_PATTERN.test(t))) {
    throw unprocessable("Tag names may only contain letters, numbers, colons, dashes and underscores (at most 255 characters).");
  }
  if (b.user_data !== undefined && typeof b.user_data !== "string") throw unprocessable("user_data must be a string.");
  if (typeof b.user_data === "string" && Buffer.byteLength(b.user_data) > USER_DATA_MAX_BYTES) {
    throw unprocessable("user_data is too long (maximum is 64 KiB).");
  }
  const keyRefs = b.ssh_keys ?? [];
  if (!Array.isArray(keyRefs)) throw unprocessable("ssh_keys must be an array of key ids or fingerprints.");
  const keys = keyRefs.map((ref) => ctx.keys.find((k) => k.id === ref || k.fingerprint === ref || String(k.id) === ref));
  if (keys.some((k) => k === undefined)) throw unprocessable("You specified invalid ssh key ids for Droplet creation.");
  if (world.alive().length >= world.opts.dropletLimit) {
    throw unprocessable(`creating this/these droplet(s) will exceed your droplet limit (${world.opts.dropletLimit})`);
  }
  return {
    name,
    size,
    region,
    image,
    tags: [...new Set(tags as string[])],
    userData: b.user_data as string | undefined,
    accountKeys: (keys as RegisteredKey[]).map((k) => k.public_key),
  };
}

export interface ValidCreate {
  name: string;
  size: FakeSize;
  region: FakeRegion;
  image: { id: number; slug: string; name: string; distribution: string };
  tags: string[];
  userData: string | undefined;
  accountKeys: string[];
}

export class DropletWorld {
  private readonly droplets = new Map<number, FakeDroplet>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly booting = new Map<number, Promise<void>>();
  private nextId = 401_000_000 + Math.floor(Math.random() * 1_000_000);
  private nextActionId = 2_300_000_000 + Math.floor(Math.random() * 1_000_000);

  constructor(readonly opts: DropletWorldOptions) {}

  all(): FakeDroplet[] {
    return [...this.droplets.values()];
  }

  alive(): FakeDroplet[] {
    return this.all().filter((d) => !d.destroyed);
  }

  get(id: number): FakeDroplet {
    const d = this.droplets.get(id);
    if (!d) throw notFound();
    return d;
  }

  /** A fresh action id (droplet and volume actions share one sequence, as on DigitalOcean). */
  newActionId(): number {
    return this.nextActionId++;
  }

  action(id: number): FakeAction {
    for (const d of this.droplets.values()) {
      const a = d.actions.find((x) => x.id === id);
      if (a) return a;
    }
    throw notFound();
  }

  async create(req: ValidCreate): Promise<FakeDroplet> {
    const id = this.nextId++;
    let netns: DropletNetns;
    try {
      netns = await this.opts.net.addDroplet();
    } catch (err) {
      throw new ApiError(500, "server_error", `no network for a new droplet: ${(err as Error).message}`);
    }
    const ip = netns.address;
    const dir = path.join(this.opts.dir, `droplet-${id}`);
    fs.mkdirSync(dir, { recursive: true });
    const cloudInit = readCloudInit(req.userData);
    let hostPrivateKey: string;
    let hostPublicKey = cloudInit.hostPublicKey ?? "";
    if (cloudInit.hostPrivateKey === null) {
      // No pre-generated key: the droplet makes its own at first boot, as a real one would.
      const kp = generateEd25519OpenSsh(`root@${req.name}`);
      hostPrivateKey = kp.privateKey;
      hostPublicKey = kp.publicKey;
    } else if (hostPublicKey === "") {
      hostPrivateKey = cloudInit.hostPrivateKey;
      const parsed = ssh2.utils.parseKey(hostPrivateKey);
      if (!(parsed instanceof Error)) hostPublicKey = `${parsed.type} ${parsed.getPublicSSH().toString("base64")}`;
    } else {
      hostPrivateKey = cloudInit.hostPrivateKey;
    }
    const now = new Date();
    const droplet: FakeDroplet = {
      id,
      name: req.name,
      status: "new",
      tags: req.tags,
      size: req.size,
      region: req.region,
      image: req.image,
      createdAt: now,
      diskBytes: this.opts.diskBytesPerGib === null ? null : req.size.disk * this.opts.diskBytesPerGib,
      ip,
      netns,
      dir,
      userData: req.userData,
      cloudInit,
      hostPublicKey,
      authorizedKeys: [...new Set([...req.accountKeys, ...cloudInit.authorizedKeys])],
      host: null,
      cloudInitDone: null,
      hostError: null,
      destroyed: false,
      actions: [
        {
          id: this.nextActionId++,
          status: "in-progress",
          type: "create",
          started_at: iso(now),
          completed_at: null,
          resource_id: id,
          resource_type: "droplet",
          region_slug: req.region.slug,
        },
      ],
    };
    this.droplets.set(id, droplet);
    this.later(this.opts.activeDelayMs, () => this.activate(droplet, hostPrivateKey));
    this.opts.log(`droplet ${id} (${req.name}) created at ${ip}`);
    return droplet;
  }

  private activate(d: FakeDroplet, hostPrivateKey: string): void {
    if (d.destroyed) return;
    d.status = "active";
    const create = d.actions[0]!;
    create.status = "completed";
    create.completed_at = iso(new Date());
    this.later(this.opts.sshDelayMs ?? randomInt(300, 1000), () => {
      const booting = this.boot(d, hostPrivateKey).finally(() => this.booting.delete(d.id));
      this.booting.set(d.id, booting);
    });
  }

  private async boot(d: FakeDroplet, hostPrivateKey: string): Promise<void> {
    if (d.destroyed) return;
    try {
      const host = await startSshHost({
        address: d.ip,
        port: 22,
        dir: path.join(d.dir, "host"),
        hostPrivateKey,
        authorizedKeys: d.authorizedKeys,
        netnsPath: d.netns.nsPath,
        prepare: dropletImagePrepare({ diskBytes: d.diskBytes }),
      });
      // Destroyed while sshd was starting: stop it at once.
      if (d.destroyed) return void (await host.stop());
      d.host = host;
      const ci = host.spawnInside(cloudInitRun(d.cloudInit, { packagesMs: this.opts.cloudInitPackagesMs }), path.join(d.dir, "cloud-init.log"));
      d.cloudInitDone = new Promise((resolve) => ci.once("exit", (code) => resolve(code)));
    } catch (err) {
      d.hostError = (err as Error).message;
      this.opts.log(`droplet ${d.id}: sshd did not start: ${d.hostError}`);
    }
  }

  /** Powers the droplet off at once (sshd and everything started on it die) and forgets it later. */
  async destroy(d: FakeDroplet): Promise<void> {
    if (d.destroyed) return;
    d.destroyed = true;
    d.status = "off";
    this.opts.onDestroyed?.(d);
    await this.stopHost(d);
    // Every process of the droplet is gone with its PID namespace, so the network namespace can go too.
    await d.netns.remove();
    this.opts.log(`droplet ${d.id} destroyed`);
    if (this.opts.destroyDelayMs > 0) this.later(this.opts.destroyDelayMs, () => this.droplets.delete(d.id));
    else this.droplets.delete(d.id);
  }

  private async stopHost(d: FakeDroplet): Promise<void> {
    // A host may still be booting: let boot() settle (it stops a host whose droplet died meanwhile).
    await this.booting.get(d.id);
    const host = d.host;
    d.host = null;
    if (host) await host.stop();
    await d.cloudInitDone;
  }

  async stopAll(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all(this.alive().map((d) => this.destroy(d)));
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.droplets.clear();
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }
}

export function iso(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}
