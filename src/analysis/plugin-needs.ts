// What a used plugin asks of its collection (a version that has it, Python packages), and the version ranges a
// collection's uses add up to: looked up once per plugin, kept once per range, for projects with thousands of uses.
import type { AnsibleIndex } from "./ansible-index.js";
import type { Resolution } from "./name-resolver.js";
import type { PluginKind } from "./types.js";

export interface PluginNeeds {
  /** The indexed version of the collection lacks the plugin: a later version must have it. */
  newer: boolean;
  indexed: string | undefined;
  /** version_added, when after 1.0.0 (and not `newer`). */
  added: string | undefined;
  python: readonly string[];
}

/** PluginNeeds per resolution: the resolver hands out one object per (kind, search list, name). */
export class PluginNeedsMemo {
  private readonly memo = new Map<Resolution, PluginNeeds>();

  constructor(private readonly index: AnsibleIndex) {}

  get(r: Extract<Resolution, { status: "collection" }>, kind: PluginKind): PluginNeeds {
    let needs = this.memo.get(r);
    if (!needs) {
      const indexed = this.index.collectionVersion(r.collection);
      const newer = !!r.newerThanIndex && !!indexed;
      needs = {
        newer,
        indexed,
        added: newer ? undefined : this.index.versionAdded(r.collection, kind, r.plugin),
        python: this.index.pythonFor(r.collection, kind, r.plugin),
      };
      this.memo.set(r, needs);
    }
    return needs;
  }
}

/** A collection's version ranges, each with why (declared ranges, what uses need). */
export interface RangeNeeds {
  ranges: { range: string; why: string; declared: boolean }[];
  /** Where each range that uses need sits in `ranges`, with the reasons seen for it (see addNeed). */
  needs: Map<string, { at: number; whys: Set<string> }>;
}

/**
 * One entry per range that uses need (not one per use), holding the reason that decides the merged bound as a list
 * of every use would: of equal lower bounds the first `>=` wins and the last `>` (collectionBounds in
 * requirement-merge.ts), and a repeated reason counts once.
 */
export function addNeed(c: RangeNeeds, range: string, why: string): void {
  const seen = c.needs.get(range);
  if (!seen) {
    c.needs.set(range, { at: c.ranges.length, whys: new Set([why]) });
    c.ranges.push({ range, why, declared: false });
  } else if (range.startsWith(">") && !range.startsWith(">=") && !seen.whys.has(why)) {
    seen.whys.add(why);
    const entry = c.ranges[seen.at];
    if (entry) entry.why = why;
  }
}
