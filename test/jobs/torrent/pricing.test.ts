// DigitalOcean's billing rule and the torrent estimate, with figures worked out by hand.
import { describe, expect, it } from "vitest";
import { accruedEgressAllowanceBytes, billDropletSeconds, estimateTorrentCost, GIB } from "../../../src/jobs/torrent/pricing.js";

describe("billDropletSeconds: per second, minimum 60 s or $0.01, capped at the monthly price", () => {
  it.each([
    [10, 0.00893, 0.01], // 60 s minimum → $0.000149 → $0.01 minimum
    [0, 0.00595, 0.01],
    [3600, 0.00893, 0.01], // a whole hour of the $6 size is still under a cent
    [7200, 0.00893, 0.01786],
    [90, 0.5, 0.0125], // per second above the minimum
    [30, 1.2, 0.02], // 60 s of a $1.20/h size beats the $0.01 floor
    [61, 0.72, 0.0122],
  ])("%d s at $%d/h costs $%d", (seconds, hourly, usd) => {
    expect(billDropletSeconds(seconds, hourly)).toBe(usd);
  });

  it("never exceeds the monthly price", () => {
    expect(billDropletSeconds(800 * 3600, 0.00893, 6)).toBe(6);
    expect(billDropletSeconds(100 * 3600, 0.00893, 6)).toBe(0.893);
  });

  it("refuses nonsense", () => {
    expect(() => billDropletSeconds(-1, 0.01)).toThrow(/≥ 0 seconds/);
    expect(() => billDropletSeconds(10, Number.NaN)).toThrow(/hourly price/);
  });
});

describe("estimateTorrentCost", () => {
  it("breaks a 1 GiB torrent on s-1vcpu-1gb into phases and outbound transfer", () => {
    const e = estimateTorrentCost({
      sizeBytes: GIB,
      priceHourly: 0.00893,
      transferTb: 1,
      downloadBytesPerSecond: 50e6,
      transferBytesPerSecond: 20e6,
      bootSeconds: 60,
      metadataSeconds: 5,
    });
    if (!e.known) throw new Error("expected a known-size estimate");
    expect(e.seconds.download).toBeCloseTo(21.4748, 4);
    expect(e.seconds.transfer).toBeCloseTo(53.6871, 4);
    expect(e.seconds.total).toBeCloseTo(140.1619, 4);
    expect(e.usd.droplet).toBe(0.01); // 140 s is $0.00035: the $0.01 minimum applies
    expect(e.usd.download).toBe(0.000053); // 21.47 s × $0.00893/h, to the millionth
    // 140 s accrue 1000 GiB × (140.16/3600)/672 ≈ 59.3 MiB of allowance; the rest is billed at $0.01/GiB.
    expect(e.egress.allowanceBytes).toBeCloseTo(62_209_707.29, 0);
    expect(e.usd.egress).toBe(0.009421);
    expect(e.usd.total).toBe(0.019421);
  });

  it("prices a 50 GiB torrent on s-4vcpu-8gb", () => {
    const e = estimateTorrentCost({
      sizeBytes: 50 * GIB,
      priceHourly: 0.07143,
      transferTb: 5,
      downloadBytesPerSecond: 50e6,
      transferBytesPerSecond: 50e6,
      bootSeconds: 60,
      metadataSeconds: 10,
    });
    if (!e.known) throw new Error("expected a known-size estimate");
    expect(e.seconds.total).toBeCloseTo(2217.4836, 4);
    expect(e.usd.droplet).toBe(0.043999);
    expect(e.usd.egress).toBe(0.454169);
    expect(e.usd.total).toBe(0.498168);
  });

  it("counts a known unused pool allowance against outbound transfer", () => {
    const e = estimateTorrentCost({
      sizeBytes: 2 * GIB,
      priceHourly: 0.00893,
      downloadBytesPerSecond: 1e8,
      transferBytesPerSecond: 1e8,
      bootSeconds: 30,
      metadataSeconds: 0,
      poolAllowanceBytes: 100 * GIB,
    });
    expect(e.known && e.usd.egress).toBe(0);
  });

  it("gives a fixed part and a per-GiB figure when the size is unknown", () => {
    const e = estimateTorrentCost({
      sizeBytes: null,
      priceHourly: 0.00893,
      downloadBytesPerSecond: 50e6,
      transferBytesPerSecond: 20e6,
      bootSeconds: 60,
      metadataSeconds: 5,
    });
    if (e.known) throw new Error("expected a per-GiB estimate");
    expect(e.fixed).toEqual({ seconds: 65, usd: 0.01 });
    expect(e.perGib.seconds).toBeCloseTo(75.1619, 4);
    expect(e.perGib.usd).toBe(0.010186);
  });

  it("accrues the transfer allowance per hour of the 672-hour month", () => {
    expect(accruedEgressAllowanceBytes(1, 672 * 3600)).toBe(1000 * GIB);
    expect(accruedEgressAllowanceBytes(1, 2 * 672 * 3600)).toBe(1000 * GIB);
    expect(accruedEgressAllowanceBytes(0.5, 3600)).toBeCloseTo((500 * GIB) / 672, 0);
  });
});
