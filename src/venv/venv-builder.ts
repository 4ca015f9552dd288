// Builds one venv in its own store directory: python -m venv, pip install, ansible-galaxy install, verify, marker.
// The caller points the venv's name (a symlink) at the result only when all of this succeeded.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { satisfies } from "@renovatebot/pep440";
import type { Host } from "../hosts/host.js";
import { pickTarballs, galaxyRequirementsFile, galaxyRangeToPep440, type Tarball } from "./collection-sources.js";
import { lastLine, redactUrl, VenvError } from "./host-probe.js";
import { digestVenv, SEAL_FILE, sealDigest, type VenvDigest } from "./venv-digest.js";
import { roleFailures, roleRequirementsFile } from "./venv-roles.js";
import type { NormalisedRole, ResolvedVenvSpec } from "./venv-spec.js";

const MARKER_FILE = "dropship-venv.json";

export interface PackageSources {
  pipIndexUrl: string | null;
  pipExtraArgs: string[];
  galaxyServer: string | null;
  /** A directory on the bot's machine; the tarballs are uploaded to the host. */
  collectionTarballDir: string | null;
}

export type VenvStep = "probing" | "rebuilding" | "waiting" | "creating" | "installing-packages" | "installing-collections" | "installing-roles" | "verifying" | "ready";

export interface VenvProgress {
  step: VenvStep;
  message: string;
}

export interface BuildRequest {
  host: Host;
  python: string;
  root: string;
  name: string;
  hash: string;
  spec: ResolvedVenvSpec;
  specJson: string;
  ansibleCoreRequirement: string;
  sources: PackageSources;
  onProgress(p: VenvProgress): void;
  signal?: AbortSignal;
  /** Per long step (pip, galaxy). */
  stepTimeoutMs: number;
  /** The bot's secret for sealing the digest on the host (null: no seal; only the database vouches for the venv). */
  sealKey: string | null;
}

/** What a build actually installed, read back from the venv (not from the spec). */
export interface InstalledContent {
  /** Every collection under <venv>/collections, dependencies included: name → version (MANIFEST.json). */
  collections: Record<string, string>;
  /** Every role under <venv>/roles, dependencies included: name → version from meta/.galaxy_install_info (null: none recorded, e.g. an archive URL). */
  roles: Record<string, string | null>;
}

export interface BuildOutcome {
  storePath: string;
  ansibleCoreVersion: string;
  sizeBytes: number;
  installed: InstalledContent;
  /** What the finished build holds, marker included: the bot keeps it and compares on every reuse. */
  digest: VenvDigest;
}

export interface VenvMarker {
  tool: "dropship";
  name: string;
  hash: string;
  spec: unknown;
  ansibleCoreVersion: string;
  /** Absent in markers written before roles were supported. */
  installed?: InstalledContent;
  createdAt: string;
}

/** Builds into root/.store/<name>-<stamp>; removes it again on any failure so nothing half-built stays. */
export async function buildVenv(req: BuildRequest): Promise<BuildOutcome> {
  const storePath = `${req.root}/.store/${req.name}-${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
  const { host } = req;
  // Offline tarballs are chosen before anything is created: a missing one should cost nothing.
  const tarballs = req.sources.collectionTarballDir && req.spec.collections.length > 0 ? await pickTarballs(req.spec.collections, req.sources.collectionTarballDir) : [];
  try {
    // The root is the bot's alone on this account: 0700, so other accounts on the host cannot read or plant anything.
    await must(host, ["sh", "-c", 'mkdir -p -- "$1/.store" && chmod 700 -- "$1"', "sh", req.root], "build-failed", req);
    req.onProgress({ step: "creating", message: `creating the virtualenv ${req.name}` });
    await createVenv(req, storePath);
    const count = 1 + req.spec.python.length;
    req.onProgress({ step: "installing-packages", message: `installing ${count} package${count === 1 ? "" : "s"} with pip` });
    await pipInstall(req, storePath);
    if (req.spec.collections.length > 0) {
      const n = req.spec.collections.length;
      req.onProgress({ step: "installing-collections", message: `installing ${n} collection${n === 1 ? "" : "s"}` });
      await installCollections(req, storePath, tarballs);
    }
    const roles = req.spec.roles ?? [];
    if (roles.length > 0) {
      req.onProgress({ step: "installing-roles", message: `installing ${roles.length} role${roles.length === 1 ? "" : "s"}` });
      await installRoles(req, storePath, roles);
    }
    if (req.spec.collections.length > 0 || roles.length > 0) await compileAhead(req, storePath);
    req.onProgress({ step: "verifying", message: "verifying ansible, collections, roles and Python packages" });
    const { ansibleCoreVersion, installed } = await verify(req, storePath);
    const marker: VenvMarker = {
      tool: "dropship",
      name: req.name,
      hash: req.hash,
      spec: JSON.parse(req.specJson),
      ansibleCoreVersion,
      installed,
      createdAt: new Date().toISOString(),
    };
    await host.writeFile(`${storePath}/${MARKER_FILE}`, JSON.stringify(marker, null, 2) + "\n", 0o644);
    const digest = await digestVenv(host, req.python, storePath, req.root, req.signal);
    if (req.sealKey) await host.writeFile(`${storePath}/${SEAL_FILE}`, sealDigest(req.sealKey, req.name, digest.total) + "\n", 0o644);
    const du = await host.exec(["du", "-sk", "--", storePath]);
    return { storePath, ansibleCoreVersion, sizeBytes: (Number.parseInt(du.stdout, 10) || 0) * 1024, installed, digest };
  } catch (err) {
    await host.exec(["rm", "-rf", "--", storePath]).catch(() => {});
    throw err;
  }
}

async function must(host: Host, argv: string[], code: ConstructorParameters<typeof VenvError>[0], req: BuildRequest, env?: Record<string, string>) {
  const r = await host.exec(argv, { timeoutMs: req.stepTimeoutMs, signal: req.signal, env });
  if (r.code !== 0) throw new VenvError(code, `\`${argv.slice(0, 3).join(" ")}\` failed on ${host.label}: ${lastLine(r.stderr || r.stdout)}`);
  return r;
}

async function createVenv(req: BuildRequest, storePath: string): Promise<void> {
  const r = await req.host.exec([req.python, "-m", "venv", storePath], { timeoutMs: req.stepTimeoutMs, signal: req.signal });
  if (r.code === 0) return;
  const text = r.stderr + r.stdout;
  if (/ensurepip is not available|No module named ensurepip/i.test(text)) {
    throw new VenvError("no-venv-module", `python3-venv is not installed on ${req.host.label}: run apt-get install python3-venv`);
  }
  throw new VenvError("build-failed", `creating the virtualenv on ${req.host.label} failed: ${lastLine(text)}`);
}

async function pipInstall(req: BuildRequest, storePath: string): Promise<void> {
  const { pipIndexUrl, pipExtraArgs } = req.sources;
  const argv = [
    `${storePath}/bin/python`, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
    ...(pipIndexUrl ? ["--index-url", pipIndexUrl] : []),
    ...pipExtraArgs,
    req.ansibleCoreRequirement,
    ...req.spec.python,
  ];
  const r = await req.host.exec(argv, { timeoutMs: req.stepTimeoutMs, signal: req.signal });
  if (r.code === 0) return;
  const text = `${r.stderr}\n${r.stdout}`;
  const index = pipIndexUrl ? redactUrl(pipIndexUrl) : "the host's default index (PyPI)";
  const notFound = /No matching distribution found for (\S+)/.exec(text);
  if (/Failed to establish a new connection|Max retries exceeded|Read timed out|Connection refused|Temporary failure in name resolution/i.test(text) && !notFound) {
    throw new VenvError("index-unreachable", `pip could not reach ${index} from ${req.host.label}: ${lastLine(text)}`);
  }
  if (notFound) {
    throw new VenvError("pip-failed", `pip found no release of ${notFound[1]} in ${index} that fits this host (Python ${req.spec.pythonVersion}); check the version range`, {
        unsatisfiable: true,
      });
  }
  if (r.code === null) throw new VenvError("pip-failed", `pip install on ${req.host.label} was cut off after ${Math.round(req.stepTimeoutMs / 1000)} s`);
  throw new VenvError("pip-failed", `pip install failed on ${req.host.label}: ${lastLine(r.stderr || r.stdout)}`);
}

async function installCollections(req: BuildRequest, storePath: string, tarballs: Tarball[]): Promise<void> {
  const { host } = req;
  const collectionsDir = `${storePath}/collections`;
  const env = { ANSIBLE_COLLECTIONS_PATH: collectionsDir };
  const galaxy = `${storePath}/bin/ansible-galaxy`;
  const { collectionTarballDir, galaxyServer } = req.sources;
  let argv: string[];
  if (collectionTarballDir) {
    const upload = `${storePath}/.collection-tarballs`;
    await must(host, ["mkdir", "-p", "--", upload], "collections-failed", req);
    const remote: string[] = [];
    for (const t of tarballs) {
      const dest = `${upload}/${t.file.split("/").pop()}`;
      await host.writeFile(dest, await readFile(t.file), 0o644);
      remote.push(dest);
    }
    argv = [galaxy, "collection", "install", "--offline", "-p", collectionsDir, ...remote];
  } else {
    const reqFile = `${storePath}/.collection-requirements.yml`;
    await host.writeFile(reqFile, galaxyRequirementsFile(req.spec.collections), 0o644);
    argv = [galaxy, "collection", "install", "-r", reqFile, "-p", collectionsDir, ...(galaxyServer ? ["-s", galaxyServer] : [])];
  }
  const r = await host.exec(argv, { timeoutMs: req.stepTimeoutMs, signal: req.signal, env });
  if (r.code !== 0) {
    const where = collectionTarballDir ? `the tarballs in ${collectionTarballDir}` : galaxyServer ? redactUrl(galaxyServer) : "Galaxy";
    throw new VenvError("collections-failed", `installing collections from ${where} failed on ${host.label}: ${lastLine(r.stderr || r.stdout)}`);
  }
  await host.exec(["rm", "-rf", "--", `${storePath}/.collection-tarballs`, `${storePath}/.collection-requirements.yml`]);
}

async function installRoles(req: BuildRequest, storePath: string, roles: NormalisedRole[]): Promise<void> {
  const { host } = req;
  const { galaxyServer } = req.sources;
  const reqFile = `${storePath}/.role-requirements.yml`;
  await host.writeFile(reqFile, roleRequirementsFile(roles), 0o644);
  const argv = [`${storePath}/bin/ansible-galaxy`, "role", "install", "-r", reqFile, "-p", `${storePath}/roles`, ...(galaxyServer ? ["-s", galaxyServer] : [])];
  // git for git roles comes from the host's PATH; ANSIBLE_NOCOLOR keeps escapes out of the text we read.
  const r = await host.exec(argv, { timeoutMs: req.stepTimeoutMs, signal: req.signal, env: { ANSIBLE_ROLES_PATH: `${storePath}/roles`, ANSIBLE_NOCOLOR: "1" } });
  if (r.code !== 0) {
    const where = galaxyServer ? redactUrl(galaxyServer) : "Galaxy (galaxy.ansible.com)";
    const failures = roleFailures(`${r.stdout}\n${r.stderr}`, roles);
    const why = failures.length > 0 ? failures.join("; ") : lastLine(r.stderr || r.stdout);
    throw new VenvError("roles-failed", `installing roles on ${host.label} failed (Galaxy roles from ${where}): ${why}`);
  }
  await host.exec(["rm", "-f", "--", reqFile]);
}

/**
 * Byte-compiles the collections and roles now (pip already did site-packages), so that running ansible later has no
 * reason to write __pycache__ into the venv: the venv's content stays what its digest recorded. Files that do not
 * compile are left as they are (Python will not cache them at run time either).
 */
async function compileAhead(req: BuildRequest, storePath: string): Promise<void> {
  const dirs = [`${storePath}/collections`, `${storePath}/roles`];
  await req.host.exec(["sh", "-c", 'p="$1"; shift; for d; do [ -d "$d" ] && "$p" -I -m compileall -q -j 0 "$d" >/dev/null; done; exit 0', "sh", `${storePath}/bin/python`, ...dirs], {
    timeoutMs: req.stepTimeoutMs,
    signal: req.signal,
  });
}

// argv[1] = roles dir. Prints {name: version|null} from each role's meta/.galaxy_install_info (YAML from the client).
const ROLES_PY = `
import json, os, sys, yaml
root = sys.argv[1]
out = {}
for name in (sorted(os.listdir(root)) if os.path.isdir(root) else []):
    info = os.path.join(root, name, "meta", ".galaxy_install_info")
    version = None
    if os.path.isfile(info):
        with open(info) as f:
            version = (yaml.safe_load(f) or {}).get("version")
    out[name] = None if version in (None, "") else str(version)
print(json.dumps(out))
`;

// argv[1:] = requirement strings. Prints a JSON list of problems (empty when all is well).
const VERIFY_PY = `
import importlib, importlib.metadata as md, json, sys
from pip._vendor.packaging.requirements import Requirement
problems = []
for text in sys.argv[1:]:
    req = Requirement(text)
    if req.marker is not None and not req.marker.evaluate():
        continue
    try:
        dist = md.distribution(req.name)
    except md.PackageNotFoundError:
        problems.append("%s is not installed" % req.name)
        continue
    if not req.specifier.contains(dist.version, prereleases=True):
        problems.append("%s %s is installed but %s was asked for" % (req.name, dist.version, req.specifier))
    tops = (dist.read_text("top_level.txt") or "").split()
    if not tops:
        tops = sorted({str(f).split("/")[0].split(".")[0] for f in (dist.files or [])
                       if str(f).endswith((".py", ".so")) and not str(f).startswith(("..", "bin/")) and ".dist-info" not in str(f)})
    for top in tops:
        try:
            importlib.import_module(top)
        except Exception as e:
            problems.append("%s: import %s failed: %s" % (req.name, top, e))
print(json.dumps(problems))
`;

/**
 * Returns the installed ansible-core version and what the venv holds (collections and roles, read back from it);
 * throws naming what is missing. The checks run side by side.
 */
async function verify(req: BuildRequest, storePath: string): Promise<{ ansibleCoreVersion: string; installed: InstalledContent }> {
  const { host } = req;
  const env = { ANSIBLE_COLLECTIONS_PATH: `${storePath}/collections` };
  const roles = req.spec.roles ?? [];
  const [version, collections, imports, installedRoles] = await Promise.all([
    must(host, [`${storePath}/bin/ansible-playbook`, "--version"], "verify-failed", req, env),
    req.spec.collections.length > 0 ? verifyCollections(req, storePath, env) : Promise.resolve({ problems: [], installed: {} }),
    must(host, [`${storePath}/bin/python`, "-c", VERIFY_PY, ...req.spec.python], "verify-failed", req),
    roles.length > 0
      ? must(host, [`${storePath}/bin/python`, "-c", ROLES_PY, `${storePath}/roles`], "verify-failed", req).then((r) => JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as Record<string, string | null>)
      : Promise.resolve({}),
  ]);
  const core = /core ([0-9][^\]\s]*)/.exec(version.stdout)?.[1];
  if (!core) throw new VenvError("verify-failed", `ansible-playbook --version on ${host.label} did not name an ansible-core version`);
  const roleProblems = roles.filter((r) => !(r.name in installedRoles)).map((r) => `role ${r.name} is missing`);
  const problems = [...collections.problems, ...roleProblems, ...(JSON.parse(imports.stdout.trim().split("\n").pop() ?? "[]") as string[])];
  if (problems.length > 0) throw new VenvError("verify-failed", `the new virtualenv on ${req.host.label} is incomplete: ${problems.join("; ")}`);
  return { ansibleCoreVersion: core, installed: { collections: collections.installed, roles: installedRoles } };
}

async function verifyCollections(req: BuildRequest, storePath: string, env: Record<string, string>): Promise<{ problems: string[]; installed: Record<string, string> }> {
  const list = await must(req.host, [`${storePath}/bin/ansible-galaxy`, "collection", "list", "--format", "json"], "verify-failed", req, env);
  const found = new Map<string, string>();
  const installed: Record<string, string> = {};
  for (const [dir, byName] of Object.entries(JSON.parse(list.stdout) as Record<string, Record<string, { version: string }>>)) {
    for (const [name, info] of Object.entries(byName)) {
      if (!found.has(name)) found.set(name, info.version);
      if (dir.startsWith(`${storePath}/`)) installed[name] = info.version;
    }
  }
  const problems: string[] = [];
  for (const c of req.spec.collections) {
    if ((c.type ?? "galaxy") !== "galaxy") continue;
    const have = found.get(c.name);
    const range = galaxyRangeToPep440(c.version ?? "*");
    if (!have) problems.push(`collection ${c.name} is missing`);
    else if (range && !satisfies(have, range)) problems.push(`collection ${c.name} ${have} does not match ${c.version}`);
  }
  return { problems, installed };
}

const FLIP_SH = `
set -e
tmp="$1/.$2.link.$$"
ln -s "$3" "$tmp"
old=$(readlink "$1/$2" 2>/dev/null || true)
if [ -e "$1/$2" ] && [ ! -L "$1/$2" ]; then rm -rf "$1/$2"; fi
mv -T "$tmp" "$1/$2"
printf '%s' "$old"
`;

/** Points root/name at the store directory in one rename; returns the previous target ("" if none). */
export async function publishVenv(host: Host, root: string, name: string, storePath: string): Promise<string> {
  const r = await host.exec(["sh", "-c", FLIP_SH, "sh", root, name, storePath], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new VenvError("build-failed", `cannot put ${name} in place on ${host.label}: ${lastLine(r.stderr)}`);
  return r.stdout.trim();
}
