// The transfer home: SshHost.download (verified, resumable SFTP pull) against OpenSSH's `sftp` on the same file from
// the same sshd, on loopback and through the world's link emulator (100 ms round trip, 400 Mbit/s), with a plain TCP
// stream through the same emulator as the link's own rate. Runs alternate (ours first, then theirs first) and the
// medians are compared. BENCH_TRANSFER_MB and BENCH_TRANSFER_RUNS shrink it for a quick look.
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { loadOrCreateBotKey } from "../src/remote/bot-key.js";
import { connectSsh } from "../src/remote/ssh-host.js";
import { PULL_DEFAULTS } from "../src/remote/sftp-transfer.js";
import { generateEd25519 } from "../src/shared/ssh-keys.js";
import { startLinkRelayProcess, type LinkRelay } from "../test/world/link-relay.js";
import { freeLoopbackAddress } from "../test/world/loopback.js";
import { startSshHost, type SshHost } from "../test/world/sshd-host.js";
import { median, spread } from "./stats.js";
import type { BenchResult } from "./types.js";

const SIZE = Number(process.env.BENCH_TRANSFER_MB ?? 500) * 1024 * 1024;
const RUNS = Number(process.env.BENCH_TRANSFER_RUNS ?? 5);
const LINK = { rttMs: 100, bitsPerSecond: 400e6 };
const LINK_NAME = `${LINK.rttMs} ms / ${LINK.bitsPerSecond / 1e6} Mbit/s link`;

interface Rig {
  dir: string;
  world: SshHost;
  keyFile: string;
  privateKey: string;
  hostPublicKey: string;
  knownHosts: string;
}

interface Endpoint {
  host: string;
  port: number;
}

/** Seconds for each way of pulling the file through one endpoint, `RUNS` times, alternating which goes first. */
interface Times {
  ours: number[];
  oursNext: number[];
  oursWithConnect: number[];
  sessionsOpen: number[];
  openssh: number[];
  tcp: number[];
  /** The machine's 1-minute load average after each run: the figures are read against it. */
  load: number[];
}

export async function run(): Promise<BenchResult[]> {
  const rig = await startRig();
  let relay: LinkRelay | null = null;
  let tcpRelay: { relay: LinkRelay; server: net.Server } | null = null;
  try {
    const loopback = await measure(rig, { host: rig.world.address, port: rig.world.port }, null);
    relay = await startLinkRelayProcess({ listen: { host: rig.world.address }, target: { host: rig.world.address, port: rig.world.port }, ...LINK });
    fs.appendFileSync(rig.knownHosts, `[${relay.host}]:${relay.port} ${rig.hostPublicKey}\n`);
    tcpRelay = await startTcpThroughLink(rig.world.address);
    const link = await measure(rig, { host: relay.host, port: relay.port }, tcpRelay.relay);
    return [...loopbackFigures(loopback), ...linkFigures(link)];
  } finally {
    await relay?.close();
    if (tcpRelay) {
      await tcpRelay.relay.close();
      tcpRelay.server.close();
    }
    await rig.world.stop();
    fs.rmSync(rig.dir, { recursive: true, force: true });
  }
}

async function startRig(): Promise<Rig> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-transfer-"));
  const bot = loadOrCreateBotKey(path.join(dir, "key"));
  const hostKey = generateEd25519("bench-host");
  const world = await startSshHost({ address: await freeLoopbackAddress(22), dir: path.join(dir, "host"), hostPrivateKey: hostKey.private, authorizedKeys: [bot.publicKey] });
  await sh("head", ["-c", String(SIZE), "/dev/urandom"], path.join(world.tmp, "big.bin"));
  const knownHosts = path.join(dir, "known_hosts");
  fs.writeFileSync(knownHosts, `${world.address} ${hostKey.public}\n`);
  return { dir, world, keyFile: bot.privateKeyPath, privateKey: bot.privateKey, hostPublicKey: hostKey.public, knownHosts };
}

async function measure(rig: Rig, at: Endpoint, tcpLink: LinkRelay | null): Promise<Times> {
  const t: Times = { ours: [], oursNext: [], oursWithConnect: [], sessionsOpen: [], openssh: [], tcp: [], load: [] };
  for (let i = 0; i < RUNS; i++) {
    const runOurs = async () => {
      const r = await ours(rig, at);
      t.ours.push(r.first);
      t.oursNext.push(r.next);
      t.oursWithConnect.push(r.withConnect);
      t.sessionsOpen.push(r.sessionsOpen);
    };
    const runTheirs = async () => void t.openssh.push(await openssh(rig, at));
    for (const step of i % 2 === 0 ? [runOurs, runTheirs] : [runTheirs, runOurs]) await step();
    if (tcpLink) t.tcp.push(await tcpPull(tcpLink));
    t.load.push(Math.round(os.loadavg()[0]! * 10) / 10);
    process.stderr.write(
      `  transfer ${tcpLink ? "link" : "loopback"} run ${i + 1}: ours ${mbps(t.ours.at(-1)!)} (next file ${mbps(t.oursNext.at(-1)!)}) MB/s, sftp ${mbps(t.openssh.at(-1)!)} MB/s, load ${t.load.at(-1)}\n`,
    );
  }
  return t;
}

/** Connect, open the pull's SFTP sessions (a job's droplet connection opens them when it is made, minutes before the
 * first pull: src/remote/droplet-ssh.ts), pull (verified), pull again (a torrent's next file), close. */
async function ours(rig: Rig, at: Endpoint): Promise<{ first: number; next: number; withConnect: number; sessionsOpen: number }> {
  const local = [path.join(rig.dir, "ours-1.bin"), path.join(rig.dir, "ours-2.bin")];
  const t0 = performance.now();
  const host = await connectSsh({ host: at.host, port: at.port, username: "root", privateKey: rig.privateKey, hostKey: rig.hostPublicKey, readyTimeoutMs: 10_000 });
  const connected = performance.now();
  const marks: number[] = [];
  try {
    await host.sftpSessions(PULL_DEFAULTS.sessions);
    marks.push(performance.now());
    for (const file of local) {
      const r = await host.download("/tmp/big.bin", file);
      marks.push(performance.now());
      if (r.bytes !== SIZE) throw new Error(`pulled ${r.bytes} of ${SIZE} bytes`);
      fs.rmSync(file, { force: true });
    }
  } finally {
    await host.close();
  }
  const [t1, t2, t3] = marks as [number, number, number];
  return { first: (t2 - t1) / 1000, next: (t3 - t2) / 1000, withConnect: (t2 - t0) / 1000, sessionsOpen: (t1 - connected) / 1000 };
}

/** OpenSSH's sftp with its defaults (32 KiB reads, 64 in flight), connection included. */
async function openssh(rig: Rig, at: Endpoint): Promise<number> {
  const local = path.join(rig.dir, "openssh.bin");
  fs.rmSync(local, { force: true });
  const t0 = performance.now();
  const args = ["-q", "-P", String(at.port), "-i", rig.keyFile, "-o", `UserKnownHostsFile=${rig.knownHosts}`, "-o", "BatchMode=yes", "-b", "-", `root@${at.host}`];
  await sh("sftp", args, null, `get /tmp/big.bin ${local}\n`);
  const seconds = (performance.now() - t0) / 1000;
  if (fs.statSync(local).size !== SIZE) throw new Error("OpenSSH sftp pulled a short file");
  fs.rmSync(local, { force: true });
  return seconds;
}

/** A plain TCP stream through a second relay with the same settings: the most the emulated link carries. */
async function startTcpThroughLink(address: string): Promise<{ relay: LinkRelay; server: net.Server }> {
  const block = Buffer.alloc(1024 * 1024, 7);
  const server = net.createServer((s) => {
    let left = SIZE;
    const more = () => {
      while (left > 0) {
        const n = Math.min(block.length, left);
        left -= n;
        if (!s.write(n === block.length ? block : block.subarray(0, n))) return void s.once("drain", more);
      }
      s.end();
    };
    s.once("data", more);
    s.on("error", () => s.destroy());
  });
  await new Promise<void>((r) => server.listen(0, address, r));
  const port = (server.address() as net.AddressInfo).port;
  const relay = await startLinkRelayProcess({ listen: { host: address }, target: { host: address, port }, ...LINK });
  return { relay, server };
}

function tcpPull(relay: LinkRelay): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let got = 0;
    const s = net.connect({ host: relay.host, port: relay.port }, () => s.write("go"));
    s.on("data", (d: Buffer) => (got += d.length));
    s.on("error", reject);
    s.on("end", () => (got === SIZE ? resolve((performance.now() - t0) / 1000) : reject(new Error(`TCP through the link: ${got} of ${SIZE} bytes`))));
  });
}

function sh(cmd: string, args: string[], stdoutFile: string | null, input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = stdoutFile ? fs.openSync(stdoutFile, "w") : "ignore";
    const p = spawn(cmd, args, { stdio: ["pipe", out, "pipe"] });
    if (typeof out === "number") fs.closeSync(out);
    let err = "";
    p.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    p.stdin!.end(input ?? "");
    p.once("error", reject);
    p.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}: ${err.slice(-500)}`))));
  });
}

const mbps = (seconds: number) => Math.round(SIZE / 1e6 / seconds);
const rates = (xs: number[]) => xs.map((s) => SIZE / 1e6 / s);

function loopbackFigures(t: Times): BenchResult[] {
  const ours = median(rates(t.oursWithConnect));
  const theirs = median(rates(t.openssh));
  const detail = {
    bytes: SIZE,
    runs: RUNS,
    "ours MB/s (connect + sessions + verified pull)": spread(rates(t.oursWithConnect)),
    "ours MB/s (first file's pull alone, sessions open)": spread(rates(t.ours)),
    "seconds to open the pull's sessions": spread(t.sessionsOpen),
    "ours MB/s (next file's pull)": spread(rates(t.oursNext)),
    "OpenSSH sftp MB/s (connect + get)": spread(rates(t.openssh)),
    "load average (1 min) after each run": t.load,
  };
  return [
    { name: "transfer: loopback, verified SFTP pull (connect + pull)", value: round(ours), unit: "MB/s (median)", lowerIsBetter: false, detail },
    { name: "transfer: loopback, ours ÷ OpenSSH sftp", value: round(ours / theirs), unit: "x", lowerIsBetter: false },
  ];
}

function linkFigures(t: Times): BenchResult[] {
  const first = median(rates(t.ours));
  const next = median(rates(t.oursNext));
  const tcp = median(rates(t.tcp));
  const nominal = LINK.bitsPerSecond / 8 / 1e6;
  const detail = {
    bytes: SIZE,
    runs: RUNS,
    "link nominal MB/s": nominal,
    "plain TCP through the link MB/s": spread(rates(t.tcp)),
    "ours MB/s (first file's pull, sessions opened at connect)": spread(rates(t.ours)),
    "ours MB/s (next file's pull)": spread(rates(t.oursNext)),
    "ours MB/s (connect + sessions + first pull)": spread(rates(t.oursWithConnect)),
    "seconds to open the pull's sessions": spread(t.sessionsOpen),
    "OpenSSH sftp MB/s (connect + get)": spread(rates(t.openssh)),
    "load average (1 min) after each run": t.load,
    "first file ÷ plain TCP": round(first / tcp),
    "next file ÷ plain TCP": round(next / tcp),
  };
  return [
    { name: `transfer: ${LINK_NAME}, verified SFTP pull (first file)`, value: round(first), unit: "MB/s (median)", lowerIsBetter: false, detail },
    { name: `transfer: ${LINK_NAME}, ours ÷ link rate (first file)`, value: round(first / nominal), unit: "x", lowerIsBetter: false },
    { name: `transfer: ${LINK_NAME}, ours ÷ link rate (next file)`, value: round(next / nominal), unit: "x", lowerIsBetter: false },
    {
      name: `transfer: ${LINK_NAME}, ours ÷ OpenSSH sftp`,
      value: round(median(rates(t.oursWithConnect)) / median(rates(t.openssh))),
      unit: "x",
      lowerIsBetter: false,
    },
  ];
}

const round = (x: number) => Math.round(x * 100) / 100;
