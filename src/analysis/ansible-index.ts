// The generated Ansible index (scripts/generate-ansible-index.py): keywords, builtin plugins, routing, collections.
import { readFileSync } from "node:fs";
import type { PluginKind } from "./types.js";

type Route = string | { removed: string };

interface CollectionData {
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

export interface IndexData {
  source: { ansibleCore: string; ansible: string; generator: string };
  keywords: string[];
  builtin: Record<PluginKind, string[]>;
  routing: Partial<Record<PluginKind, Record<string, Route>>>;
  actionGroups: Record<string, string[]>;
  collections: Record<string, CollectionData>;
}

/** A redirect target: the plugin's FQCN, or why it is gone. */
export type RouteTarget = { fqcn: string } | { removed: string };

const DEFAULT_INDEX_PATH = new URL("./data/ansible-index.json", import.meta.url);

/** Read-only lookups over the index, with name sets built once per kind. */
export class AnsibleIndex {
  readonly keywords: ReadonlySet<string>;
  private readonly sets = new Map<string, ReadonlySet<string>>();
  private readonly addedMaps = new Map<string, ReadonlyMap<string, string>>();

  constructor(readonly data: IndexData) {
    this.keywords = new Set(data.keywords);
  }

  get source(): IndexData["source"] {
    return this.data.source;
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
    return this.set(`builtin/${kind}`, this.data.builtin[kind]).has(name);
  }

  builtinNames(kind: PluginKind): readonly string[] {
    return this.data.builtin[kind] ?? [];
  }

  /** ansible-core's plugin_routing for a short name (a redirect into a collection, or a tombstone). */
  builtinRoute(kind: PluginKind, name: string): RouteTarget | undefined {
    return decodeRoute(this.data.routing[kind]?.[name], name);
  }

  routedNames(kind: PluginKind): string[] {
    return Object.keys(this.data.routing[kind] ?? {});
  }

  hasCollection(name: string): boolean {
    return Object.hasOwn(this.data.collections, name);
  }

  collectionNames(): string[] {
    return Object.keys(this.data.collections);
  }

  collectionVersion(name: string): string | undefined {
    return this.data.collections[name]?.version;
  }

  requiresAnsible(name: string): string | undefined {
    return this.data.collections[name]?.requiresAnsible;
  }

  /** Whether the collection ships a plugin of this name (not counting redirects). */
  collectionHas(coll: string, kind: PluginKind, name: string): boolean {
    return this.set(`${coll}/${kind}`, this.data.collections[coll]?.plugins?.[kind]).has(name);
  }

  collectionPluginNames(coll: string, kind: PluginKind): string[] {
    const c = this.data.collections[coll];
    return [...(c?.plugins?.[kind] ?? []), ...Object.keys(c?.redirects?.[kind] ?? {})];
  }

  collectionRedirect(coll: string, kind: PluginKind, name: string): RouteTarget | undefined {
    return decodeRoute(this.data.collections[coll]?.redirects?.[kind]?.[name], name);
  }

  /** Collections whose meta/runtime.yml defines the action group. */
  groupDefiners(group: string): string[] {
    return Object.entries(this.data.collections)
      .filter(([, c]) => c.actionGroups && Object.hasOwn(c.actionGroups, group))
      .map(([n]) => n);
  }

  /** ansible-core's own action_groups: a short group name extended by collections' groups. */
  builtinGroup(group: string): string[] | undefined {
    return Object.hasOwn(this.data.actionGroups, group) ? this.data.actionGroups[group] : undefined;
  }

  collectionDefinesGroup(coll: string, group: string): boolean {
    const groups = this.data.collections[coll]?.actionGroups;
    return !!groups && Object.hasOwn(groups, group);
  }

  /** The collection version that added the plugin (its docs' version_added), when known and after 1.0.0. */
  versionAdded(coll: string, kind: PluginKind, name: string): string | undefined {
    const key = `${coll}/${kind}`;
    let m = this.addedMaps.get(key);
    if (!m) {
      const byVersion = this.data.collections[coll]?.added?.[kind] ?? {};
      m = new Map(Object.entries(byVersion).flatMap(([v, names]) => names.map((n): [string, string] => [n, v])));
      this.addedMaps.set(key, m);
    }
    return m.get(name);
  }

  /** Python requirements of a plugin: the collection's declared ones, else the plugin's docs `requirements:`. */
  pythonFor(coll: string, kind: PluginKind, name: string): string[] {
    const c = this.data.collections[coll];
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
    index = new AnsibleIndex(JSON.parse(readFileSync(path, "utf8")) as IndexData);
    loaded.set(key, index);
  }
  return index;
}
