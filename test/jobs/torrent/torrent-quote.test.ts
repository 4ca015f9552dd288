// The card's estimate: DigitalOcean's price, the billing rule, budgets, and a speed and a boot time learned from
// finished jobs.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase, type Db } from "../../../src/storage/database.js";
import { JobStore } from "../../../src/jobs/job-store.js";
import { TorrentBudget } from "../../../src/jobs/torrent/torrent-budget.js";
import { QuoteUnavailable, TorrentQuoter } from "../../../src/jobs/torrent/torrent-quote.js";
import { NO_SEEDING } from "../../../src/jobs/torrent/seeding-policy.js";
import type { CloudSize } from "../../../src/cloud/cloud-provider.js";
import { renderRequestedTorrentCard } from "../../../src/bot/render/torrent-quote-card.js";
import { defaultSizes } from "../../world/fake-digitalocean-catalog.js";

const SIZE: CloudSize = {
  slug: "s-1vcpu-1gb", priceHourly: 0.00893, priceMonthly: 6, transferTb: 1, regions: ["fra1"], available: true,
  vcpus: 1, memoryMb: 1024, diskGb: 25, description: "Basic",
};
const MB = 1_000_000;
const dbs: Db[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
});

function quoter(problem: string | null = null, catalogDown: Error | null = null) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "quote-"));
  const db = openDatabase(path.join(dir, "q.sqlite"));
  dbs.push(db);
  let clock = Date.parse("2026-03-01T10:00:00Z");
  const store = new JobStore(db, () => clock);
  const q = new TorrentQuoter({
    // The catalog is the DigitalOcean adapter's job, tested against the fake API; here, one known size.
    sizes: {
      getSize: async (s) => {
        if (catalogDown) throw catalogDown;
        return s === SIZE.slug ? SIZE : null;
      },
      sizeProblem: async () => {
        if (catalogDown) throw catalogDown;
        return problem;
      },
    },
    store,
    settings: { size: SIZE.slug, region: "fra1", speedBytesPerSecond: 50 * MB },
    budget: new TorrentBudget({ db, jobs: store, settings: { perJobUsd: 1, monthlyUsd: 20, monthlyPerUserUsd: null, maxDroplets: 3, maxDropletsPerUser: 2 } }),
  });
  const finished = (totalBytes: number, downloadSeconds: number) => {
    const j = store.create({ kind: "torrent", ownerId: 1, chatId: 1, state: "estimated", input: {} });
    store.transition(j.id, "done", { data: { totalBytes, downloadSeconds } });
  };
  /** A job that went through the droplet's request and provisioning `bootSeconds` apart and ended in `end`. */
  const booted = (bootSeconds: number, end = "done") => {
    const j = store.create({ kind: "torrent", ownerId: 1, chatId: 1, state: "estimated", input: {} });
    store.transition(j.id, "droplet_requested");
    clock += bootSeconds * 1000;
    store.transition(j.id, "provisioned");
    clock += 60_000;
    store.transition(j.id, end);
  };
  return { q, store, finished, booted };
}

describe("TorrentQuoter", () => {
  it("says DigitalOcean did not answer, with its reason, when the sizes cannot be listed", async () => {
    const { q } = quoter(null, new Error("DigitalOcean answered 503 to listing sizes; try again in a minute"));
    const quoting = q.quote({ sizeBytes: 1000 * MB, hasTorrentFile: false }, 1);
    await expect(quoting).rejects.toBeInstanceOf(QuoteUnavailable);
    await expect(quoting).rejects.toThrow("DigitalOcean did not answer when asked for the droplet's price (DigitalOcean answered 503 to listing sizes; try again in a minute)");
  });

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

  it("learns the boot (droplet request → provisioned) from the median of the last ten finished jobs", async () => {
    const { q, booted, finished } = quoter();
    const first = await q.quote({ sizeBytes: 1000 * MB, hasTorrentFile: true }, 1);
    expect(first.boot).toEqual({ seconds: 90, source: "default", samples: 0 });
    expect(first.estimate!.known && first.estimate!.seconds.boot).toBe(90);
    booted(40);
    booted(44);
    expect((await q.quote({ sizeBytes: MB, hasTorrentFile: true }, 1)).boot.source).toBe("default"); // two say too little
    booted(500); // older than the last ten below: forgotten (counted, the median would be 49)
    for (const s of [56, 40, 54, 42, 52]) booted(s);
    booted(300, "failed"); // not finished: a failed boot says nothing about a good one
    finished(100 * MB, 10); // done without droplet states: no boot to learn from
    for (const s of [44, 50, 46, 49, 47]) booted(s);
    const quote = await q.quote({ sizeBytes: 1000 * MB, hasTorrentFile: true }, 1);
    // The last ten finished: 40 42 44 46 47 | 49 50 52 54 56 → the median is (47 + 49) / 2.
    expect(quote.boot).toEqual({ seconds: 48, source: "history", samples: 10 });
    expect(quote.estimate!.known && quote.estimate!.seconds.boot).toBe(48);
    expect(quote.seconds).toBe(48 + 20 + 20); // + 1000 MB at the configured 50 MB/s down and home, no metadata
  });

  it("says on the card that the boot and the speed are learned, and from how many jobs", async () => {
    const { q, booted, finished } = quoter();
    const card = async () =>
      renderRequestedTorrentCard({ jobId: 1, quote: await q.quote({ sizeBytes: 1000 * MB, hasTorrentFile: false }, 1), name: "x", sizeBytes: 1000 * MB, fileCount: 1, infoHash: "a".repeat(40), picker: null, chosenFiles: null, seed: { policy: NO_SEEDING, cost: { kind: "none" } } }, { files: null, rule: { sendsDocuments: false, limitBytes: 50_000_000 } }).text;
    expect(await card()).not.toMatch(/median of the last/);
    for (const s of [47, 48, 49]) booted(s);
    expect(await card()).toContain("<i>Boot ≈ 48s: the median of the last 3 jobs.</i>");
    for (const mbps of [10, 20, 30]) finished(100 * MB, 100 / mbps);
    expect(await card()).toMatch(/<i>Boot ≈ 48s: the median of the last 3 jobs\. Download speed [^<]+: the median of the last 3 downloads\.<\/i>/);
    expect(await card()).toMatch(/boot 48s · metadata 20s/);
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

describe("TorrentQuoter: a disk that fits a torrent of known size", () => {
  const GIB = 1024 ** 3;
  function diskQuoter() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "quote-disk-"));
    const db = openDatabase(path.join(dir, "q.sqlite"));
    dbs.push(db);
    const store = new JobStore(db);
    const all: CloudSize[] = defaultSizes().map((s) => ({
      slug: s.slug, priceHourly: s.price_hourly, priceMonthly: s.price_monthly, transferTb: s.transfer, regions: s.regions,
      available: s.available, vcpus: s.vcpus, memoryMb: s.memory, diskGb: s.disk, description: s.description,
    }));
    return new TorrentQuoter({
      sizes: { getSize: async (slug) => all.find((s) => s.slug === slug) ?? null, sizeProblem: async () => null, listSizes: async () => all },
      store,
      settings: { size: "s-1vcpu-1gb", region: "fra1", speedBytesPerSecond: 50 * MB, disk: { marginPercent: 5, marginBytes: 64 * 1024 * 1024, volumeUsdPerGibMonth: 0.1 } },
      budget: new TorrentBudget({ db, jobs: store, settings: { perJobUsd: 100, monthlyUsd: 200, monthlyPerUserUsd: null, maxDroplets: 3, maxDropletsPerUser: 2 } }),
    });
  }
  const card = (quote: Awaited<ReturnType<TorrentQuoter["quote"]>>, sizeBytes: number) =>
    renderRequestedTorrentCard({ jobId: 1, quote, name: "x", sizeBytes, fileCount: 1, infoHash: "a".repeat(40), picker: null, chosenFiles: null, seed: { policy: NO_SEEDING, cost: { kind: "none" } } }, { files: null, rule: { sendsDocuments: false, limitBytes: 50_000_000 } }).text;

  it("keeps DO_SIZE when its disk holds the files and says how much they need", async () => {
    const quote = await diskQuoter().quote({ sizeBytes: 10 * GIB, hasTorrentFile: true }, 1);
    expect(quote).toMatchObject({ size: "s-1vcpu-1gb", disk: { diskGb: 25, insteadOf: null, volumeGib: null } });
    expect(card(quote, 10 * GIB)).toContain("💾 Disk: 10.6 GiB of the droplet's 25 GiB.");
  });

  it("takes a bigger size for its disk, priced in the estimate, and says so on the card", async () => {
    const q = diskQuoter();
    const quote = await q.quote({ sizeBytes: 40 * GIB, hasTorrentFile: true }, 1);
    expect(quote.size).not.toBe("s-1vcpu-1gb");
    expect(quote.disk).toMatchObject({ insteadOf: "s-1vcpu-1gb", volumeGib: null });
    expect(quote.disk!.diskGb).toBeGreaterThanOrEqual(45);
    expect(card(quote, 40 * GIB)).toContain(`💾 Disk: ${quote.size} instead of s-1vcpu-1gb, for its ${quote.disk!.diskGb} GiB disk: the files and margin need 42.1 GiB.`);
    // A running job's size is fixed: the real-size check quotes on it, with no choice of disk.
    expect(await q.quote({ sizeBytes: 40 * GIB, hasTorrentFile: true, size: "s-1vcpu-1gb" }, 1)).toMatchObject({ size: "s-1vcpu-1gb", disk: null });
  });

  it("plans a volume when no size's disk holds the files, with its cost in the estimate", async () => {
    const quote = await diskQuoter().quote({ sizeBytes: 3000 * GIB, hasTorrentFile: true }, 1);
    expect(quote.size).toBe("s-1vcpu-1gb");
    expect(quote.disk!.volumeGib).toBe(3580); // 3150.06 GiB available on ext4 at 88%
    const droplet = quote.estimate!.known ? quote.estimate!.usd.total : NaN;
    expect(quote.disk!.volumeUsd).toBeGreaterThan(0.01);
    expect(quote.usd).toBeCloseTo(droplet + quote.disk!.volumeUsd, 6);
    expect(card(quote, 3000 * GIB)).toMatch(/💾 Disk: 25 GiB is too small for 3\.08 TiB \(files and margin\), so a 3580 GiB volume is attached \(about \$[\d.]+, in the estimate\) and deleted with the droplet\./);
  });
});
