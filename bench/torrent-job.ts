// Benchmark: the whole torrent job on the local world (Start → the links in the chat) against the floor — the same work
// done by hand with the plain tools in the same run and world: the fake droplet's boot delay + plain `aria2c` on the
// magnet (on a droplet of the same fake DigitalOcean) + OpenSSH `sftp` of the same files from that droplet. For one
// 50 MiB file and for 20 files of 100 MiB in all; job and by-hand rounds alternate. Phase timings go in `detail`, and
// the realistic-time model (torrent-time-model.ts) turns this run's overhead into DigitalOcean minutes and dollars.
//
// Alone: `npm run bench torrent-job` (or `npx tsx bench/torrent-job.ts` to print without writing results.json).
//   BENCH_TORRENT_JOB_ROUNDS=3         rounds of (job, by hand) per torrent (default 3; the figures are medians)
//   BENCH_TORRENT_JOB_TORRENTS=single  only the 50 MiB torrent ("multi": only the 20-file one)
//   BENCH_TORRENT_JOB_DO_LIKE=1        instead: one job with DigitalOcean-like boot and package delays (takes ~2 min)
import { createHash } from "node:crypto";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { BenchResult } from "./types.js";
import { comparison, median, roundedSpread } from "./stats.js";
import { DO_LIKE, markdownTable, predict, SCENARIOS, SIZES_GB, type LocalOverhead } from "./torrent-time-model.js";
import { ALICE, buttonData, DO_TOKEN, fetchEveryFile, isCard, lastMessageId, linksMessageOf, nextBotMessage, startWorld, type World } from "../test/e2e/harness.js";
import { DROPLET_SWARM_ARIA2_OPTIONS, type SwarmTorrent } from "../test/world/swarm.js";
import { buildUserData, generateHostKeyPair } from "../src/cloud/cloud-init.js";
import { generateEd25519OpenSsh } from "../src/shared/ed25519-openssh.js";
import type { TorrentJobEvent } from "../src/jobs/torrent/torrent-job.js";

const MIB = 1024 * 1024;
const ROUNDS = Number(process.env.BENCH_TORRENT_JOB_ROUNDS ?? 3);
/**
 * The fake droplet's boot: "new" → "active" (activeDelayMs), then sshd answers (sshDelayMs, fixed here; the fake
 * draws 300–1000 ms otherwise). Nobody can do anything on a droplet before: this is the floor's boot delay.
 * cloud-init's package step (aria2, 1.5 s by default) comes after and is not in the floor: a droplet image with
 * aria2 in it, or installing it while something else waits, would hide it.
 */
const WORLD = { activeDelayMs: 1000, sshDelayMs: 500, cloudInitPackagesMs: 1500 };
const BOOT_DELAY_SECONDS = (WORLD.activeDelayMs + WORLD.sshDelayMs) / 1000;

interface TorrentSpec {
  key: "single" | "multi";
  label: string;
  name: string;
  files: { path: string; size: number }[];
}

const TORRENTS: TorrentSpec[] = [
  { key: "single", label: "50 MiB magnet", name: "bench-job.bin", files: [{ path: "bench-job.bin", size: 50 * MIB }] },
  {
    key: "multi",
    label: "20-file 100 MiB magnet",
    name: "bench-multi",
    files: Array.from({ length: 20 }, (_, i) => ({ path: `part-${String(i + 1).padStart(2, "0")}.bin`, size: 5 * MIB })),
  },
];

type EventLog = Map<number, { at: number; e: TorrentJobEvent }[]>;

interface JobRun {
  totalSeconds: number;
  jobDurationSeconds: number;
  phases: Record<string, number>;
}

interface HandRun {
  /** Plain aria2c on the droplet, process start → exit (what a script waits for before its sftp). */
  aria2cSeconds: number;
  /** The same, start → the last byte written (aria2c then announces "stopped" and exits, ~1 s). */
  aria2cLastByteSeconds: number;
  /** OpenSSH sftp, process start (connect included) → exit, all files. */
  sftpSeconds: number;
}

export async function run(): Promise<BenchResult[]> {
  if (process.env.BENCH_TORRENT_JOB_DO_LIKE === "1") return runDoLike();
  const only = process.env.BENCH_TORRENT_JOB_TORRENTS;
  const specs = TORRENTS.filter((t) => !only || t.key === only);
  if (specs.length === 0) throw new Error(`BENCH_TORRENT_JOB_TORRENTS=${only}: expected single or multi`);
  const load = { atStart: os.loadavg().map((x) => Math.round(x * 100) / 100) };
  const world = await startWorld(WORLD);
  try {
    await world.startApp({ SEND_FILES_TO_TELEGRAM: "false" });
    await fetchEveryFile(world);
    const events = recordJobEvents(world);
    const torrents = [];
    for (const s of specs) torrents.push({ spec: s, t: await world.swarm.addTorrent({ name: s.name, files: s.files }) });
    const hand = await rentDropletByHand(world);
    const jobs = new Map<string, JobRun[]>(specs.map((s) => [s.key, []]));
    const plain = new Map<string, HandRun[]>(specs.map((s) => [s.key, []]));
    for (let i = 0; i < ROUNDS; i++) {
      for (const { spec, t } of torrents) {
        const ours = async () => void jobs.get(spec.key)!.push(await runJob(world, t, events));
        const theirs = async () => void plain.get(spec.key)!.push(await byHand(world, hand, t, i));
        // Alternating which goes first, so both see the same drift in load.
        for (const step of i % 2 === 0 ? [ours, theirs] : [theirs, ours]) await step();
        const j = jobs.get(spec.key)!.at(-1)!;
        const p = plain.get(spec.key)!.at(-1)!;
        const slowest = Object.entries(j.phases).sort((a, b) => b[1] - a[1]).slice(0, 4).map(([k, v]) => `${k} ${v.toFixed(1)}`);
        process.stderr.write(
          `  torrent-job ${spec.key} round ${i + 1}: job ${j.totalSeconds.toFixed(1)} s (${slowest.join(", ")}), ` +
            `by hand ${BOOT_DELAY_SECONDS} + aria2c ${p.aria2cSeconds.toFixed(1)} + sftp ${p.sftpSeconds.toFixed(1)} s; load ${os.loadavg()[0]!.toFixed(1)}\n`,
        );
      }
    }
    await hand.release();
    const loadAtEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
    const figures = specs.flatMap((s) => report(s, jobs.get(s.key)!, plain.get(s.key)!, { ...load, atEnd: loadAtEnd }));
    return [...figures, ...modelFigures(specs, jobs, plain)];
  } finally {
    await world.stop();
  }
}

/** Tees the runner's events (they go to the presenter) so the bench sees `done`'s result. */
function recordJobEvents(world: World): EventLog {
  const presenter = world.app!.presenter;
  const byJob: EventLog = new Map();
  const handle = presenter.handle.bind(presenter);
  presenter.handle = (e) => {
    const list = byJob.get(e.jobId) ?? [];
    list.push({ at: performance.now(), e });
    byJob.set(e.jobId, list);
    handle(e);
  };
  return byJob;
}

async function runJob(world: World, t: SwarmTorrent, events: EventLog, timeoutMs = 180_000): Promise<JobRun> {
  const before = lastMessageId(world, ALICE.id);
  world.telegram.sendText(ALICE, t.magnet);
  const card = await nextBotMessage(world, ALICE.id, before, isCard);
  const data = buttonData(card, /Start/);
  const jobId = Number(data.split(":").pop());
  const t0 = performance.now();
  world.telegram.pressButton(ALICE, card, data);
  // The first message of this job with the links: the card edited into the summary, or a reply to it.
  await world.telegram.waitFor(
    () => {
      const job = world.app!.jobs.get(jobId);
      if (job && (job.state === "failed" || job.state === "cancelled")) throw new Error(`bench job ${jobId} ${job.state}: ${job.error}`);
      return linksMessageOf(world, ALICE.id, { jobId, cardId: card.message_id });
    },
    timeoutMs,
    "the links message",
  );
  const totalSeconds = (performance.now() - t0) / 1000;
  const done = (events.get(jobId) ?? []).find((x) => x.e.state === "done")?.e.result;
  if (!done) throw new Error(`job ${jobId}: no done event with a result`);
  const got = done.files.map((f) => f.sha256).sort();
  const want = t.files.map((f) => f.sha256).sort();
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`job ${jobId}: delivered files do not match the seeded SHA-256s`);
  return { totalSeconds, jobDurationSeconds: done.durationSeconds, phases: phaseSeconds(world, jobId) };
}

/** Seconds spent between consecutive recorded states, keyed "from→to". */
function phaseSeconds(world: World, jobId: number): Record<string, number> {
  const ev = world.app!.jobs.events(jobId);
  const out: Record<string, number> = {};
  for (let i = 1; i < ev.length; i++) out[`${ev[i - 1]!.state}→${ev[i]!.state}`] = (ev[i]!.at - ev[i - 1]!.at) / 1000;
  return out;
}

interface HandDroplet {
  ip: string;
  /** The droplet's /root, seen from this machine (its disk is mounted in the droplet's own namespace). */
  root(): string;
  ssh: string[];
  release(): Promise<void>;
}

/**
 * A droplet rented the plain way for the by-hand side: created through the fake DigitalOcean's API with our own key and
 * aria2 in user_data, outside Dropship (its tag is not Dropship's, so the bot's reaper leaves it alone). Not timed:
 * the floor counts the boot as the fake's delay.
 */
async function rentDropletByHand(world: World): Promise<HandDroplet> {
  const dir = fs.mkdtempSync(path.join(world.dir, "by-hand-"));
  const key = generateEd25519OpenSsh("bench-by-hand");
  const hostKey = generateHostKeyPair();
  const keyFile = path.join(dir, "id_ed25519");
  fs.writeFileSync(keyFile, key.privateKey, { mode: 0o600 });
  const res = await fetch(`${world.digitalOcean.url}/droplets`, {
    method: "POST",
    headers: { authorization: `Bearer ${DO_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({
      name: "bench-by-hand",
      region: "fra1",
      size: "s-1vcpu-1gb",
      image: "debian-12-x64",
      tags: ["bench-by-hand"],
      user_data: buildUserData({ hostKey, authorizedKeys: [key.publicKey], packages: ["aria2"] }),
    }),
  });
  if (res.status !== 202) throw new Error(`creating the by-hand droplet: ${res.status} ${await res.text()}`);
  const id = ((await res.json()) as { droplet: { id: number } }).droplet.id;
  const droplet = await world.digitalOcean.whenSshReady(id, 60_000);
  if ((await droplet.cloudInitDone) !== 0) throw new Error(`the by-hand droplet's cloud-init failed: see ${droplet.dir}/cloud-init.log`);
  const knownHosts = path.join(dir, "known_hosts");
  fs.writeFileSync(knownHosts, `${droplet.ip} ${hostKey.publicKey}\n`);
  const ssh = ["-i", keyFile, "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"];
  return {
    ip: droplet.ip,
    // The droplet's disk is mounted in its own namespace: its /root is seen from outside through its rootfs.
    root: () => {
      const rootfs = droplet.host!.rootfs();
      if (rootfs === null) throw new Error(`droplet ${id} is not running`);
      return path.join(rootfs, "root");
    },
    ssh,
    async release() {
      await fetch(`${world.digitalOcean.url}/droplets/${id}`, { method: "DELETE", headers: { authorization: `Bearer ${DO_TOKEN}` } });
    },
  };
}

/** By hand on the droplet: plain aria2c on the magnet, then OpenSSH sftp of what it wrote; both checked byte for byte. */
async function byHand(world: World, hand: HandDroplet, t: SwarmTorrent, i: number): Promise<HandRun> {
  const remote = `/root/plain-${i}`;
  const aria2 = [...DROPLET_SWARM_ARIA2_OPTIONS, "--seed-time=0", `--dir=${remote}`, "--bt-save-metadata=false", "--file-allocation=none", "--summary-interval=0", "--console-log-level=warn"];
  // Timed on the droplet itself, so that the ssh login is not counted as aria2c's.
  const script = `mkdir -p ${remote} && s=$(date +%s%N) && aria2c ${aria2.join(" ")} ${sq(t.magnet)}; rc=$?; e=$(date +%s%N); echo "aria2c-ns $s $e"; exit $rc`;
  const out = await sh("ssh", [...hand.ssh, `root@${hand.ip}`, script]);
  const m = /aria2c-ns (\d+) (\d+)/.exec(out);
  if (!m) throw new Error(`plain aria2c on the droplet printed no times: ${out.slice(-500)}`);
  const [startNs, endNs] = [BigInt(m[1]!), BigInt(m[2]!)];
  const lastWriteMs = Math.max(...t.files.map((f) => fs.statSync(path.join(hand.root(), remote.slice("/root/".length), f.aria2Path)).mtimeMs));
  const top = t.files[0]!.aria2Path.split("/")[0]!;
  const local = fs.mkdtempSync(path.join(world.dir, `by-hand-${i}-`));
  const t0 = performance.now();
  await sh("sftp", ["-q", ...hand.ssh, "-b", "-", `root@${hand.ip}`], `get -r ${remote}/${top} ${local}/${top}\n`);
  const sftpSeconds = (performance.now() - t0) / 1000;
  for (const f of t.files) {
    const got = createHash("sha256").update(fs.readFileSync(path.join(local, f.aria2Path))).digest("hex");
    if (got !== f.sha256) throw new Error(`by hand: ${f.aria2Path} has SHA-256 ${got}, expected ${f.sha256}`);
  }
  fs.rmSync(local, { recursive: true, force: true });
  fs.rmSync(path.join(hand.root(), remote.slice("/root/".length)), { recursive: true, force: true });
  return {
    aria2cSeconds: Number(endNs - startNs) / 1e9,
    aria2cLastByteSeconds: (lastWriteMs - Number(startNs / 1_000_000n)) / 1000,
    sftpSeconds,
  };
}

function report(spec: TorrentSpec, jobs: JobRun[], plain: HandRun[], load: Record<string, number[]>): BenchResult[] {
  const totals = jobs.map((j) => j.totalSeconds);
  const floors = plain.map((p) => BOOT_DELAY_SECONDS + p.aria2cSeconds + p.sftpSeconds);
  const strictFloors = plain.map((p) => BOOT_DELAY_SECONDS + p.aria2cLastByteSeconds + p.sftpSeconds);
  const sides = comparison(totals, floors, 3);
  const phaseNames = [...new Set(jobs.flatMap((j) => Object.keys(j.phases)))];
  const bytes = spec.files.reduce((n, f) => n + f.size, 0);
  const detail = {
    torrent: { files: spec.files.length, bytes },
    rounds: `${jobs.length} each, alternating (job first in odd rounds, by hand first in even ones)`,
    loadAverage: load,
    floorIs: `fake droplet boot (${WORLD.activeDelayMs} ms to active + ${WORLD.sshDelayMs} ms to sshd) + plain aria2c on a droplet (start → exit) + OpenSSH sftp of the files (connect → exit)`,
    notInFloor: `cloud-init's package step on the job's droplet (${WORLD.cloudInitPackagesMs} ms), provisioning, polls, the destroy`,
    job: sides.ours,
    floor: sides.plain,
    ratio: sides.ratio,
    perRoundRatio: sides.perRoundRatio,
    plainAria2cSeconds: roundedSpread(plain.map((p) => p.aria2cSeconds), 3),
    plainAria2cToLastByteSeconds: roundedSpread(plain.map((p) => p.aria2cLastByteSeconds), 3),
    plainSftpSeconds: roundedSpread(plain.map((p) => p.sftpSeconds), 3),
    ratioToFloorWithoutAria2cExit: Math.round((median(totals) / median(strictFloors)) * 1000) / 1000,
    medianPhaseSeconds: Object.fromEntries(phaseNames.map((p) => [p, median(jobs.map((j) => j.phases[p] ?? 0))])),
    runs: jobs.map((j, i) => ({ ...j, floorSeconds: floors[i], byHand: plain[i] })),
  };
  return [
    { name: `torrent job: ${spec.label}, Start → links (local world)`, value: median(totals), unit: "s", lowerIsBetter: true, detail: { job: sides.ours, medianPhaseSeconds: detail.medianPhaseSeconds } },
    { name: `torrent job: ${spec.label}, floor (boot + plain aria2c + plain sftp)`, value: median(floors), unit: "s", lowerIsBetter: true, detail: { floor: sides.plain, floorIs: detail.floorIs } },
    { name: `torrent job: total / floor, ${spec.label}`, value: sides.ratio, unit: "ratio", lowerIsBetter: true, detail },
  ];
}

/** The realistic-time model from this run's overhead: DigitalOcean minutes and dollars for 1, 5 and 20 GB. */
function modelFigures(specs: TorrentSpec[], jobs: Map<string, JobRun[]>, plain: Map<string, HandRun[]>): BenchResult[] {
  // The single big file is the torrent the model scales (a many-file torrent's overhead is in the detail beside it).
  const spec = specs.find((s) => s.key === "single") ?? specs[0]!;
  const overhead = localOverhead(jobs.get(spec.key)!, plain.get(spec.key)!);
  const rows = SCENARIOS.flatMap((sc) => SIZES_GB.map((gb) => predict(overhead, sc, gb)));
  const table = markdownTable(rows);
  process.stderr.write(
    `\nrealistic-time model (from the ${spec.label}: job − floor ${overhead.jobMinusFloorSeconds.toFixed(2)} s, ` +
      `of it provisioning ${overhead.provisioningSeconds.toFixed(2)} s):\n${table}\n`,
  );
  const perSpec = Object.fromEntries(specs.map((s) => [s.key, localOverhead(jobs.get(s.key)!, plain.get(s.key)!)]));
  return rows
    .filter((r) => r.scenario === SCENARIOS[0]!.name)
    .map((r) => ({
      name: `torrent job model (DigitalOcean-like delays): ${r.sizeGb} GB, ${r.scenario}`,
      value: Math.round((r.seconds.total / 60) * 100) / 100,
      unit: "min (predicted)",
      lowerIsBetter: true,
      detail: { usd: r.usd, seconds: r.seconds, overlappedMinutes: r.overlappedSeconds / 60, meetsUnder5Min: r.meetsTime, meetsUnder1Usd: r.meetsCost, localOverhead: perSpec, doLike: DO_LIKE, table },
    }));
}

function localOverhead(jobs: JobRun[], plain: HandRun[]): LocalOverhead {
  const over = jobs.map((j, i) => j.totalSeconds - (BOOT_DELAY_SECONDS + plain[i]!.aria2cSeconds + plain[i]!.sftpSeconds));
  return { jobMinusFloorSeconds: median(over), provisioningSeconds: median(jobs.map((j) => j.phases["ssh_ready→provisioned"] ?? 0)) };
}

/**
 * One job with the fake droplet as slow as DigitalOcean (DO_LIKE: active after 45 s, sshd 20 s later, cloud-init's
 * packages 30 s), to check the model's fixed part against a run: its phases and total in `detail`.
 */
async function runDoLike(): Promise<BenchResult[]> {
  const spec = TORRENTS[0]!;
  const load = os.loadavg().map((x) => Math.round(x * 100) / 100);
  const world = await startWorld({
    activeDelayMs: DO_LIKE.activeSeconds * 1000,
    sshDelayMs: DO_LIKE.sshAfterActiveSeconds * 1000,
    cloudInitPackagesMs: DO_LIKE.packagesSeconds * 1000,
  });
  try {
    await world.startApp({ SEND_FILES_TO_TELEGRAM: "false", DO_BOOT_TIMEOUT_SECONDS: "300" });
    const events = recordJobEvents(world);
    const t = await world.swarm.addTorrent({ name: spec.name, files: spec.files });
    const job = await runJob(world, t, events, 600_000);
    const fixedDo = DO_LIKE.activeSeconds + DO_LIKE.sshAfterActiveSeconds + DO_LIKE.packagesSeconds;
    const detail = {
      delays: DO_LIKE,
      loadAverage: { atStart: load, atEnd: os.loadavg().map((x) => Math.round(x * 100) / 100) },
      phases: job.phases,
      // What the job added to DigitalOcean's own delays (boot, SSH, packages) in this run: compare with the model's
      // "job's own" (local job − floor − local packages) plus the local aria2c and sftp times.
      beyondDoDelaysSeconds: Math.round((job.totalSeconds - fixedDo) * 1000) / 1000,
    };
    process.stderr.write(`  torrent-job DO-like: ${job.totalSeconds.toFixed(1)} s, ${JSON.stringify(job.phases)}\n`);
    return [{ name: `torrent job (DigitalOcean-like delays): ${spec.label}, Start → links`, value: job.totalSeconds, unit: "s", lowerIsBetter: true, detail }];
  } finally {
    await world.stop();
  }
}

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs a command, feeding `input`; resolves with its stdout+stderr, rejects with them on a non-zero exit. */
function sh(cmd: string, args: string[], input = ""): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (out += d.toString()));
    p.stdin.end(input);
    p.once("error", reject);
    p.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited with ${code}: ${out.slice(-800)}`))));
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await run()) console.log(`${r.name}: ${r.value.toFixed(3)} ${r.unit}`);
}
