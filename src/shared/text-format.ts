// Text formatting shared by the chat, the download pages and the domain's plain-text views: one way to say a size or an age.
import prettyBytes from "pretty-bytes";

/** Bytes in binary units, three significant digits (pretty-bytes): 0 → "0 B", 1536 → "1.5 KiB", 52428800 → "50 MiB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "?";
  // Whole bytes: a speed averaged to 0.4 B/s reads "0 B/s", as a size would.
  return prettyBytes(Math.round(bytes), { binary: true });
}

/** How long ago, roughly: "just now", "5 min ago", "3 h ago", "4 days ago". */
export function formatAgo(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return "just now";
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.round(h / 24)} days ago`;
}

// Only the entities Telegram's HTML mode names; our web pages double-quote every attribute, so ' needs none.
const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" };

/** Escapes text for HTML: Telegram's HTML parse mode and the download pages alike. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => HTML_ESCAPES[c] ?? c);
}
