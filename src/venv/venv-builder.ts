// Builds one venv in its own store directory: python -m venv, pip install, ansible-galaxy install, then the last
// pass (venv-finish.ts: compile, verify, marker, digest). The caller points the venv's name (a symlink) at the result
// only when all of this succeeded, sealing it in the same step.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { satisfies } from "@renovatebot/pep440";
import type { Host } from "../hosts/host.js";
import { pickTarballs, galaxyRequirementsFile, galaxyRangeToPep440, type Tarball } from "./collection-sources.js";
import { lastLine, redactUrl, VenvError } from "./host-probe.js";
import { SEAL_FILE, sealDigest, type VenvDigest } from "./venv-digest.js";
import { checkInstall, finishBuild, type BuildFacts } from "./venv-finish.js";
import { roleFailures, roleRequirementsFile } from "./venv-roles.js";
import type { NormalisedRole, ResolvedVenvSpec } from "./venv-spec.js";

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
  /** The bot's seal over the digest, for publishVenv to put beside the marker (null without a seal key). */
  seal: string | null;
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

/** Files the installers read, written into the build directory while pip runs and deleted before the digest. */
interface InstallInputs {
  /** Directories to make beside the venv (relative to it). */
  dirs: string[];
  files: { rel: string; data: () => Promise<string | Buffer> }[];
  /** Remote paths of the collection tarballs (offline installs). */
  tarballs: string[];
}

const TARBALL_DIR = ".collection-tarballs";
const COLLECTION_REQUIREMENTS = ".collection-requirements.yml";
const ROLE_REQUIREMENTS = ".role-requirements.yml";

function installInputs(req: BuildRequest, storePath: string, tarballs: Tarball[]): InstallInputs {
  const inputs: InstallInputs = { dirs: [], files: [], tarballs: [] };
  if (req.spec.collections.length > 0 && req.sources.collectionTarballDir) {
    inputs.dirs.push(TARBALL_DIR);
    for (const t of tarballs) {
      const rel = `${TARBALL_DIR}/${t.file.split("/").pop()}`;
      inputs.files.push({ rel, data: () => readFile(t.file) });
      inputs.tarballs.push(`${storePath}/${rel}`);
    }
  } else if (req.spec.collections.length > 0) {
    inputs.files.push({ rel: COLLECTION_REQUIREMENTS, data: async () => galaxyRequirementsFile(req.spec.collections) });
  }
  const roles = req.spec.roles ?? [];
  if (roles.length > 0) inputs.files.push({ rel: ROLE_REQUIREMENTS, data: async () => roleRequirementsFile(roles) });
  return inputs;
}

/** Waits for every step, then throws the first failure in the order given (so the reported error does not depend on timing). */
async function allInOrder(steps: Promise<unknown>[]): Promise<void> {
  const settled = await Promise.allSettled(steps);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) throw failed.reason;
}

/**
 * Builds into root/.store/<name>-<stamp>; removes it again on any failure so nothing half-built stays. Independent
 * steps overlap: the installers' inputs are uploaded while pip runs, and collections and roles (different folders,
 * both needing only ansible-core) install side by side.
 */
export async function buildVenv(req: BuildRequest): Promise<BuildOutcome> {
  const storePath = `${req.root}/.store/${req.name}-${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
  const { host } = req;
  // Offline tarballs are chosen before anything is created: a missing one should cost nothing.
  const tarballs = req.sources.collectionTarballDir && req.spec.collections.length > 0 ? await pickTarballs(req.spec.collections, req.sources.collectionTarballDir) : [];
  const inputs = installInputs(req, storePath, tarballs);
  const roles = req.spec.roles ?? [];
  try {
    req.onProgress({ step: "creating", message: `creating the virtualenv ${req.name}` });
    await createVenv(req, storePath, inputs.dirs);
    const count = 1 + req.spec.python.length;
    req.onProgress({ step: "installing-packages", message: `installing ${count} package${count === 1 ? "" : "s"} with pip` });
    const upload = (async () => {
      for (const f of inputs.files) await host.writeFile(`${storePath}/${f.rel}`, await f.data(), 0o644);
    })();
    await allInOrder([pipInstall(req, storePath), upload]);
    const where = { host, python: req.python, storePath, timeoutMs: req.stepTimeoutMs, signal: req.signal };
    // Needs only what pip made, so it runs while collections and roles install (and hashes what pip made).
    const checked = checkInstall(where, req.spec.python, ["collections", "roles", TARBALL_DIR, COLLECTION_REQUIREMENTS, ROLE_REQUIREMENTS]);
    const installs: Promise<unknown>[] = [];
    if (req.spec.collections.length > 0) {
      const n = req.spec.collections.length;
      req.onProgress({ step: "installing-collections", message: `installing ${n} collection${n === 1 ? "" : "s"}` });
      installs.push(installCollections(req, storePath, inputs.tarballs));
    }
    if (roles.length > 0) {
      req.onProgress({ step: "installing-roles", message: `installing ${roles.length} role${roles.length === 1 ? "" : "s"}` });
      installs.push(installRoles(req, storePath, roles));
    }
    await allInOrder([...installs, checked]);
    const check = await checked;
    req.onProgress({ step: "verifying", message: "verifying ansible, collections, roles and Python packages" });
    const marker: Omit<VenvMarker, "installed"> = { tool: "dropship", name: req.name, hash: req.hash, spec: JSON.parse(req.specJson), ansibleCoreVersion: check.ansibleCoreVersion, createdAt: new Date().toISOString() };
    const finished = await finishBuild(where, {
      remove: [TARBALL_DIR, COLLECTION_REQUIREMENTS, ROLE_REQUIREMENTS],
      marker: { ...marker },
      listCollections: req.spec.collections.length > 0,
      listRoles: roles.length > 0,
      early: check.early,
    });
    const problems = [...buildProblems(req, finished.facts), ...check.packageProblems];
    if (problems.length > 0) throw new VenvError("verify-failed", `the new virtualenv on ${host.label} is incomplete: ${problems.join("; ")}`);
    const seal = req.sealKey ? sealDigest(req.sealKey, req.name, finished.digest.total) : null;
    return { storePath, ansibleCoreVersion: check.ansibleCoreVersion, sizeBytes: finished.sizeBytes, installed: finished.facts.installed, digest: finished.digest, seal };
  } catch (err) {
    await host.exec(["rm", "-rf", "--", storePath]).catch(() => {});
    throw err;
  }
}

/** Makes the (0700) root and the venv, and the input folders inside it, in one round trip. */
async function createVenv(req: BuildRequest, storePath: string, dirs: string[]): Promise<void> {
  // The root is the bot's alone on this account: 0700, so other accounts on the host cannot read or plant anything.
  const script = 'mkdir -p -- "$1/.store" && chmod 700 -- "$1" && "$2" -m venv "$3" || exit; s="$3"; shift 3; for d; do mkdir -p -- "$s/$d" || exit; done';
  const r = await req.host.exec(["sh", "-c", script, "sh", req.root, req.python, storePath, ...dirs], { timeoutMs: req.stepTimeoutMs, signal: req.signal });
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

async function installCollections(req: BuildRequest, storePath: string, tarballs: string[]): Promise<void> {
  const { host } = req;
  const collectionsDir = `${storePath}/collections`;
  const galaxy = `${storePath}/bin/ansible-galaxy`;
  const { collectionTarballDir, galaxyServer } = req.sources;
  const argv = collectionTarballDir
    ? [galaxy, "collection", "install", "--offline", "-p", collectionsDir, ...tarballs]
    : [galaxy, "collection", "install", "-r", `${storePath}/${COLLECTION_REQUIREMENTS}`, "-p", collectionsDir, ...(galaxyServer ? ["-s", galaxyServer] : [])];
  const r = await host.exec(argv, { timeoutMs: req.stepTimeoutMs, signal: req.signal, env: { ANSIBLE_COLLECTIONS_PATH: collectionsDir, PYTHONDONTWRITEBYTECODE: "1" } });
  if (r.code !== 0) {
    const where = collectionTarballDir ? `the tarballs in ${collectionTarballDir}` : galaxyServer ? redactUrl(galaxyServer) : "Galaxy";
    throw new VenvError("collections-failed", `installing collections from ${where} failed on ${host.label}: ${lastLine(r.stderr || r.stdout)}`);
  }
}

async function installRoles(req: BuildRequest, storePath: string, roles: NormalisedRole[]): Promise<void> {
  const { host } = req;
  const { galaxyServer } = req.sources;
  const argv = [`${storePath}/bin/ansible-galaxy`, "role", "install", "-r", `${storePath}/${ROLE_REQUIREMENTS}`, "-p", `${storePath}/roles`, ...(galaxyServer ? ["-s", galaxyServer] : [])];
  // git for git roles comes from the host's PATH; ANSIBLE_NOCOLOR keeps escapes out of the text we read;
  // PYTHONDONTWRITEBYTECODE: nothing lands in what checkInstall is hashing meanwhile.
  const r = await host.exec(argv, { timeoutMs: req.stepTimeoutMs, signal: req.signal, env: { ANSIBLE_ROLES_PATH: `${storePath}/roles`, ANSIBLE_NOCOLOR: "1", PYTHONDONTWRITEBYTECODE: "1" } });
  if (r.code !== 0) {
    const where = galaxyServer ? redactUrl(galaxyServer) : "Galaxy (galaxy.ansible.com)";
    const failures = roleFailures(`${r.stdout}\n${r.stderr}`, roles);
    const why = failures.length > 0 ? failures.join("; ") : lastLine(r.stderr || r.stdout);
    throw new VenvError("roles-failed", `installing roles on ${host.label} failed (Galaxy roles from ${where}): ${why}`);
  }
}

/** What the spec asked for that the build lacks: collections (missing or out of range), roles. */
function buildProblems(req: BuildRequest, facts: BuildFacts): string[] {
  // The first directory that has a collection wins, as for ansible itself.
  const found = new Map<string, string>();
  for (const [, name, version] of facts.found) if (!found.has(name)) found.set(name, version);
  const problems: string[] = [];
  for (const c of req.spec.collections) {
    if ((c.type ?? "galaxy") !== "galaxy") continue;
    const have = found.get(c.name);
    const range = galaxyRangeToPep440(c.version ?? "*");
    if (!have) problems.push(`collection ${c.name} is missing`);
    else if (range && !satisfies(have, range)) problems.push(`collection ${c.name} ${have} does not match ${c.version}`);
  }
  for (const r of req.spec.roles ?? []) if (!(r.name in facts.installed.roles)) problems.push(`role ${r.name} is missing`);
  return problems;
}

// $1 root, $2 name, $3 build directory, $4 seal ("" for none), $5 the seal's file name.
const FLIP_SH = `
set -e
if [ -n "$4" ]; then printf '%s\\n' "$4" > "$3/$5"; fi
tmp="$1/.$2.link.$$"
ln -s "$3" "$tmp"
old=$(readlink "$1/$2" 2>/dev/null || true)
if [ -e "$1/$2" ] && [ ! -L "$1/$2" ]; then rm -rf "$1/$2"; fi
mv -T "$tmp" "$1/$2"
printf '%s' "$old"
`;

/** Writes the build's seal (if any) and points root/name at the build in one rename; returns the previous target ("" if none). */
export async function publishVenv(host: Host, root: string, name: string, storePath: string, seal: string | null): Promise<string> {
  const r = await host.exec(["sh", "-c", FLIP_SH, "sh", root, name, storePath, seal ?? "", SEAL_FILE], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new VenvError("build-failed", `cannot put ${name} in place on ${host.label}: ${lastLine(r.stderr)}`);
  return r.stdout.trim();
}
