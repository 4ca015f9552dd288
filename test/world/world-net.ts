// The local world's own network: one Linux bridge per world on a /24 of 198.18.0.0/16 and one network
// namespace per fake droplet, joined to the bridge by a veth pair whose inside end is the droplet's eth0.
// From the bot's (root) namespace a droplet is reachable only at its own address; its 127.0.0.1 is its own.
//
// 198.18.0.0/15 is reserved for network benchmarking (RFC 2544) and never routed on the internet; the world
// uses 198.18.0.0/16 only, a /24 per running world (slot = third octet). Nothing else is ever addressed:
// a droplet's namespace has no default route, and the world enables no forwarding or NAT.
//
// Names (all ours, so clean-up can find them without touching anything else):
//   bridge      dsw<slot>              alias "dropship-world pid=<pid> start=<process start time>"
//   netns       dsw<slot>-<octet>      (the droplet at 198.18.<slot>.<octet>)
//   host veth   dsw<slot>v<octet>      (the inside end is renamed eth0)
// A world whose owning process is gone (crashed run) is removed by the next world to start.
import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs";
import { promisify } from "node:util";

const run = promisify(execFile);

export const WORLD_NET_PREFIX = "198.18";
export const WORLD_NET_SUBNET = "198.18.0.0/16";
const ALIAS = "dropship-world";
const BRIDGE_RE = /^dsw(\d{1,3})$/;

export interface DropletNetns {
  /** `ip netns` name; run things inside with `nsenter --net=/run/netns/<name>`. */
  readonly name: string;
  readonly nsPath: string;
  /** The droplet's address on the bridge (its "public IPv4"). */
  readonly address: string;
  /** Deletes the namespace and its veth pair. Processes inside must be gone first (else the netns lingers). */
  remove(): Promise<void>;
}

export interface WorldNet {
  readonly bridge: string;
  /** The bridge's own address in the root namespace: where the swarm listens so droplets can reach it. */
  readonly gateway: string;
  readonly netmask: string;
  addDroplet(): Promise<DropletNetns>;
  /** Removes every namespace, veth and the bridge of this world. */
  stop(): Promise<void>;
}

async function ip(...args: string[]): Promise<void> {
  await run("ip", args);
}

function ipSync(...args: string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

export function processStart(pid: number): string | null {
  try {
    // Field 22 (starttime) tells a live owner from a new process that reused its pid.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

const OWN_ALIAS = `${ALIAS} pid=${process.pid} start=${processStart(process.pid)}`;

interface BridgeInfo {
  name: string;
  slot: number;
  alias: string | null;
}

function worldBridges(): BridgeInfo[] {
  const out: BridgeInfo[] = [];
  for (const line of ipSync("-o", "link", "show", "type", "bridge").split("\n")) {
    const name = /^\d+:\s+([^:@\s]+)/.exec(line)?.[1];
    const m = name ? BRIDGE_RE.exec(name) : null;
    if (!name || !m) continue;
    const alias = /\\\s+alias (.*)$/.exec(line)?.[1]?.trim() ?? null;
    out.push({ name, slot: Number(m[1]), alias });
  }
  return out;
}

function ownerAlive(alias: string): boolean {
  const m = /pid=(\d+) start=(\S+)/.exec(alias);
  return m !== null && processStart(Number(m[1])) === m[2];
}

function netnsNames(): string[] {
  try {
    return ipSync("netns", "list")
      .split("\n")
      .map((l) => l.split(/\s+/)[0]!)
      .filter(Boolean);
  } catch {
    return [];
  }
}

function linkNames(): string[] {
  return ipSync("-o", "link", "show")
    .split("\n")
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
}

/** Deletes a slot's namespaces, veths and bridge (best effort: each object on its own). */
function removeSlotSync(slot: number): void {
  for (const ns of netnsNames().filter((n) => n.startsWith(`dsw${slot}-`))) {
    // Whatever still runs inside keeps the namespace alive: a crashed run's droplet processes die with it.
    try {
      const pids = ipSync("netns", "pids", ns).split("\n").filter(Boolean).map(Number);
      for (const pid of pids) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
    } catch {
      /* gone */
    }
    try {
      ipSync("netns", "delete", ns);
    } catch {
      /* gone */
    }
  }
  for (const link of linkNames().filter((n) => n.startsWith(`dsw${slot}v`) || n === `dsw${slot}`)) {
    try {
      ipSync("link", "delete", link);
    } catch {
      /* gone */
    }
  }
}

/**
 * Removes what crashed runs left: worlds whose owner process is gone, and namespaces or veths of a slot that has
 * no bridge (a world creates its bridge first, so those are leftovers too). Live worlds of other processes stay.
 */
export function removeWorldNetLeftovers(): number[] {
  const bridges = worldBridges();
  const dead = new Set<number>();
  for (const b of bridges) {
    // A bridge without our alias yet is being set up by another process right now: leave it.
    if (b.alias?.startsWith(ALIAS) && !ownerAlive(b.alias)) dead.add(b.slot);
  }
  const withBridge = new Set(bridges.map((b) => b.slot));
  for (const n of [...netnsNames(), ...linkNames()]) {
    const m = /^dsw(\d{1,3})[v-]\d+$/.exec(n);
    if (m && !withBridge.has(Number(m[1]))) dead.add(Number(m[1]));
  }
  for (const slot of dead) removeSlotSync(slot);
  return [...dead];
}

const live = new Set<number>();
let exitHook = false;

export async function startWorldNet(): Promise<WorldNet> {
  removeWorldNetLeftovers();
  if (!exitHook) {
    exitHook = true;
    // A test process that ends without stop() still takes its networks with it (a crash is handled at next start).
    process.once("exit", () => {
      for (const slot of live) removeSlotSync(slot);
    });
  }
  const slot = await claimSlot();
  live.add(slot);
  const bridge = `dsw${slot}`;
  const prefix = `${WORLD_NET_PREFIX}.${slot}`;
  const gateway = `${prefix}.1`;
  try {
    await ip("addr", "add", `${gateway}/24`, "dev", bridge);
    await ip("link", "set", bridge, "up");
  } catch (err) {
    removeSlotSync(slot);
    live.delete(slot);
    throw err;
  }
  const used = new Set<number>();
  let next = 2;
  let stopped = false;
  return {
    bridge,
    gateway,
    netmask: "255.255.255.0",
    async addDroplet() {
      if (stopped) throw new Error("the world's network is stopped");
      let octet = 0;
      for (let i = 0; i < 253 && octet === 0; i++, next = next >= 254 ? 2 : next + 1) {
        if (!used.has(next)) octet = next;
      }
      if (octet === 0) throw new Error(`no free address left in ${prefix}.0/24`);
      used.add(octet);
      const name = `dsw${slot}-${octet}`;
      const hostVeth = `dsw${slot}v${octet}`;
      const address = `${prefix}.${octet}`;
      const remove = async () => {
        for (const args of [["netns", "delete", name], ["link", "delete", hostVeth]]) {
          await ip(...args).catch(() => undefined);
        }
        used.delete(octet);
      };
      try {
        // Idempotent: a stale namespace or veth of this very name (an interrupted remove) is replaced.
        await remove();
        used.add(octet);
        await ip("netns", "add", name);
        await ip("link", "add", hostVeth, "type", "veth", "peer", "name", "eth0", "netns", name);
        await ip("link", "set", hostVeth, "master", bridge, "up");
        await ip("-n", name, "addr", "add", `${address}/24`, "dev", "eth0");
        await ip("-n", name, "link", "set", "eth0", "up");
        await ip("-n", name, "link", "set", "lo", "up");
      } catch (err) {
        await remove();
        throw err;
      }
      return { name, nsPath: `/run/netns/${name}`, address, remove };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      removeSlotSync(slot);
      live.delete(slot);
    },
  };
}

/** Creates this world's bridge on the first free slot; creating the link is the atomic claim between processes. */
async function claimSlot(): Promise<number> {
  const taken = new Set(worldBridges().map((b) => b.slot));
  const start = 10 + (process.pid % 240);
  for (let i = 0; i < 240; i++) {
    const slot = 10 + ((start - 10 + i) % 240);
    if (taken.has(slot)) continue;
    try {
      await ip("link", "add", `dsw${slot}`, "type", "bridge");
    } catch {
      continue; // another process took it meanwhile
    }
    await ip("link", "set", `dsw${slot}`, "alias", OWN_ALIAS);
    return slot;
  }
  throw new Error(`no free /24 for the world's bridge in ${WORLD_NET_SUBNET}`);
}
