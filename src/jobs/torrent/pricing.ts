// What a droplet costs: DigitalOcean's billing rule (in one function) and the torrent job's estimate,
// broken down into boot, metadata, download and transfer time plus outbound transfer.

const SECONDS_PER_HOUR = 3600;
export const GIB = 1024 ** 3;
/** Hours in DigitalOcean's billing month: a droplet never costs more than its monthly price. */
const HOURS_PER_BILLING_MONTH = 672;
/** Outbound transfer beyond the allowance: $0.01 per GiB (inbound is free). */
const EGRESS_USD_PER_GIB = 0.01;

/**
 * DigitalOcean's charge for a droplet that existed `seconds`.
 * Rule: since 2026-01-01 droplets are billed per second, with a minimum charge of 60 seconds or $0.01,
 * whichever is higher; the monthly price caps the total (672 hours). Before 2026 billing was hourly with a
 * one-hour minimum. Source: DigitalOcean community answer "droplet-billing-is-it-granular-after-the-first-hour"
 * and DigitalOcean's pricing page (docs.digitalocean.com/products/droplets/details/pricing/), as summarised
 * in shared/design/FACTS.md.
 */
export function billDropletSeconds(seconds: number, priceHourly: number, priceMonthly?: number): number {
  if (!Number.isFinite(seconds) || seconds < 0) throw new Error(`droplet lifetime must be ≥ 0 seconds, got ${seconds}`);
  if (!Number.isFinite(priceHourly) || priceHourly < 0) throw new Error(`hourly price must be ≥ 0, got ${priceHourly}`);
  const billedSeconds = Math.max(seconds, 60);
  let usd = Math.max((billedSeconds / SECONDS_PER_HOUR) * priceHourly, 0.01);
  if (priceMonthly !== undefined && priceMonthly > 0) usd = Math.min(usd, priceMonthly);
  return roundUsd(usd);
}

/**
 * A block storage volume's hourly price: DigitalOcean lists volumes at $0.10 per GiB and month (VOLUME_USD_PER_GIB_MONTH,
 * the default of DO_VOLUME_USD_PER_GIB_MONTH) and, like droplets, bills a month as 672 hours.
 */
export function volumePriceHourly(sizeGib: number, usdPerGibMonth: number): number {
  return (sizeGib * usdPerGibMonth) / HOURS_PER_BILLING_MONTH;
}

export const VOLUME_USD_PER_GIB_MONTH = 0.1;

/**
 * DigitalOcean's charge for a volume that existed `seconds`. FACTS.md has no rule for volumes; the droplet's rule is
 * taken (per second, at least 60 s or $0.01, at most the monthly price), which errs high for a short-lived volume.
 */
export function billVolumeSeconds(seconds: number, priceHourly: number): number {
  return billDropletSeconds(seconds, priceHourly, priceHourly * HOURS_PER_BILLING_MONTH);
}

/** Outbound allowance a droplet of this size accrues while it exists (it accrues per hour, pooled per account). */
export function accruedEgressAllowanceBytes(transferTb: number, seconds: number): number {
  const hours = Math.min(seconds / SECONDS_PER_HOUR, HOURS_PER_BILLING_MONTH);
  // DigitalOcean counts a size's "1 TB" transfer as 1,000 GiB.
  return (transferTb * 1000 * GIB * hours) / HOURS_PER_BILLING_MONTH;
}

export interface TorrentCostInput {
  /** Total size of the torrent's files; null when unknown (a magnet before its metadata). */
  sizeBytes: number | null;
  priceHourly: number;
  priceMonthly?: number;
  /** The size's monthly transfer allowance in TB; its hourly share reduces billable egress. */
  transferTb?: number;
  /** Expected torrent download speed on the droplet. */
  downloadBytesPerSecond: number;
  /** Expected speed of pulling the files from the droplet to the bot. */
  transferBytesPerSecond: number;
  /** Create → SSH ready → provisioned. */
  bootSeconds: number;
  /** Fetching a magnet's metadata (0 for a .torrent file). */
  metadataSeconds: number;
  /** Pooled account allowance known to be unused; default 0 (assume it is spent: estimates err high). */
  poolAllowanceBytes?: number;
}

export interface SecondsBreakdown {
  boot: number;
  metadata: number;
  download: number;
  transfer: number;
  total: number;
}

export interface TorrentCostEstimate {
  known: true;
  seconds: SecondsBreakdown;
  usd: {
    /** The droplet's share of each phase, pro rata; `droplet` is the billed total, minimum charge included. */
    boot: number;
    metadata: number;
    download: number;
    transfer: number;
    droplet: number;
    egress: number;
    total: number;
  };
  egress: { bytes: number; allowanceBytes: number; billableBytes: number };
}

/** For an unknown size: a fixed part plus a figure per GiB. */
export interface PerGibCostEstimate {
  known: false;
  fixed: { seconds: number; usd: number };
  perGib: { seconds: number; usd: number };
}

export function estimateTorrentCost(input: TorrentCostInput): TorrentCostEstimate | PerGibCostEstimate {
  for (const k of ["downloadBytesPerSecond", "transferBytesPerSecond"] as const) {
    if (!(input[k] > 0)) throw new Error(`${k} must be positive, got ${input[k]}`);
  }
  const perHour = input.priceHourly / SECONDS_PER_HOUR;
  if (input.sizeBytes === null) {
    const fixedSeconds = input.bootSeconds + input.metadataSeconds;
    const secondsPerGib = GIB / input.downloadBytesPerSecond + GIB / input.transferBytesPerSecond;
    return {
      known: false,
      fixed: { seconds: fixedSeconds, usd: billDropletSeconds(fixedSeconds, input.priceHourly, input.priceMonthly) },
      perGib: { seconds: secondsPerGib, usd: roundUsd(secondsPerGib * perHour + EGRESS_USD_PER_GIB) },
    };
  }
  const seconds = {
    boot: input.bootSeconds,
    metadata: input.metadataSeconds,
    download: input.sizeBytes / input.downloadBytesPerSecond,
    transfer: input.sizeBytes / input.transferBytesPerSecond,
    total: 0,
  };
  seconds.total = seconds.boot + seconds.metadata + seconds.download + seconds.transfer;
  const allowanceBytes =
    (input.transferTb ? accruedEgressAllowanceBytes(input.transferTb, seconds.total) : 0) + (input.poolAllowanceBytes ?? 0);
  const billableBytes = Math.max(0, input.sizeBytes - allowanceBytes);
  const droplet = billDropletSeconds(seconds.total, input.priceHourly, input.priceMonthly);
  const egress = roundUsd((billableBytes / GIB) * EGRESS_USD_PER_GIB);
  return {
    known: true,
    seconds,
    usd: {
      boot: roundUsd(seconds.boot * perHour),
      metadata: roundUsd(seconds.metadata * perHour),
      download: roundUsd(seconds.download * perHour),
      transfer: roundUsd(seconds.transfer * perHour),
      droplet,
      egress,
      total: roundUsd(droplet + egress),
    },
    egress: { bytes: input.sizeBytes, allowanceBytes, billableBytes },
  };
}

/** Dollars to a millionth: enough for per-second prices, free of float noise in comparisons and logs. */
function roundUsd(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
