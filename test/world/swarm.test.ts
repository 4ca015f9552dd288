// The local swarm works for a plain aria2c: a 50 MiB magnet and a multi-file torrent with hostile names.
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { startSwarm, type Swarm } from "./swarm.js";
import { runPlainAria2c } from "../aria2/aria2-helpers.js";

let swarm: Swarm;
let work: string;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "swarm-test-"));
  swarm = await startSwarm({ dir: work });
});

afterAll(async () => {
  await swarm?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

function sha256(file: string): string {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

describe.concurrent("local BitTorrent swarm", () => {
  it("serves a 50 MiB single-file magnet to a plain aria2c in under a minute", async ({ expect }) => {
    const t = await swarm.addTorrent({ name: "big file.bin", files: [{ path: "big file.bin", size: 50 * 1024 * 1024 }] });
    expect(t.magnet).toMatch(/^magnet:\?xt=urn:btih:[0-9a-f]{40}/);
    expect(t.magnet).toContain(`xl=${50 * 1024 * 1024}`);
    expect(t.magnet).toContain("tr=" + encodeURIComponent(swarm.trackerUrl));
    expect(t.magnet).toContain("dn=big+file.bin");
    const dl = fs.mkdtempSync(path.join(work, "dl-"));
    const started = Date.now();
    const r = await runPlainAria2c(dl, t.magnet);
    const seconds = (Date.now() - started) / 1000;
    expect(r.code, r.out).toBe(0);
    expect(seconds).toBeLessThan(60);
    expect(sha256(path.join(dl, "big file.bin"))).toBe(t.files[0]!.sha256);
  });

  it("serves a multi-file torrent with nested folders and hostile names, from its .torrent file", async ({ expect }) => {
    const hostile = `-rf "quoted" 'single' ünïcödé 🎉.txt`;
    const t = await swarm.addTorrent({
      name: "multi",
      files: [
        { path: hostile, content: "hostile\n" },
        { path: "sub dir/deeper/..evil", size: 300_000 },
        { path: "sub dir/...", content: "dots" },
        { path: "ctl\x01char\ttab.txt", content: "control" },
      ],
    });
    expect(t.files.map((f) => f.aria2Path)).toContain("multi/ctl%01char%09tab.txt");
    const dl = fs.mkdtempSync(path.join(work, "dl-"));
    const r = await runPlainAria2c(dl, t.torrentPath);
    expect(r.code, r.out).toBe(0);
    for (const f of t.files) expect(sha256(path.join(dl, f.aria2Path)), f.path).toBe(f.sha256);
  });

  it("stop() leaves no process and no directory behind", async ({ expect }) => {
    const s = await startSwarm({ dir: work });
    try {
      await s.addTorrent({ name: "tiny", files: [{ path: "tiny", content: "x" }] });
      const pids = s.pids();
      expect(pids).toHaveLength(2); // tracker + seeder
      expect(pids.every(isRunning)).toBe(true);
      await s.stop();
      expect(fs.existsSync(s.dir)).toBe(false);
      expect(pids.filter(isRunning)).toEqual([]);
    } finally {
      await s.stop(); // idempotent; cleans up if an expectation failed first
    }
  });
});

/** True while the process exists and is not a zombie (PID 1 here does not reap orphans). */
function isRunning(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}
