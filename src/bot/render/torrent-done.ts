// The final message of a torrent job: links to every file (as many as fit), the real cost and duration.
import { formatBytes, formatDuration, formatUsd, shortenMiddle } from "./format.js";
import { escapeHtml, fitMessage, TELEGRAM_MESSAGE_LIMIT, visibleLength } from "./telegram-html.js";
import type { RenderedMessage } from "./torrent-card.js";

export interface TorrentDoneInput {
  name: string | null;
  files: { path: string; sizeBytes: number; url: string }[];
  indexUrl: string;
  usd: number;
  seconds: number;
  /** When the links stop working. */
  expiresAt?: Date | null;
  /** How many files also follow as Telegram documents. */
  sentAsDocuments?: number;
  /** Something went wrong after the files were saved (the droplet is not destroyed yet, a late Cancel); plain text. */
  warning?: string | null;
}

const FILE_NAME_MAX = 90;

export function renderTorrentDone(input: TorrentDoneInput, limit = TELEGRAM_MESSAGE_LIMIT): RenderedMessage {
  const total = input.files.reduce((sum, f) => sum + f.sizeBytes, 0);
  const count = `${input.files.length} file${input.files.length === 1 ? "" : "s"}`;
  const head = [
    `✅ <b>${escapeHtml(shortenMiddle(input.name ?? "Unnamed torrent", 200))}</b>`,
    `${count}, ${formatBytes(total)} · took ${formatDuration(input.seconds)} · cost <b>${formatUsd(input.usd)}</b>`,
    "",
    `📁 <a href="${escapeHtml(input.indexUrl)}">All files</a>`,
  ];
  const foot: string[] = [""];
  if (input.expiresAt) foot.push(`Links expire ${utcMinute(input.expiresAt)}.`);
  const docs = input.sentAsDocuments ?? 0;
  if (docs === 1) foot.push("1 small file also follows as a document.");
  else if (docs > 1) foot.push(`${docs} small files also follow as documents.`);
  if (input.warning) foot.push(`⚠️ ${escapeHtml(input.warning)}.`);
  else foot.push("The droplet is gone.");
  const fileLines = pickFileLines(input.files, limit - visibleLength([...head, ...foot].join("\n")));
  return { text: fitMessage([...head, ...fileLines, ...foot].join("\n"), limit) };
}

function fileLine(f: TorrentDoneInput["files"][number]): string {
  return `• <a href="${escapeHtml(f.url)}">${escapeHtml(shortenMiddle(f.path, FILE_NAME_MAX))}</a> · ${formatBytes(f.sizeBytes)}`;
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
