// Parses message text the way the Bot API does for parse_mode HTML and MarkdownV2, so the fake Telegram
// rejects what the real one rejects ("can't parse entities: ...") and tests can read the plain text a user sees.

export interface MessageEntity {
  type: string;
  offset: number;
  length: number;
  url?: string;
  language?: string;
  custom_emoji_id?: string;
}

export type Parsed = { ok: true; text: string; entities: MessageEntity[] } | { ok: false; error: string };

const byteOffset = (src: string, i: number) => Buffer.byteLength(src.slice(0, i), "utf8");

/** Named HTML entities the Bot API accepts; numeric ones (&#123; &#x1F600;) are accepted too. */
const NAMED_ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"' };

const SIMPLE_TAGS: Record<string, string> = {
  b: "bold",
  strong: "bold",
  i: "italic",
  em: "italic",
  u: "underline",
  ins: "underline",
  s: "strikethrough",
  strike: "strikethrough",
  del: "strikethrough",
  "tg-spoiler": "spoiler",
  code: "code",
  pre: "pre",
};
const ALL_TAGS = new Set([...Object.keys(SIMPLE_TAGS), "a", "span", "blockquote", "tg-emoji"]);

interface OpenTag {
  name: string;
  start: number;
  entity: MessageEntity | null;
}

interface HtmlState {
  text: string;
  entities: MessageEntity[];
  stack: OpenTag[];
}

const cantParse = (msg: string): Parsed => ({ ok: false, error: `Bad Request: can't parse entities: ${msg}` });

/** parse_mode HTML: the tags Telegram documents, balanced and properly nested, with its four named entities. */
export function parseHtml(src: string): Parsed {
  const st: HtmlState = { text: "", entities: [], stack: [] };
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    const step = c === "&" ? htmlEntityAt(src, i) : c === "<" ? htmlTagAt(src, i, st) : { add: c, next: i + 1 };
    if ("error" in step) return cantParse(step.error);
    st.text += step.add;
    i = step.next;
  }
  const open = st.stack.pop();
  if (open) return cantParse(`Can't find end tag corresponding to start tag "${open.name}"`);
  st.entities.sort((a, b) => a.offset - b.offset || b.length - a.length);
  return { ok: true, text: st.text, entities: st.entities };
}

type Step = { add: string; next: number } | { error: string };

function htmlEntityAt(src: string, i: number): Step {
  const m = /^&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z][a-zA-Z0-9]*);/.exec(src.slice(i, i + 12));
  if (!m) return { add: "&", next: i + 1 }; // a lone ampersand is taken literally, as Telegram does
  const name = m[1]!;
  const next = i + m[0].length;
  if (name.startsWith("#")) {
    const code = name[1] === "x" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
    if (code > 0x10ffff) return { error: `Unsupported HTML entity at byte offset ${byteOffset(src, i)}` };
    return { add: String.fromCodePoint(code), next };
  }
  if (name in NAMED_ENTITIES) return { add: NAMED_ENTITIES[name]!, next };
  return { error: `Unsupported HTML entity "&${name};" at byte offset ${byteOffset(src, i)}` };
}

/** A start or end tag at `i`: opens or closes an entity on the stack. */
function htmlTagAt(src: string, i: number, st: HtmlState): Step {
  const close = src.indexOf(">", i);
  const at = byteOffset(src, i);
  if (src[i + 1] === "/") {
    if (close < 0) return { error: `Unclosed end tag at byte offset ${at}` };
    const name = src.slice(i + 2, close).trim().toLowerCase();
    const top = st.stack.pop();
    if (!top) return { error: `Unexpected end tag at byte offset ${at}` };
    if (top.name !== name) return { error: `Can't find end tag corresponding to start tag "${top.name}"` };
    if (top.entity) {
      top.entity.length = st.text.length - top.entity.offset;
      if (top.entity.length > 0) st.entities.push(top.entity);
    }
    return { add: "", next: close + 1 };
  }
  if (close < 0) return { error: `Unclosed start tag at byte offset ${at}` };
  const tag = parseStartTag(src.slice(i + 1, close));
  if (!tag || !ALL_TAGS.has(tag.name)) {
    return { error: `Unsupported start tag "${tag?.name ?? src.slice(i + 1, close)}" at byte offset ${at}` };
  }
  const entity = entityFor(tag, st.text.length, st.stack);
  if (typeof entity === "string") return { error: `${entity} at byte offset ${at}` };
  st.stack.push({ name: tag.name, start: i, entity });
  return { add: "", next: close + 1 };
}

function parseStartTag(inner: string): { name: string; attrs: Record<string, string> } | null {
  const m = /^([a-zA-Z][a-zA-Z0-9-]*)/.exec(inner);
  if (!m) return null;
  const attrs: Record<string, string> = {};
  const re = /\s+([a-zA-Z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"']+)))?/y;
  re.lastIndex = m[0].length;
  let rest = re.lastIndex;
  for (let a = re.exec(inner); a; a = re.exec(inner)) {
    attrs[a[1]!.toLowerCase()] = decodeAttr(a[2] ?? a[3] ?? a[4] ?? "");
    rest = re.lastIndex;
  }
  // Anything left that is not whitespace or a self-closing slash makes the tag unparseable.
  if (!/^\s*\/?$/.test(inner.slice(rest))) return { name: inner.trim(), attrs };
  return { name: m[1]!.toLowerCase(), attrs };
}

const decodeAttr = (v: string) => v.replace(/&(lt|gt|amp|quot);/g, (_, n: string) => NAMED_ENTITIES[n]!);

/** The entity a start tag opens, null for none, or an error message. */
function entityFor(
  tag: { name: string; attrs: Record<string, string> },
  offset: number,
  stack: OpenTag[],
): MessageEntity | null | string {
  const { name, attrs } = tag;
  if (name in SIMPLE_TAGS) {
    const parent = stack.at(-1);
    if (name === "code" && parent?.name === "pre" && parent.entity && attrs.class?.startsWith("language-")) {
      parent.entity.language = attrs.class.slice("language-".length);
      return null;
    }
    return { type: SIMPLE_TAGS[name]!, offset, length: 0 };
  }
  if (name === "span") {
    if (attrs.class !== "tg-spoiler") return `Tag "span" must have class "tg-spoiler"`;
    return { type: "spoiler", offset, length: 0 };
  }
  if (name === "a") {
    const href = attrs.href ?? "";
    if (href === "") return null;
    if (!/^(https?|tg|ftp|mailto):/i.test(href) && !/^[\w.-]+\.[a-z]{2,}/i.test(href)) return `Wrong HTTP URL`;
    return { type: "text_link", offset, length: 0, url: href };
  }
  if (name === "blockquote") {
    return { type: "expandable" in attrs ? "expandable_blockquote" : "blockquote", offset, length: 0 };
  }
  // tg-emoji
  if (!attrs["emoji-id"]) return `Tag "tg-emoji" must have attribute "emoji-id"`;
  return { type: "custom_emoji", offset, length: 0, custom_emoji_id: attrs["emoji-id"] };
}

const MD_RESERVED = new Set("_*[]()~`>#+-=|{}.!".split(""));
const MD_NAMES: Record<string, string> = {
  "*": "Bold",
  _: "Italic",
  __: "Underline",
  "~": "Strikethrough",
  "||": "Spoiler",
  "[": "TextUrl",
};
const MD_TYPES: Record<string, string> = {
  "*": "bold",
  _: "italic",
  __: "underline",
  "~": "strikethrough",
  "||": "spoiler",
};

interface MdState {
  text: string;
  entities: MessageEntity[];
  stack: { marker: string; offset: number; at: number }[];
}

/** parse_mode MarkdownV2: reserved characters must be escaped; entities must close in the right order. */
export function parseMarkdownV2(src: string): Parsed {
  const st: MdState = { text: "", entities: [], stack: [] };
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    let step: Step;
    if (c === "\\") {
      const n = src[i + 1];
      step = n === undefined ? { error: reserved("\\") } : { add: n, next: i + 2 };
    } else if (c === "`") step = mdCodeAt(src, i, st);
    else if (c === "[") {
      st.stack.push({ marker: "[", offset: st.text.length, at: byteOffset(src, i) });
      step = { add: "", next: i + 1 };
    } else if (c === "]" && st.stack.at(-1)?.marker === "[") step = mdLinkEnd(src, i, st);
    else if (c === ">" && (i === 0 || src[i - 1] === "\n")) step = { add: "", next: i + 1 }; // a blockquote line
    else step = mdMarkerAt(src, i, st);
    if ("error" in step) return cantParse(step.error);
    st.text += step.add;
    i = step.next;
  }
  const open = st.stack.pop();
  if (open) return cantParse(`Can't find end of ${MD_NAMES[open.marker]} entity at byte offset ${open.at}`);
  st.entities.sort((a, b) => a.offset - b.offset || b.length - a.length);
  return { ok: true, text: st.text, entities: st.entities };
}

const reserved = (c: string) => `Character '${c}' is reserved and must be escaped with the preceding '\\'`;

/** `code` or ```pre``` (with an optional language line); inside, only ` and \\ are escaped. */
function mdCodeAt(src: string, i: number, st: MdState): Step {
  const pre = src.startsWith("```", i);
  const fence = pre ? "```" : "`";
  const end = findUnescaped(src, fence, i + fence.length);
  if (end < 0) return { error: `Can't find end of ${pre ? "Pre" : "Code"} entity at byte offset ${byteOffset(src, i)}` };
  let body = src.slice(i + fence.length, end);
  let language: string | undefined;
  const nl = body.indexOf("\n");
  if (pre && nl >= 0 && /^[\w+-]*$/.test(body.slice(0, nl))) {
    language = body.slice(0, nl) || undefined;
    body = body.slice(nl + 1);
  }
  const content = body.replace(/\\([\\`])/g, "$1");
  const e: MessageEntity = { type: pre ? "pre" : "code", offset: st.text.length, length: content.length };
  if (language) e.language = language;
  if (content.length > 0) st.entities.push(e);
  return { add: content, next: end + fence.length };
}

/** The `](url)` that closes a [text link]. */
function mdLinkEnd(src: string, i: number, st: MdState): Step {
  const open = st.stack.pop()!;
  if (src[i + 1] !== "(") return { error: `Can't find end of TextUrl entity at byte offset ${open.at}` };
  const end = findUnescaped(src, ")", i + 2);
  if (end < 0) return { error: `Can't find end of a URL at byte offset ${byteOffset(src, i + 1)}` };
  const url = src.slice(i + 2, end).replace(/\\([\\)])/g, "$1");
  if (st.text.length > open.offset) st.entities.push({ type: "text_link", offset: open.offset, length: st.text.length - open.offset, url });
  return { add: "", next: end + 1 };
}

/** *bold* _italic_ __underline__ ~strike~ ||spoiler|| markers, or a plain (maybe reserved) character. */
function mdMarkerAt(src: string, i: number, st: MdState): Step {
  const c = src[i]!;
  const marker = c === "_" && src[i + 1] === "_" ? "__" : c === "|" && src[i + 1] === "|" ? "||" : c;
  if (!(marker in MD_TYPES)) return MD_RESERVED.has(c) ? { error: reserved(c) } : { add: c, next: i + 1 };
  const top = st.stack.at(-1);
  if (top?.marker === marker) {
    st.stack.pop();
    if (st.text.length > top.offset) st.entities.push({ type: MD_TYPES[marker]!, offset: top.offset, length: st.text.length - top.offset });
  } else if (top && st.stack.some((s) => s.marker === marker)) {
    return { error: `Can't find end of ${MD_NAMES[top.marker]} entity at byte offset ${top.at}` };
  } else {
    st.stack.push({ marker, offset: st.text.length, at: byteOffset(src, i) });
  }
  return { add: "", next: i + marker.length };
}

function findUnescaped(src: string, needle: string, from: number): number {
  for (let j = from; j < src.length; j++) {
    if (src[j] === "\\") {
      j++;
      continue;
    }
    if (src.startsWith(needle, j)) return j;
  }
  return -1;
}

/** Entities Telegram adds to a user's plain message by itself: commands and links. */
export function detectEntities(text: string): MessageEntity[] {
  const out: MessageEntity[] = [];
  for (const m of text.matchAll(/(?<![\w/])\/[a-zA-Z0-9_]{1,32}(?:@[a-zA-Z0-9_]{3,32})?/g)) {
    out.push({ type: "bot_command", offset: m.index, length: m[0].length });
  }
  for (const m of text.matchAll(/\bhttps?:\/\/[^\s<>"]+/g)) {
    out.push({ type: "url", offset: m.index, length: m[0].length });
  }
  return out.sort((a, b) => a.offset - b.offset);
}
