// Venv benchmark over SSH: a cold build by VenvManager vs the same work by hand (python3 -m venv, pip install,
// ansible-galaxy collection install), a warm reuse (goal: under 300 ms), and a cold build with packages, collections
// and roles through the Galaxy stand-in vs the same four commands by hand (…, ansible-galaxy role install).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { BenchResult } from "./types.js";
import { run as runCommand } from "../src/hosts/host.js";
import { openDatabase } from "../src/storage/database.js";
import { VenvManager } from "../src/venv/venv-manager.js";
import { normaliseVenvSpec, TORRENT_VENV_SPEC, type VenvSpec } from "../src/venv/venv-spec.js";
import { roleRequirementsFile } from "../src/venv/venv-roles.js";
import { galaxyRequirementsFile } from "../src/venv/collection-sources.js";
import { startSshFixture } from "../test/remote/ssh-fixture.js";
import { buildCollectionTarballs, buildTestCollections, listCollectionTarballs } from "../test/world/collection-tarballs.js";
import { makeRoleArchive, roleFiles, startGalaxy } from "../test/world/galaxy.js";
import { startPackageIndex } from "../test/world/package-index.js";

const WARM_RUNS = 10;
const WARM_GOAL_MS = 300;

export async function run(): Promise<BenchResult[]> {
  // One after the other: two cores, and each is a series of Python processes.
  return [...(await runBench()), ...(await runGalaxyBench())];
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

/**
 * Cold build with packages, collections (one depending on another) and roles (a Galaxy role depending on another, a
 * tar.gz URL, git over dumb HTTP), everything from the Galaxy stand-in; the baseline is the same four commands in one
 * shell on the host against the same sources, in the same run (by hand first, then VenvManager, on one fresh host).
 */
async function runGalaxyBench(): Promise<BenchResult[]> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-bench-galaxy-"));
  const [ssh, index, galaxy] = await Promise.all([startSshFixture("dropship-bench-venv-galaxy-"), startPackageIndex(), startGalaxy()]);
  const db = openDatabase(path.join(ssh.tempDir, "bench.sqlite"));
  try {
    await galaxy.addCollectionDir(await buildTestCollections());
    await galaxy.addCollectionDir(await buildCollectionTarballs());
    const archives = path.join(tmp, "archives");
    galaxy.addRole("dropship", "base", "1.0.0", await makeRoleArchive(archives, { top: "ansible-role-base-1.0.0" }));
    galaxy.addRole("dropship", "web", "2.0.0", await makeRoleArchive(archives, { top: "ansible-role-web-2.0.0", dependencies: [{ role: "dropship.base" }] }));
    const plain = galaxy.addFile("plain-1.tar.gz", await makeRoleArchive(archives, { top: "plain-1" }));
    const git = await galaxy.addGitRepo("git-role", [{ tag: "v1.0.0", files: roleFiles({}) }]);
    const spec: VenvSpec = {
      ansibleCore: "==2.14.18",
      python: ["requests==2.28.1", "urllib3==1.26.12"],
      collections: [{ name: "community.digitalocean", version: "1.23.0" }, { name: "dropship.app" }],
      roles: [{ name: "dropship.web" }, { name: "plain", src: plain }, { name: "gitrole", src: `git+${git.url}`, version: "v1.0.0" }],
    };
    const host = await ssh.connect();
    const by = "/root/by-hand";
    const norm = normaliseVenvSpec(spec);
    await host.writeFile("/root/collections.yml", galaxyRequirementsFile(norm.collections));
    await host.writeFile("/root/roles.yml", roleRequirementsFile(norm.roles ?? []));
    let t0 = performance.now();
    await runCommand(host, [
      "sh", "-c",
      'set -e; python3 -m venv "$1"; "$1/bin/pip" install -q --isolated --index-url "$2" "ansible-core==2.14.18" "$4" "$5"; ' +
        'export ANSIBLE_COLLECTIONS_PATH="$1/collections" ANSIBLE_ROLES_PATH="$1/roles"; ' +
        '"$1/bin/ansible-galaxy" collection install -s "$3" -r /root/collections.yml -p "$1/collections" >/dev/null; ' +
        '"$1/bin/ansible-galaxy" role install -s "$3" -r /root/roles.yml -p "$1/roles" >/dev/null',
      "sh", by, index.url, galaxy.url, ...spec.python,
    ]);
    const baselineMs = performance.now() - t0;

    const manager = new VenvManager({
      db,
      packages: { pipIndexUrl: index.url, pipExtraArgs: ["--isolated"], galaxyServer: galaxy.url, collectionTarballDir: null },
      venv: { root: "~/.dropship/venvs", gcUnusedMs: 30 * 86_400_000, minFreeMb: 100 },
    });
    t0 = performance.now();
    const cold = await manager.ensure(host, spec);
    const coldMs = performance.now() - t0;
    if (cold.reused) throw new Error("the cold build reused a venv: the bench host was not fresh");
    const roles = Object.keys(cold.installed?.roles ?? {}).length;
    const collections = Object.keys(cold.installed?.collections ?? {}).length;
    const r = (n: number) => Math.round(n * 10) / 10;
    return [
      {
        name: "venv.cold_build_galaxy_roles_ssh",
        value: r(coldMs),
        unit: "ms",
        lowerIsBetter: true,
        detail: {
          baselineMs: r(baselineMs),
          ratioToBaseline: Math.round((coldMs / baselineMs) * 100) / 100,
          baseline: "python3 -m venv + pip install + ansible-galaxy collection install -r + ansible-galaxy role install -r, one shell, same Galaxy stand-in and index",
          installed: { collections, roles },
          includes: "probe, lock, index check, verify (packages, collections, roles read back), marker",
        },
      },
      { name: "venv.baseline_galaxy_roles_by_hand_ssh", value: r(baselineMs), unit: "ms", lowerIsBetter: true },
      { name: "venv.cold_build_galaxy_roles ÷ by hand", value: Math.round((coldMs / baselineMs) * 100) / 100, unit: "x", lowerIsBetter: true },
    ];
  } finally {
    db.close();
    await galaxy.stop();
    await index.stop();
    await ssh.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
