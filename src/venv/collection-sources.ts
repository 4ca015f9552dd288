// Where collections come from: offline tarballs (picked from a local directory and uploaded) or a Galaxy server.
import fs from "node:fs";
import path from "node:path";
import { maxSatisfying } from "@renovatebot/pep440";
import type { CollectionRequirement } from "./venv-spec.js";
import { VenvError } from "./host-probe.js";

export interface Tarball {
  name: string;
  version: string;
  file: string;
}

/** Tarballs named as `ansible-galaxy collection build` names them: namespace-name-version.tar.gz. */
function tarballsIn(dir: string): Tarball[] {
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

/** The newest tarball for each galaxy collection in the spec; throws naming every one that is missing. */
export function pickTarballs(collections: CollectionRequirement[], dir: string): Tarball[] {
  const all = tarballsIn(dir);
  const missing: string[] = [];
  const picked: Tarball[] = [];
  for (const c of collections) {
    if ((c.type ?? "galaxy") !== "galaxy") {
      missing.push(`${c.name} (type ${c.type} cannot be installed offline)`);
      continue;
    }
    const candidates = all.filter((t) => t.name === c.name);
    const range = galaxyRangeToPep440(c.version ?? "*");
    const best = range === null ? maxSatisfying(candidates.map((t) => t.version), ">=0") : maxSatisfying(candidates.map((t) => t.version), range);
    const tarball = candidates.find((t) => t.version === best);
    if (tarball) picked.push(tarball);
    else missing.push(`${c.name} ${c.version ?? "*"}${candidates.length ? ` (have ${candidates.map((t) => t.version).join(", ")})` : ""}`);
  }
  if (missing.length > 0) {
    throw new VenvError("collections-failed", `no collection tarball in ${dir} for: ${missing.join("; ")} — add the tarballs or unset COLLECTION_TARBALL_DIR to use Galaxy`);
  }
  return picked;
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
