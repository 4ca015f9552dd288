// The card's numbers: what a torrent should cost and take on the configured droplet, and whether budgets allow it.
import { estimateTorrentCost, type PerGibCostEstimate, type TorrentCostEstimate } from "./pricing.js";
import type { DropletSize } from "./torrent-ports.js";
import type { JobStore } from "../job-store.js";
import type { Admission, TorrentBudget } from "./torrent-budget.js";

export interface QuoteSettings {
  size: string;
  region: string;
  speedBytesPerSecond: number;
}

export interface SizeCatalog {
  getSize(slug: string): Promise<DropletSize | null>;
  sizeProblem(size: string, region: string): Promise<string | null>;
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

  /** The card for a torrent `userId` sent: what it should cost and take, and whether Start would be refused now. */
  async quote(req: { sizeBytes: number | null; hasTorrentFile: boolean }, userId: number): Promise<TorrentQuote> {
    const { size, region, speedBytesPerSecond } = this.deps.settings;
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
      return { size, region, priceHourly: info?.priceHourly ?? null, estimate: null, usd: null, seconds: null, blocker, speed, boot };
    }
    const estimate = estimateTorrentCost({
      sizeBytes: req.sizeBytes,
      priceHourly: info.priceHourly,
      priceMonthly: info.priceMonthly,
      transferTb: info.transferTb,
      downloadBytesPerSecond: speed.bytesPerSecond,
      transferBytesPerSecond: speedBytesPerSecond,
      bootSeconds: boot.seconds,
      metadataSeconds: req.hasTorrentFile ? 0 : MAGNET_METADATA_SECONDS,
    });
    const usd = estimate.known ? estimate.usd.total : null;
    const seconds = estimate.known ? estimate.seconds.total : null;
    return { size, region, priceHourly: info.priceHourly, estimate, usd, seconds, blocker: this.deps.budget.blocker(userId, usd), speed, boot };
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

/** The middle value; of an even count the mean of the two middle ones. */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
