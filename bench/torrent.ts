// Benchmark: a 50 MiB magnet from the local swarm, downloaded by an aria2 daemon driven through our
// Aria2Client (start daemon, addUri, follow metadata, poll to completion) vs a plain aria2c with the same flags.
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { BenchResult } from "./types.js";
import { median, spread } from "./stats.js";
import { startSwarm } from "../test/world/swarm.js";
import { runPlainAria2c, startAria2Daemon } from "../test/aria2/aria2-helpers.js";

const SIZE = 50 * 1024 * 1024;
const POLL_MS = 250;
const RUNS = 5;

export async function run(): Promise<BenchResult[]> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "bench-torrent-"));
  const swarm = await startSwarm({ dir: work });
  try {
    const t = await swarm.addTorrent({ name: "bench.bin", files: [{ path: "bench.bin", size: SIZE }] });
    const expected = t.files[0]!.sha256;

    // Same start and end for both: process start → file verified on disk. Alternating, so both see the same load.
    const plain: number[] = [];
    const ours: number[] = [];
    const metadata: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      plain.push(await timePlain(work, t.magnet, expected));
      const o = await timeOurs(work, t.magnet, expected);
      ours.push(o.seconds);
      metadata.push(o.metadataSeconds);
    }
    const ratios = ours.map((o, i) => o / plain[i]!);
    const detail = { sizeBytes: SIZE, pollIntervalMs: POLL_MS, runs: RUNS, plain: spread(plain), ours: spread(ours), metadataSeconds: spread(metadata), perRunRatio: ratios };
    return [
      { name: "torrent: 50 MiB magnet via Aria2Client (daemon start → complete)", value: median(ours), unit: "s", lowerIsBetter: true, detail },
      { name: "torrent: 50 MiB magnet via plain aria2c", value: median(plain), unit: "s", lowerIsBetter: true, detail },
      { name: "torrent: Aria2Client time / plain aria2c time", value: median(ratios), unit: "ratio", lowerIsBetter: true, detail },
    ];
  } finally {
    await swarm.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function timePlain(work: string, magnet: string, sha256: string): Promise<number> {
  const dir = fs.mkdtempSync(path.join(work, "plain-"));
  const t0 = performance.now();
  const plain = await runPlainAria2c(dir, magnet);
  if (plain.code !== 0) throw new Error(`plain aria2c failed (${plain.code}): ${plain.out.slice(-500)}`);
  check(path.join(dir, "bench.bin"), sha256);
  const seconds = (performance.now() - t0) / 1000;
  fs.rmSync(dir, { recursive: true, force: true });
  return seconds;
}

async function timeOurs(work: string, magnet: string, sha256: string): Promise<{ seconds: number; metadataSeconds: number }> {
  const t0 = performance.now();
  const daemon = await startAria2Daemon(work, { stallTimeoutSeconds: 60 });
  let metadataSeconds = 0;
  try {
    const gid = await daemon.client.addUri([magnet]);
    const final = await daemon.client.watchDownload(gid, {
      intervalMs: POLL_MS,
      onProgress: (p) => {
        if (p.phase === "metadata") metadataSeconds = (performance.now() - t0) / 1000;
      },
    });
    if (final.phase !== "complete") throw new Error(`Aria2Client download failed: ${final.errorMessage}`);
  } finally {
    await daemon.stop();
  }
  check(path.join(daemon.downloadDir, "bench.bin"), sha256);
  const seconds = (performance.now() - t0) / 1000;
  fs.rmSync(daemon.downloadDir, { recursive: true, force: true });
  return { seconds, metadataSeconds };
}


function check(file: string, sha256: string): void {
  const got = createHash("sha256").update(fs.readFileSync(file)).digest("hex");
  if (got !== sha256) throw new Error(`${file}: SHA-256 ${got}, expected ${sha256}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await run()) console.log(`${r.name}: ${r.value.toFixed(3)} ${r.unit}`);
}
