// Which of a torrent's files also arrive in the chat as documents, and the card's line saying so. One rule for the
// presenter (what it sends) and the cards (what they promise), so the two cannot disagree.
import { shortenMiddle } from "./format.js";
import { escapeHtml } from "./telegram-html.js";

/** At most this many documents per job: more would be a burst of uploads the chat cannot follow. */
export const MAX_DOCUMENTS = 10;

export interface DocumentRule {
  /** Whether this user gets files as documents at all (/files on|off, default SEND_FILES_TO_TELEGRAM). */
  sendsDocuments: boolean;
  /** The Bot API's upload limit per file: 50 MB, or 2000 MB with a local Bot API server. */
  limitBytes: number;
}

/** The indexes of the files that go to the chat as documents: the first MAX_DOCUMENTS within the limit. */
export function pickDocuments(sizes: readonly number[], rule: DocumentRule): number[] {
  if (!rule.sendsDocuments) return [];
  const picked: number[] = [];
  for (let i = 0; i < sizes.length && picked.length < MAX_DOCUMENTS; i++) {
    if (sizes[i]! > 0 && sizes[i]! <= rule.limitBytes) picked.push(i);
  }
  return picked;
}

/** "50 MB", "2000 MB": the limit as Telegram states it. */
export function formatUploadLimit(bytes: number): string {
  return `${Math.round(bytes / 1_000_000)} MB`;
}

export interface DeliveryFacts {
  /** The files, when a .torrent document named them; null for a magnet. */
  files: { path: string; sizeBytes: number }[] | null;
  /** The total size when known (a magnet's `xl`). */
  totalBytes: number | null;
}

const NAMED_FILES_MAX = 6;

/** The card's line on what arrives in the chat besides the links (Telegram HTML). */
export function renderDeliveryLine(facts: DeliveryFacts, rule: DocumentRule): string {
  const limit = formatUploadLimit(rule.limitBytes);
  if (!rule.sendsDocuments) return "📎 Download links only (/files on to also get files here as documents).";
  if (facts.files) return knownFilesLine(facts.files, rule, limit);
  if (facts.totalBytes !== null && facts.totalBytes > 0 && facts.totalBytes <= rule.limitBytes) {
    // Every file is at most the total, so each one fits; only the count is unknown.
    return `📎 Its files also arrive in this chat as documents (at most ${MAX_DOCUMENTS}), besides the links.`;
  }
  return `📎 Files up to ${limit} also arrive in this chat as documents (at most ${MAX_DOCUMENTS}); larger ones only as links.`;
}

function knownFilesLine(files: { path: string; sizeBytes: number }[], rule: DocumentRule, limit: string): string {
  const picked = new Set(pickDocuments(files.map((f) => f.sizeBytes), rule));
  const n = files.length;
  if (picked.size === n) return n === 1 ? "📎 The file also arrives in this chat as a document." : `📎 All ${n} files also arrive in this chat as documents.`;
  if (picked.size === 0) return `📎 Links only: ${n === 1 ? "the file is" : "every file is"} over the ${limit} a bot may send.`;
  if (n > NAMED_FILES_MAX) {
    return `📎 In this chat too: ${picked.size} of ${n} files (up to ${limit} each, at most ${MAX_DOCUMENTS}); the rest only as links.`;
  }
  const names = (keep: boolean) =>
    files
      .filter((_, i) => picked.has(i) === keep)
      .map((f) => escapeHtml(shortenMiddle(f.path.split("/").pop() ?? f.path, 40)))
      .join(", ");
  const allTooBig = files.every((f, i) => picked.has(i) || f.sizeBytes > rule.limitBytes);
  return `📎 In this chat too: ${names(true)}. Only as links${allTooBig ? ` (over ${limit})` : ""}: ${names(false)}.`;
}
