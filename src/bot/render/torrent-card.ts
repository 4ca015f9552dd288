// The card answering a magnet or .torrent: what it is, the droplet it will use, and what it should cost.
import { formatBytes, formatDuration, formatUsd, shortenMiddle } from "./format.js";
import { code, escapeHtml, fitMessage } from "./telegram-html.js";

export interface TorrentCardInput {
  /** Display name (magnet `dn` or the .torrent's name); null when the magnet carries none. */
  name: string | null;
  /** Total size when known (magnet `xl` or the .torrent); null until the metadata arrives. */
  sizeBytes: number | null;
  fileCount?: number | null;
  infoHash?: string | null;
  sizeSlug: string;
  region: string;
  /** The size's price per hour; null when the size is not offered (the estimate then says so). */
  priceHourlyUsd: number | null;
  estimate: {
    /** Total time and cost; null when the torrent's size is unknown. */
    seconds: number | null;
    usd: number | null;
    /** Per-GB figures used when the size is unknown. */
    usdPerGb?: number | null;
    secondsPerGb?: number | null;
    breakdown: { label: string; seconds: number }[];
  };
  /** How the droplet's disk holds the torrent (a bigger size, a volume), plain text; null when the size is unknown. */
  disk?: string | null;
  /** Where the assumed download speed comes from, plain text, e.g. "at 12 MiB/s, the median of your last 5 downloads". */
  speedNote?: string | null;
  /** What arrives in the chat besides the links (Telegram HTML, from renderDeliveryLine). */
  delivery?: string | null;
  /** Lines worth showing under the estimate (e.g. "over your per-job budget of $1.00"), plain text. */
  notes?: string[];
  /** "Seed after download" and what it adds (render/seeding.ts), plain text. */
  seedLine?: string | null;
  /** A .torrent's file picker (Telegram HTML lines, render/file-picker.ts); the estimate is then the chosen files'. */
  picker?: string[] | null;
}

export interface RenderedMessage {
  /** Telegram HTML (parse_mode "HTML"), within the 4096-character limit. */
  text: string;
}

export function renderTorrentCard(input: TorrentCardInput): RenderedMessage {
  const lines = [`🧲 <b>${escapeHtml(shortenMiddle(input.name ?? "Unnamed torrent", 200))}</b>`];
  if (input.infoHash) lines.push(code(input.infoHash));
  lines.push(sizeLine(input));
  const price = input.priceHourlyUsd === null ? "price unknown" : `${formatUsd(input.priceHourlyUsd)}/h`;
  lines.push(`Droplet: ${code(input.sizeSlug)} in ${code(input.region)} · ${price}`);
  if (input.disk) lines.push(`💾 ${escapeHtml(input.disk)}`);
  lines.push(estimateLine(input));
  const breakdown = input.estimate.breakdown.filter((b) => b.seconds > 0);
  if (breakdown.length > 0) {
    lines.push(`<i>${breakdown.map((b) => `${escapeHtml(b.label)} ${formatDuration(b.seconds)}`).join(" · ")}</i>`);
  }
  if (input.speedNote) lines.push(`<i>${escapeHtml(input.speedNote)}</i>`);
  if (input.delivery) lines.push(input.delivery);
  if (input.seedLine) lines.push(escapeHtml(input.seedLine));
  for (const note of input.notes ?? []) lines.push(`⚠️ ${escapeHtml(note)}`);
  if (input.picker) lines.push("", ...input.picker);
  lines.push("", "Press <b>Start</b> to rent the droplet, or <b>Cancel</b>.");
  return { text: fitMessage(lines.join("\n")) };
}

function sizeLine(input: TorrentCardInput): string {
  if (input.sizeBytes === null) return "Size: unknown until the metadata arrives";
  const files = input.fileCount ? ` · ${input.fileCount} file${input.fileCount === 1 ? "" : "s"}` : "";
  return `Size: ${formatBytes(input.sizeBytes)}${files}`;
}

function estimateLine(input: TorrentCardInput): string {
  const e = input.estimate;
  const label = input.picker ? "Estimate for the chosen files" : "Estimate";
  if (e.usd !== null && e.seconds !== null) return `${label}: ~${formatDuration(e.seconds)}, about <b>${formatUsd(e.usd)}</b>`;
  if (input.priceHourlyUsd === null) return "Estimate: not possible, this droplet size has no known price";
  const parts: string[] = [];
  if (e.usdPerGb != null) parts.push(`about <b>${formatUsd(e.usdPerGb)}</b> per GB`);
  if (e.secondsPerGb != null) parts.push(`~${formatDuration(e.secondsPerGb)} per GB`);
  return parts.length > 0 ? `Estimate: size unknown, ${parts.join(", ")}` : "Estimate: size unknown";
}
