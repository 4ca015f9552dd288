// The final message of a torrent job: links to every file (as many as fit), which of them also arrive as documents,
// the real cost and duration. It replaces the job's card; the card becomes a one-line pointer only when Telegram
// will not delete it.
import { formatBytes, formatDuration, formatUsd, shortenMiddle } from "./format.js";
import { seedingSummaryLine, type SeedingFigures } from "./seeding.js";
import { escapeHtml, fitMessage, TELEGRAM_MESSAGE_LIMIT, visibleLength } from "./telegram-html.js";
import type { RenderedMessage } from "./torrent-card.js";
import { formatUploadLimit } from "./torrent-delivery.js";

export interface TorrentDoneInput {
  name: string | null;
  /** `asDocument`: the file also follows in the chat as a document (its line starts with 📎 instead of •). */
  files: { path: string; sizeBytes: number; url: string; asDocument?: boolean }[];
  indexUrl: string;
  usd: number;
  seconds: number;
  /** When the links stop working. */
  expiresAt?: Date | null;
  /** The upload limit when this user gets documents (/files on); null or absent: links only, by choice. */
  documentLimitBytes?: number | null;
  /** Something went wrong after the files were saved (the droplet is not destroyed yet, a late Cancel); plain text. */
  warning?: string | null;
  /** A volume was attached for room: its size and its share of `usd`. */
  volume?: { sizeGib: number; usd: number } | null;
  /** The job seeded after its download: what it reached and added. */
  seeding?: (SeedingFigures & { usd: number; endedBy: string }) | null;
}

const FILE_NAME_MAX = 90;

export function renderTorrentDone(input: TorrentDoneInput, limit = TELEGRAM_MESSAGE_LIMIT): RenderedMessage {
  const total = input.files.reduce((sum, f) => sum + f.sizeBytes, 0);
  const count = `${input.files.length} file${input.files.length === 1 ? "" : "s"}`;
  const head = [
    `✅ <b>${escapeHtml(shortenMiddle(input.name ?? "Unnamed torrent", 200))}</b>`,
    `${count}, ${formatBytes(total)} · took ${formatDuration(input.seconds)} · cost <b>${formatUsd(input.usd)}</b>` +
      (input.volume ? ` (droplet ${formatUsd(input.usd - input.volume.usd)} + ${input.volume.sizeGib} GiB volume ${formatUsd(input.volume.usd)})` : ""),
    "",
    `📁 <a href="${escapeHtml(input.indexUrl)}">All files</a>`,
  ];
  const foot: string[] = [""];
  if (input.expiresAt) foot.push(`Links expire ${utcMinute(input.expiresAt)}.`);
  const documents = documentsLine(input);
  if (documents) foot.push(documents);
  if (input.seeding) foot.push(escapeHtml(seedingSummaryLine(input.seeding)));
  if (input.warning) foot.push(`⚠️ ${escapeHtml(input.warning)}.`);
  else foot.push("The droplet is gone.");
  const fileLines = pickFileLines(input.files, limit - visibleLength([...head, ...foot].join("\n")));
  return { text: fitMessage([...head, ...fileLines, ...foot].join("\n"), limit) };
}

/** What follows as documents, and why the rest does not, when the user gets documents at all. */
function documentsLine(input: TorrentDoneInput): string | null {
  if (input.documentLimitBytes == null) return null;
  const n = input.files.length;
  const docs = input.files.filter((f) => f.asDocument).length;
  if (docs === n) return n === 1 ? "📎 The file also follows as a document." : `📎 All ${n} files also follow as documents.`;
  const over = input.files.some((f) => f.sizeBytes > input.documentLimitBytes!) ? ` Over ${formatUploadLimit(input.documentLimitBytes)}, a bot can only link.` : "";
  if (docs === 0) return `Links only.${over}`;
  return `📎 ${docs} of ${n} files also follow as documents; the others only as links.${over}`;
}

/** A file's line: 📎 when it also follows as a document, • when it is only linked. */
function fileLine(f: TorrentDoneInput["files"][number]): string {
  return `${f.asDocument ? "📎" : "•"} <a href="${escapeHtml(f.url)}">${escapeHtml(shortenMiddle(f.path, FILE_NAME_MAX))}</a> · ${formatBytes(f.sizeBytes)}`;
}

/** All file lines when they fit in `budget` visible characters, else the first ones and "… and N more". */
function pickFileLines(files: TorrentDoneInput["files"], budget: number): string[] {
  const lines = files.map(fileLine);
  const cost = (l: string) => visibleLength(l) + 1; // +1 for the newline joining it
  if (lines.reduce((sum, l) => sum + cost(l), 0) <= budget) return lines;
  const more = (n: number) => `… and ${n} more on the index page`;
  const picked: string[] = [];
  let used = cost(more(files.length));
  for (const line of lines) {
    if (used + cost(line) > budget) break;
    picked.push(line);
    used += cost(line);
  }
  return [...picked, more(files.length - picked.length)];
}

function utcMinute(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/**
 * What a job's card says when Telegram refused to delete it (bots cannot delete messages 48 hours old or older):
 * one line pointing at the result message, so the chat never shows the summary twice.
 */
export function renderCardPointer(outcome: "done" | "failed", name: string | null): RenderedMessage {
  const title = `<b>${escapeHtml(shortenMiddle(name ?? "Unnamed torrent", 200))}</b>`;
  return { text: outcome === "done" ? `✅ ${title}: done, the links are in the message below.` : `❌ ${title} failed: the reason is in the message below.` };
}
