// Benchmark: the whole torrent job on the local world (50 MiB magnet, Start → links message) vs a plain aria2c
// on the same magnet, and the orchestration overhead: total minus the fake droplet's boot delay and aria2's byte time.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { BenchResult } from "./types.js";
import { comparison, median, roundedSpread } from "./stats.js";
import { ALICE, buttonData, isCard, lastMessageId, linksMessageOf, nextBotMessage, startWorld, type World } from "../test/e2e/harness.js";
import { runPlainAria2c } from "../test/aria2/aria2-helpers.js";
import type { SwarmTorrent } from "../test/world/swarm.js";
import type { TorrentJobEvent } from "../src/jobs/torrent/torrent-job.js";

const SIZE = 50 * 1024 * 1024;
/** A job takes ~15 s here: five rounds of (job, plain aria2c), alternating so both see the same load. */
const ITERATIONS = 5;
/** The fake DigitalOcean's "new" → "active" delay: stands in for a real droplet's boot, and is subtracted. */
const BOOT_DELAY_MS = 1000;

interface JobRun {
  totalSeconds: number;
  /** aria2's byte-moving time as the job measured it (durationSeconds − overheadSeconds). */
  aria2BytesSeconds: number;
  /** The same from the progress events the bench saw: first non-zero completedBytes → complete. */
  aria2BytesSecondsSeen: number | null;
  jobDurationSeconds: number;
  phases: Record<string, number>;
}

export async function run(): Promise<BenchResult[]> {
  const world = await startWorld({ activeDelayMs: BOOT_DELAY_MS });
  try {
    await world.startApp();
    const events = recordJobEvents(world);
    const t = await world.swarm.addTorrent({ name: "bench-job.bin", files: [{ path: "bench-job.bin", size: SIZE }] });
    const jobs: JobRun[] = [];
    const plain: number[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      jobs.push(await runJob(world, t, events));
      plain.push(await runPlain(world, t, i));
    }
    return report(jobs, plain);
  } finally {
    await world.stop();
  }
}

/** Tees the runner's events (they go to the presenter) so the bench sees `done`'s result and the progress. */
function recordJobEvents(world: World): Map<number, { at: number; e: TorrentJobEvent }[]> {
  const presenter = world.app!.presenter;
  const byJob = new Map<number, { at: number; e: TorrentJobEvent }[]>();
  const handle = presenter.handle.bind(presenter);
  presenter.handle = (e) => {
    const list = byJob.get(e.jobId) ?? [];
    list.push({ at: performance.now(), e });
    byJob.set(e.jobId, list);
    handle(e);
  };
  return byJob;
}

async function runJob(world: World, t: SwarmTorrent, events: Map<number, { at: number; e: TorrentJobEvent }[]>): Promise<JobRun> {
  const before = lastMessageId(world, ALICE.id);
  world.telegram.sendText(ALICE, t.magnet);
  const card = await nextBotMessage(world, ALICE.id, before, isCard);
  const data = buttonData(card, /Start/);
  const jobId = Number(data.split(":").pop());
  const t0 = performance.now();
  world.telegram.pressButton(ALICE, card, data);
  await world.telegram.waitFor(
    () => {
      const job = world.app!.jobs.get(jobId);
      if (job && (job.state === "failed" || job.state === "cancelled")) throw new Error(`bench job ${jobId} ${job.state}: ${job.error}`);
      return linksMessageOf(world, ALICE.id, { jobId, cardId: card.message_id });
    },
    180_000,
    "the links message",
  );
  const totalSeconds = (performance.now() - t0) / 1000;

  const seen = events.get(jobId) ?? [];
  const done = seen.find((x) => x.e.state === "done")?.e.result;
  if (!done) throw new Error(`job ${jobId}: no done event with a result`);
  if (done.files[0]?.sha256 !== t.files[0]!.sha256) throw new Error(`job ${jobId}: delivered file does not match the seeded SHA-256`);
  const firstByte = seen.find((x) => x.e.progress && x.e.progress.phase !== "metadata" && x.e.progress.completedBytes > 0);
  const complete = seen.find((x) => x.e.progress?.phase === "complete" || x.e.state === "downloaded");
  return {
    totalSeconds,
    aria2BytesSeconds: done.durationSeconds - done.overheadSeconds,
    aria2BytesSecondsSeen: firstByte && complete ? (complete.at - firstByte.at) / 1000 : null,
    jobDurationSeconds: done.durationSeconds,
    phases: phaseSeconds(world, jobId),
  };
}

/** Seconds spent between consecutive recorded states, keyed "from→to". */
function phaseSeconds(world: World, jobId: number): Record<string, number> {
  const ev = world.app!.jobs.events(jobId);
  const out: Record<string, number> = {};
  for (let i = 1; i < ev.length; i++) out[`${ev[i - 1]!.state}→${ev[i]!.state}`] = (ev[i]!.at - ev[i - 1]!.at) / 1000;
  return out;
}

async function runPlain(world: World, t: SwarmTorrent, i: number): Promise<number> {
  const dir = fs.mkdtempSync(path.join(world.dir, `plain-${i}-`));
  try {
    const t0 = performance.now();
    const r = await runPlainAria2c(dir, t.magnet);
    const seconds = (performance.now() - t0) / 1000;
    if (r.code !== 0) throw new Error(`plain aria2c failed (${r.code}): ${r.out.slice(-500)}`);
    const got = createHash("sha256").update(fs.readFileSync(path.join(dir, t.files[0]!.aria2Path))).digest("hex");
    if (got !== t.files[0]!.sha256) throw new Error(`plain aria2c: SHA-256 ${got}, expected ${t.files[0]!.sha256}`);
    return seconds;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function report(jobs: JobRun[], plain: number[]): BenchResult[] {
  const totals = jobs.map((j) => j.totalSeconds);
  const total = median(totals);
  const bytes = median(jobs.map((j) => j.aria2BytesSeconds));
  const overheads = jobs.map((j) => j.totalSeconds - BOOT_DELAY_MS / 1000 - j.aria2BytesSeconds);
  const overhead = median(overheads);
  const plainSeconds = median(plain);
  const phaseNames = Object.keys(jobs[0]!.phases);
  const sides = comparison(totals, plain, 3);
  const detail = {
    sizeBytes: SIZE,
    rounds: `${jobs.length} each, alternating (job, plain aria2c, …)`,
    bootDelaySeconds: BOOT_DELAY_MS / 1000,
    job: sides.ours,
    plainAria2c: sides.plain,
    overheadSeconds: roundedSpread(overheads, 3),
    aria2BytesSeconds: roundedSpread(jobs.map((j) => j.aria2BytesSeconds), 3),
    medianAria2BytesSeconds: bytes,
    medianPhaseSeconds: Object.fromEntries(phaseNames.map((p) => [p, median(jobs.map((j) => j.phases[p] ?? 0))])),
    runs: jobs.map((j, i) => ({ ...j, overheadSeconds: overheads[i], plainSeconds: plain[i] })),
  };
  return [
    { name: "torrent job: 50 MiB magnet, Start → links message (local world)", value: total, unit: "s", lowerIsBetter: true, detail },
    { name: "torrent job: orchestration overhead (total − boot delay − aria2 byte time)", value: overhead, unit: "s", lowerIsBetter: true, detail: { overheadSeconds: detail.overheadSeconds } },
    { name: "torrent job: plain aria2c on the same magnet", value: plainSeconds, unit: "s", lowerIsBetter: true, detail: { plainAria2c: sides.plain, runs: plain } },
    {
      name: "torrent job: total / plain aria2c",
      value: total / plainSeconds,
      unit: "ratio",
      lowerIsBetter: true,
      // What the job adds on top of the plain tool doing the whole download, boot delay aside.
      detail: { ...sides, note: "ratio of the medians", addedOverPlainSeconds: total - BOOT_DELAY_MS / 1000 - plainSeconds },
    },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await run()) console.log(`${r.name}: ${r.value.toFixed(3)} ${r.unit}`);
}
