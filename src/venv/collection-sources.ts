// Where collections come from: offline tarballs (picked from a local directory and uploaded) or a Galaxy server.
import fs from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import zlib from "node:zlib";
import { maxSatisfying, satisfies } from "@renovatebot/pep440";
import tar from "tar-stream";
import type { CollectionRequirement } from "./venv-spec.js";
import { VenvError } from "./host-probe.js";

export interface Tarball {
  name: string;
  version: string;
  file: string;
}

/** Tarballs named as `ansible-galaxy collection build` names them: namespace-name-version.tar.gz. */
export function tarballsIn(dir: string): Tarball[] {
  if (!fs.existsSync(dir)) throw new VenvError("collections-failed", `COLLECTION_TARBALL_DIR ${dir} does not exist`);
  return fs.readdirSync(dir).flatMap((f) => {
    const m = /^([a-z0-9_]+)-([a-z0-9_]+)-(\d[^/]*)\.tar\.gz$/.exec(f);
    return m ? [{ name: `${m[1]}.${m[2]}`, version: m[3]!, file: path.join(dir, f) }] : [];
  });
}

/** A Galaxy range as PEP 440: "*" → any, bare "1.2.3" → "==1.2.3". */
export function galaxyRangeToPep440(range: string): string | null {
  if (range === "*" || range === "") return null;
  return range
    .split(",")
    .map((p) => (/^[0-9]/.test(p) ? `==${p}` : p))
    .join(",");
}

/** What a collection tarball's MANIFEST.json says about it (collection_info). */
export interface TarballManifest {
  namespace: string;
  name: string;
  version: string;
  /** Galaxy ranges by collection name, e.g. {"community.general": ">=6.0.0"}. */
  dependencies: Record<string, string>;
}

/** Reads MANIFEST.json out of a collection tarball (it sits at the top, as `ansible-galaxy collection build` writes it). */
export async function readTarballManifest(file: string): Promise<TarballManifest> {
  const extract = tar.extract();
  let manifest: TarballManifest | null = null;
  const reading = (async () => {
    for await (const entry of extract) {
      if (manifest === null && entry.header.name.replace(/^\.\//, "") === "MANIFEST.json") {
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        const info = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { collection_info?: Partial<TarballManifest> }).collection_info ?? {};
        manifest = { namespace: info.namespace ?? "", name: info.name ?? "", version: info.version ?? "", dependencies: info.dependencies ?? {} };
      } else entry.resume();
    }
  })();
  try {
    await Promise.all([pipeline(fs.createReadStream(file), zlib.createGunzip(), extract), reading]);
  } catch (err) {
    throw new VenvError("collections-failed", `${path.basename(file)} is not a readable collection tarball: ${(err as Error).message}`);
  }
  if (manifest === null) throw new VenvError("collections-failed", `${path.basename(file)} has no MANIFEST.json: it is not a collection tarball`);
  return manifest;
}

function inRange(version: string, range: string): boolean {
  const pep = galaxyRangeToPep440(range.replace(/\s+/g, ""));
  return pep === null || satisfies(version, pep);
}

function newestIn(candidates: Tarball[], ranges: string[]): Tarball | undefined {
  const fit = candidates.filter((t) => ranges.every((r) => inRange(t.version, r)));
  const best = maxSatisfying(fit.map((t) => t.version), ">=0");
  return fit.find((t) => t.version === best);
}

/**
 * The tarballs to install for the spec's galaxy collections and, following each chosen tarball's MANIFEST.json
 * `dependencies`, everything they need: for each collection the newest version that satisfies every range asked of
 * it (by the spec and by the chosen dependents). Throws naming each collection, range, who asked and what the
 * directory has. Small and greedy: a pick is revised when a later range excludes it; no backtracking beyond that.
 */
export async function pickTarballs(collections: CollectionRequirement[], dir: string): Promise<Tarball[]> {
  const all = tarballsIn(dir);
  const problems: string[] = [];
  /** name → ranges asked of it, each with who asked ("the playbook" or "dropship.app 1.0.0"). */
  const asked = new Map<string, { range: string; by: string }[]>();
  const ask = (name: string, range: string, by: string) => {
    const list = asked.get(name) ?? [];
    if (!list.some((a) => a.range === range && a.by === by)) list.push({ range, by });
    asked.set(name, list);
  };
  for (const c of collections) {
    if ((c.type ?? "galaxy") !== "galaxy") problems.push(`${c.name} (type ${c.type} cannot be installed offline)`);
    else ask(c.name, c.version ?? "*", "the playbook");
  }
  const manifests = new Map<string, TarballManifest>();
  const picked = new Map<string, Tarball>();
  const failed = new Set<string>();
  for (let changed = true, rounds = 0; changed && rounds < 50; rounds++) {
    changed = false;
    for (const [name, ranges] of asked) {
      if (failed.has(name)) continue;
      const candidates = all.filter((t) => t.name === name);
      const best = newestIn(candidates, ranges.map((r) => r.range));
      if (!best) {
        failed.add(name);
        const have = candidates.length ? `the directory has ${candidates.map((t) => t.version).sort().join(", ")}` : "the directory has no version of it";
        const wanted = ranges.map((r) => `${r.range === "*" ? "any version" : r.range} (asked by ${r.by})`).join(" and ");
        problems.push(`${name} ${wanted}: ${have}`);
        continue;
      }
      if (picked.get(name)?.file === best.file) continue;
      const previous = picked.get(name);
      picked.set(name, best);
      changed = true;
      // The old pick's own ranges no longer apply.
      if (previous) for (const list of asked.values()) for (let i = list.length - 1; i >= 0; i--) if (list[i]!.by === `${name} ${previous.version}`) list.splice(i, 1);
      let manifest = manifests.get(best.file);
      if (!manifest) manifests.set(best.file, (manifest = await readTarballManifest(best.file)));
      for (const [dep, range] of Object.entries(manifest.dependencies)) ask(dep.toLowerCase(), String(range || "*"), `${name} ${best.version}`);
    }
  }
  if (problems.length > 0) {
    throw new VenvError("collections-failed", `no collection tarball in ${dir} for: ${problems.join("; ")} — add the tarballs or unset COLLECTION_TARBALL_DIR to use Galaxy`, {
      unsatisfiable: true,
    });
  }
  return [...picked.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** requirements.yml content for ansible-galaxy (JSON is valid YAML). */
export function galaxyRequirementsFile(collections: CollectionRequirement[]): string {
  return JSON.stringify({
    collections: collections.map((c) => ({
      name: c.name,
      ...(c.version && c.version !== "*" ? { version: c.version } : {}),
      ...(c.source ? { source: c.source } : {}),
      ...(c.type && c.type !== "galaxy" ? { type: c.type } : {}),
    })),
  });
}
