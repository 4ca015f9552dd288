// A closed BitTorrent swarm: Debian's opentracker (whitelist mode) plus one aria2c seeder per torrent, for files
// the test describes. Yields magnets (xt, dn, xl, tr) and .torrent files made by mktorrent. It listens on 127.0.0.1,
// or, for fake droplets to reach it, on the world's bridge address (world-net.ts), which its magnets then name.
import { spawn, type ChildProcess } from "node:child_process";
import { createCipheriv, createHash } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import dgram from "node:dgram";
import os from "node:os";
import path from "node:path";
import { encode as encodeMagnet } from "magnet-uri";

/**
 * aria2 flags that keep a client inside this loopback swarm (LOCAL-WORLD.md): no DHT, LPD or peer
 * exchange, loopback only. Give these to any aria2c that should talk to the swarm (ARIA2_EXTRA_OPTIONS).
 */
export const CLOSED_SWARM_ARIA2_OPTIONS: readonly string[] = [
  "--enable-dht=false",
  "--enable-dht6=false",
  "--bt-enable-lpd=false",
  "--enable-peer-exchange=false",
  "--interface=127.0.0.1",
  "--disable-ipv6=true",
];

/**
 * The same for aria2 on a fake droplet: its network namespace has only lo and eth0 (on the world's bridge, where
 * the swarm listens) and no route anywhere else. RPC still binds to the droplet's own 127.0.0.1 (measured).
 */
export const DROPLET_SWARM_ARIA2_OPTIONS: readonly string[] = CLOSED_SWARM_ARIA2_OPTIONS.map((o) =>
  o.startsWith("--interface=") ? "--interface=eth0" : o,
);

export interface SwarmFileSpec {
  /** Path inside the torrent, "/"-separated; for a single-file torrent just the file name is used. */
  path: string;
  /** Deterministic pseudo-random bytes of this length (seeded by the torrent name and path)... */
  size?: number;
  /** ...or exactly this content. */
  content?: string | Buffer;
}

export interface AddTorrentOptions {
  name: string;
  files: SwarmFileSpec[];
  /** Default: true when there is more than one file or a nested path. */
  multiFile?: boolean;
  /** Start a seeder now (default true). False makes a dead torrent: known to the tracker, nobody has it. */
  seed?: boolean;
  /** Piece length as a power of two (mktorrent -l); default 18 (256 KiB). */
  pieceLengthExp?: number;
  /** The seeder's upload limit in bytes per second (aria2 --max-overall-upload-limit); default unlimited. */
  uploadLimitBytesPerSecond?: number;
}

export interface SwarmTorrentFile {
  /** Path as written in the torrent, relative to the download dir ("name/sub/file" for multi-file). */
  path: string;
  /** Where aria2 stores it relative to its --dir (aria2 percent-encodes control characters). */
  aria2Path: string;
  sha256: string;
  size: number;
}

export interface SwarmTorrent {
  name: string;
  infoHash: string;
  magnet: string;
  torrentFile: Buffer;
  torrentPath: string;
  totalSize: number;
  files: SwarmTorrentFile[];
  /** The seeder's --dir: the torrent's content lives at dataDir/name. */
  dataDir: string;
  /** The seeder's upload limit (bytes/s), if any. */
  uploadLimitBytesPerSecond?: number;
}

export interface Swarm {
  readonly trackerUrl: string;
  readonly dir: string;
  addTorrent(opts: AddTorrentOptions): Promise<SwarmTorrent>;
  /** Starts a seeder for a torrent (again); resolves once the tracker lists it as complete. */
  seed(t: SwarmTorrent): Promise<void>;
  /** Kills this torrent's seeder (it stays on the tracker's whitelist). */
  stopSeeding(t: SwarmTorrent): Promise<void>;
  /**
   * Starts a leecher: a plain aria2c that joins through the tracker with nothing, downloads the torrent from whoever
   * has it (after stopSeeding, only other peers: a droplet that seeds) and exits once it has it all (--seed-time=0).
   */
  leech(t: SwarmTorrent): Promise<Leecher>;
  /** PIDs of the tracker and seeders still running (for tests that check clean-up). */
  pids(): number[];
  stop(): Promise<void>;
}

export interface Leecher {
  /** Its --dir: the torrent's content arrives at dir/name. */
  readonly dir: string;
  /** Resolves when aria2c exits; its exit code (0: it has every byte, verified piece by piece). */
  readonly exited: Promise<number | null>;
  logTail(): string;
  kill(): Promise<void>;
}

export async function startSwarm(opts: { dir?: string; /** Default 127.0.0.1. */ listenAddress?: string } = {}): Promise<Swarm> {
  const host = opts.listenAddress ?? "127.0.0.1";
  const dir = fs.mkdtempSync(path.join(opts.dir ?? os.tmpdir(), "swarm-"));
  // opentracker chroots into dir and drops to "nobody", which must still read the whitelist.
  fs.chmodSync(dir, 0o755);
  const whitelist = path.join(dir, "whitelist");
  fs.writeFileSync(whitelist, "", { mode: 0o644 });
  const procs = new Set<ManagedProcess>();
  const seeders = new Map<string, ManagedProcess>();
  const hashes: string[] = [];
  let tracker: ManagedProcess | null = null;
  let port = 0;
  try {
    ({ tracker, port } = await startTracker(dir, host));
    procs.add(tracker);
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const trackerUrl = `http://${host}:${port}/announce`;
  const trackerProc = tracker;

  const seed = async (t: SwarmTorrent): Promise<void> => {
    if (seeders.has(t.infoHash)) return;
    const p = await startSeeder(dir, t, host);
    procs.add(p);
    seeders.set(t.infoHash, p);
    try {
      await waitForSeederOnTracker(host, port, t.infoHash, p);
    } catch (err) {
      seeders.delete(t.infoHash);
      procs.delete(p);
      await p.kill();
      throw err;
    }
  };

  return {
    trackerUrl,
    dir,
    seed,
    async addTorrent(o) {
      const t = { ...(await makeTorrent(dir, trackerUrl, o)), uploadLimitBytesPerSecond: o.uploadLimitBytesPerSecond };
      hashes.push(t.infoHash);
      fs.writeFileSync(whitelist, hashes.join("\n") + "\n");
      trackerProc.child.kill("SIGHUP"); // opentracker reloads its whitelist on SIGHUP
      await waitForWhitelisted(host, port, t.infoHash);
      if (o.seed !== false) await seed(t);
      return t;
    },
    async stopSeeding(t) {
      const p = seeders.get(t.infoHash);
      if (!p) return;
      seeders.delete(t.infoHash);
      procs.delete(p);
      await p.kill();
    },
    async leech(t) {
      const leechDir = fs.mkdtempSync(path.join(dir, "leecher-"));
      const p = launch("aria2c", await leecherArgs(t, leechDir, host), path.join(leechDir, "..", `${path.basename(leechDir)}.log`));
      procs.add(p);
      const exited = new Promise<number | null>((resolve) => {
        if (p.exited) resolve(p.child.exitCode);
        else p.child.once("exit", (code) => resolve(code));
      });
      return { dir: leechDir, exited, logTail: () => p.logTail(), kill: () => p.kill() };
    },
    pids: () => [...procs].filter((p) => !p.exited).map((p) => p.child.pid!),
    async stop() {
      await Promise.all([...procs].map((p) => p.kill()));
      procs.clear();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------- processes ----------

interface ManagedProcess {
  child: ChildProcess;
  readonly exited: boolean;
  kill(): Promise<void>;
  logTail(): string;
}

function launch(cmd: string, args: string[], logFile: string): ManagedProcess {
  const log = fs.openSync(logFile, "a");
  const child = spawn(cmd, args, { stdio: ["ignore", log, log] });
  fs.closeSync(log);
  let exited = false;
  // Node reaps its own children, so waiting for "exit" never leaves a zombie behind.
  const exitP = new Promise<void>((resolve) => child.once("exit", () => ((exited = true), resolve())));
  child.once("error", () => undefined);
  return {
    child,
    get exited() {
      return exited;
    },
    async kill() {
      if (exited) return;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 500); // aria2 lingers to announce "stopped"
      await exitP;
      clearTimeout(t);
    },
    logTail: () => readTail(logFile),
  };
}

function readTail(file: string): string {
  try {
    return fs.readFileSync(file, "utf8").slice(-1500);
  } catch {
    return "";
  }
}

async function startTracker(dir: string, host: string): Promise<{ tracker: ManagedProcess; port: number }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freeTcpUdpPort(host);
    const tracker = launch(
      "opentracker",
      ["-i", host, "-p", String(port), "-P", String(port), "-d", dir, "-w", "whitelist"],
      path.join(dir, "opentracker.log"),
    );
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline && !tracker.exited) {
      if (await tcpOpen(host, port)) return { tracker, port };
      await sleep(10);
    }
    await tracker.kill();
    if (attempt === 4) throw new Error(`opentracker did not start on ${host}:${port}: ${tracker.logTail()}`);
  }
  throw new Error("unreachable");
}

async function startSeeder(dir: string, t: SwarmTorrent, host: string): Promise<ManagedProcess> {
  const listenPort = await freeTcpUdpPort(host);
  const args = [
    ...CLOSED_SWARM_ARIA2_OPTIONS.map((o) => (o.startsWith("--interface=") ? `--interface=${host}` : o)),
    "-V",
    "--seed-ratio=0.0",
    `--listen-port=${listenPort}`,
    `--dir=${t.dataDir}`,
    "--summary-interval=0",
    "--console-log-level=warn",
    "--bt-save-metadata=false",
    ...(t.uploadLimitBytesPerSecond ? [`--max-overall-upload-limit=${t.uploadLimitBytesPerSecond}`] : []),
    t.torrentPath,
  ];
  return launch("aria2c", args, path.join(dir, `seeder-${t.infoHash}.log`));
}

/** A leecher: the closed swarm's flags, its own port, no seeding once it has every byte. */
async function leecherArgs(t: SwarmTorrent, dir: string, host: string): Promise<string[]> {
  return [
    ...CLOSED_SWARM_ARIA2_OPTIONS.map((o) => (o.startsWith("--interface=") ? `--interface=${host}` : o)),
    "--seed-time=0",
    `--listen-port=${await freeTcpUdpPort(host)}`,
    `--dir=${dir}`,
    "--summary-interval=0",
    "--console-log-level=notice",
    "--bt-save-metadata=false",
    "--bt-stop-timeout=120",
    t.torrentPath,
  ];
}

/** Polls the tracker's scrape until it counts one complete peer, so downloaders will find the seeder. */
async function waitForSeederOnTracker(host: string, port: number, infoHash: string, seeder: ManagedProcess): Promise<void> {
  const q = escapeBytes(Buffer.from(infoHash, "hex"));
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (seeder.exited) throw new Error(`the aria2c seeder for ${infoHash} exited: ${seeder.logTail()}`);
    const body = await httpGet(`http://${host}:${port}/scrape?info_hash=${q}`).catch(() => "");
    const m = /8:completei(\d+)e/.exec(body);
    if (m && Number(m[1]) > 0) return;
    await sleep(50);
  }
  throw new Error(`the seeder for ${infoHash} never announced itself to the tracker: ${seeder.logTail()}`);
}

/** Probes with a "stopped" announce (which adds no peer) until the tracker accepts the hash. */
async function waitForWhitelisted(host: string, port: number, infoHash: string): Promise<void> {
  const q = `info_hash=${escapeBytes(Buffer.from(infoHash, "hex"))}&peer_id=-DS0000-probeprobepr&port=9&uploaded=0&downloaded=0&left=0&event=stopped&compact=1`;
  const deadline = Date.now() + 5000;
  let body = "";
  while (Date.now() < deadline) {
    body = await httpGet(`http://${host}:${port}/announce?${q}`).catch((e: Error) => e.message);
    if (!body.includes("failure reason")) return;
    await sleep(20);
  }
  throw new Error(`opentracker did not whitelist ${infoHash}: ${body}`);
}

function escapeBytes(b: Buffer): string {
  return [...b].map((x) => "%" + x.toString(16).padStart(2, "0")).join("");
}

function httpGet(url: string): Promise<string> {
  return fetch(url, { signal: AbortSignal.timeout(2000) }).then(async (r) =>
    Buffer.from(await r.arrayBuffer()).toString("latin1"),
  );
}

// ---------- torrents ----------

async function makeTorrent(dir: string, trackerUrl: string, o: AddTorrentOptions): Promise<SwarmTorrent> {
  if (o.files.length === 0) throw new Error("a torrent needs at least one file");
  if (!o.name || o.name.includes("/")) throw new Error(`bad torrent name ${JSON.stringify(o.name)}`);
  const multi = o.multiFile ?? (o.files.length > 1 || o.files.some((f) => f.path.includes("/")));
  if (!multi && o.files.length !== 1) throw new Error("a single-file torrent has exactly one file");
  const dataDir = fs.mkdtempSync(path.join(dir, "data-"));
  const root = path.join(dataDir, o.name);
  const files: SwarmTorrentFile[] = [];
  for (const f of o.files) {
    const rel = multi ? path.posix.join(o.name, f.path) : o.name;
    const abs = path.join(dataDir, rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    const { sha256, size } = await writeContent(abs, f, `${o.name}\0${f.path}`);
    files.push({ path: rel, aria2Path: aria2StoredPath(rel), sha256, size });
  }
  const torrentPath = path.join(dir, `${createHash("sha1").update(dataDir).digest("hex")}.torrent`);
  const mk = launch(
    "mktorrent",
    ["-d", "-t", "2", "-l", String(o.pieceLengthExp ?? 18), "-a", trackerUrl, "-n", o.name, "-o", torrentPath, "--", root],
    path.join(dir, "mktorrent.log"),
  );
  const code = await new Promise<number | null>((r) => mk.child.once("exit", (c) => r(c)));
  if (code !== 0) throw new Error(`mktorrent failed (${code}): ${mk.logTail()}`);
  // aria2 stores names with control characters percent-encoded; give the seeder the layout it expects.
  for (const f of files) {
    if (f.aria2Path === f.path) continue;
    fs.mkdirSync(path.dirname(path.join(dataDir, f.aria2Path)), { recursive: true });
    fs.renameSync(path.join(dataDir, f.path), path.join(dataDir, f.aria2Path));
  }
  const torrentFile = fs.readFileSync(torrentPath);
  const infoHash = infoHashOf(torrentFile);
  const totalSize = files.reduce((s, f) => s + f.size, 0);
  const magnet = encodeMagnet({ xt: `urn:btih:${infoHash}`, dn: o.name, xl: String(totalSize), tr: [trackerUrl] });
  return { name: o.name, infoHash, magnet, torrentFile, torrentPath, totalSize, files, dataDir };
}

/** aria2 percent-encodes control characters in torrent paths (FACTS.md "aria2"). */
export function aria2StoredPath(p: string): string {
  // eslint-disable-next-line no-control-regex
  return p.replace(/[\x00-\x1f\x7f]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0"));
}

/** SHA-1 of the bencoded info dictionary, located by walking the bencode (no parser needed for one key). */
function infoHashOf(torrent: Buffer): string {
  const key = Buffer.from("4:info");
  const start = torrent.indexOf(key) + key.length;
  if (start < key.length) throw new Error("mktorrent wrote no info dictionary");
  const end = skipBencode(torrent, start);
  return createHash("sha1").update(torrent.subarray(start, end)).digest("hex");
}

function skipBencode(b: Buffer, i: number): number {
  const c = b[i];
  if (c === 0x69) return b.indexOf(0x65, i) + 1; // i...e
  if (c === 0x6c || c === 0x64) {
    i++;
    while (b[i] !== 0x65) i = skipBencode(b, i);
    return i + 1;
  }
  const colon = b.indexOf(0x3a, i);
  return colon + 1 + Number(b.subarray(i, colon).toString("latin1"));
}

const CHUNK = 1 << 20;

/** Writes deterministic bytes (AES-256-CTR keystream seeded by `seed`) or the given content; returns its hash. */
async function writeContent(file: string, f: SwarmFileSpec, seed: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  const fh = await fs.promises.open(file, "w");
  try {
    if (f.content !== undefined) {
      const buf = Buffer.from(f.content);
      hash.update(buf);
      await fh.write(buf);
      return { sha256: hash.digest("hex"), size: buf.length };
    }
    const size = f.size ?? 0;
    const key = createHash("sha256").update(seed).digest();
    const cipher = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
    const zeros = Buffer.alloc(CHUNK);
    for (let done = 0; done < size; ) {
      const n = Math.min(CHUNK, size - done);
      const chunk = cipher.update(n === CHUNK ? zeros : zeros.subarray(0, n));
      hash.update(chunk);
      await fh.write(chunk);
      done += n;
    }
    return { sha256: hash.digest("hex"), size };
  } finally {
    await fh.close();
  }
}

// ---------- ports ----------

/** A port free for both TCP and UDP on `host` (opentracker and aria2 take both). */
export async function freeTcpUdpPort(host = "127.0.0.1"): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      s.once("error", reject);
      s.listen({ host, port: 0, exclusive: true }, () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const u = dgram.createSocket("udp4");
      u.once("error", () => resolve(false));
      u.bind(port, host, () => u.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error(`no free TCP+UDP port on ${host}`);
}

function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
