// A stand-in for the DigitalOcean API v2 on loopback, following shared/do-openapi.yaml for the endpoints
// Dropship uses: account, account/keys, sizes, regions, droplets (create, get, list by tag, delete by id and
// by tag), droplet actions and actions. Each droplet is a real SSH host in its own network namespace (see
// fake-digitalocean-droplets.ts). The defaults are as realistic as the tests can afford: SSH answers a while after
// "active", destroying and listing lag, and cloud-init installs the requested packages (while holding apt's lock).
import { createHash } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import ssh2 from "ssh2";
import { startWorldNet, type WorldNet } from "./world-net.js";
import { defaultSizes, regionsFor, DEFAULT_IMAGES, type FakeRegion, type FakeSize } from "./fake-digitalocean-catalog.js";
import { DropletWorld, iso, validateCreate, type FakeDroplet, type RegisteredKey } from "./fake-digitalocean-droplets.js";
import { releaseLeftoverVolumeLoops, volumeActionJson, volumeJson, VolumeWorld, type FakeVolume, type VolumeHistoryEntry } from "./fake-digitalocean-volumes.js";
import {
  ApiError,
  faultError,
  faultMatcher,
  notFound,
  paginate,
  RateLimiter,
  readJsonBody,
  sendError,
  sendJson,
  unprocessable,
  type FakeFault,
  type FaultPattern,
  type FaultRequest,
  type FaultRule,
} from "./fake-digitalocean-http.js";

export type { FakeDroplet, FakeFault, FakeSize, FakeRegion, FakeVolume, FaultPattern, FaultRequest, FaultRule };
export { volumeDevicePath } from "./fake-digitalocean-volumes.js";

/** A droplet the fake ever created, kept after it is forgotten: what a test checks against the bot's ledger. */
export interface DropletHistoryEntry {
  id: number;
  name: string;
  tags: string[];
  createdAt: Date;
  destroyedAt: Date | null;
}

export interface FakeDigitalOceanOptions {
  token: string;
  /** Parent directory for the droplets' own directories. */
  dir: string;
  /** new → active after this long (default 300 ms). */
  activeDelayMs?: number;
  /** active → sshd listening after this long (default: 300–1000 ms, drawn per droplet). */
  sshDelayMs?: number;
  /** A destroyed droplet stays visible as "off" this long before GET says 404 (default 1000 ms). */
  destroyDelayMs?: number;
  /** A new droplet is missing from list calls for this long (digitalocean/api-v2#202; default 1000 ms). */
  listLagMs?: number;
  /** cloud-init's package step (package_update + packages) holds apt's lock this long (default 1500 ms). */
  cloudInitPackagesMs?: number;
  /** The world's network (shared with the swarm, so droplets reach it); default: one of its own, stopped with it. */
  net?: WorldNet;
  /**
   * Each droplet's disk: this many bytes per GiB of its size (s-1vcpu-1gb has 25), a size-limited tmpfs where torrents
   * download, so a full disk happens as on DigitalOcean (default 16 MiB: 400 MiB for 25 GiB); null: no limit.
   * Volumes are not scaled: a volume is a sparse file of its full size, costing only what is written to it.
   */
  diskBytesPerGib?: number | null;
  /** A volume's attach or detach action completes after this long (default 500 ms). */
  volumeAttachDelayMs?: number;
  /** A destroyed droplet's volumes are detached this long after (default 1000 ms; DELETE answers 409 until then). */
  volumeDetachDelayMs?: number;
  sizes?: FakeSize[];
  regions?: FakeRegion[];
  dropletLimit?: number;
  rateLimit?: { perHour: number; perMinute: number };
  /** Called with one line per notable event (droplet created, destroyed, sshd failure). */
  log?: (line: string) => void;
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  status: number;
  at: number;
  /** How long the answer took (0 until it is sent; a dropped connection has none). */
  ms: number;
}

export interface FakeDigitalOcean {
  /** Base URL including /v2, e.g. http://127.0.0.1:40123/v2. */
  readonly url: string;
  droplets(): FakeDroplet[];
  droplet(id: number): FakeDroplet | undefined;
  /** Block storage volumes that exist now. */
  volumes(): FakeVolume[];
  /** Every volume created since the start, deleted ones included, oldest first. */
  volumeHistory(): VolumeHistoryEntry[];
  /** Resolves when the droplet's sshd listens; rejects if it failed or did not start in time. */
  whenSshReady(id: number, timeoutMs?: number): Promise<FakeDroplet>;
  /** Every droplet created since the start, destroyed and forgotten ones included, oldest first. */
  history(): DropletHistoryEntry[];
  sshKeys(): RegisteredKey[];
  /** Serves `fault` for the next `times` (default 1) requests matching `pattern` (rules are tried in the order given). */
  injectFault(pattern: FaultPattern, fault: FakeFault, times?: number): FaultRule;
  clearFaults(): void;
  readonly requests: LoggedRequest[];
  /** The network the droplets live on. */
  readonly net: WorldNet;
  stop(): Promise<void>;
}

export async function startFakeDigitalOcean(opts: FakeDigitalOceanOptions): Promise<FakeDigitalOcean> {
  fs.mkdirSync(opts.dir, { recursive: true });
  const sizes = opts.sizes ?? defaultSizes();
  const regions = opts.regions ?? regionsFor(sizes);
  const keys: RegisteredKey[] = [];
  const faults: (FaultRule & { matches: (req: FaultRequest) => boolean })[] = [];
  const history: DropletHistoryEntry[] = [];
  const requests: LoggedRequest[] = [];
  const limiter = new RateLimiter(opts.rateLimit ?? { perHour: 5000, perMinute: 250 });
  const listLagMs = opts.listLagMs ?? 1000;
  const log = opts.log ?? (() => {});
  const net = opts.net ?? (await startWorldNet());
  const world = new DropletWorld({
    dir: opts.dir,
    net,
    activeDelayMs: opts.activeDelayMs ?? 300,
    sshDelayMs: opts.sshDelayMs ?? null,
    cloudInitPackagesMs: opts.cloudInitPackagesMs ?? 1500,
    destroyDelayMs: opts.destroyDelayMs ?? 1000,
    dropletLimit: opts.dropletLimit ?? 25,
    diskBytesPerGib: opts.diskBytesPerGib === undefined ? 16 * 1024 * 1024 : opts.diskBytesPerGib,
    images: DEFAULT_IMAGES,
    log,
    onDestroyed: (d) => {
      const h = history.find((x) => x.id === d.id);
      if (h && h.destroyedAt === null) h.destroyedAt = new Date();
      volumes.dropletDestroyed(d);
    },
  });
  await releaseLeftoverVolumeLoops();
  const volumes = new VolumeWorld({
    dir: opts.dir,
    regions,
    attachDelayMs: opts.volumeAttachDelayMs ?? 500,
    detachAfterDestroyMs: opts.volumeDetachDelayMs ?? 1000,
    droplet: (id) => world.all().find((d) => d.id === id),
    nextActionId: () => world.newActionId(),
    log,
  });
  let base = "";
  let nextKeyId = 41_000_000 + Math.floor(Math.random() * 1_000_000);

  const render = (d: FakeDroplet) => dropletJson(d, net);
  const findKey = (ref: string) => keys.find((k) => String(k.id) === ref || k.fingerprint === ref);

  async function route(url: URL, method: string, body: unknown): Promise<[number, unknown]> {
    const p = url.pathname.replace(/\/+$/, "");
    const seg = p.split("/").slice(2); // after "", "v2"
    if (method === "GET" && p === "/v2/account") return [200, { account: account(opts.dropletLimit ?? 25) }];
    if (p === "/v2/account/keys") {
      if (method === "GET") return [200, paginate("ssh_keys", keys, url, base)];
      if (method === "POST") return [201, { ssh_key: registerKey(body) }];
    }
    if (seg[0] === "account" && seg[1] === "keys" && seg.length === 3) {
      const key = findKey(decodeURIComponent(seg[2]!));
      if (!key) throw notFound();
      if (method === "GET") return [200, { ssh_key: key }];
      if (method === "DELETE") return (keys.splice(keys.indexOf(key), 1), [204, undefined]);
    }
    if (method === "GET" && p === "/v2/sizes") return [200, paginate("sizes", sizes, url, base)];
    if (method === "GET" && p === "/v2/regions") return [200, paginate("regions", regions, url, base)];
    if (p === "/v2/droplets") return dropletsCollection(method, url, body);
    if (seg[0] === "droplets" && seg.length >= 2) {
      const d = world.get(numericId(seg[1]!));
      if (seg.length === 2 && method === "GET") return [200, { droplet: render(d) }];
      if (seg.length === 2 && method === "DELETE") {
        if (d.destroyed) throw notFound();
        await world.destroy(d);
        return [204, undefined];
      }
      if (seg.length === 3 && seg[2] === "actions" && method === "GET") return [200, paginate("actions", d.actions, url, base)];
    }
    if (p === "/v2/volumes" || seg[0] === "volumes") return volumeRoute(method, url, seg, body);
    if (method === "GET" && p === "/v2/actions") return [200, paginate("actions", world.all().flatMap((d) => d.actions), url, base)];
    if (method === "GET" && seg[0] === "actions" && seg.length === 2) {
      const id = numericId(seg[1]!);
      const volumeAction = volumes.action(id);
      return [200, { action: volumeAction ?? world.action(id) }];
    }
    throw notFound();
  }

  /** /v2/volumes (list by name and region, create), /v2/volumes/{id} (get, delete), its actions (attach, detach). */
  async function volumeRoute(method: string, url: URL, seg: string[], body: unknown): Promise<[number, unknown]> {
    if (seg.length === 1) {
      if (method === "GET") {
        const name = url.searchParams.get("name");
        const region = url.searchParams.get("region");
        const items = volumes.all().filter((v) => (name === null || v.name === name) && (region === null || v.region.slug === region));
        return [200, paginate("volumes", items.map(volumeJson), url, base)];
      }
      if (method === "POST") return [201, { volume: volumeJson(await volumes.create(body)) }];
      throw notFound();
    }
    const v = volumes.get(decodeURIComponent(seg[1]!));
    if (seg.length === 2 && method === "GET") return [200, { volume: volumeJson(v) }];
    if (seg.length === 2 && method === "DELETE") return (await volumes.delete(v.id), [204, undefined]);
    if (seg.length === 3 && seg[2] === "actions") {
      if (method === "POST") return [202, { action: volumeActionJson(volumes.startAction(v.id, body), v.region) }];
      if (method === "GET") return [200, paginate("actions", v.actions.map((a) => volumeActionJson(a, v.region)), url, base)];
    }
    if (seg.length === 4 && seg[2] === "actions" && method === "GET") {
      const a = v.actions.find((x) => String(x.id) === seg[3]);
      if (!a) throw notFound();
      return [200, { action: volumeActionJson(a, v.region) }];
    }
    throw notFound();
  }

  async function dropletsCollection(method: string, url: URL, body: unknown): Promise<[number, unknown]> {
    const tag = url.searchParams.get("tag_name");
    if (method === "GET") {
      const name = url.searchParams.get("name");
      const now = Date.now();
      const items = world
        .all()
        .filter((d) => now - d.createdAt.getTime() >= listLagMs)
        .filter((d) => tag === null || d.tags.includes(tag))
        .filter((d) => name === null || d.name.toLowerCase() === name.toLowerCase());
      return [200, paginate("droplets", items.map(render), url, base)];
    }
    if (method === "POST") {
      const valid = validateCreate(body, { sizes, regions, keys }, world);
      const d = await world.create(valid);
      history.push({ id: d.id, name: d.name, tags: [...d.tags], createdAt: d.createdAt, destroyedAt: null });
      const action = d.actions[0]!;
      return [202, { droplet: render(d), links: { actions: [{ id: action.id, rel: "create", href: `${base}/actions/${action.id}` }] } }];
    }
    if (method === "DELETE") {
      if (tag === null || tag === "") throw unprocessable("tag_name is required to delete droplets by tag.");
      await Promise.all(world.alive().filter((d) => d.tags.includes(tag)).map((d) => world.destroy(d)));
      return [204, undefined];
    }
    throw notFound();
  }

  function registerKey(body: unknown): RegisteredKey {
    const b = (body ?? {}) as Record<string, unknown>;
    if (typeof b.name !== "string" || b.name.trim() === "") throw unprocessable("Name can't be blank");
    if (typeof b.public_key !== "string") throw unprocessable("Public key can't be blank");
    const parsed = ssh2.utils.parseKey(b.public_key);
    if (parsed instanceof Error || parsed.isPrivateKey()) throw unprocessable("Key invalid, type not supported");
    const blob = parsed.getPublicSSH();
    const fingerprint = createHash("md5").update(blob).digest("hex").match(/../g)!.join(":");
    if (keys.some((k) => k.fingerprint === fingerprint)) throw unprocessable("SSH Key is already in use on your account");
    const key: RegisteredKey = { id: nextKeyId++, fingerprint, public_key: b.public_key.trim(), name: b.name };
    keys.push(key);
    return key;
  }

  function takeFault(req: FaultRequest): FakeFault | null {
    const rule = faults.find((f) => f.remaining > 0 && f.matches(req));
    if (!rule) return null;
    rule.remaining--;
    rule.hits++;
    return rule.fault;
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const method = (req.method ?? "GET").toUpperCase();
    const entry: LoggedRequest = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body: undefined,
      status: 0,
      at: Date.now(),
      ms: 0,
    };
    requests.push(entry);
    res.once("finish", () => {
      entry.status = res.statusCode;
      entry.ms = Date.now() - entry.at;
    });
    let rl = limiter.headers();
    try {
      if (req.headers.authorization !== `Bearer ${opts.token}`) {
        throw new ApiError(401, "unauthorized", "Unable to authenticate you.");
      }
      const over = limiter.take();
      rl = limiter.headers();
      if (over) {
        throw new ApiError(429, "too_many_requests", "API rate limit exceeded.", {}, {
          "retry-after": String(over.retryAfterSeconds),
        });
      }
      const body = method === "POST" || method === "PUT" ? await readJsonBody(req, 1 << 20) : undefined;
      entry.body = body;
      const fault = takeFault({ method, path: url.pathname, query: entry.query, body });
      const applied = fault !== null && "applied" in fault && fault.applied === true;
      if (applied) await route(url, method, body);
      if (fault && "disconnect" in fault) {
        req.socket.destroy();
        return;
      }
      if (fault && "delayMs" in fault) {
        await new Promise((r) => setTimeout(r, fault.delayMs));
        if (fault.lost) return void req.socket.destroy();
      }
      if (fault && "heldUntil" in fault) await fault.heldUntil.catch(() => undefined);
      const faultErr = fault ? faultError(fault) : null;
      if (faultErr) throw faultErr;
      const [status, payload] = await route(url, method, body);
      sendJson(res, status, payload, rl);
    } catch (err) {
      if (err instanceof ApiError) return sendError(res, err, rl);
      log(`fake DigitalOcean: ${method} ${url.pathname} failed: ${(err as Error).stack ?? err}`);
      sendError(res, new ApiError(500, "server_error", "Unexpected server-side error"), rl);
    }
  }

  const server = http.createServer((req, res) => void handle(req, res));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
  } catch (err) {
    if (!opts.net) await net.stop();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}/v2`;

  return {
    url: base,
    droplets: () => world.all(),
    droplet: (id) => world.all().find((d) => d.id === id),
    volumes: () => volumes.all(),
    volumeHistory: () => volumes.history.map((h) => ({ ...h, tags: [...h.tags] })),
    async whenSshReady(id, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const d = world.all().find((x) => x.id === id);
        if (!d || d.destroyed) throw new Error(`droplet ${id} does not exist (or was destroyed)`);
        if (d.host) return d;
        if (d.hostError && d.status === "active") throw new Error(`droplet ${id} has no sshd: ${d.hostError}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`droplet ${id}'s sshd did not start within ${timeoutMs} ms`);
    },
    history: () => history.map((h) => ({ ...h, tags: [...h.tags] })),
    sshKeys: () => [...keys],
    injectFault(pattern, fault, times = 1) {
      const rule = { pattern, fault, remaining: times, hits: 0, matches: faultMatcher(pattern) };
      faults.push(rule);
      return rule;
    },
    clearFaults: () => void faults.splice(0),
    requests,
    net,
    async stop() {
      await world.stopAll();
      await volumes.stopAll();
      if (!opts.net) await net.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function numericId(raw: string): number {
  if (!/^\d+$/.test(raw)) throw notFound();
  return Number(raw);
}

function account(dropletLimit: number) {
  return {
    droplet_limit: dropletLimit,
    floating_ip_limit: 3,
    email: "sammy@example.invalid",
    name: "Sammy the Shark",
    uuid: "b6fr89dbf6d9156cace5f3c78dc9851d957381ef",
    email_verified: true,
    status: "active",
    status_message: "",
    team: { uuid: "5df3e3004a17e242b7c20ca6c9fc25b701a47ece", name: "My Team" },
  };
}

/** components/schemas/droplet, with the droplet's address on the world's bridge as its public IPv4 once active. */
function dropletJson(d: FakeDroplet, net: WorldNet): Record<string, unknown> {
  const { size, region } = d;
  return {
    id: d.id,
    name: d.name,
    memory: size.memory,
    vcpus: size.vcpus,
    disk: size.disk,
    disk_info: size.disk_info,
    locked: d.status === "new",
    status: d.status,
    kernel: null,
    created_at: iso(d.createdAt),
    features: ["droplet_agent", "private_networking"],
    backup_ids: [],
    next_backup_window: null,
    snapshot_ids: [],
    image: {
      ...d.image,
      public: true,
      regions: [region.slug],
      created_at: "2024-06-01T00:00:00Z",
      type: "base",
      min_disk_size: 7,
      size_gigabytes: 2.1,
      description: "",
      tags: [],
      status: "available",
      error_message: "",
    },
    volume_ids: [],
    size,
    size_slug: size.slug,
    networks: {
      v4:
        d.status === "new"
          ? []
          : [
              { ip_address: d.ip, netmask: net.netmask, gateway: net.gateway, type: "public" },
              { ip_address: "10.114.0.2", netmask: "255.255.240.0", gateway: "", type: "private" },
            ],
      v6: [],
    },
    region,
    tags: d.tags,
    vpc_uuid: "760e09ef-dc84-11e8-981e-3cfdfeaae000",
  };
}
