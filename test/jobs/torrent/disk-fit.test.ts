// The disk a torrent gets before its droplet exists: the cheapest size whose disk holds it, or DO_SIZE with a volume;
// volume sizes and prices. The catalog is the fake DigitalOcean's, at DigitalOcean's prices.
import { describe, expect, it } from "vitest";
import { planDisk, roomNeeded, volumeEstimateUsd, volumeGibFor, type SizeOption } from "../../../src/jobs/torrent/disk-fit.js";
import { billVolumeSeconds, estimateTorrentCost, GIB, volumePriceHourly } from "../../../src/jobs/torrent/pricing.js";
import { defaultSizes } from "../../world/fake-digitalocean-catalog.js";

const SIZES: SizeOption[] = defaultSizes().map((s) => ({
  slug: s.slug,
  priceHourly: s.price_hourly,
  priceMonthly: s.price_monthly,
  transferTb: s.transfer,
  diskGb: s.disk,
  vcpus: s.vcpus,
  memoryMb: s.memory,
  regions: s.regions,
  available: s.available,
}));
const size = (slug: string) => SIZES.find((s) => s.slug === slug)!;
const SETTINGS = { marginPercent: 5, marginBytes: 64 * 1024 * 1024, volumeUsdPerGibMonth: 0.1 };
const MB = 1_000_000;

/** The card's estimate for a torrent of `bytes` on `s` (plus a volume), as the quoter computes it. */
function usdFor(bytes: number, speed = 50 * MB) {
  return (s: SizeOption, gib: number | null) => {
    const e = estimateTorrentCost({
      sizeBytes: bytes,
      priceHourly: s.priceHourly,
      priceMonthly: s.priceMonthly,
      transferTb: s.transferTb,
      downloadBytesPerSecond: speed,
      transferBytesPerSecond: speed,
      bootSeconds: 90,
      metadataSeconds: 0,
    });
    if (!e.known) throw new Error("size is known");
    return e.usd.total + (gib === null ? 0 : volumeEstimateUsd(gib, e.seconds.total, 0.1));
  };
}

const plan = (bytes: number, base = "s-1vcpu-1gb", speed?: number) =>
  planDisk({ bytes, base: size(base), sizes: SIZES, region: "fra1", settings: SETTINGS, usdFor: usdFor(bytes, speed) });

describe("room and volumes", () => {
  it("keeps the margin on top of the files and sizes a volume so that ext4 leaves that much available", () => {
    expect(roomNeeded(1000 * MB, SETTINGS)).toBe(1050 * MB + 64 * 1024 * 1024);
    expect(roomNeeded(0, { ...SETTINGS, marginBytes: 0 })).toBe(0);
    expect(volumeGibFor(1)).toBe(1);
    // 2 GiB of ext4 has 1.78 GiB available (measured 1,916,198,912 bytes): 1.5 GiB needs 2 GiB, 1.9 GiB needs 3.
    expect(volumeGibFor(1.5 * GIB)).toBe(2);
    expect(volumeGibFor(1.9 * GIB)).toBe(3);
    expect(volumeGibFor(100 * GIB)).toBe(114);
  });

  it("prices a volume at $0.10 per GiB and month, billed by the second with DigitalOcean's minimum", () => {
    expect(volumePriceHourly(100, 0.1)).toBeCloseTo(10 / 672, 6);
    expect(billVolumeSeconds(30, volumePriceHourly(2, 0.1))).toBe(0.01); // the minimum
    expect(billVolumeSeconds(24 * 3600, volumePriceHourly(1000, 0.1))).toBeCloseTo((1000 * 0.1 * 24) / 672, 4);
    expect(billVolumeSeconds(10_000 * 3600, volumePriceHourly(10, 0.1))).toBeCloseTo(1, 6); // capped at the month's price
    expect(volumeEstimateUsd(50, 600, 0.1)).toBe(0.01);
  });
});

describe("planDisk: the disk a torrent of known size gets", () => {
  it("keeps DO_SIZE when its disk holds the files", () => {
    const r = plan(10 * GIB);
    expect("plan" in r && r.plan).toMatchObject({ size: { slug: "s-1vcpu-1gb" }, volumeGib: null });
  });

  it("takes the cheapest bigger size when its disk holds the files and costs less than a volume", () => {
    // 40 GiB: the 25 GiB disk is too small. Bigger sizes stay at DigitalOcean's $0.01 minimum for the job's minutes and
    // accrue more of the outbound allowance the pull uses; DO_SIZE plus a volume pays two minimums.
    const r = plan(40 * GIB);
    if (!("plan" in r)) throw new Error(r.refused);
    expect(r.plan.volumeGib).toBeNull();
    expect(r.plan.size.diskGb * GIB).toBeGreaterThanOrEqual(r.plan.needBytes + 3 * GIB);
    const withVolume = usdFor(40 * GIB)(size("s-1vcpu-1gb"), volumeGibFor(r.plan.needBytes));
    expect(r.plan.usd).toBeLessThan(withVolume);
    const holding = SIZES.filter((s) => s.available && s.regions.includes("fra1") && s.diskGb * GIB - 3 * GIB >= r.plan.needBytes);
    expect(holding.length).toBeGreaterThan(3);
    for (const s of holding) expect(usdFor(40 * GIB)(s, null)).toBeGreaterThanOrEqual(r.plan.usd);
  });

  it("attaches a volume when no size's disk holds the files", () => {
    const r = plan(2000 * GIB);
    if (!("plan" in r)) throw new Error(r.refused);
    expect(r.plan.size.slug).toBe("s-1vcpu-1gb");
    expect(r.plan.volumeGib).toBe(volumeGibFor(roomNeeded(2000 * GIB, SETTINGS)));
    expect(r.plan.volumeGib).toBeGreaterThan(2000);
  });

  it("attaches a volume when that is cheaper than a bigger droplet for a long job", () => {
    // At 1 MB/s a 100 GiB torrent keeps its droplet ~60 hours: a size with a 160 GiB disk costs more than DO_SIZE and a volume.
    const r = plan(100 * GIB, "s-1vcpu-1gb", 1 * MB);
    if (!("plan" in r)) throw new Error(r.refused);
    // 100 GiB + 5% + 64 MiB = 105.06 GiB available needs 105.06 / 0.88 → 120 GiB of volume.
    expect(r.plan).toMatchObject({ size: { slug: "s-1vcpu-1gb" }, volumeGib: 120 });
    const bigger = SIZES.filter((s) => s.regions.includes("fra1") && s.available && s.diskGb * GIB - 3 * GIB >= r.plan.needBytes);
    for (const s of bigger) expect(usdFor(100 * GIB, 1 * MB)(s, null)).toBeGreaterThan(r.plan.usd);
  });

  it("never goes below DO_SIZE's vCPUs or memory, and only to sizes offered in the region", () => {
    const r = plan(40 * GIB, "s-2vcpu-4gb");
    if (!("plan" in r)) throw new Error(r.refused);
    expect(r.plan.size.vcpus).toBeGreaterThanOrEqual(2);
    expect(r.plan.size.memoryMb).toBeGreaterThanOrEqual(4096);
    expect(r.plan.size.regions).toContain("fra1");
  });

  it("refuses with the numbers when even a 16 TiB volume is too small", () => {
    const r = plan(20_000 * GIB);
    expect(r).toEqual({ refused: expect.stringMatching(/^no droplet size offered in fra1 has room for 20\.\d TiB, and a volume can hold at most 16384 GiB$/) });
  });
});
