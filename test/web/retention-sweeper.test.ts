import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/shared/logger.js";
import { createRetentionSweeper, markDelivered } from "../../src/web/retention-sweeper.js";

const HOUR = 3_600_000;
const logger = createLogger({ level: "silent" });
let root: string;

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), "dropship-retention-"));
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

async function job(id: string, dirAgeMs: number | null, deliveredAgeMs: number | null, now: number): Promise<void> {
  const dir = path.join(root, id);
  await fs.mkdir(path.join(dir, "sub"), { recursive: true });
  await fs.writeFile(path.join(dir, "sub", "file.bin"), "bytes");
  if (deliveredAgeMs !== null) await markDelivered(root, id, new Date(now - deliveredAgeMs));
  if (dirAgeMs !== null) await fs.utimes(dir, new Date(now - dirAgeMs), new Date(now - dirAgeMs));
}

describe("retention sweeper", () => {
  it("removes jobs delivered longer ago than the retention and keeps fresh ones", async () => {
    const now = Date.now();
    await job("1", 100 * HOUR, 73 * HOUR, now); // delivered 73 h ago
    await job("2", 100 * HOUR, 1 * HOUR, now); // old directory but delivered recently: the marker wins
    await job("3", 80 * HOUR, null, now); // never delivered (crashed job): the directory's age counts
    await job("4", 0, null, now); // a job still transferring
    await fs.mkdir(path.join(root, "not a job"));
    await fs.utimes(path.join(root, "not a job"), new Date(0), new Date(0));
    await fs.writeFile(path.join(root, "stray.txt"), "x");

    const sweeper = createRetentionSweeper({ filesRoot: root, retentionMs: 72 * HOUR, logger, now: () => now });
    const result = await sweeper.sweep();
    expect(result.removed.sort()).toEqual(["1", "3"]);
    expect(result.kept.sort()).toEqual(["2", "4"]);
    expect((await fs.readdir(root)).sort()).toEqual(["2", "4", "not a job", "stray.txt"]);
    expect(await fs.readFile(path.join(root, "2", "sub", "file.bin"), "utf8")).toBe("bytes");
  });

  it("removes everything delivered once the clock passes the retention", async () => {
    const start = Date.now();
    let now = start;
    await job("7", null, 0, start);
    const sweeper = createRetentionSweeper({ filesRoot: root, retentionMs: HOUR, logger, now: () => now });
    expect((await sweeper.sweep()).removed).toEqual([]);
    now = start + HOUR + 1;
    expect((await sweeper.sweep()).removed).toEqual(["7"]);
  });

  it("copes with a missing files root and schedules hourly with start/stop", async () => {
    const sweeper = createRetentionSweeper({ filesRoot: path.join(root, "nope"), retentionMs: HOUR, logger });
    expect(await sweeper.sweep()).toEqual({ removed: [], kept: [] });
    expect(sweeper.nextRun()).toBeNull();
    sweeper.start();
    sweeper.start();
    const next = sweeper.nextRun()?.getTime() ?? 0;
    expect(next).toBeGreaterThan(Date.now());
    expect(next).toBeLessThanOrEqual(Date.now() + HOUR);
    expect(new Date(next).getMinutes()).toBe(7);
    await sweeper.stop();
    await sweeper.stop();
    expect(sweeper.nextRun()).toBeNull();
  });

  it("refuses to mark an odd job id", async () => {
    await expect(markDelivered(root, "../x")).rejects.toThrow(/not a valid job id/);
  });
});
