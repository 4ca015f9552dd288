// The card for a requested torrent: the use-case's quote (droplet, estimate, speed, blockers) put into card lines,
// and what will arrive in the chat besides the links.
import type { TorrentQuote } from "../../jobs/torrent/torrent-quote.js";
import type { TorrentFileEntry } from "../../jobs/torrent/torrent-request.js";
import type { RequestedTorrent } from "../../jobs/torrent/torrent-use-cases.js";
import { formatBytes, formatDuration, formatSpeed, formatUsd } from "./format.js";
import { renderTorrentCard, type RenderedMessage, type TorrentCardInput } from "./torrent-card.js";
import { renderDeliveryLine, type DocumentRule } from "./torrent-delivery.js";
import { renderPickerSection } from "./file-picker.js";
import { seedPolicyLine } from "./seeding.js";

export interface CardDelivery {
  /** The torrent's files when a .torrent document named them (the chosen ones, once a picker chose); null for a magnet. */
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
    disk: diskLine(quote),
    speedNote: learnedNote(quote),
    delivery: renderDeliveryLine({ files: delivery.files, totalBytes: t.sizeBytes }, delivery.rule),
    seedLine: seedPolicyLine(t.seed.policy, t.seed.cost),
    notes: quote.blocker ? [`Start is blocked: ${quote.blocker}`] : [],
    // The card's own estimate line prices the chosen files: the picker needs no second one.
    picker: t.picker ? renderPickerSection({ view: t.picker, estimateUsd: null, estimateSeconds: null }) : null,
  });
}

/** Where the files go: the droplet's own disk, a bigger size's, or a volume (which one the quote chose, and why). */
function diskLine(q: TorrentQuote): string | null {
  const d = q.disk;
  if (!d) return null;
  const need = formatBytes(d.needBytes);
  if (d.volumeGib !== null) {
    return `Disk: ${d.diskGb} GiB is too small for ${need} (files and margin), so a ${d.volumeGib} GiB volume is attached (about ${formatUsd(d.volumeUsd)}, in the estimate) and deleted with the droplet.`;
  }
  if (d.insteadOf) return `Disk: ${q.size} instead of ${d.insteadOf}, for its ${d.diskGb} GiB disk: the files and margin need ${need}.`;
  return `Disk: ${need} of the droplet's ${d.diskGb} GiB.`;
}

/** What the estimate learned from finished jobs (boot, download speed), in one line; null while it knows nothing yet. */
function learnedNote(q: TorrentQuote): string | null {
  const notes: string[] = [];
  if (q.boot.source === "history") notes.push(`Boot ≈ ${formatDuration(q.boot.seconds)}: the median of the last ${q.boot.samples} jobs.`);
  if (q.speed.source === "history") notes.push(`Download speed ${formatSpeed(q.speed.bytesPerSecond)}: the median of the last ${q.speed.samples} downloads.`);
  return notes.length > 0 ? notes.join(" ") : null;
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
