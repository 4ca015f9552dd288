// The card's numbers: what a torrent should cost and take on the droplet chosen for it (DO_SIZE, or a size or volume
// whose disk holds a torrent of known size: disk-fit.ts), and whether budgets allow it.
import { estimateTorrentCost, type PerGibCostEstimate, type TorrentCostEstimate } from "./pricing.js";
import { planDisk, volumeEstimateUsd, type DiskSettings, type SizeOption } from "./disk-fit.js";
import type { DropletSize } from "./torrent-ports.js";
import type { JobStore } from "../job-store.js";
import type { Admission, TorrentBudget } from "./torrent-budget.js";

export interface QuoteSettings {
  size: string;
  region: string;
  speedBytesPerSecond: number;
  /** With it, a torrent of known size gets a droplet whose disk holds it (or a volume); without, always DO_SIZE. */
  disk?: DiskSettings;
}

export interface SizeCatalog {
  getSize(slug: string): Promise<DropletSize | null>;
  sizeProblem(size: string, region: string): Promise<string | null>;
  /** Every size, for choosing one whose disk holds the torrent (only asked when QuoteSettings.disk is set). */
  listSizes?(): Promise<SizeOption[]>;
}

/** Where the torrent's files go on the droplet, when their size is known. */
export interface DiskChoice {
  /** The chosen size's disk, in GiB. */
  diskGb: number;
  /** DO_SIZE, when a bigger size was chosen instead for its disk. */
  insteadOf: string | null;
  /** A volume to attach (GiB) and its share of the estimate, or null: the droplet's disk holds the files. */
  volumeGib: number | null;
  volumeUsd: number;
  /** The room the files need, margin included. */
  needBytes: number;
}

export interface TorrentQuote {
  size: string;
  region: string;
  priceHourly: number | null;
  estimate: TorrentCostEstimate | PerGibCostEstimate | null;
  /** Total when the torrent's size is known. */
  usd: number | null;
  seconds: number | null;
  /** Why Start would be refused right now (size not offered, over a budget); null when it may start. */
  blocker: string | null;
  /** The download speed the estimate assumed, and where it came from. */
  speed: { bytesPerSecond: number; source: "history" | "config"; samples: number };
  /** Droplet request → provisioned, as the estimate assumed it, and where it came from. */
  boot: { seconds: number; source: "history" | "default"; samples: number };
  /** How the disk holds a torrent of known size; null when the size is unknown or no choice was made. */
  disk: DiskChoice | null;
}

/** The card cannot be priced now (DigitalOcean did not answer for its sizes): nothing was recorded, the link can be sent again. */
export class QuoteUnavailable extends Error {
  override readonly name = "QuoteUnavailable";
}

/** Finished downloads smaller than this say more about start-up than about speed. */
const MIN_SAMPLE_BYTES = 20 * 1024 * 1024;
const HISTORY = 10;
const MIN_SAMPLES = 3;

// Until finished jobs say otherwise. Measured on DigitalOcean: active in ~30–60 s, SSH ~20 s later, provisioning
// ~20 s when cloud-init installed aria2.
const BOOT_SECONDS = 90;
const MAGNET_METADATA_SECONDS = 20;

export class TorrentQuoter {
  constructor(
    private readonly deps: {
      sizes: SizeCatalog;
      store: JobStore;
      settings: QuoteSettings;
      /** The caps a Start must fit (torrent-budget.ts). */
      budget: Pick<TorrentBudget, "blocker" | "admit">;
    },
  ) {}

  /**
   * The card for a torrent `userId` sent: what it should cost and take, and whether Start would be refused now. `size`
   * fixes the droplet size (a running job's), with no choice of disk.
   */
  async quote(req: { sizeBytes: number | null; hasTorrentFile: boolean; size?: string }, userId: number): Promise<TorrentQuote> {
    const { region, disk } = this.deps.settings;
    const size = req.size ?? this.deps.settings.size;
    const speed = this.downloadSpeed();
    const boot = this.bootTime();
    let problem: string | null;
    let info: DropletSize | null;
    try {
      [problem, info] = await Promise.all([this.deps.sizes.sizeProblem(size, region), this.deps.sizes.getSize(size)]);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new QuoteUnavailable(`DigitalOcean did not answer when asked for the droplet's price (${why})`, { cause: err });
    }
    if (!info || problem) {
      const blocker = problem ?? `the size ${size} is unknown to DigitalOcean; set DO_SIZE to one it offers`;
      return { size, region, priceHourly: info?.priceHourly ?? null, estimate: null, usd: null, seconds: null, blocker, speed, boot, disk: null };
    }
    const estimateOn = (s: DropletSize) => this.estimate(s, req, speed.bytesPerSecond, boot.seconds);
    const sizes = req.size === undefined && req.sizeBytes !== null && disk && this.deps.sizes.listSizes ? await this.deps.sizes.listSizes() : null;
    const base = sizes?.find((s) => s.slug === size);
    if (sizes && base && disk && req.sizeBytes !== null) {
      const usdFor = (s: SizeOption, gib: number | null) => {
        const e = estimateOn(s);
        return e.known ? roundUsd(e.usd.total + (gib === null ? 0 : volumeEstimateUsd(gib, e.seconds.total, disk.volumeUsdPerGibMonth))) : 0;
      };
      const choice = planDisk({ bytes: req.sizeBytes, base, sizes, region, settings: disk, usdFor });
      if ("refused" in choice) {
        const e = estimateOn(base);
        return { size, region, priceHourly: base.priceHourly, estimate: e, usd: null, seconds: null, blocker: choice.refused, speed, boot, disk: null };
      }
      const { plan } = choice;
      const estimate = estimateOn(plan.size);
      const seconds = estimate.known ? estimate.seconds.total : null;
      const volumeUsd = plan.volumeGib === null || seconds === null ? 0 : volumeEstimateUsd(plan.volumeGib, seconds, disk.volumeUsdPerGibMonth);
      const diskChoice: DiskChoice = {
        diskGb: plan.size.diskGb,
        insteadOf: plan.size.slug === size ? null : size,
        volumeGib: plan.volumeGib,
        volumeUsd,
        needBytes: plan.needBytes,
      };
      const usd = plan.usd;
      return { size: plan.size.slug, region, priceHourly: plan.size.priceHourly, estimate, usd, seconds, blocker: this.deps.budget.blocker(userId, usd), speed, boot, disk: diskChoice };
    }
    const estimate = estimateOn(info);
    const usd = estimate.known ? estimate.usd.total : null;
    const seconds = estimate.known ? estimate.seconds.total : null;
    return { size, region, priceHourly: info.priceHourly, estimate, usd, seconds, blocker: this.deps.budget.blocker(userId, usd), speed, boot, disk: null };
  }

  private estimate(s: DropletSize, req: { sizeBytes: number | null; hasTorrentFile: boolean }, downloadBytesPerSecond: number, bootSeconds: number) {
    return estimateTorrentCost({
      sizeBytes: req.sizeBytes,
      priceHourly: s.priceHourly,
      priceMonthly: s.priceMonthly,
      transferTb: s.transferTb,
      downloadBytesPerSecond,
      transferBytesPerSecond: this.deps.settings.speedBytesPerSecond,
      bootSeconds,
      metadataSeconds: req.hasTorrentFile ? 0 : MAGNET_METADATA_SECONDS,
    });
  }

  /** The median speed of the last finished downloads of a useful size; TORRENT_SPEED_MBPS until there are enough. */
  private downloadSpeed(): TorrentQuote["speed"] {
    const samples = this.deps.store
      .listRecentIn("torrent", "done", HISTORY)
      .map((j) => j.data as { totalBytes?: number; downloadSeconds?: number })
      .filter((d) => (d.totalBytes ?? 0) >= MIN_SAMPLE_BYTES && (d.downloadSeconds ?? 0) > 0)
      .map((d) => d.totalBytes! / d.downloadSeconds!)
      .sort((a, b) => a - b);
    if (samples.length < MIN_SAMPLES) return { bytesPerSecond: this.deps.settings.speedBytesPerSecond, source: "config", samples: 0 };
    return { bytesPerSecond: samples[Math.floor(samples.length / 2)]!, source: "history", samples: samples.length };
  }

  /**
   * Droplet request → provisioned: the median of the last finished jobs' (their recorded state changes), the droplet
   * size's and region's own boot, cloud-init's package install and provisioning together; BOOT_SECONDS until there
   * are enough.
   */
  private bootTime(): TorrentQuote["boot"] {
    const samples = this.deps.store.recentSecondsBetween("torrent", "done", "droplet_requested", "provisioned", HISTORY).filter((s) => s > 0);
    if (samples.length < MIN_SAMPLES) return { seconds: BOOT_SECONDS, source: "default", samples: 0 };
    return { seconds: median(samples), source: "history", samples: samples.length };
  }

  /**
   * Start pressed: the caps are checked again (spending and running droplets change while a card waits) and, if the
   * job fits, it is approved in the same transaction, reserving its estimate.
   */
  admit(jobId: number, userId: number, estimateUsd: number | null): Admission {
    return this.deps.budget.admit(jobId, userId, estimateUsd);
  }
}

function roundUsd(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

/** The middle value; of an even count the mean of the two middle ones. */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
