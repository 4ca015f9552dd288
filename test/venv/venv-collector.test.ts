// The scheduled venv collection: the real cron schedule fires, the real VenvManager collects on every known host,
// an old unused venv goes, pinned and in-use ones stay, and one host failing does not stop the others.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { VenvCollector } from "../../src/venv/venv-collector.js";
import { VenvManager } from "../../src/venv/venv-manager.js";
import { createLogger } from "../../src/shared/logger.js";
import { LocalHost } from "../../src/remote/local-host.js";
import { openDatabase, type Db } from "../../src/storage/database.js";
import type { Host } from "../../src/hosts/host.js";

const DAY = 86_400_000;

async function eventually<T>(check: () => T | undefined, timeoutMs: number): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; ; await new Promise((r) => setTimeout(r, 50))) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`the scheduled collection did not run within ${timeoutMs} ms`);
  }
}
let cleanup: (() => void) | null = null;

afterEach(() => {
  cleanup?.();
  cleanup = null;
});

/** A venv laid out the way the builder leaves one: root/.store/<name>-<stamp> (a real `python3 -m venv`), root/<name> → it. */
function makeVenv(root: string, name: string): string {
  const build = path.join(root, ".store", `${name}-old1`);
  execFileSync("python3", ["-m", "venv", "--without-pip", build]);
  fs.symlinkSync(build, path.join(root, name));
  return build;
}

/** A host whose connection drops once open: every command fails the way a lost ssh connection does. */
const dropping: Host = {
  label: "dropping",
  exec: () => Promise.reject(new Error("the connection to dropping was lost")),
  writeFile: () => Promise.reject(new Error("the connection to dropping was lost")),
  readFile: () => Promise.reject(new Error("the connection to dropping was lost")),
  close: () => Promise.resolve(),
};

describe("VenvCollector on its schedule", () => {
  it("removes an old unused venv on the cron tick, keeps pinned and in-use ones, and survives a failing host", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-venv-gc-"));
    const root = path.join(dir, "venvs");
    fs.mkdirSync(path.join(root, ".store"), { recursive: true });
    const db: Db = openDatabase(path.join(dir, "dropship.sqlite"));
    let collector: VenvCollector | null = null;
    cleanup = () => {
      collector?.stop();
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    };

    const host = new LocalHost("local");
    const t0 = Date.now();
    // The venvs were last used 90 days before the manager's "now"; collection is for venvs unused for 30 days.
    const manager = new VenvManager({
      db,
      now: () => t0 + 90 * DAY,
      packages: { pipIndexUrl: "http://127.0.0.1:9/simple", pipExtraArgs: [], galaxyServer: null, collectionTarballDir: dir },
      venv: { root, gcUnusedMs: 30 * DAY, minFreeMb: 1 },
    });
    const names = { old: "dropship-aaaaaaaaaaaa", pinned: "dropship-bbbbbbbbbbbb", busy: "dropship-cccccccccccc" };
    const builds: Record<string, string> = {};
    for (const [k, name] of Object.entries(names)) {
      builds[k] = makeVenv(root, name);
      manager.store.upsert({ host: host.label, name, path: path.join(root, name), spec: "{}", status: "ready" }, t0);
    }
    manager.pin(host.label, names.pinned);
    manager.store.addUse(host.label, names.busy, 1, t0);

    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ level: "info", destination: { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) } });
    collector = new VenvCollector({
      hosts: () => [
        { name: "down", connect: () => Promise.reject(new Error("cannot reach down: connection refused")) },
        { name: "dropping", connect: () => Promise.resolve(dropping) },
        { name: "local", connect: () => Promise.resolve(host) },
      ],
      logger,
      collect: (h) => manager.collectGarbage(h),
    });
    // Every second: the test never calls runOnce, so only the schedule can remove anything.
    collector.start("* * * * * *");

    const removed = await eventually(() => lines.find((l) => l.msg === "removed unused virtualenvs" && l.host === "local"), 10_000);
    expect(removed.removed).toEqual([names.old]);
    expect(fs.existsSync(path.join(root, names.old))).toBe(false);
    expect(fs.existsSync(builds.old!)).toBe(false);
    for (const k of ["pinned", "busy"] as const) {
      expect(fs.existsSync(path.join(builds[k]!, "bin", "python3"))).toBe(true);
      expect(fs.readlinkSync(path.join(root, names[k]))).toBe(builds[k]);
    }
    expect(manager.store.get(host.label, names.old)!.status).toBe("removed");
    expect(manager.list(host.label).map((v) => v.name).sort()).toEqual([names.pinned, names.busy]);
    // The unreachable host and the one whose connection dropped came first in the pass and were logged, not fatal.
    expect(lines.some((l) => l.msg === "virtualenv garbage collection skipped a host it cannot reach" && l.host === "down")).toBe(true);
    expect(lines.some((l) => l.msg === "virtualenv garbage collection failed" && l.host === "dropping")).toBe(true);
  });
});
