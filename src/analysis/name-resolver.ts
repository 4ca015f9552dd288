// Resolves plugin names the way Ansible does: FQCNs, `collections:` search lists, ansible.builtin, routing, redirects.
import type { AnsibleIndex } from "./ansible-index.js";
import { closestName } from "./did-you-mean.js";
import type { PluginKind } from "./types.js";

export type Resolution =
  | { status: "builtin"; fqcn: string }
  /**
   * verified is false for a collection the index does not know (its plugins cannot be checked);
   * newerThanIndex marks an FQCN the indexed version of a known collection lacks (so a later version must have it).
   */
  | { status: "collection"; collection: string; plugin: string; fqcn: string; verified: boolean; newerThanIndex?: true }
  | { status: "local" }
  | { status: "unresolved"; reason: string; suggestion: string | null };

/** Plugins shipped inside the project: library/, *_plugins/ dirs and collections/ansible_collections. */
export interface LocalPlugins {
  names: Partial<Record<PluginKind, ReadonlySet<string>>>;
  /** Collections found under the project's collections/ansible_collections, with their plugin names. */
  collections: ReadonlyMap<string, Partial<Record<PluginKind, ReadonlySet<string>>>>;
}

const BUILTIN = new Set(["ansible.builtin", "ansible.legacy"]);
const MAX_REDIRECTS = 10;

export class NameResolver {
  /** kind → search list → name → resolution (nested: no key string built per use). */
  private readonly memo = new Map<PluginKind, Map<string, Map<string, Resolution>>>();

  constructor(
    private readonly index: AnsibleIndex,
    private readonly local: LocalPlugins,
  ) {}

  /** Resolves `name` of a plugin kind with a `collections:` search list; results are memoised. */
  resolve(kind: PluginKind, name: string, searchList: readonly string[]): Resolution {
    let byList = this.memo.get(kind);
    if (!byList) this.memo.set(kind, (byList = new Map()));
    const listKey = searchList.length === 0 ? "" : searchList.join(",");
    let byName = byList.get(listKey);
    if (!byName) byList.set(listKey, (byName = new Map()));
    let r = byName.get(name);
    if (!r) {
      r = name.split(".").length >= 3 ? this.resolveFqcn(kind, name, 0) : this.resolveShort(kind, name, searchList);
      if (r.status === "unresolved" && r.suggestion === null && !r.reason.startsWith("removed")) {
        r = { ...r, suggestion: this.suggest(kind, name, searchList) };
      }
      byName.set(name, r);
    }
    return r;
  }

  private resolveShort(kind: PluginKind, name: string, searchList: readonly string[]): Resolution {
    if (this.local.names[kind]?.has(name)) return { status: "local" };
    for (const coll of searchList) {
      if (BUILTIN.has(coll)) continue;
      if (this.provides(coll, kind, name)) return this.resolveFqcn(kind, `${coll}.${name}`, 0);
    }
    if (this.index.isBuiltin(kind, name)) return { status: "builtin", fqcn: `ansible.builtin.${name}` };
    const route = this.index.builtinRoute(kind, name);
    if (route && "removed" in route) return { status: "unresolved", reason: `removed: ${route.removed}`, suggestion: null };
    if (route) return this.resolveFqcn(kind, route.fqcn, 1);
    return { status: "unresolved", reason: `unknown ${kindLabel(kind)}`, suggestion: null };
  }

  private provides(coll: string, kind: PluginKind, name: string): boolean {
    const local = this.local.collections.get(coll);
    if (local) return !!local[kind]?.has(name);
    return this.index.collectionHas(coll, kind, name) || this.index.collectionRedirect(coll, kind, name) !== undefined;
  }

  private resolveFqcn(kind: PluginKind, fqcn: string, depth: number): Resolution {
    const parts = fqcn.split(".");
    const coll = `${parts[0]}.${parts[1]}`;
    const plugin = parts.slice(2).join(".");
    if (depth > MAX_REDIRECTS) return { status: "unresolved", reason: "redirect loop", suggestion: null };
    if (BUILTIN.has(coll)) {
      if (this.index.isBuiltin(kind, plugin)) return { status: "builtin", fqcn: `ansible.builtin.${plugin}` };
      if (coll === "ansible.legacy" && this.local.names[kind]?.has(plugin)) return { status: "local" };
      const route = this.index.builtinRoute(kind, plugin);
      if (route && "fqcn" in route) return this.resolveFqcn(kind, route.fqcn, depth + 1);
      const reason = route ? `removed: ${route.removed}` : `unknown ${kindLabel(kind)}`;
      return { status: "unresolved", reason, suggestion: null };
    }
    const local = this.local.collections.get(coll);
    if (local) {
      if (local[kind]?.has(plugin)) return { status: "collection", collection: coll, plugin, fqcn, verified: true };
      return { status: "unresolved", reason: `${coll} in the project has no such ${kindLabel(kind)}`, suggestion: null };
    }
    if (!this.index.hasCollection(coll)) return this.unknownCollection(kind, coll, plugin, fqcn);
    const redirect = this.index.collectionRedirect(coll, kind, plugin);
    if (redirect && "fqcn" in redirect) return this.resolveFqcn(kind, redirect.fqcn, depth + 1);
    if (redirect) return { status: "unresolved", reason: `removed: ${redirect.removed}`, suggestion: null };
    if (this.index.collectionHas(coll, kind, plugin)) return { status: "collection", collection: coll, plugin, fqcn, verified: true };
    // A name close to one the collection has is most likely a typo; any other name is taken as a plugin added
    // after the indexed version (collections gain plugins in every minor release), which a newer version provides.
    const near = closestName(plugin, this.index.collectionPluginNames(coll, kind));
    if (near || !this.index.collectionVersion(coll)) {
      return { status: "unresolved", reason: `${coll} has no ${kindLabel(kind)} named ${plugin}`, suggestion: near ? `${coll}.${near}` : null };
    }
    return { status: "collection", collection: coll, plugin, fqcn, verified: true, newerThanIndex: true };
  }

  /** A collection the index lacks: a likely typo of a known one, or a real collection we cannot check. */
  private unknownCollection(kind: PluginKind, coll: string, plugin: string, fqcn: string): Resolution {
    const near = closestName(coll, this.index.collectionNames());
    if (near && (this.index.collectionHas(near, kind, plugin) || this.index.collectionRedirect(near, kind, plugin))) {
      return { status: "unresolved", reason: `unknown collection ${coll}`, suggestion: `${near}.${plugin}` };
    }
    return { status: "collection", collection: coll, plugin, fqcn, verified: false };
  }

  private suggest(kind: PluginKind, name: string, searchList: readonly string[]): string | null {
    const parts = name.split(".");
    if (parts.length >= 3) {
      const coll = `${parts[0]}.${parts[1]}`;
      const plugin = parts.slice(2).join(".");
      const names = BUILTIN.has(coll)
        ? [...this.index.builtinNames(kind), ...this.index.routedNames(kind)]
        : this.index.collectionPluginNames(coll, kind);
      const hit = closestName(plugin, names);
      return hit ? `${coll}.${hit}` : null;
    }
    const candidates = new Map<string, string>();
    for (const n of this.index.routedNames(kind)) candidates.set(n, n);
    for (const n of this.index.builtinNames(kind)) candidates.set(n, `ansible.builtin.${n}`);
    for (const coll of searchList) {
      for (const n of this.index.collectionPluginNames(coll, kind)) if (!candidates.has(n)) candidates.set(n, `${coll}.${n}`);
    }
    const hit = closestName(name, candidates.keys());
    if (!hit) return null;
    const target = candidates.get(hit) ?? hit;
    if (target !== hit) return target;
    const routed = this.index.builtinRoute(kind, hit);
    return routed && "fqcn" in routed ? routed.fqcn : hit;
  }
}

export function kindLabel(kind: PluginKind): string {
  return kind === "modules" ? "module" : `${kind} plugin`;
}
