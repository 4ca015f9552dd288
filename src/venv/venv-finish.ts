// The checks and the content digest of a new build, in two round trips that each do several things at once:
//  - checkInstall, once pip is done and while collections and roles install: ansible-playbook --version and the
//    import checks of the Python packages, and the digest of everything pip made (bin, lib, site-packages, …);
//  - finishBuild, once everything is installed: drops the install inputs, byte-compiles collections and roles, reads
//    what they are, writes the marker and hashes what is left (collections, roles, marker).
// Both run under the host's python -I -S (as the check on reuse does): the digest comes from a process that never
// ran anything of the venv. The venv's own programs run beside it as child processes, with PYTHONDONTWRITEBYTECODE
// so they write nothing into what is being hashed. Areas are told apart by top-level entry, so the two digests
// merge into exactly the one a single walk gives (DIGEST_PY).
import type { Host } from "../hosts/host.js";
import { lastLine, VenvError } from "./host-probe.js";
import { DIGEST_PY, MARKER_FILE, SEAL_FILE, type VenvDigest } from "./venv-digest.js";

/** What the venv's python reports about collections and roles (FACTS_PY's output). */
export interface BuildFacts {
  /** Every collection found as ansible-galaxy collection list finds them: [directory, name, version], search order. */
  found: [string, string, string][];
  /** What the venv itself holds: collections under it (name → version) and roles (name → version or null). */
  installed: { collections: Record<string, string>; roles: Record<string, string | null> };
}

/** Digest of the top-level entries hashed while collections and roles were installing. */
interface EarlyDigest {
  names: string[];
  areas: Record<string, string>;
  blocks: number;
}

export interface InstallCheck {
  ansibleCoreVersion: string;
  /** Problems with the Python packages asked for: not installed, wrong version, an import failing. */
  packageProblems: string[];
  early: EarlyDigest;
}

interface Where {
  host: Host;
  /** The host's interpreter the venv was made with. */
  python: string;
  storePath: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

// Python, for both passes: start a child (output read on a thread, so a full pipe never blocks it) and collect it.
const CHILD_PY = `
import json, subprocess, threading
def start(argv, env):
    box = {}
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    t = threading.Thread(target=lambda: box.update(zip(("out", "err"), p.communicate())))
    t.start()
    return p, t, box
def done(child):
    p, t, box = child
    t.join()
    return {"code": p.returncode, "out": box["out"].decode("utf-8", "replace")[-20000:], "err": box["err"].decode("utf-8", "replace")[-2000:]}
`;

// Run by the venv's python. argv[1]: requirement strings (JSON). Prints a JSON list of problems.
const PACKAGES_PY = `
import importlib, importlib.metadata as md, json, sys
from pip._vendor.packaging.requirements import Requirement
problems = []
for text in json.loads(sys.argv[1]):
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

// Run by the venv's python. argv[1]: {collections (dir or null), roles (dir or null)}. Prints BuildFacts.
// Collections are found where ansible-galaxy collection list looks: the configured path, then every sys.path entry
// holding ansible_collections; a version comes from MANIFEST.json, else galaxy.yml, else "*".
const FACTS_PY = `
import json, os, sys
job = json.loads(sys.argv[1])
found, installed = [], {"collections": {}, "roles": {}}
def version_of(d):
    try:
        with open(os.path.join(d, "MANIFEST.json")) as f:
            return str(json.load(f)["collection_info"]["version"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        import yaml
        with open(os.path.join(d, "galaxy.yml")) as f:
            v = (yaml.safe_load(f) or {}).get("version")
        return "*" if v in (None, "") else str(v)
    except Exception:
        return None
if job["collections"]:
    store = os.path.dirname(job["collections"]) + "/"
    bases = []
    for p in [job["collections"]] + [p for p in sys.path if p]:
        if os.path.basename(p) == "ansible_collections":
            p = os.path.dirname(p)
        if p not in bases and os.path.isdir(os.path.join(p, "ansible_collections")):
            bases.append(p)
    for b in bases:
        top = os.path.join(b, "ansible_collections")
        for ns in sorted(os.listdir(top)):
            if not os.path.isdir(os.path.join(top, ns)):
                continue
            for name in sorted(os.listdir(os.path.join(top, ns))):
                v = version_of(os.path.join(top, ns, name))
                if v is None:
                    continue
                found.append([top, "%s.%s" % (ns, name), v])
                if top.startswith(store):
                    installed["collections"]["%s.%s" % (ns, name)] = v
roles = job["roles"]
for name in (sorted(os.listdir(roles)) if roles and os.path.isdir(roles) else []):
    info = os.path.join(roles, name, "meta", ".galaxy_install_info")
    version = None
    if os.path.isfile(info):
        import yaml
        with open(info) as f:
            version = (yaml.safe_load(f) or {}).get("version")
    installed["roles"][name] = None if version in (None, "") else str(version)
print(json.dumps({"found": found, "installed": installed}))
`;

// argv[1]: the build directory; argv[2]: {requirements, skip, packagesPy}. Prints {version, packages, early}.
const CHECK_PY = `${DIGEST_PY}${CHILD_PY}
import sys
store, job = sys.argv[1], json.loads(sys.argv[2])
env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", ANSIBLE_NOCOLOR="1")
version = start([os.path.join(store, "bin", "ansible-playbook"), "--version"], env)
packages = start([os.path.join(store, "bin", "python"), "-c", job["packagesPy"], json.dumps(job["requirements"])], env) if job["requirements"] else None
digest = Digest()
names = sorted(n for n in os.listdir(store) if n not in job["skip"])
for n in names:
    digest.add_path(os.path.join(store, n), n)
out = {"early": {"names": names, "areas": digest.area_hashes(), "blocks": digest.blocks}, "version": done(version), "packages": done(packages) if packages else None}
print(json.dumps(out))
`;

// argv[1]: the build directory; argv[2]: {remove, compile, facts (or null), factsPy, marker, early}. Prints
// {facts, digest, sizeBytes}; digest and size only once the facts were read (the marker needs them).
const FINISH_PY = `${DIGEST_PY}${CHILD_PY}
import compileall, shutil, sys
store, job = sys.argv[1], json.loads(sys.argv[2])
for rel in job["remove"]:
    p = os.path.join(store, rel)
    if os.path.isdir(p) and not os.path.islink(p):
        shutil.rmtree(p)
    elif os.path.lexists(p):
        os.remove(p)
env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
facts = start([os.path.join(store, "bin", "python"), "-c", job["factsPy"], json.dumps(job["facts"])], env) if job["facts"] else None
# Runs will not write __pycache__ into the venv (pip compiled site-packages): the content stays what is hashed here.
for d in job["compile"]:
    if os.path.isdir(os.path.join(store, d)):
        compileall.compile_dir(os.path.join(store, d), quiet=2)
names = sorted(n for n in os.listdir(store) if n not in ("${SEAL_FILE}", "${MARKER_FILE}"))
early = job["early"]
if not set(early["names"]) <= set(names):
    early = {"names": [], "areas": {}, "blocks": 0}
digest = Digest()
for n in names:
    if n not in early["names"]:
        digest.add_path(os.path.join(store, n), n)
out = {"facts": done(facts) if facts else {"code": 0, "out": json.dumps({"found": [], "installed": {"collections": {}, "roles": {}}}), "err": ""}}
try:
    parsed = json.loads(out["facts"]["out"].strip().split("\\n")[-1]) if out["facts"]["code"] == 0 else None
except ValueError:
    parsed = None
out["facts"]["parsed"] = parsed
if parsed is not None:
    marker = dict(job["marker"])
    created = marker.pop("createdAt")
    marker.update(installed=parsed["installed"], createdAt=created)
    path = os.path.join(store, "${MARKER_FILE}")
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(marker, indent=2, ensure_ascii=False) + "\\n")
    os.chmod(path, 0o644)
    digest.add_path(path, "${MARKER_FILE}")
    out["digest"] = digest.result(early["areas"])
    out["sizeBytes"] = (digest.blocks + early["blocks"] + os.lstat(store).st_blocks) * 512
print(json.dumps(out))
`;

interface ChildOutcome {
  code: number;
  out: string;
  err: string;
}

async function runPass<T>(w: Where, script: string, job: unknown): Promise<T> {
  const r = await w.host.exec([w.python, "-I", "-S", "-c", script, w.storePath, JSON.stringify(job)], { timeoutMs: w.timeoutMs, signal: w.signal });
  if (r.code !== 0) throw new VenvError("verify-failed", `checking the new virtualenv on ${w.host.label} failed: ${lastLine(r.stderr || r.stdout)}`);
  return JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as T;
}

/**
 * Checks ansible-playbook and the Python packages once pip is done, hashing meanwhile every top-level entry of the
 * build but those in `skip` (what is still being installed, the install inputs). Throws a VenvError (verify-failed)
 * when ansible-playbook or the venv's python does not run.
 */
export async function checkInstall(w: Where, requirements: string[], skip: string[]): Promise<InstallCheck> {
  const out = await runPass<{ version: ChildOutcome; packages: ChildOutcome | null; early: EarlyDigest }>(w, CHECK_PY, {
    requirements,
    skip: [...skip, SEAL_FILE, MARKER_FILE],
    packagesPy: PACKAGES_PY,
  });
  const label = w.host.label;
  if (out.version.code !== 0) {
    throw new VenvError("verify-failed", `\`${w.storePath}/bin/ansible-playbook --version\` failed on ${label}: ${lastLine(out.version.err || out.version.out)}`);
  }
  const core = /core ([0-9][^\]\s]*)/.exec(out.version.out)?.[1];
  if (!core) throw new VenvError("verify-failed", `ansible-playbook --version on ${label} did not name an ansible-core version`);
  let packageProblems: string[] = [];
  if (out.packages) {
    if (out.packages.code !== 0) {
      throw new VenvError("verify-failed", `\`${w.storePath}/bin/python\` could not check the packages on ${label}: ${lastLine(out.packages.err || out.packages.out)}`);
    }
    packageProblems = JSON.parse(out.packages.out.trim().split("\n").pop() ?? "[]") as string[];
  }
  return { ansibleCoreVersion: core, packageProblems, early: out.early };
}

export interface FinishRequest {
  /** Entries of the build directory to delete first (the install inputs). */
  remove: string[];
  /** The marker without `installed` (only the host knows it), in its final key order. */
  marker: Record<string, unknown>;
  /** Whether to read collections and roles (the spec names some). */
  listCollections: boolean;
  listRoles: boolean;
  early: EarlyDigest;
}

/** The last pass (see the top of this file): what collections and roles the build holds, its digest and disk use. */
export async function finishBuild(w: Where, req: FinishRequest): Promise<{ facts: BuildFacts; digest: VenvDigest; sizeBytes: number }> {
  const facts = req.listCollections || req.listRoles ? { collections: req.listCollections ? `${w.storePath}/collections` : null, roles: req.listRoles ? `${w.storePath}/roles` : null } : null;
  const out = await runPass<{ facts: ChildOutcome & { parsed: BuildFacts | null }; digest?: VenvDigest; sizeBytes?: number }>(w, FINISH_PY, {
    remove: req.remove,
    compile: ["collections", "roles"],
    facts,
    factsPy: FACTS_PY,
    marker: req.marker,
    early: req.early,
  });
  if (!out.facts.parsed || !out.digest) {
    throw new VenvError("verify-failed", `\`${w.storePath}/bin/python\` could not read the collections and roles on ${w.host.label}: ${lastLine(out.facts.err || out.facts.out)}`);
  }
  return { facts: out.facts.parsed, digest: out.digest, sizeBytes: out.sizeBytes ?? 0 };
}
