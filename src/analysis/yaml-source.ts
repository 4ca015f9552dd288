// Loads untrusted YAML safely: size and binary checks, alias-expansion (YAML bomb) limits, line numbers per node.
// Plain block YAML goes through the fast reader (yaml-plain-block.ts); the rest through js-yaml's event parser.
import { isUtf8 } from "node:buffer";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import * as yaml from "js-yaml";
import type { Event } from "js-yaml";
import { AnalysisInputError } from "./types.js";
import { readPlainBlockYaml } from "./yaml-plain-block.js";
import { keyString, newMapping, resolvePlain } from "./yaml-scalar.js";

export interface YamlLimits {
  /** Largest file read, in bytes. */
  maxBytes: number;
  /** Most nodes a document may have once aliases are expanded (a YAML bomb expands to billions). */
  maxExpandedNodes: number;
  /** Deepest nesting of collections. */
  maxDepth: number;
}

export const DEFAULT_YAML_LIMITS: YamlLimits = { maxBytes: 2 * 1024 * 1024, maxExpandedNodes: 1_000_000, maxDepth: 100 };

export interface LoadedYaml {
  /** Path relative to the project root, for messages. */
  file: string;
  docs: unknown[];
  /** The whole file is `ansible-vault` encrypted (then docs is empty). */
  vaultEncrypted: boolean;
  /** 1-based lines of `!vault` tagged values. */
  vaultLines: number[];
  /** Some node has several parents (YAML aliases): a walk that must see each node once has to remember them. */
  sharedNodes: boolean;
  /** 1-based line where a mapping or sequence starts; 0 when unknown. */
  lineOf(node: unknown): number;
}

/** Where files are read: most are a few KiB, so one buffer serves them all (grown for a larger one, up to the limit). */
let scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * Reads a file as text, refusing oversized, binary and non-UTF-8 content. An open, reads until the end (or past the
 * limit) and a close: no stat before reading, and no Buffer per file (a project has hundreds).
 */
function readTextFile(absPath: string, relPath: string, maxBytes: number): string {
  const fd = openSync(absPath, "r");
  let n = 0;
  try {
    for (;;) {
      if (n === scratch.length) {
        if (n > maxBytes) break;
        const bigger = Buffer.allocUnsafe(Math.min(n * 2, maxBytes + 1));
        scratch.copy(bigger, 0, 0, n);
        scratch = bigger;
      }
      const read = readSync(fd, scratch, n, scratch.length - n, null);
      if (read === 0) break;
      n += read;
    }
    if (n > maxBytes) {
      const size = Math.max(fstatSync(fd).size, n);
      throw new AnalysisInputError(`${relPath}: file is ${size} bytes, over the ${maxBytes}-byte limit`, relPath);
    }
  } finally {
    closeSync(fd);
  }
  if (scratch.subarray(0, Math.min(n, 8192)).includes(0)) throw new AnalysisInputError(`${relPath}: binary content, not YAML`, relPath);
  // isUtf8 (simdutf) then a plain decode: what TextDecoder("utf-8", { fatal: true }) gives, BOM dropped as it does.
  if (!isUtf8(scratch.subarray(0, n))) throw new AnalysisInputError(`${relPath}: not UTF-8 text`, relPath);
  const text = scratch.toString("utf8", 0, n);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Parsed files kept across analyses of one project (the closure's rounds analyse it again after fetching roles):
 * a file whose text is unchanged is not parsed again. Parsed documents are never modified, so they can be shared.
 */
export class YamlCache {
  private readonly files = new Map<string, { source: string; loaded: LoadedYaml }>();

  get(absPath: string, source: string, relPath: string): LoadedYaml | undefined {
    const hit = this.files.get(absPath);
    if (!hit || hit.source !== source) return undefined;
    return hit.loaded.file === relPath ? hit.loaded : { ...hit.loaded, file: relPath };
  }

  set(absPath: string, source: string, loaded: LoadedYaml): void {
    this.files.set(absPath, { source, loaded });
  }
}

export function loadYamlFile(absPath: string, relPath: string, limits: YamlLimits = DEFAULT_YAML_LIMITS, cache?: YamlCache): LoadedYaml {
  const source = readTextFile(absPath, relPath, limits.maxBytes);
  const cached = cache?.get(absPath, source, relPath);
  if (cached) return cached;
  const loaded = parseYaml(source, relPath, limits);
  cache?.set(absPath, source, loaded);
  return loaded;
}

/** Parses YAML: plain block YAML by the fast reader (yaml-plain-block.ts), anything else by js-yaml. */
export function parseYaml(source: string, relPath: string, limits: YamlLimits = DEFAULT_YAML_LIMITS): LoadedYaml {
  return parseWith(source, relPath, limits, true);
}

/** Parses YAML with js-yaml alone (what parseYaml falls back to); for comparing the two readers. */
export function parseYamlWithJsYaml(source: string, relPath: string, limits: YamlLimits = DEFAULT_YAML_LIMITS): LoadedYaml {
  return parseWith(source, relPath, limits, false);
}

function parseWith(source: string, relPath: string, limits: YamlLimits, fast: boolean): LoadedYaml {
  const positions = new Map<object, number>();
  let lineStarts: ArrayLike<number> | undefined;
  const lineAt = (offset: number): number => {
    lineStarts ??= computeLineStarts(source);
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((lineStarts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  const lineOf = (node: unknown): number => {
    if (node === null || typeof node !== "object") return 0;
    const offset = positions.get(node);
    return offset === undefined ? 0 : lineAt(offset);
  };
  if (source.startsWith("$ANSIBLE_VAULT;")) {
    return { file: relPath, docs: [], vaultEncrypted: true, vaultLines: [], sharedNodes: false, lineOf };
  }
  const plain = fast ? readPlainBlockYaml(source, positions, limits) : null;
  if (plain) {
    lineStarts = plain.lineStarts;
    return { file: relPath, docs: plain.docs, vaultEncrypted: false, vaultLines: [], sharedNodes: false, lineOf };
  }
  positions.clear(); // what the fast reader saw before it gave up
  let events: Event[];
  try {
    events = yaml.parseEvents(source, { filename: relPath, maxDepth: limits.maxDepth });
  } catch (err) {
    throw yamlError(err, relPath);
  }
  const vaultOffsets: number[] = [];
  const constructor = new EventConstructor(source, relPath, limits, positions, vaultOffsets);
  const docs = constructor.run(events);
  return { file: relPath, docs, vaultEncrypted: false, vaultLines: vaultOffsets.map(lineAt), sharedNodes: constructor.aliased, lineOf };
}

function computeLineStarts(source: string): number[] {
  const starts = [0];
  for (let i = source.indexOf("\n"); i !== -1; i = source.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

function yamlError(err: unknown, relPath: string): AnalysisInputError {
  if (err instanceof yaml.YAMLException && err.mark) {
    const { line, column } = err.mark;
    return new AnalysisInputError(
      `${relPath}:${line + 1}:${column + 1}: invalid YAML: ${err.reason || err.message}`,
      relPath,
      line + 1,
      column + 1,
    );
  }
  return new AnalysisInputError(`${relPath}: invalid YAML: ${err instanceof Error ? err.message : String(err)}`, relPath);
}

interface Frame {
  value: Record<string, unknown> | unknown[];
  weight: number;
  anchor: string | null;
  pendingKey: { set: boolean; key: string };
  merges: unknown[];
}

/** Builds plain values from parser events, recording positions and the expanded size of every node. */
class EventConstructor {
  private readonly anchors = new Map<string, { value: unknown; weight: number }>();
  private readonly stack: Frame[] = [];
  private readonly docs: unknown[] = [];
  /** An alias was used: some node has several parents. */
  aliased = false;

  constructor(
    private readonly source: string,
    private readonly file: string,
    private readonly limits: YamlLimits,
    private readonly positions: Map<object, number>,
    private readonly vaultOffsets: number[],
  ) {}

  run(events: Event[]): unknown[] {
    for (const ev of events) this.step(ev);
    return this.docs;
  }

  private slice(start: number, end: number): string | null {
    return start >= 0 ? this.source.slice(start, end) : null;
  }

  private step(ev: Event): void {
    switch (ev.type) {
      case yaml.EVENT_ID.DOCUMENT:
        this.anchors.clear();
        return;
      case yaml.EVENT_ID.MAPPING:
      case yaml.EVENT_ID.SEQUENCE: {
        const value = ev.type === yaml.EVENT_ID.MAPPING ? newMapping() : [];
        this.positions.set(value, ev.start);
        const anchor = this.slice(ev.anchorStart, ev.anchorEnd);
        if (anchor !== null) this.anchors.set(anchor, { value, weight: -1 }); // -1: still open
        this.stack.push({ value, weight: 1, anchor, pendingKey: { set: false, key: "" }, merges: [] });
        return;
      }
      case yaml.EVENT_ID.SCALAR:
        return this.add(this.scalar(ev), 1, this.slice(ev.anchorStart, ev.anchorEnd));
      case yaml.EVENT_ID.ALIAS: {
        const name = this.slice(ev.anchorStart, ev.anchorEnd) ?? "";
        const target = this.anchors.get(name);
        if (!target) throw new AnalysisInputError(`${this.file}: unknown alias *${name}`, this.file);
        if (target.weight < 0) throw new AnalysisInputError(`${this.file}: recursive alias *${name}`, this.file);
        this.aliased = true;
        return this.add(target.value, target.weight, null);
      }
      case yaml.EVENT_ID.POP: {
        const frame = this.stack.pop();
        if (!frame) return; // end of document
        if (frame.merges.length && !Array.isArray(frame.value)) applyMerges(frame.value, frame.merges);
        return this.add(frame.value, frame.weight, frame.anchor);
      }
    }
  }

  private checkWeight(weight: number): void {
    if (weight <= this.limits.maxExpandedNodes) return;
    throw new AnalysisInputError(
      `${this.file}: YAML aliases expand to more than ${this.limits.maxExpandedNodes} nodes (a "YAML bomb"); refusing to load it`,
      this.file,
    );
  }

  private scalar(ev: Extract<Event, { type: 4 }>): unknown {
    const text = yaml.getScalarValue(this.source, ev);
    const tag = this.slice(ev.tagStart, ev.tagEnd);
    if (tag === "!vault") this.vaultOffsets.push(ev.tagStart);
    if (tag !== null) return tag === "!!null" ? null : tag === "!!bool" || tag === "!!int" ? resolvePlain(text) : text;
    return ev.style === yaml.SCALAR_STYLE.PLAIN ? resolvePlain(text) : text;
  }

  /** Adds a finished node to its parent, checking the expanded size. */
  private add(value: unknown, weight: number, anchor: string | null): void {
    this.checkWeight(weight);
    if (anchor !== null) this.anchors.set(anchor, { value, weight });
    const parent = this.stack[this.stack.length - 1];
    if (!parent) {
      this.docs.push(value);
      return;
    }
    parent.weight += weight;
    this.checkWeight(parent.weight);
    if (Array.isArray(parent.value)) {
      parent.value.push(value);
    } else if (!parent.pendingKey.set) {
      parent.pendingKey = { set: true, key: keyString(value) };
    } else {
      const key = parent.pendingKey.key;
      parent.pendingKey = { set: false, key: "" };
      if (key === "<<") parent.merges.push(value);
      else parent.value[key] = value;
    }
  }
}

/** YAML merge keys (`<<: *base`): explicit keys win, earlier merged mappings win over later ones. */
function applyMerges(target: Record<string, unknown>, merges: unknown[]): void {
  const sources = merges.flatMap((m) => (Array.isArray(m) ? m : [m]));
  for (const src of sources) {
    if (src === null || typeof src !== "object" || Array.isArray(src)) continue;
    for (const [k, v] of Object.entries(src)) if (!(k in target)) target[k] = v;
  }
}
