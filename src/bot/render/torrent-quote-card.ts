// The card for a requested torrent: the use-case's quote (droplet, estimate, speed, blockers) put into card lines,
// and what will arrive in the chat besides the links.
import type { TorrentQuote } from "../../jobs/torrent/torrent-quote.js";
import type { TorrentFileEntry } from "../../jobs/torrent/torrent-request.js";
import type { RequestedTorrent } from "../../jobs/torrent/torrent-use-cases.js";
import { formatSpeed } from "./format.js";
import { renderTorrentCard, type RenderedMessage, type TorrentCardInput } from "./torrent-card.js";
import { renderDeliveryLine, type DocumentRule } from "./torrent-delivery.js";

export interface CardDelivery {
  /** The torrent's files when a .torrent document named them; null for a magnet. */
  files: TorrentFileEntry[] | null;
  rule: DocumentRule;
}

export function renderRequestedTorrentCard(t: RequestedTorrent, delivery: CardDelivery): RenderedMessage {
  const { quote } = t;
  return renderTorrentCard({
    name: t.name,
    sizeBytes: t.sizeBytes,
    fileCount: t.fileCount,
    infoHash: t.infoHash,
    sizeSlug: quote.size,
    region: quote.region,
    priceHourlyUsd: quote.priceHourly,
    estimate: cardEstimate(quote),
    speedNote:
      quote.speed.source === "history"
        ? `Download speed ${formatSpeed(quote.speed.bytesPerSecond)}: the median of the last ${quote.speed.samples} downloads.`
        : null,
    delivery: renderDeliveryLine({ files: delivery.files, totalBytes: t.sizeBytes }, delivery.rule),
    notes: quote.blocker ? [`Start is blocked: ${quote.blocker}`] : [],
  });
}

/** The estimate as the card shows it: totals with a per-step breakdown, or per-GB figures when the size is unknown. */
function cardEstimate(q: TorrentQuote): TorrentCardInput["estimate"] {
  const e = q.estimate;
  if (!e) return { seconds: null, usd: null, breakdown: [] };
  if (!e.known) return { seconds: null, usd: null, usdPerGb: e.perGib.usd, secondsPerGb: e.perGib.seconds, breakdown: [{ label: "boot", seconds: e.fixed.seconds }] };
  return {
    seconds: e.seconds.total,
    usd: e.usd.total,
    breakdown: [
      { label: "boot", seconds: e.seconds.boot },
      { label: "metadata", seconds: e.seconds.metadata },
      { label: "download", seconds: e.seconds.download },
      { label: "transfer", seconds: e.seconds.transfer },
    ],
  };
}
