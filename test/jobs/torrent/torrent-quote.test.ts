// The card's estimate: DigitalOcean's price, the billing rule, budgets, and a speed learned from finished downloads.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase, type Db } from "../../../src/storage/database.js";
import { JobStore } from "../../../src/jobs/job-store.js";
import { TorrentBudget } from "../../../src/jobs/torrent/torrent-budget.js";
import { TorrentQuoter } from "../../../src/jobs/torrent/torrent-quote.js";
import type { CloudSize } from "../../../src/cloud/cloud-provider.js";

const SIZE: CloudSize = {
  slug: "s-1vcpu-1gb", priceHourly: 0.00893, priceMonthly: 6, transferTb: 1, regions: ["fra1"], available: true,
  vcpus: 1, memoryMb: 1024, diskGb: 25, description: "Basic",
};
const MB = 1_000_000;
const dbs: Db[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
});

function quoter(problem: string | null = null) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "quote-"));
  const db = openDatabase(path.join(dir, "q.sqlite"));
  dbs.push(db);
  const store = new JobStore(db);
  const q = new TorrentQuoter({
    // The catalog is the DigitalOcean adapter's job, tested against the fake API; here, one known size.
    sizes: { getSize: async (s) => (s === SIZE.slug ? SIZE : null), sizeProblem: async () => problem },
    store,
    settings: { size: SIZE.slug, region: "fra1", speedBytesPerSecond: 50 * MB },
    budget: new TorrentBudget({ db, jobs: store, settings: { perJobUsd: 1, monthlyUsd: 20, monthlyPerUserUsd: null, maxDroplets: 3, maxDropletsPerUser: 2 } }),
  });
  const finished = (totalBytes: number, downloadSeconds: number) => {
    const j = store.create({ kind: "torrent", ownerId: 1, chatId: 1, state: "estimated", input: {} });
    store.transition(j.id, "done", { data: { totalBytes, downloadSeconds } });
  };
  return { q, store, finished };
}

describe("TorrentQuoter", () => {
  it("estimates from the size's price and the configured speed until there is history", async () => {
    const { q } = quoter();
    const quote = await q.quote({ sizeBytes: 1000 * MB, hasTorrentFile: false }, 1);
    expect(quote.speed).toEqual({ bytesPerSecond: 50 * MB, source: "config", samples: 0 });
    expect(quote.estimate!.known && quote.estimate!.seconds.download).toBe(20);
    expect(quote.blocker).toBeNull();
    expect(quote.usd).toBeGreaterThanOrEqual(0.01);
  });

  it("learns the speed from the median of recent finished downloads, ignoring tiny ones", async () => {
    const { q, finished } = quoter();
    finished(100 * MB, 10); // 10 MB/s
    finished(200 * MB, 10); // 20 MB/s
    finished(5 * MB, 0.1); // too small to say anything about speed
    expect((await q.quote({ sizeBytes: 100 * MB, hasTorrentFile: true }, 1)).speed.source).toBe("config");
    finished(300 * MB, 10); // 30 MB/s
    const quote = await q.quote({ sizeBytes: 1000 * MB, hasTorrentFile: true }, 1);
    expect(quote.speed).toEqual({ bytesPerSecond: 20 * MB, source: "history", samples: 3 });
    expect(quote.estimate!.known && quote.estimate!.seconds.download).toBe(50);
    expect(quote.estimate!.known && quote.estimate!.seconds.metadata).toBe(0);
  });

  it("blocks Start with the adapter's words when the size cannot be had, and over the per-job budget", async () => {
    const blocked = await quoter("the size s-1vcpu-1gb is not offered in fra1 — try DO_REGION=ams3").q.quote({ sizeBytes: MB, hasTorrentFile: false }, 1);
    expect(blocked.blocker).toMatch(/not offered in fra1/);
    expect(blocked.usd).toBeNull();
    const huge = await quoter().q.quote({ sizeBytes: 100_000_000 * MB, hasTorrentFile: false }, 1);
    expect(huge.blocker).toMatch(/over the per-job budget of \$1\.00 \(BUDGET_PER_JOB_USD\)/);
  });

  it("gives a per-GB figure when the size is unknown", async () => {
    const quote = await quoter().q.quote({ sizeBytes: null, hasTorrentFile: false }, 1);
    expect(quote.usd).toBeNull();
    expect(quote.estimate!.known).toBe(false);
    expect(!quote.estimate!.known && quote.estimate!.perGib.usd).toBeGreaterThan(0);
  });
});
