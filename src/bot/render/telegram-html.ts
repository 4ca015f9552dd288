// Telegram's HTML parse mode: escaping, the 4096-character limit, and truncation that never breaks a tag or an entity.

/** Telegram counts a message's length after entities are parsed, i.e. its visible text. */
export const TELEGRAM_MESSAGE_LIMIT = 4096;

export { escapeHtml } from "../../shared/text-format.js";
import { escapeHtml } from "../../shared/text-format.js";

/** `text` escaped in a <code> element: names, paths and commands the user may copy. */
export function code(text: string): string {
  return `<code>${escapeHtml(text)}</code>`;
}

/** Splits Telegram HTML into tags, entities and single characters (surrogate pairs kept whole). */
function tokens(html: string): string[] {
  return html.match(/<[^>]*>|&[#\w]+;|[\uD800-\uDBFF][\uDC00-\uDFFF]|[\s\S]/g) ?? [];
}

/** Visible length in UTF-16 units, as Telegram counts it: tags count nothing, an entity counts one. */
export function visibleLength(html: string): number {
  let n = 0;
  for (const t of tokens(html)) if (!t.startsWith("<")) n += t.startsWith("&") && t.length > 1 ? 1 : t.length;
  return n;
}

/**
 * Returns `html` unchanged when it fits in `limit` visible characters; otherwise cuts it between tokens,
 * appends "…" and closes every tag still open, so the result always parses.
 */
export function fitMessage(html: string, limit = TELEGRAM_MESSAGE_LIMIT): string {
  if (visibleLength(html) <= limit) return html;
  const open: string[] = [];
  let out = "";
  let used = 0;
  for (const t of tokens(html)) {
    if (t.startsWith("<")) {
      const closing = /^<\/\s*([a-z-]+)/i.exec(t);
      const opening = /^<\s*([a-z-]+)/i.exec(t);
      if (closing) open.pop();
      else if (opening && !t.endsWith("/>")) open.push(opening[1]!.toLowerCase());
      out += t;
      continue;
    }
    const width = t.startsWith("&") && t.length > 1 ? 1 : t.length;
    if (used + width > limit - 1) break;
    out += t;
    used += width;
  }
  return out + "…" + open.reverse().map((tag) => `</${tag}>`).join("");
}
