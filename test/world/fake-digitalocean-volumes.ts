// The fake DigitalOcean's block storage volumes (shared/do-openapi.yaml: /v2/volumes, /v2/volumes/{id},
// /v2/volumes/{id}/actions): each volume is a real ext4 filesystem in a sparse file of its full size (only what is
// written takes this machine's disk), attached to a droplet as a loop device that the droplet sees at DigitalOcean's
// path, /dev/disk/by-id/scsi-0DO_Volume_<name> (its /dev/disk is its own), so the bot mounts it as on DigitalOcean.
// A droplet's destroy detaches its volumes a moment later; deleting an attached volume is refused with a 409.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { ApiError, notFound, unprocessable } from "./fake-digitalocean-http.js";
import { iso, type FakeDroplet } from "./fake-digitalocean-droplets.js";
import type { FakeRegion } from "./fake-digitalocean-catalog.js";
import { processStart } from "./world-net.js";

const run = promisify(execFile);

/** components/schemas/volume_base: lowercase letters, digits and "-", starting with a letter, at most 64. */
const VOLUME_NAME = /^[a-z][a-z0-9-]{0,63}$/;
const TAG_PATTERN = /^[a-zA-Z0-9_\-:]+$/;
/** "The maximum size for a volume is 16TiB"; "up to fifteen volumes may be attached to a Droplet at a time". */
const MAX_GIB = 16_384;
const MAX_PER_DROPLET = 15;
const GIB = 1024 ** 3;
/** Where the droplet sees an attached volume (docs.digitalocean.com/products/volumes/details/naming-conventions). */
export const volumeDevicePath = (name: string) => `/dev/disk/by-id/scsi-0DO_Volume_${name}`;

export interface FakeVolumeAction {
  id: number;
  status: "in-progress" | "completed" | "errored";
  type: "attach_volume" | "detach_volume";
  started_at: string;
  completed_at: string | null;
  resource_id: null;
  resource_type: "volume";
  region_slug: string;
}

export interface FakeVolume {
  id: string;
  name: string;
  description: string;
  sizeGib: number;
  region: FakeRegion;
  tags: string[];
  createdAt: Date;
  filesystemType: string;
  filesystemLabel: string;
  /** The droplet it is attached to (DigitalOcean allows one). */
  dropletIds: number[];
  /** Its sparse backing file, and the loop device while attached. */
  file: string;
  loop: string | null;
  actions: FakeVolumeAction[];
}

/** A volume the fake ever created, kept after its delete: what a test checks against the bot's ledger. */
export interface VolumeHistoryEntry {
  id: string;
  name: string;
  sizeGib: number;
  tags: string[];
  createdAt: Date;
  deletedAt: Date | null;
}

export interface VolumeWorldOptions {
  dir: string;
  regions: FakeRegion[];
  /** An attach or detach action completes after this long. */
  attachDelayMs: number;
  /** A destroyed droplet's volumes are detached this long after it went (DELETE answers 409 until then). */
  detachAfterDestroyMs: number;
  droplet(id: number): FakeDroplet | undefined;
  nextActionId(): number;
  log: (line: string) => void;
}

/** The process that owns a backing file, in its name: a crashed run's loop devices are found and released. */
const OWNER = `dsvol-${process.pid}-${processStart(process.pid) ?? "0"}`;

export class VolumeWorld {
  private readonly volumes = new Map<string, FakeVolume>();
  readonly history: VolumeHistoryEntry[] = [];
  private readonly pending = new Set<Promise<unknown>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly dir: string;

  constructor(private readonly opts: VolumeWorldOptions) {
    this.dir = path.join(opts.dir, "volumes");
    fs.mkdirSync(this.dir, { recursive: true });
  }

  all(): FakeVolume[] {
    return [...this.volumes.values()];
  }

  get(id: string): FakeVolume {
    const v = this.volumes.get(id);
    if (!v) throw notFound();
    return v;
  }

  action(id: number): FakeVolumeAction | undefined {
    for (const v of this.volumes.values()) {
      const a = v.actions.find((x) => x.id === id);
      if (a) return a;
    }
    return undefined;
  }

  /** POST /v2/volumes, validated as components/schemas/volumes_ext4 states it. */
  async create(body: unknown): Promise<FakeVolume> {
    if (!body || typeof body !== "object" || Array.isArray(body)) throw unprocessable("The request body must be a JSON object.");
    const b = body as Record<string, unknown>;
    if (typeof b.name !== "string" || !VOLUME_NAME.test(b.name)) {
      throw unprocessable("name must be lowercase, begin with a letter and contain only letters, numbers and '-' (at most 64 characters).");
    }
    const size = b.size_gigabytes;
    if (typeof size !== "number" || !Number.isInteger(size) || size < 1 || size > MAX_GIB) {
      throw unprocessable(`size_gigabytes must be a whole number from 1 to ${MAX_GIB}.`);
    }
    const region = this.opts.regions.find((r) => r.slug === b.region);
    if (!region) throw unprocessable("You specified an invalid region for the volume.");
    if (!region.available || !region.features.includes("storage")) throw unprocessable(`Block storage is not available in ${region.slug}.`);
    const fsType = b.filesystem_type ?? "";
    if (fsType !== "" && fsType !== "ext4") throw unprocessable("This fake formats volumes with ext4 only; send filesystem_type ext4 or none.");
    const tags = b.tags ?? [];
    if (!Array.isArray(tags) || tags.some((t) => typeof t !== "string" || t.length > 255 || !TAG_PATTERN.test(t))) {
      throw unprocessable("Tag names may only contain letters, numbers, colons, dashes and underscores (at most 255 characters).");
    }
    if (this.all().some((v) => v.name === b.name && v.region.slug === region.slug)) {
      throw new ApiError(409, "conflict", `a volume with the name ${b.name} already exists in ${region.slug}`);
    }
    const id = randomUUID();
    const file = path.join(this.dir, `${OWNER}-${id}.img`);
    // Sparse: a 2 TiB volume takes what ext4 writes (a few MiB) until files are written to it.
    fs.closeSync(fs.openSync(file, "w"));
    fs.truncateSync(file, size * GIB);
    const label = typeof b.filesystem_label === "string" ? b.filesystem_label : "";
    if (fsType === "ext4") await run("mkfs.ext4", ["-q", "-F", ...(label ? ["-L", label] : []), file]);
    const volume: FakeVolume = {
      id,
      name: b.name,
      description: typeof b.description === "string" ? b.description : "",
      sizeGib: size,
      region,
      tags: [...new Set(tags as string[])],
      createdAt: new Date(),
      filesystemType: String(fsType),
      filesystemLabel: label,
      dropletIds: [],
      file,
      loop: null,
      actions: [],
    };
    this.volumes.set(id, volume);
    this.history.push({ id, name: volume.name, sizeGib: size, tags: [...volume.tags], createdAt: volume.createdAt, deletedAt: null });
    this.opts.log(`volume ${id} (${volume.name}, ${size} GiB) created`);
    return volume;
  }

  /** DELETE /v2/volumes/{id}: refused while attached, as DigitalOcean does. */
  async delete(id: string): Promise<void> {
    const v = this.get(id);
    if (v.dropletIds.length > 0) {
      throw new ApiError(409, "conflict", "A volume that's attached to a Droplet cannot be deleted. Please detach it first before deleting.");
    }
    this.volumes.delete(id);
    const h = this.history.find((x) => x.id === id);
    if (h) h.deletedAt = new Date();
    await this.release(v);
    fs.rmSync(v.file, { force: true });
    this.opts.log(`volume ${id} (${v.name}) deleted`);
  }

  /** POST /v2/volumes/{id}/actions with type attach or detach; the action completes after attachDelayMs. */
  startAction(id: string, body: unknown): FakeVolumeAction {
    const v = this.get(id);
    const b = (body ?? {}) as Record<string, unknown>;
    if (b.type !== "attach" && b.type !== "detach") throw unprocessable("type must be attach, detach or resize (this fake does attach and detach).");
    const dropletId = typeof b.droplet_id === "string" ? Number(b.droplet_id) : b.droplet_id;
    if (typeof dropletId !== "number" || !Number.isInteger(dropletId)) throw unprocessable("droplet_id is required.");
    if (b.region !== undefined && b.region !== v.region.slug) throw unprocessable(`The volume is in ${v.region.slug}, not ${String(b.region)}.`);
    const d = this.opts.droplet(dropletId);
    if (b.type === "attach") {
      if (!d || d.destroyed) throw notFound();
      if (d.region.slug !== v.region.slug) throw unprocessable("The volume and the Droplet must be in the same region.");
      if (v.dropletIds.length > 0 && !v.dropletIds.includes(dropletId)) throw unprocessable("The volume is already attached to another Droplet.");
      const onDroplet = this.all().filter((x) => x.dropletIds.includes(dropletId)).length;
      if (!v.dropletIds.includes(dropletId) && onDroplet >= MAX_PER_DROPLET) throw unprocessable(`A Droplet can have at most ${MAX_PER_DROPLET} volumes attached.`);
      v.dropletIds = [dropletId];
    } else {
      if (!v.dropletIds.includes(dropletId)) throw unprocessable("Attachment not found");
    }
    const action: FakeVolumeAction = {
      id: this.opts.nextActionId(),
      status: "in-progress",
      type: b.type === "attach" ? "attach_volume" : "detach_volume",
      started_at: iso(new Date()),
      completed_at: null,
      resource_id: null,
      resource_type: "volume",
      region_slug: v.region.slug,
    };
    v.actions.push(action);
    const work = b.type === "attach" ? () => this.plugIn(v, d!) : () => this.unplug(v, dropletId);
    this.later(this.opts.attachDelayMs, async () => {
      try {
        await work();
        action.status = "completed";
      } catch (err) {
        action.status = "errored";
        this.opts.log(`volume ${v.id}: ${action.type} failed: ${(err as Error).message}`);
      }
      action.completed_at = iso(new Date());
    });
    return action;
  }

  /** A droplet went: its volumes are detached a moment later, as DigitalOcean does. */
  dropletDestroyed(d: FakeDroplet): void {
    for (const v of this.all().filter((x) => x.dropletIds.includes(d.id))) {
      this.later(this.opts.detachAfterDestroyMs, () => this.unplug(v, d.id));
    }
  }

  async stopAll(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.pending]);
    for (const v of this.all()) {
      this.volumes.delete(v.id);
      await this.release(v);
      fs.rmSync(v.file, { force: true });
    }
  }

  /** The volume's loop device, linked where the droplet looks for it (inside its own mount namespace). */
  private async plugIn(v: FakeVolume, d: FakeDroplet): Promise<void> {
    const host = await waitForHost(d);
    if (v.loop === null) v.loop = (await run("losetup", ["-f", "--show", v.file])).stdout.trim();
    const link = volumeDevicePath(v.name);
    await insideDroplet(host, `mkdir -p /dev/disk/by-id && ln -sfn ${v.loop} ${link}`, path.join(d.dir, "volumes.log"));
  }

  private async unplug(v: FakeVolume, dropletId: number): Promise<void> {
    const d = this.opts.droplet(dropletId);
    if (d?.host && !d.destroyed) {
      await insideDroplet(d.host, `rm -f ${volumeDevicePath(v.name)}`, path.join(d.dir, "volumes.log")).catch(() => undefined);
    }
    v.dropletIds = v.dropletIds.filter((x) => x !== dropletId);
    await this.release(v);
  }

  /** Lets go of the loop device (the kernel keeps it until a mount of it, in a droplet still alive, ends). */
  private async release(v: FakeVolume): Promise<void> {
    const loop = v.loop;
    v.loop = null;
    if (loop) await run("losetup", ["-d", loop]).catch(() => undefined);
  }

  private later(ms: number, fn: () => Promise<void> | void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      const p = Promise.resolve()
        .then(fn)
        .catch((err: unknown) => this.opts.log(`fake volumes: ${(err as Error).message}`))
        .finally(() => this.pending.delete(p));
      this.pending.add(p);
    }, ms);
    this.timers.add(t);
  }
}

/** components/schemas/volume_full. */
export function volumeJson(v: FakeVolume): Record<string, unknown> {
  return {
    id: v.id,
    region: v.region,
    droplet_ids: [...v.dropletIds],
    name: v.name,
    description: v.description,
    size_gigabytes: v.sizeGib,
    created_at: iso(v.createdAt),
    filesystem_type: v.filesystemType,
    filesystem_label: v.filesystemLabel,
    tags: [...v.tags],
  };
}

/** components/schemas/volumeAction (an action with the region as an object). */
export function volumeActionJson(a: FakeVolumeAction, region: FakeRegion): Record<string, unknown> {
  return { ...a, region };
}

/**
 * Loop devices whose backing file belongs to a run that is gone (crashed before its stop): released, so they do not
 * pile up. Live runs' devices are left alone.
 */
export async function releaseLeftoverVolumeLoops(): Promise<number> {
  let listed: { loopdevices?: { name: string; "back-file"?: string | null }[] };
  try {
    listed = JSON.parse((await run("losetup", ["-J", "-l"])).stdout || "{}") as typeof listed;
  } catch {
    return 0;
  }
  let released = 0;
  for (const dev of listed.loopdevices ?? []) {
    const m = /dsvol-(\d+)-(\d+)-/.exec(dev["back-file"] ?? "");
    if (!m || processStart(Number(m[1])) === m[2]) continue;
    await run("losetup", ["-d", dev.name]).then(() => released++, () => undefined);
  }
  return released;
}

async function waitForHost(d: FakeDroplet): Promise<NonNullable<FakeDroplet["host"]>> {
  const deadline = Date.now() + 15_000;
  while (!d.host) {
    if (d.destroyed || Date.now() > deadline) throw new Error(`droplet ${d.id} is not running`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return d.host;
}

function insideDroplet(host: NonNullable<FakeDroplet["host"]>, script: string, logFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = host.spawnInside(script, logFile);
    p.once("error", reject);
    p.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`\`${script}\` exited ${code}`))));
  });
}
