// The generated Ansible index (scripts/generate-ansible-index.py): keywords, builtin plugins, routing, collections.
import { readFileSync } from "node:fs";
import type { PluginKind } from "./types.js";

type Route = string | { removed: string };

export interface CollectionData {
  version?: string;
  requiresAnsible?: string;
  dependencies?: Record<string, string>;
  plugins?: Partial<Record<PluginKind, string[]>>;
  redirects?: Partial<Record<PluginKind, Record<string, Route>>>;
  actionGroups?: Record<string, string[]>;
  python?: string[];
  pluginPython?: Partial<Record<PluginKind, Record<string, string[]>>>;
  /** version_added after 1.0.0, grouped: {kind: {version: [plugin names]}} (a name is stored once). */
  added?: Partial<Record<PluginKind, Record<string, string[]>>>;
}

/** The index file's first line; the routing tables and the collections follow, one section per line. */
export interface IndexHead {
  source: { ansibleCore: string; ansible: string; generator: string };
  keywords: string[];
  builtin: Record<PluginKind, string[]>;
  actionGroups: Record<string, string[]>;
}

/** A redirect target: the plugin's FQCN, or why it is gone. */
export type RouteTarget = { fqcn: string } | { removed: string };

const DEFAULT_INDEX_PATH = new URL("./data/ansible-index.jsonl", import.meta.url);

/**
 * The index file (JSON Lines, scripts/generate-ansible-index.py): the head, then `["routing/<kind>", {...}]` and
 * `["collections/<name>", {...}]`, one per line. A section is parsed when first asked for: a project uses a few of
 * the 109 collections, and parsing all of the 610 KiB took about a tenth of a cold analysis.
 */
export class IndexSections {
  readonly head: IndexHead;
  private readonly ranges = new Map<string, { start: number; end: number }>();
  private readonly parsed = new Map<string, unknown>();

  constructor(private readonly text: string) {
    let nl = text.indexOf("\n");
    this.head = JSON.parse(text.slice(0, nl < 0 ? text.length : nl)) as IndexHead;
    for (let at = nl + 1; nl >= 0 && at < text.length; at = nl + 1) {
      nl = text.indexOf("\n", at);
      const end = nl < 0 ? text.length : nl;
      if (end === at) continue;
      // ["<key>",<value>]: keys are plain names (the generator checks), so the first '",' ends the key.
      const close = text.indexOf('",', at);
      if (!text.startsWith('["', at) || close < 0 || close > end || text.charCodeAt(end - 1) !== 93) {
        throw new Error(`ansible index: line at offset ${at} is not a ["key",value] section`);
      }
      this.ranges.set(text.slice(at + 2, close), { start: close + 2, end: end - 1 });
    }
  }

  /** The keys after `prefix` (`collections/` gives the collection names). */
  keys(prefix: string): string[] {
    return [...this.ranges.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
  }

  has(key: string): boolean {
    return this.ranges.has(key);
  }

  get(key: string): unknown {
    let value = this.parsed.get(key);
    if (value === undefined) {
      const r = this.ranges.get(key);
      if (!r) return undefined;
      value = JSON.parse(this.text.slice(r.start, r.end));
      this.parsed.set(key, value);
    }
    return value;
  }
}

/** Read-only lookups over the index, with name sets built once per kind. */
export class AnsibleIndex {
  readonly keywords: ReadonlySet<string>;
  private readonly head: IndexHead;
  private readonly names: string[];
  private readonly sets = new Map<string, ReadonlySet<string>>();
  private readonly addedMaps = new Map<string, ReadonlyMap<string, string>>();

  constructor(private readonly sections: IndexSections) {
    this.head = sections.head;
    this.keywords = new Set(this.head.keywords);
    this.names = sections.keys("collections/");
  }

  get source(): IndexHead["source"] {
    return this.head.source;
  }

  /** A collection's entry, parsed when first asked for. */
  collection(name: string): CollectionData | undefined {
    return this.sections.get(`collections/${name}`) as CollectionData | undefined;
  }

  private routing(kind: PluginKind): Record<string, Route> | undefined {
    return this.sections.get(`routing/${kind}`) as Record<string, Route> | undefined;
  }

  private set(key: string, names: readonly string[] | undefined): ReadonlySet<string> {
    let s = this.sets.get(key);
    if (!s) {
      s = new Set(names ?? []);
      this.sets.set(key, s);
    }
    return s;
  }

  isBuiltin(kind: PluginKind, name: string): boolean {
    return this.set(`builtin/${kind}`, this.head.builtin[kind]).has(name);
  }

  builtinNames(kind: PluginKind): readonly string[] {
    return this.head.builtin[kind] ?? [];
  }

  /** ansible-core's plugin_routing for a short name (a redirect into a collection, or a tombstone). */
  builtinRoute(kind: PluginKind, name: string): RouteTarget | undefined {
    const table = this.routing(kind);
    return decodeRoute(table && Object.hasOwn(table, name) ? table[name] : undefined, name);
  }

  routedNames(kind: PluginKind): string[] {
    return Object.keys(this.routing(kind) ?? {});
  }

  hasCollection(name: string): boolean {
    return this.sections.has(`collections/${name}`);
  }

  collectionNames(): string[] {
    return [...this.names];
  }

  collectionVersion(name: string): string | undefined {
    return this.collection(name)?.version;
  }

  requiresAnsible(name: string): string | undefined {
    return this.collection(name)?.requiresAnsible;
  }

  /** Whether the collection ships a plugin of this name (not counting redirects). */
  collectionHas(coll: string, kind: PluginKind, name: string): boolean {
    return this.set(`${coll}/${kind}`, this.collection(coll)?.plugins?.[kind]).has(name);
  }

  collectionPluginNames(coll: string, kind: PluginKind): string[] {
    const c = this.collection(coll);
    return [...(c?.plugins?.[kind] ?? []), ...Object.keys(c?.redirects?.[kind] ?? {})];
  }

  collectionRedirect(coll: string, kind: PluginKind, name: string): RouteTarget | undefined {
    const table = this.collection(coll)?.redirects?.[kind];
    return decodeRoute(table && Object.hasOwn(table, name) ? table[name] : undefined, name);
  }

  /** Collections whose meta/runtime.yml defines the action group (reads every collection's entry). */
  groupDefiners(group: string): string[] {
    return this.names.filter((n) => this.collectionDefinesGroup(n, group));
  }

  /** ansible-core's own action_groups: a short group name extended by collections' groups. */
  builtinGroup(group: string): string[] | undefined {
    return Object.hasOwn(this.head.actionGroups, group) ? this.head.actionGroups[group] : undefined;
  }

  collectionDefinesGroup(coll: string, group: string): boolean {
    const groups = this.collection(coll)?.actionGroups;
    return !!groups && Object.hasOwn(groups, group);
  }

  /** The collection version that added the plugin (its docs' version_added), when known and after 1.0.0. */
  versionAdded(coll: string, kind: PluginKind, name: string): string | undefined {
    const key = `${coll}/${kind}`;
    let m = this.addedMaps.get(key);
    if (!m) {
      const byVersion = this.collection(coll)?.added?.[kind] ?? {};
      m = new Map(Object.entries(byVersion).flatMap(([v, names]) => names.map((n): [string, string] => [n, v])));
      this.addedMaps.set(key, m);
    }
    return m.get(name);
  }

  /** Python requirements of a plugin: the collection's declared ones, else the plugin's docs `requirements:`. */
  pythonFor(coll: string, kind: PluginKind, name: string): string[] {
    const c = this.collection(coll);
    if (!c) return [];
    if (c.python) return c.python;
    return c.pluginPython?.[kind]?.[name] ?? [];
  }
}

function decodeRoute(route: Route | undefined, name: string): RouteTarget | undefined {
  if (route === undefined) return undefined;
  if (typeof route !== "string") return { removed: route.removed };
  // The generator stores "ns.coll" alone when the plugin keeps its name.
  return { fqcn: route.split(".").length === 2 ? `${route}.${name}` : route };
}

const loaded = new Map<string, AnsibleIndex>();

/** Loads (once per path, then from memory) the generated index. */
export function loadAnsibleIndex(path: URL | string = DEFAULT_INDEX_PATH): AnsibleIndex {
  const key = String(path);
  let index = loaded.get(key);
  if (!index) {
    index = new AnsibleIndex(new IndexSections(readFileSync(path, "utf8")));
    loaded.set(key, index);
  }
  return index;
}
