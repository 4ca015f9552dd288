// A fast reader for the plain block YAML nearly every Ansible file is written in: block mappings and sequences,
// plain and quoted one-line scalars, literal blocks (`|`), one-line flow sequences of scalars, empty `[]`/`{}`.
// Anything else (anchors, aliases, tags, folded or multi-line scalars, flow mappings, several documents, odd
// indentation, tabs, errors) makes it give up (null), and the caller reads the file with js-yaml instead. It gives
// what the js-yaml path gives — the same values and the same start of every mapping and sequence (for lines) —
// which test/analysis/yaml-plain-block.test.ts checks against js-yaml on every YAML file the tests have. It exists
// for speed: js-yaml's general parser is about half of an analysis (docs/analysis.md, "Benchmark").
import { afterSpaces, canStartPlain, isDash, keyColon, keyString, newMapping, readQuotedScalar, resolvePlain, trimmed } from "./yaml-scalar.js";

/** Thrown inside the reader to give up; caught at its entry. */
const GIVE_UP: unique symbol = Symbol("give up");

function giveUp(): never {
  throw GIVE_UP;
}

// As js-yaml's check of scalars; here anywhere in the file, so that js-yaml reports them.
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const NON_PRINTABLE = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x84\x86-\x9F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?:[^\uD800-\uDBFF]|^)[\uDC00-\uDFFF]/;

/** Anything but printable ASCII, tab and line feed: one simple scan, where NON_PRINTABLE tries three patterns per character. */
const OUTSIDE_ASCII_TEXT = /[^\t\n\x20-\x7e]/;

const SPACE = 32;
const TAB = 9;
const HASH = 35;
const COLON = 58;
const DASH = 45;
const SQUOTE = 39;
const DQUOTE = 34;
const FLOW_INDICATOR = new Set([..."[]{},"].map((c) => c.charCodeAt(0)));

export interface PlainBlockLimits {
  maxDepth: number;
  maxExpandedNodes: number;
}

/**
 * The documents of `source`, recording each mapping's and sequence's start offset in `positions` as the js-yaml path
 * does, and where each line starts; null when the file uses anything beyond plain block YAML (what was recorded
 * by then is for the caller to drop).
 */
export function readPlainBlockYaml(source: string, positions: Map<object, number>, limits: PlainBlockLimits): { docs: unknown[]; lineStarts: Int32Array } | null {
  // Printable ASCII, tabs and line feeds only (nearly every file): no BOM, \r or control character to look for.
  if (OUTSIDE_ASCII_TEXT.test(source) && (source.charCodeAt(0) === 0xfeff || source.includes("\r") || NON_PRINTABLE.test(source))) return null;
  try {
    const reader = new PlainBlockReader(source, positions, limits);
    return { docs: reader.documents(), lineStarts: reader.starts };
  } catch (err) {
    if (err === GIVE_UP) return null;
    throw err;
  }
}

class PlainBlockReader {
  readonly starts: Int32Array;
  private readonly ends: Int32Array;
  private readonly indents: Int32Array;
  /** 1 for lines with nothing but spaces or a comment. */
  private readonly blank: Uint8Array;
  private readonly n: number;
  /** The first line after the node just read that has content (this.n at the end). */
  private next = 0;
  private nodes = 0;
  /** Where the value of the key just read starts (set by key()). */
  private keyEnd = 0;

  constructor(
    private readonly src: string,
    private readonly positions: Map<object, number>,
    private readonly limits: PlainBlockLimits,
  ) {
    let n = 1;
    for (let i = src.indexOf("\n"); i !== -1; i = src.indexOf("\n", i + 1)) n++;
    this.n = n;
    this.starts = new Int32Array(n);
    this.ends = new Int32Array(n);
    this.indents = new Int32Array(n);
    this.blank = new Uint8Array(n);
    let start = 0;
    let content = false;
    for (let line = 0; line < n; line++) {
      let end = src.indexOf("\n", start);
      if (end === -1) end = src.length;
      let i = start;
      while (i < end && src.charCodeAt(i) === SPACE) i++;
      const c = src.charCodeAt(i);
      if (i < end && c === TAB) throw GIVE_UP;
      const blank = i === end || c === HASH;
      // Directives, and document markers other than one `---` before any content: several documents, or one that
      // ends early.
      if (i === start && (c === DASH || c === 46 || c === 37) && this.isMarker(start, end)) {
        if (content || c !== DASH) throw GIVE_UP;
        content = true;
      }
      content ||= !blank;
      this.starts[line] = start;
      this.ends[line] = end;
      this.indents[line] = i - start;
      this.blank[line] = blank ? 1 : 0;
      start = end + 1;
    }
  }

  private isMarker(start: number, end: number): boolean {
    const s = this.src;
    if (s.charCodeAt(start) === 37) return true;
    const three = s.slice(start, start + 3);
    return (three === "---" || three === "...") && (start + 3 === end || s.charCodeAt(start + 3) === SPACE || s.charCodeAt(start + 3) === TAB);
  }

  documents(): unknown[] {
    let i = this.nextContent(0);
    let explicit = false;
    if (i < this.n && this.indents[i] === 0 && this.src.startsWith("---", this.starts[i]!)) {
      const after = afterSpaces(this.src, this.starts[i]! + 3, this.ends[i]!);
      if (after !== this.ends[i] && (after === this.starts[i]! + 3 || this.src.charCodeAt(after) !== HASH)) throw GIVE_UP;
      explicit = true;
      i = this.nextContent(i + 1);
    }
    if (i >= this.n) return explicit ? [null] : [];
    const doc = this.collection(i, this.indents[i]!, 1);
    if (this.next < this.n) throw GIVE_UP;
    return [doc];
  }

  private nextContent(from: number): number {
    let i = from;
    while (i < this.n && this.blank[i]) i++;
    return i;
  }

  /** Counts a node; near the limits, js-yaml's path says what is wrong. */
  private count(depth: number): void {
    if (++this.nodes > this.limits.maxExpandedNodes || depth >= this.limits.maxDepth / 2) throw GIVE_UP;
  }

  /** A block mapping or sequence whose first character is at (line, col). */
  private collection(line: number, col: number, depth: number): unknown {
    return isDash(this.src, this.starts[line]! + col, this.ends[line]!) ? this.sequence(line, col, depth) : this.mapping(line, col, depth);
  }

  private sequence(line: number, col: number, depth: number): unknown[] {
    this.count(depth);
    const seq: unknown[] = [];
    this.positions.set(seq, this.starts[line]! + col);
    for (let at = line; ; ) {
      const end = this.ends[at]!;
      const p = afterSpaces(this.src, this.starts[at]! + col + 1, end);
      if (p === end || this.src.charCodeAt(p) === HASH) seq.push(this.valueBelow(at, col, depth + 1, false));
      else seq.push(this.inline(at, p, col, depth + 1, true));
      const j = this.next;
      if (j >= this.n || this.indents[j]! < col) return seq;
      if (this.indents[j]! > col) throw GIVE_UP;
      // Same indentation but not an entry: the key after a sequence that is a mapping's value.
      if (!isDash(this.src, this.starts[j]! + col, this.ends[j]!)) return seq;
      at = j;
    }
  }

  private mapping(line: number, col: number, depth: number): Record<string, unknown> {
    this.count(depth);
    const map = newMapping();
    this.positions.set(map, this.starts[line]! + col);
    for (let at = line; ; ) {
      const end = this.ends[at]!;
      const k0 = this.starts[at]! + col;
      const key = this.key(k0, end);
      this.count(depth + 1);
      const p = afterSpaces(this.src, this.keyEnd, end);
      map[key] = p === end || this.src.charCodeAt(p) === HASH ? this.valueBelow(at, col, depth + 1, true) : this.inline(at, p, col, depth + 1, false);
      const j = this.next;
      if (j >= this.n || this.indents[j]! < col) return map;
      if (this.indents[j]! > col || isDash(this.src, this.starts[j]! + col, this.ends[j]!)) throw GIVE_UP;
      at = j;
    }
  }

  /**
   * A key at k0; where its value starts (after the colon) is left in keyEnd (no object per key: a project has
   * a hundred thousand). Gives up on anything but a plain or quoted key.
   */
  private key(k0: number, end: number): string {
    const s = this.src;
    const c = s.charCodeAt(k0);
    let key: string;
    let colon: number;
    if (c === SQUOTE || c === DQUOTE) {
      const q = this.quoted(k0, end);
      key = q.text;
      colon = afterSpaces(this.src, q.after, end);
      if (s.charCodeAt(colon) !== COLON) throw GIVE_UP;
    } else {
      if (!canStartPlain(this.src, k0, end)) throw GIVE_UP;
      colon = keyColon(this.src, k0, end);
      if (colon < 0) throw GIVE_UP;
      key = keyString(resolvePlain(s.slice(k0, trimmed(this.src, k0, colon))));
    }
    const after = colon + 1;
    if (after < end && s.charCodeAt(after) !== SPACE && s.charCodeAt(after) !== TAB) throw GIVE_UP;
    // A merge key needs the aliases this reader does not do.
    if (key === "<<") throw GIVE_UP;
    this.keyEnd = after;
    return key;
  }

  /** The value of a key or entry whose line ends after the indicator: a collection below it, or null. */
  private valueBelow(line: number, col: number, depth: number, inMapping: boolean): unknown {
    const j = this.nextContent(line + 1);
    if (j < this.n && this.indents[j]! > col) return this.collection(j, this.indents[j]!, depth);
    // A mapping's value may be a sequence at the mapping's own indentation.
    if (inMapping && j < this.n && this.indents[j] === col && isDash(this.src, this.starts[j]! + col, this.ends[j]!)) return this.sequence(j, col, depth);
    this.count(depth);
    this.next = j;
    return null;
  }

  /** A value starting at p on the line (after `key: ` or `- `); `parent` is the key's or dash's column. */
  private inline(line: number, p: number, parent: number, depth: number, afterDash: boolean): unknown {
    const s = this.src;
    const end = this.ends[line]!;
    const c = s.charCodeAt(p);
    const col = p - this.starts[line]!;
    if (afterDash && isDash(this.src, p, end)) return this.sequence(line, col, depth);
    if (c === SQUOTE || c === DQUOTE) {
      const q = this.quoted(p, end);
      const rest = afterSpaces(this.src, q.after, end);
      if (rest < end && s.charCodeAt(rest) === COLON) {
        if (!afterDash) throw GIVE_UP;
        return this.mapping(line, col, depth);
      }
      this.endOfLine(q.after, end, line, parent);
      this.count(depth);
      return q.text;
    }
    if (c === 91 || c === 123) return this.flow(line, p, parent, depth);
    if (c === 124) return this.literal(line, p, parent, depth);
    if (!canStartPlain(this.src, p, end)) throw GIVE_UP;
    const colon = keyColon(this.src, p, end);
    if (colon >= 0) {
      if (!afterDash) throw GIVE_UP;
      return this.mapping(line, col, depth);
    }
    let stop = end;
    for (let k = p + 1; k < end; k++) {
      if (s.charCodeAt(k) === HASH && (s.charCodeAt(k - 1) === SPACE || s.charCodeAt(k - 1) === TAB)) {
        stop = k;
        break;
      }
    }
    const textEnd = trimmed(this.src, p, stop);
    this.endOfLine(textEnd, end, line, parent);
    this.count(depth);
    return resolvePlain(s.slice(p, textEnd));
  }

  /** After a one-line scalar: only a comment may follow on the line, and no more-indented line (a multi-line scalar). */
  private endOfLine(p: number, end: number, line: number, parent: number): void {
    const q = afterSpaces(this.src, p, end);
    if (q < end && (this.src.charCodeAt(q) !== HASH || q === p)) throw GIVE_UP;
    const j = this.nextContent(line + 1);
    if (j < this.n && this.indents[j]! > parent) throw GIVE_UP;
    this.next = j;
  }

  /** A quoted scalar that closes on its line. */
  private quoted(p: number, end: number): { text: string; after: number } {
    return readQuotedScalar(this.src, p, end) ?? giveUp();
  }

  /** `[]`, `{}` or a one-line flow sequence of plain or quoted scalars. */
  private flow(line: number, p: number, parent: number, depth: number): unknown {
    const s = this.src;
    const end = this.ends[line]!;
    this.count(depth);
    if (s.charCodeAt(p) === 123) {
      const close = afterSpaces(this.src, p + 1, end);
      if (s.charCodeAt(close) !== 125) throw GIVE_UP;
      const map = newMapping();
      this.positions.set(map, p);
      this.afterFlow(close + 1, end, line, parent);
      return map;
    }
    const seq: unknown[] = [];
    this.positions.set(seq, p);
    let k = afterSpaces(this.src, p + 1, end);
    if (s.charCodeAt(k) === 93) {
      this.afterFlow(k + 1, end, line, parent);
      return seq;
    }
    while (true) {
      const c = s.charCodeAt(k);
      if (c === SQUOTE || c === DQUOTE) {
        const q = this.quoted(k, end);
        seq.push(q.text);
        k = afterSpaces(this.src, q.after, end);
      } else {
        if (k >= end || !canStartPlain(this.src, k, end)) throw GIVE_UP;
        let e = k;
        while (e < end) {
          const d = s.charCodeAt(e);
          if (FLOW_INDICATOR.has(d)) break;
          if (d === COLON || (d === HASH && (s.charCodeAt(e - 1) === SPACE || s.charCodeAt(e - 1) === TAB))) throw GIVE_UP;
          e++;
        }
        seq.push(resolvePlain(s.slice(k, trimmed(this.src, k, e))));
        k = e;
      }
      this.count(depth + 1);
      const d = s.charCodeAt(k);
      if (d === 93) break;
      if (d !== 44) throw GIVE_UP;
      k = afterSpaces(this.src, k + 1, end);
    }
    this.afterFlow(k + 1, end, line, parent);
    return seq;
  }

  private afterFlow(p: number, end: number, line: number, parent: number): void {
    const q = afterSpaces(this.src, p, end);
    if (q < end && this.src.charCodeAt(q) === COLON) throw GIVE_UP; // a flow collection as a key
    this.endOfLine(p, end, line, parent);
  }

  /** A literal block scalar (`|`, `|-`) whose lines are more indented than its parent. */
  private literal(line: number, p: number, parent: number, depth: number): string {
    const s = this.src;
    const end = this.ends[line]!;
    let h = p + 1;
    const chomp = s.charCodeAt(h);
    if (chomp === DASH) h++;
    else if (chomp === 43 || (chomp >= 48 && chomp <= 57)) throw GIVE_UP; // keep, or an indentation indicator
    const q = afterSpaces(this.src, h, end);
    if (q < end && (s.charCodeAt(q) !== HASH || q === h)) throw GIVE_UP;
    const first = line + 1;
    // The first line sets the indentation; blank lines before it, or none deeper than the parent: give up.
    if (first >= this.n || this.isSpacesOnly(first) || this.indents[first]! <= parent) throw GIVE_UP;
    const indent = this.indents[first]!;
    const parts: string[] = [];
    let pendingEmpty = 0;
    let k = first;
    for (; k < this.n; k++) {
      if (this.isSpacesOnly(k)) {
        if (this.ends[k]! - this.starts[k]! > indent) throw GIVE_UP; // spaces that are content
        pendingEmpty++;
        continue;
      }
      if (this.indents[k]! < indent) break;
      for (; pendingEmpty > 0; pendingEmpty--) parts.push("");
      parts.push(s.slice(this.starts[k]! + indent, this.ends[k]));
    }
    // A last line without a line break: how chomping treats it differs; leave it to js-yaml.
    if (k >= this.n && !s.endsWith("\n")) throw GIVE_UP;
    this.count(depth);
    this.next = this.nextContent(k);
    const text = parts.join("\n");
    return chomp === DASH ? text : `${text}\n`;
  }

  private isSpacesOnly(line: number): boolean {
    return this.indents[line] === this.ends[line]! - this.starts[line]!;
  }
}
