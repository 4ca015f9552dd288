// Venv benchmark over SSH: a cold build by VenvManager vs the same work by hand (python3 -m venv, pip install,
// ansible-galaxy collection install), and a warm reuse (goal: under 300 ms).
import path from "node:path";
import type { BenchResult } from "./types.js";
import { run as runCommand } from "../src/hosts/host.js";
import { openDatabase } from "../src/storage/database.js";
import { VenvManager } from "../src/venv/venv-manager.js";
import { TORRENT_VENV_SPEC } from "../src/venv/venv-spec.js";
import { startSshFixture } from "../test/remote/ssh-fixture.js";
import { buildCollectionTarballs, listCollectionTarballs } from "../test/world/collection-tarballs.js";
import { startPackageIndex } from "../test/world/package-index.js";

const WARM_RUNS = 10;
const WARM_GOAL_MS = 300;

export async function run(): Promise<BenchResult[]> {
  return runBench();
}

async function runBench(): Promise<BenchResult[]> {
  const [ssh, index, tarballDir] = await Promise.all([startSshFixture("dropship-bench-venv-"), startPackageIndex(), buildCollectionTarballs()]);
  const db = openDatabase(path.join(ssh.tempDir, "bench.sqlite"));
  try {
    const host = await ssh.connect();
    const spec = TORRENT_VENV_SPEC;

    // Baseline: what a person would type, in one shell on the host (tarballs read where they lie, no upload).
    const tarballs = listCollectionTarballs(tarballDir).filter((t) => spec.collections.some((c) => c.name === t.name)).map((t) => t.file);
    const by = "/root/by-hand";
    let t0 = performance.now();
    await runCommand(host, [
      "sh", "-c",
      'set -e; python3 -m venv "$1"; "$1/bin/pip" install -q --isolated --index-url "$2" "ansible-core==2.14.18" "$3" "$4"; shift 4; ' +
        `ANSIBLE_COLLECTIONS_PATH="${by}/collections" "${by}/bin/ansible-galaxy" collection install --offline -p "${by}/collections" "$@" >/dev/null`,
      "sh", by, index.url, ...spec.python, ...tarballs,
    ]);
    const baselineMs = performance.now() - t0;

    const manager = new VenvManager({
      db,
      packages: { pipIndexUrl: index.url, pipExtraArgs: ["--isolated"], galaxyServer: null, collectionTarballDir: tarballDir },
      venv: { root: "~/.dropship/venvs", gcUnusedMs: 30 * 86_400_000, minFreeMb: 100 },
    });
    t0 = performance.now();
    const cold = await manager.ensure(host, spec);
    const coldMs = performance.now() - t0;
    if (cold.reused) throw new Error("the cold build reused a venv: the bench host was not fresh");

    const warm: number[] = [];
    for (let i = 0; i < WARM_RUNS; i++) {
      t0 = performance.now();
      const again = await manager.ensure(host, spec);
      warm.push(performance.now() - t0);
      if (!again.reused) throw new Error("a warm ensure rebuilt the venv");
    }
    warm.sort((a, b) => a - b);
    const warmMedian = warm[Math.floor(warm.length / 2)]!;
    const r = (n: number) => Math.round(n * 10) / 10;
    return [
      {
        name: "venv.cold_build_ssh",
        value: r(coldMs),
        unit: "ms",
        lowerIsBetter: true,
        detail: { baselineMs: r(baselineMs), ratioToBaseline: r(coldMs / baselineMs * 100) / 100, baseline: "python3 -m venv + pip install + ansible-galaxy collection install, one shell", includes: "probe, lock, index check, verify, marker, upload of tarballs" },
      },
      { name: "venv.baseline_by_hand_ssh", value: r(baselineMs), unit: "ms", lowerIsBetter: true },
      { name: "venv.cold_build ÷ by hand", value: Math.round((coldMs / baselineMs) * 100) / 100, unit: "x", lowerIsBetter: true },
      {
        name: "venv.warm_reuse_ssh",
        value: r(warmMedian),
        unit: "ms",
        lowerIsBetter: true,
        detail: { runs: WARM_RUNS, minMs: r(warm[0]!), maxMs: r(warm[warm.length - 1]!), goalMs: WARM_GOAL_MS, metGoal: warmMedian < WARM_GOAL_MS, ratioToBaselineColdBuild: r(warmMedian / baselineMs * 1000) / 1000 },
      },
    ];
  } finally {
    db.close();
    await index.stop();
    await ssh.stop();
  }
}
