// The seeding policy: its codes on buttons, its extra cost, what aria2 is told, whether a reading meets it; and the
// reservation a seeding job holds against the budgets (real SQLite).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  aria2SeedOptions,
  decodeSeedPolicy,
  encodeSeedPolicy,
  estimateWithSeeding,
  NO_SEEDING,
  SEED_CHOICES,
  SEED_CODE,
  seedingCost,
  seedPolicyMet,
  seedPolicyOf,
  shareRatio,
} from "../../../src/jobs/torrent/seeding-policy.js";
import { torrentMayMove } from "../../../src/jobs/torrent/torrent-states.js";
import { openDatabase } from "../../../src/storage/database.js";
import { JobStore } from "../../../src/jobs/job-store.js";
import { TorrentBudget } from "../../../src/jobs/torrent/torrent-budget.js";
import { buildAria2Command } from "../../../src/aria2/aria2-command.js";
import { seedButton, stopSeedingButton, CALLBACK_DATA_MAX_BYTES } from "../../../src/bot/callback-data.js";

describe("seeding policy codes", () => {
  it("round-trips every offered choice through a button's code, within the code's pattern", () => {
    for (const p of SEED_CHOICES) {
      const code = encodeSeedPolicy(p);
      expect(new RegExp(`^(?:${SEED_CODE.source})$`).test(code)).toBe(true);
      expect(decodeSeedPolicy(code)).toEqual(p);
    }
    expect(SEED_CHOICES.map(encodeSeedPolicy)).toEqual(["n", "r1.0", "r2.0", "t30", "t60"]);
  });

  it("refuses forged codes: out of range, malformed, unknown", () => {
    for (const bad of ["r0.0", "r99.9", "t0", "t1441", "r1", "t", "x", "", "r1.0x", "n1"]) expect(decodeSeedPolicy(bad)).toBeNull();
    expect(decodeSeedPolicy("r0.5")).toEqual({ kind: "ratio", ratio: 0.5 });
    expect(decodeSeedPolicy("t1440")).toEqual({ kind: "time", minutes: 1440 });
  });

  it("reads a stored policy back, anything unreadable being no seeding", () => {
    expect(seedPolicyOf("r2.0")).toEqual({ kind: "ratio", ratio: 2 });
    expect(seedPolicyOf(undefined)).toEqual(NO_SEEDING);
    expect(seedPolicyOf("garbage")).toEqual(NO_SEEDING);
    expect(seedPolicyOf({ kind: "time", minutes: 30 })).toEqual({ kind: "time", minutes: 30 });
  });

  it("keeps the buttons' callback data within Telegram's 64 bytes for the largest job id", () => {
    for (const p of SEED_CHOICES) expect(Buffer.byteLength(seedButton.pack({ jobId: 999_999_999_999_999, code: encodeSeedPolicy(p) }))).toBeLessThanOrEqual(CALLBACK_DATA_MAX_BYTES);
    expect(stopSeedingButton.unpack("sd:stop:42")).toEqual({ jobId: "42" });
    expect(seedButton.unpack("sd:42:r1.0")).toEqual({ jobId: "42", code: "r1.0" });
    expect(seedButton.unpack("sd:42:r1.0;rm")).toBeNull();
  });
});

describe("what seeding costs", () => {
  const prices = { dropletHourly: 0.00893, perJobBudgetUsd: 0.5 };

  it("prices minutes at the droplet's (and volume's) hourly rate, exactly", () => {
    expect(seedingCost({ kind: "time", minutes: 60 }, prices)).toEqual({ kind: "exact", usd: 0.00893 });
    const c = seedingCost({ kind: "time", minutes: 30 }, { ...prices, volumeHourly: 0.00137 });
    expect(c.kind === "exact" && c.usd).toBeCloseTo((0.00893 + 0.00137) / 2, 10);
  });

  it("bounds a ratio only by the per-job budget, and none costs nothing", () => {
    expect(seedingCost({ kind: "ratio", ratio: 1 }, prices)).toEqual({ kind: "up-to-budget", capUsd: 0.5 });
    expect(seedingCost(NO_SEEDING, prices)).toEqual({ kind: "none" });
  });

  it("grows the estimate by a time's cost; a ratio's makes it the per-job budget (null)", () => {
    expect(estimateWithSeeding(0.01, { kind: "exact", usd: 0.005 })).toBeCloseTo(0.015, 10);
    expect(estimateWithSeeding(0.01, { kind: "up-to-budget", capUsd: 0.5 })).toBeNull();
    expect(estimateWithSeeding(0.01, { kind: "none" })).toBe(0.01);
    expect(estimateWithSeeding(null, { kind: "exact", usd: 0.005 })).toBeNull();
  });

  it("reserves a seeding job's time cost on top of its estimate, and a ratio's job the per-job budget", () => {
    const db = openDatabase(path.join(fs.mkdtempSync(path.join(os.tmpdir(), "seed-budget-")), "b.sqlite"));
    try {
      const jobs = new JobStore(db, Date.now, { torrent: torrentMayMove });
      const budget = new TorrentBudget({ db, jobs, settings: { perJobUsd: 0.5, monthlyUsd: 20, monthlyPerUserUsd: null, maxDroplets: 10, maxDropletsPerUser: 10 } });
      const running = (data: Record<string, unknown>) => {
        const job = jobs.create({ kind: "torrent", ownerId: 1, chatId: 1, state: "approved", input: {} });
        jobs.patchData(job.id, data);
      };
      running({ estimateUsd: 0.01, seedPolicy: "n", seedingUsd: 0 });
      expect(budget.commitments(null).reservedUsd).toBeCloseTo(0.01, 10);
      running({ estimateUsd: 0.01, seedPolicy: "t60", seedingUsd: 0.00893 });
      expect(budget.commitments(null).reservedUsd).toBeCloseTo(0.01 + 0.01893, 10);
      running({ estimateUsd: 0.01, seedPolicy: "r1.0", seedingUsd: null });
      expect(budget.commitments(null).reservedUsd).toBeCloseTo(0.01 + 0.01893 + 0.5, 10);
      // A job from before seeding existed (no seedingUsd) reserves its estimate as before.
      running({ estimateUsd: 0.02 });
      expect(budget.commitments(null).reservedUsd).toBeCloseTo(0.01 + 0.01893 + 0.5 + 0.02, 10);
    } finally {
      db.close();
    }
  });
});

describe("aria2 and the policy", () => {
  it("names both seed options for every policy, so a change replaces the earlier ones", () => {
    expect(aria2SeedOptions(NO_SEEDING)).toEqual({ "seed-time": "0", "seed-ratio": "0.0" });
    expect(aria2SeedOptions({ kind: "ratio", ratio: 2 })).toEqual({ "seed-time": "525600", "seed-ratio": "2.0" });
    expect(aria2SeedOptions({ kind: "time", minutes: 30 })).toEqual({ "seed-time": "30", "seed-ratio": "0.0" });
  });

  it("leaves seeding to each download when the command line is told so (seedTime null)", () => {
    const base = { rpcPort: 6800, rpcSecret: "s3cr3t-s3cr3t-s3cr3t", downloadDir: "/root/d", stallTimeoutSeconds: 300 };
    expect(buildAria2Command(base)).toContain("--seed-time=0");
    expect(buildAria2Command({ ...base, seedTime: null }).some((a) => a.startsWith("--seed-time"))).toBe(false);
  });
});

describe("whether a reading meets the policy", () => {
  const size = 6 * 1024 * 1024;

  it("meets a ratio when uploaded ÷ size reaches it, not before", () => {
    const ratio = { kind: "ratio", ratio: 1 } as const;
    expect(seedPolicyMet(ratio, { uploadedBytes: size - 1, sizeBytes: size, seedingSeconds: 9999 })).toBe(false);
    expect(seedPolicyMet(ratio, { uploadedBytes: size, sizeBytes: size, seedingSeconds: 0 })).toBe(true);
    expect(shareRatio({ uploadedBytes: 3 * size, sizeBytes: 2 * size })).toBe(1.5);
    expect(shareRatio({ uploadedBytes: 5, sizeBytes: 0 })).toBe(0);
  });

  it("meets a time when the minutes since every byte are over, whatever was uploaded", () => {
    const time = { kind: "time", minutes: 30 } as const;
    expect(seedPolicyMet(time, { uploadedBytes: 10 * size, sizeBytes: size, seedingSeconds: 1799 })).toBe(false);
    expect(seedPolicyMet(time, { uploadedBytes: 0, sizeBytes: size, seedingSeconds: 1800 })).toBe(true);
  });

  it("is always met with no seeding", () => {
    expect(seedPolicyMet(NO_SEEDING, { uploadedBytes: 0, sizeBytes: size, seedingSeconds: 0 })).toBe(true);
  });
});

describe("the state machine", () => {
  it("passes through seeding between the verified files and the destroy, or over it", () => {
    expect(torrentMayMove("transferred", "seeding")).toBe(true);
    expect(torrentMayMove("seeding", "droplet_destroyed")).toBe(true);
    expect(torrentMayMove("transferred", "droplet_destroyed")).toBe(true);
    expect(torrentMayMove("seeding", "done")).toBe(true);
    expect(torrentMayMove("seeding", "failed")).toBe(true);
    expect(torrentMayMove("transferring", "seeding")).toBe(false);
    expect(torrentMayMove("seeding", "transferred")).toBe(false);
    expect(torrentMayMove("downloaded", "transferred")).toBe(false);
  });
});
