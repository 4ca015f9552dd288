// The one live message of a running torrent job: the phases, a text progress bar and the cost so far.
import { formatBytes, formatDuration, formatPercent, formatSpeed, formatUsd, progressBar, shortenMiddle } from "./format.js";
import { escapeHtml, fitMessage } from "./telegram-html.js";
import type { RenderedMessage } from "./torrent-card.js";
import { renderPickerSection, type PickerFigures } from "./file-picker.js";
import { seedingLines, type SeedingFigures } from "./seeding.js";

/** The phases a user sees, in order; each maps to one or more job states. */
export const TORRENT_PHASES = [
  { id: "creating", label: "Creating droplet" },
  { id: "booting", label: "Booting" },
  { id: "provisioning", label: "Provisioning" },
  { id: "metadata", label: "Fetching metadata" },
  { id: "downloading", label: "Downloading" },
  { id: "transferring", label: "Transferring" },
  { id: "seeding", label: "Seeding" },
  { id: "cleaning", label: "Cleaning up" },
] as const;

export type TorrentPhase = (typeof TORRENT_PHASES)[number]["id"];

export interface ByteProgress {
  completedBytes: number;
  totalBytes: number;
  speedBytesPerSecond: number;
  etaSeconds?: number | null;
}

export interface TorrentProgressInput {
  phase: TorrentPhase;
  name: string | null;
  download?: (ByteProgress & { seeders: number; peers: number }) | null;
  transfer?: (ByteProgress & { filesDone?: number; filesTotal?: number }) | null;
  costSoFarUsd: number;
  elapsedSeconds: number;
  /** A short detail for the current phase, e.g. the provisioning task's name; plain text. */
  detail?: string | null;
  /** The job was picked up after the bot restarted. */
  resumed?: boolean;
  /** A volume attached to the droplet for room. */
  volume?: { sizeGib: number; priceHourly: number } | null;
  /** The job waits for its owner: the real size breaks a cap. */
  question?: {
    realBytes: number;
    claimedBytes: number | null;
    fileCount: number;
    chosenOf?: number | null;
    estimateUsd: number | null;
    estimateSeconds: number | null;
    overCap: string;
    deadline: number;
  } | null;
  /** Once the metadata is in: the real torrent, and its estimate (for the chosen files once chosen). */
  summary?: {
    totalBytes: number;
    fileCount: number;
    estimateUsd: number | null;
    estimateSeconds: number | null;
    chosen?: { count: number; bytes: number } | null;
  } | null;
  /** The job waits for its owner to choose files. */
  picker?: PickerFigures | null;
  /** The card's "Seed after download" line; absent or null: the job does not seed (no Seeding phase shown). */
  seedLine?: string | null;
  /** The droplet seeds, the files home: ratio and upload so far. */
  seeding?: SeedingFigures | null;
}

const MARK = { done: "✅", current: "▶️", pending: "▫️" };

export function renderTorrentProgress(input: TorrentProgressInput): RenderedMessage {
  const current = TORRENT_PHASES.findIndex((p) => p.id === input.phase);
  const lines = [`⏬ <b>${escapeHtml(shortenMiddle(input.name ?? "Unnamed torrent", 200))}</b>`];
  if (input.summary) lines.push(summaryLine(input.summary));
  lines.push("");
  TORRENT_PHASES.forEach((phase, i) => {
    if (phase.id === "seeding" && !input.seedLine && input.phase !== "seeding") return;
    const mark = i < current ? MARK.done : i === current ? MARK.current : MARK.pending;
    lines.push(`${mark} ${phase.label}`);
    if (i !== current) return;
    if (input.detail) lines.push(`<i>${escapeHtml(shortenMiddle(input.detail, 120))}</i>`);
    if (phase.id === "downloading" && input.download) {
      lines.push(...byteLines(input.download));
      lines.push(`Seeders ${input.download.seeders} · peers ${input.download.peers}`);
    }
    // Files aria2 has finished are pulled while the rest downloads.
    const early = phase.id === "downloading" ? input.transfer : null;
    if (early?.filesDone && early.filesTotal) lines.push(`📥 ${early.filesDone} of ${early.filesTotal} files already saved by the bot`);
    if (phase.id === "transferring" && input.transfer) {
      lines.push(...byteLines(input.transfer));
      const { filesDone, filesTotal } = input.transfer;
      if (filesTotal !== undefined) lines.push(`File ${Math.min((filesDone ?? 0) + 1, filesTotal)} of ${filesTotal}`);
    }
    if (phase.id === "seeding" && input.seeding) lines.push(...seedingLines(input.seeding).map(escapeHtml));
  });
  if (input.volume) {
    lines.push("", `💾 ${input.volume.sizeGib} GiB volume attached (${formatUsd(input.volume.priceHourly)}/h, in the cost); it goes with the droplet.`);
  }
  if (input.seedLine && input.phase !== "seeding") lines.push("", escapeHtml(input.seedLine));
  if (input.picker) lines.push("", ...renderPickerSection(input.picker));
  if (input.question) lines.push("", ...questionLines(input.question));
  if (input.resumed) lines.push("", "↻ Resumed after a restart: nothing done before it is lost.");
  lines.push("", `Elapsed ${formatDuration(input.elapsedSeconds)} · cost so far ${formatUsd(input.costSoFarUsd)}`);
  return { text: fitMessage(lines.join("\n")) };
}

/** "<code>▓▓▓░░░</code> 42%" and "210 MiB of 500 MiB · 12.3 MiB/s · ETA 24s"; no bar until the total is known. */
function byteLines(p: ByteProgress): string[] {
  const speed = formatSpeed(p.speedBytesPerSecond);
  if (p.totalBytes <= 0) return [`${formatBytes(p.completedBytes)} · ${speed}`];
  const fraction = p.completedBytes / p.totalBytes;
  const eta = p.etaSeconds == null ? "" : ` · ETA ${formatDuration(p.etaSeconds)}`;
  return [
    `<code>${progressBar(fraction)}</code> ${formatPercent(fraction)}`,
    `${formatBytes(p.completedBytes)} of ${formatBytes(p.totalBytes)} · ${speed}${eta}`,
  ];
}

/** "📦 300 MiB in 12 files · 2 chosen, 48 MiB · estimate ~2m, about $0.01" */
function summaryLine(s: NonNullable<TorrentProgressInput["summary"]>): string {
  const parts = [`📦 ${formatBytes(s.totalBytes)} in ${s.fileCount} file${s.fileCount === 1 ? "" : "s"}`];
  if (s.chosen) parts.push(`${s.chosen.count} chosen, ${formatBytes(s.chosen.bytes)}`);
  if (s.estimateUsd !== null) {
    const time = s.estimateSeconds === null ? "" : `~${formatDuration(s.estimateSeconds)}, `;
    parts.push(`estimate ${time}about ${formatUsd(s.estimateUsd)}`);
  }
  return parts.join(" · ");
}

function questionLines(q: NonNullable<TorrentProgressInput["question"]>): string[] {
  const files = `${q.fileCount} file${q.fileCount === 1 ? "" : "s"}`;
  const claimed = q.claimedBytes === null ? "the link did not say its size" : `not ${formatBytes(q.claimedBytes)} as the link said`;
  const estimate = q.estimateUsd === null ? "" : ` New estimate: ${formatUsd(q.estimateUsd)}${q.estimateSeconds === null ? "" : `, about ${formatDuration(q.estimateSeconds)}`}.`;
  const deadline = new Date(q.deadline).toISOString().slice(11, 16);
  const what = q.chosenOf
    ? `⚠️ <b>The ${files} chosen (of ${q.chosenOf}) are ${formatBytes(q.realBytes)}</b>.`
    : `⚠️ <b>The torrent is ${formatBytes(q.realBytes)} in ${files}</b> (${escapeHtml(claimed)}).`;
  return [
    `${what}${escapeHtml(estimate)}`,
    `That breaks a budget: ${escapeHtml(q.overCap)}.`,
    `<b>Continue</b> anyway (the per-job budget still stops it), or <b>Cancel</b> (the droplet is destroyed). No answer by ${deadline} UTC cancels it.`,
  ];
}
