// What an ensured venv holds, for people: its Python, every installed distribution, its collections and roles.
// One command on the host (the venv's own python); collections and roles come from what the build read back.
import { normalizePackageName } from "../analysis/requirement-merge.js";
import { run, type Host } from "../hosts/host.js";
import type { EnsuredVenv } from "./venv-manager.js";
import type { NormalisedVenvSpec } from "./venv-spec.js";

export interface VenvContents {
  python: { path: string; version: string };
  /** The installed ansible-core version ("unknown" if the venv somehow lacks it). */
  ansibleCore: string;
  /** Every distribution in the venv; `requested` marks ansible-core and the spec's packages (the rest are dependencies). */
  packages: { name: string; version: string; requested: boolean }[];
  collections: { name: string; version: string | null }[];
  /** version null: none recorded (a role from an archive URL). */
  roles: { name: string; version: string | null }[];
}

// Prints {version, packages: [{name, version}]} for the interpreter it runs in (the venv's, which sees only its own site-packages).
const PACKAGES_PY = `
import importlib.metadata as md, json, platform
seen = {}
for d in md.distributions():
    name = d.metadata["Name"]
    if name and name.lower() not in seen:
        seen[name.lower()] = {"name": name, "version": d.version}
print(json.dumps({"version": platform.python_version(), "packages": list(seen.values())}))
`;

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Reads the venv's Python and packages from the host; collections and roles from `venv.installed` (the spec's names if unrecorded). */
export async function readVenvContents(host: Host, venv: EnsuredVenv, spec: NormalisedVenvSpec): Promise<VenvContents> {
  const pythonPath = `${venv.path}/bin/python`;
  const out = await run(host, [pythonPath, "-c", PACKAGES_PY], { timeoutMs: 60_000 });
  const listed = JSON.parse(out.stdout.trim().split("\n").pop() ?? "{}") as { version: string; packages: { name: string; version: string }[] };
  const requested = new Set(["ansible-core", ...spec.python.map((r) => normalizePackageName(/^[A-Za-z0-9._-]+/.exec(r)?.[0] ?? r))]);
  const packages = listed.packages
    .map((p) => ({ name: p.name, version: p.version, requested: requested.has(normalizePackageName(p.name)) }))
    .sort((a, b) => byName({ name: a.name.toLowerCase() }, { name: b.name.toLowerCase() }));
  const installed = venv.installed;
  return {
    python: { path: pythonPath, version: listed.version },
    ansibleCore: packages.find((p) => normalizePackageName(p.name) === "ansible-core")?.version ?? "unknown",
    packages,
    collections: installed
      ? Object.entries(installed.collections).map(([name, version]) => ({ name, version })).sort(byName)
      : spec.collections.map((c) => ({ name: c.name, version: null })),
    roles: installed
      ? Object.entries(installed.roles).map(([name, version]) => ({ name, version })).sort(byName)
      : (spec.roles ?? []).map((r) => ({ name: r.name, version: null })),
  };
}
