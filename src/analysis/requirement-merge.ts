// Merges pip requirement strings by package (constraints combined, as ansible-builder does) and ansible-core ranges.

const REQ = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([^;]*?)\s*(?:;\s*(.*))?$/;

/** PEP 503 name normalisation: case- and separator-insensitive. */
export function normalizePackageName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

/** One string per (package, marker), with extras and specifiers united; sorted by package name. */
export function mergeRequirements(reqs: Iterable<string>): string[] {
  const groups = new Map<string, { name: string; extras: Set<string>; specs: Set<string>; marker: string }>();
  for (const raw of [...new Set(reqs)].sort()) {
    const m = REQ.exec(raw.trim());
    if (!m?.[1]) continue;
    const marker = (m[4] ?? "").trim();
    const key = `${normalizePackageName(m[1])}|${marker}`;
    let g = groups.get(key);
    if (!g) {
      g = { name: m[1], extras: new Set(), specs: new Set(), marker };
      groups.set(key, g);
    }
    for (const e of (m[2] ?? "").replace(/[[\]\s]/g, "").split(",")) if (e) g.extras.add(e);
    for (const s of (m[3] ?? "").replace(/\s+/g, "").split(",")) if (s) g.specs.add(s);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, g]) => {
      const extras = g.extras.size ? `[${[...g.extras].sort().join(",")}]` : "";
      const specs = narrowSpecs([...g.specs]);
      return `${g.name}${extras}${specs}${g.marker ? `; ${g.marker}` : ""}`;
    });
}

/** `>=1.2,>=1.6` → `>=1.6`: the tightest bounds, when every clause is understood; else all, sorted. */
function narrowSpecs(specs: string[]): string {
  if (specs.length < 2) return specs.join(",");
  const understood = specs.every((s) => /^(>=|>|<=|<|==|!=|~=)[0-9][\w.*]*$/.test(s));
  return understood ? (intersectRanges([specs.join(",")]).range ?? "") : specs.sort().join(",");
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map((x) => parseInt(x, 10) || 0);
  const pb = b.split(".").map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

/**
 * The narrowest range satisfying every requires_ansible: the highest lower bound and the lowest upper bound.
 * Returns null for no ranges, and `conflict` when no version can satisfy them all.
 */
export function intersectRanges(ranges: Iterable<string>): { range: string | null; conflict: boolean } {
  let lower: { op: string; v: string } | null = null;
  let upper: { op: string; v: string } | null = null;
  const other = new Set<string>();
  for (const range of ranges) {
    for (const clause of range.split(",").map((c) => c.replace(/\s+/g, "")).filter(Boolean)) {
      const m = /^(>=|>|<=|<|==|!=|~=)([0-9][\w.*]*)$/.exec(clause);
      if (!m?.[1] || !m[2]) continue;
      const [op, v] = [m[1], m[2]];
      if (op === ">=" || op === ">") {
        const c = lower ? compareVersions(v, lower.v) : 1;
        if (c > 0 || (c === 0 && op === ">")) lower = { op, v };
      } else if (op === "<" || op === "<=") {
        const c = upper ? compareVersions(v, upper.v) : -1;
        if (c < 0 || (c === 0 && op === "<")) upper = { op, v };
      } else {
        other.add(`${op}${v}`);
      }
    }
  }
  const parts = [...(lower ? [`${lower.op}${lower.v}`] : []), ...(upper ? [`${upper.op}${upper.v}`] : []), ...[...other].sort()];
  const conflict = !!lower && !!upper && compareVersions(lower.v, upper.v) >= (upper.op === "<=" && lower.op === ">=" ? 1 : 0);
  return { range: parts.length ? parts.join(",") : null, conflict };
}

type Bound = { op: string; v: string; i: number };

/** What a list of ansible-galaxy collection ranges allows: bounds, pins and exclusions, with the clause each came from. */
export interface CollectionBounds {
  lower: Bound | null;
  upper: Bound | null;
  pins: Bound[];
  excluded: Bound[];
  satisfiable: boolean;
}

/**
 * ansible-galaxy's collection version ranges (`*`, `1.2.3`, `==`, `!=`, `>=`, `>`, `<=`, `<`, comma-separated;
 * collections use semver x.y.z). `i` of each bound is the index of the range it came from, so a conflict can
 * name both sides.
 */
export function collectionBounds(ranges: readonly string[]): CollectionBounds {
  let lower: Bound | null = null;
  let upper: Bound | null = null;
  const pins: Bound[] = [];
  const excluded: Bound[] = [];
  ranges.forEach((range, i) => {
    for (const clause of range.split(",").map((c) => c.replace(/\s+/g, "")).filter((c) => c && c !== "*")) {
      const m = /^(==|!=|>=|>|<=|<)?(\d[\w.+-]*)$/.exec(clause);
      if (!m?.[2]) continue;
      const [op, v] = [m[1] ?? "==", m[2]];
      if (op === ">=" || op === ">") {
        const c = lower ? compareVersions(v, lower.v) : 1;
        if (c > 0 || (c === 0 && op === ">")) lower = { op, v, i };
      } else if (op === "<" || op === "<=") {
        const c = upper ? compareVersions(v, upper.v) : -1;
        if (c < 0 || (c === 0 && op === "<")) upper = { op, v, i };
      } else (op === "==" ? pins : excluded).push({ op, v, i });
    }
  });
  const allows = (v: string): boolean =>
    (!lower || compareVersions(v, lower.v) > (lower.op === ">" ? 0 : -1)) &&
    (!upper || compareVersions(v, upper.v) < (upper.op === "<" ? 0 : 1)) &&
    !excluded.some((e) => compareVersions(v, e.v) === 0) &&
    pins.every((p) => compareVersions(v, p.v) === 0);
  const lo = lower as Bound | null;
  const up = upper as Bound | null;
  let satisfiable: boolean;
  if (pins[0]) satisfiable = allows(pins[0].v);
  else if (lo && up) {
    const c = compareVersions(lo.v, up.v);
    // Versions are dense enough (x.y.z, patch releases) that an open interval between two different versions
    // is taken as satisfiable; equal ends need both inclusive and not excluded.
    satisfiable = c < 0 || (c === 0 && lo.op === ">=" && up.op === "<=" && allows(lo.v));
  } else satisfiable = true;
  return { lower: lo, upper: up, pins, excluded, satisfiable };
}

/** One range for a collection out of several (declared, version_added minimums...), and whether any version fits. */
export function mergeCollectionRange(ranges: readonly string[]): { range: string | null; satisfiable: boolean } {
  const b = collectionBounds(ranges);
  const parts = [
    ...[...new Set(b.pins.map((p) => `==${p.v}`))],
    ...(b.lower && !b.pins.length ? [`${b.lower.op}${b.lower.v}`] : []),
    ...(b.upper && !b.pins.length ? [`${b.upper.op}${b.upper.v}`] : []),
    ...[...new Set(b.excluded.map((e) => `!=${e.v}`))].sort(),
  ];
  // With a conflicting pin the bounds stay visible, so the message shows what clashes.
  if (b.pins.length && !b.satisfiable) {
    if (b.lower) parts.push(`${b.lower.op}${b.lower.v}`);
    if (b.upper) parts.push(`${b.upper.op}${b.upper.v}`);
  }
  return { range: parts.length ? parts.join(",") : null, satisfiable: b.satisfiable };
}
