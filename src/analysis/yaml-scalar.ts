// How a YAML scalar becomes a value, the YAML 1.1 way Ansible (PyYAML) reads it; shared by both YAML readers.

const NULLS = new Set(["", "~", "null", "Null", "NULL"]);
const TRUES = new Set(["true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"]);
const FALSES = new Set(["false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"]);
const INT = /^[-+]?(?:0|[1-9][0-9_]*)$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?$/;

/** Plain scalars resolved the YAML 1.1 way Ansible (PyYAML) does: yes/no/on/off are booleans. */
export function resolvePlain(text: string): unknown {
  // Most plain scalars are words: the sets hold nothing longer than five characters.
  if (text.length <= 5) {
    if (NULLS.has(text)) return null;
    if (TRUES.has(text)) return true;
    if (FALSES.has(text)) return false;
  }
  const c = text.charCodeAt(0);
  // A number starts with a digit, a sign or a dot.
  if (!((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46)) return text;
  if (INT.test(text)) return Number(text.replace(/_/g, ""));
  if (FLOAT.test(text) && /[0-9]/.test(text)) return Number(text.replace(/_/g, ""));
  return text;
}

// Mappings have nothing of Object.prototype behind them (a key named `constructor` or `__proto__` is just a key).
// Made by a constructor whose prototype is an empty frozen null-prototype object rather than by Object.create(null):
// V8 keeps the former in fast mode with shared shapes, the latter are hash tables — larger, and more work for the GC
// on a project of thousands of files.
const MAPPING_PROTOTYPE: object = Object.freeze(Object.create(null) as object);
function YamlMapping(): void {}
YamlMapping.prototype = MAPPING_PROTOTYPE;
const Mapping = YamlMapping as unknown as new () => Record<string, unknown>;

/** A new, empty mapping. */
export function newMapping(): Record<string, unknown> {
  return new Mapping();
}

/** A mapping key as the property name it becomes. */
export function keyString(value: unknown): string {
  if (value === null) return "null";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

const DOUBLE_QUOTED_ESCAPES: Record<string, string> = {
  "0": "\0", a: "\x07", b: "\b", t: "\t", "\t": "\t", n: "\n", v: "\v", f: "\f", r: "\r", e: "\x1b", " ": " ",
  '"': '"', "/": "/", "\\": "\\", N: "\x85", _: "\xa0", L: "\u2028", P: "\u2029",
};
const HEX_LENGTH: Record<string, number> = { x: 2, u: 4, U: 8 };
const SIMPLE_DOUBLE_QUOTED = /"([^"\\\n]*)"/y;
const SIMPLE_SINGLE_QUOTED = /'([^'\n]*)'(?!')/y;

/**
 * A single- or double-quoted scalar starting at p (the quote) that closes before `end` (its line's end): its text and
 * where it stops; null for one that goes on to another line or has an escape YAML does not know.
 */
export function readQuotedScalar(s: string, p: number, end: number): { text: string; after: number } | null {
  const quote = s.charCodeAt(p);
  // Most quoted scalars have no escape: one native scan (bounded by the line) instead of a loop per character.
  const simple = quote === 34 ? SIMPLE_DOUBLE_QUOTED : SIMPLE_SINGLE_QUOTED;
  simple.lastIndex = p;
  const m = simple.exec(s);
  if (m && simple.lastIndex <= end) return { text: m[1]!, after: simple.lastIndex };
  let text = "";
  let from = p + 1;
  for (let k = p + 1; k < end; k++) {
    const c = s.charCodeAt(k);
    if (c === quote) {
      if (quote === 39 && k + 1 < end && s.charCodeAt(k + 1) === 39) {
        text += s.slice(from, k + 1); // '' is a quote
        from = k + 2;
        k++;
        continue;
      }
      return { text: text + s.slice(from, k), after: k + 1 };
    }
    if (c === 92 && quote === 34) {
      if (k + 1 >= end) return null; // an escaped line break
      const e = s[k + 1]!;
      text += s.slice(from, k);
      const hex = HEX_LENGTH[e];
      if (hex !== undefined) {
        const digits = s.slice(k + 2, k + 2 + hex);
        if (digits.length !== hex || !/^[0-9a-fA-F]+$/.test(digits)) return null;
        const code = Number.parseInt(digits, 16);
        if (code > 0x10ffff) return null;
        text += String.fromCodePoint(code);
        k += 1 + hex;
      } else {
        const rep = DOUBLE_QUOTED_ESCAPES[e];
        if (rep === undefined) return null;
        text += rep;
        k += 1;
      }
      from = k + 1;
    }
  }
  return null;
}

// Characters the plain-scalar scanners look at.
const SPACE = 32;
const TAB = 9;
const HASH = 35;
const COLON = 58;
const DASH = 45;
/** Characters a plain scalar may not start with (c-indicators; `-`, `?`, `:` only before a space). */
const NOT_PLAIN_START = new Set([..."[]{},#&*!|>'\"%@`"].map((c) => c.charCodeAt(0)));

/** The first position from p that is not a space or tab. */
export function afterSpaces(s: string, p: number, end: number): number {
  while (p < end && (s.charCodeAt(p) === SPACE || s.charCodeAt(p) === TAB)) p++;
  return p;
}

/** `-` followed by a space or the end of the line, at `p`. */
export function isDash(s: string, p: number, end: number): boolean {
  if (s.charCodeAt(p) !== DASH) return false;
  return p + 1 === end || s.charCodeAt(p + 1) === SPACE || s.charCodeAt(p + 1) === TAB;
}

/** The colon ending a plain key on this line (followed by a space or the end), or -1 (a comment comes first, or none). */
export function keyColon(s: string, p: number, end: number): number {
  for (let k = p; k < end; k++) {
    const c = s.charCodeAt(k);
    if (c === COLON) {
      const d = k + 1 === end ? SPACE : s.charCodeAt(k + 1);
      if (d === SPACE || d === TAB) return k;
    } else if (c === HASH && k > p) {
      const b = s.charCodeAt(k - 1);
      if (b === SPACE || b === TAB) return -1;
    }
  }
  return -1;
}

/** Whether a plain scalar may start at p: not with an indicator (`-`, `?`, `:` only before a non-space). */
export function canStartPlain(s: string, p: number, end: number): boolean {
  const c = s.charCodeAt(p);
  if (NOT_PLAIN_START.has(c)) return false;
  if (c === DASH || c === 63 || c === COLON) {
    const d = p + 1 === end ? SPACE : s.charCodeAt(p + 1);
    return d !== SPACE && d !== TAB;
  }
  return true;
}

/** Where the text from p to end stops once trailing spaces and tabs (YAML's white space, not Unicode's) are cut. */
export function trimmed(s: string, p: number, end: number): number {
  let e = end;
  while (e > p && (s.charCodeAt(e - 1) === SPACE || s.charCodeAt(e - 1) === TAB)) e--;
  return e;
}

