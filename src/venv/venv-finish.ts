// The build's last pass on the host, in one round trip: drop the install inputs, byte-compile collections and roles,
// check what was installed, write the marker and take the content digest. It runs under the host's python -I -S (as
// the check on reuse does), so the digest comes from a process that never ran anything of the venv; the venv's own
// programs (ansible-playbook --version, the import checks) run beside it as child processes while it compiles and
// hashes, and write nothing into the venv (PYTHONDONTWRITEBYTECODE) so they cannot race the hashing.
import type { Host } from "../hosts/host.js";
import { lastLine, VenvError } from "./host-probe.js";
import { DIGEST_PY, MARKER_FILE, SEAL_FILE, type VenvDigest } from "./venv-digest.js";

/** What the venv's python reports about the build (VERIFY_PY's output). */
export interface BuildFacts {
  /** Problems with the Python packages asked for: not installed, wrong version, an import failing. */
  problems: string[];
  /** Every collection found as ansible-galaxy collection list finds them: [directory, name, version], search order. */
  found: [string, string, string][];
  /** What the venv itself holds: collections under it (name → version) and roles (name → version or null). */
  installed: { collections: Record<string, string>; roles: Record<string, string | null> };
}

export interface FinishRequest {
  host: Host;
  /** The host's interpreter the venv was made with. */
  python: string;
  storePath: string;
  /** Entries of the build directory to delete first (the install inputs). */
  remove: string[];
  /** The marker without what only the host knows (ansibleCoreVersion, installed), in its final key order. */
  marker: Record<string, unknown>;
  /** Requirement strings to check (ansible-core's own is checked by running ansible-playbook). */
  requirements: string[];
  /** Whether to list collections (the spec names some) and roles (the spec names some). */
  listCollections: boolean;
  listRoles: boolean;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface FinishedBuild {
  ansibleCoreVersion: string;
  facts: BuildFacts;
  digest: VenvDigest;
  /** Disk use of the build (allocated blocks, as du counts them). */
  sizeBytes: number;
}

// Run by the venv's python. argv[1]: {requirements, collections (dir or null), roles (dir or null)}. Prints BuildFacts.
// Collections are found where ansible-galaxy collection list looks: the configured path, then every sys.path entry
// holding ansible_collections; a version comes from MANIFEST.json, else galaxy.yml, else "*".
const VERIFY_PY = `
import importlib, importlib.metadata as md, json, os, sys
from pip._vendor.packaging.requirements import Requirement
job = json.loads(sys.argv[1])
problems, found, installed = [], [], {"collections": {}, "roles": {}}
for text in job["requirements"]:
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
print(json.dumps({"problems": problems, "found": found, "installed": installed}))
`;

// Run by the host's python -I -S. argv[1]: the build directory; argv[2]: {remove, compile, marker, verify, verifyPy}.
// Prints one JSON line: the outcome of both checks and, when both passed, the digest (marker included) and disk use.
const FINISH_PY = `${DIGEST_PY}
import compileall, json, re, shutil, subprocess, sys, threading
store, job = sys.argv[1], json.loads(sys.argv[2])
for rel in job["remove"]:
    p = os.path.join(store, rel)
    if os.path.isdir(p) and not os.path.islink(p):
        shutil.rmtree(p)
    elif os.path.lexists(p):
        os.remove(p)
env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", ANSIBLE_COLLECTIONS_PATH=os.path.join(store, "collections"), ANSIBLE_NOCOLOR="1")
def start(argv):
    box = {}
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    t = threading.Thread(target=lambda: box.update(zip(("out", "err"), p.communicate())))
    t.start()
    return p, t, box
version = start([os.path.join(store, "bin", "ansible-playbook"), "--version"])
facts = start([os.path.join(store, "bin", "python"), "-c", job["verifyPy"], json.dumps(job["verify"])])
# Runs will not write __pycache__ into the venv (pip compiled site-packages): the content stays what is hashed here.
for d in job["compile"]:
    if os.path.isdir(d):
        compileall.compile_dir(d, quiet=2)
digest = Digest()
digest.walk(store, "", ("${SEAL_FILE}", "${MARKER_FILE}"))
out = {}
for key, (p, t, box) in (("version", version), ("facts", facts)):
    t.join()
    text = box["out"].decode("utf-8", "replace")
    out[key] = {"code": p.returncode, "out": text, "err": box["err"].decode("utf-8", "replace")[-2000:]}
core = re.search(r"core ([0-9][^\\]\\s]*)", out["version"]["out"])
out["core"] = core.group(1) if core else None
parsed = None
if out["facts"]["code"] == 0:
    try:
        parsed = json.loads(out["facts"]["out"].strip().split("\\n")[-1])
    except ValueError:
        pass
if out["core"] and parsed is not None:
    marker = dict(job["marker"])
    created = marker.pop("createdAt")
    marker.update(ansibleCoreVersion=out["core"], installed=parsed["installed"], createdAt=created)
    path = os.path.join(store, "${MARKER_FILE}")
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(marker, indent=2, ensure_ascii=False) + "\\n")
    os.chmod(path, 0o644)
    digest.add_path(path, "${MARKER_FILE}")
    out["digest"] = digest.result()
    out["sizeBytes"] = (digest.blocks + os.lstat(store).st_blocks) * 512
out["version"]["out"] = out["version"]["out"][-2000:]
out["facts"]["out"] = out["facts"]["out"][-20000:]
out["facts"]["parsed"] = parsed
print(json.dumps(out))
`;

interface FinishOutput {
  version: { code: number; out: string; err: string };
  facts: { code: number; out: string; err: string; parsed: BuildFacts | null };
  core: string | null;
  digest?: VenvDigest;
  sizeBytes?: number;
}

/** Runs the last pass; throws a VenvError (verify-failed) when ansible-playbook or the venv's python does not run. */
export async function finishBuild(req: FinishRequest): Promise<FinishedBuild> {
  const { host, storePath } = req;
  const job = {
    remove: req.remove,
    compile: [`${storePath}/collections`, `${storePath}/roles`],
    marker: req.marker,
    verify: { requirements: req.requirements, collections: req.listCollections ? `${storePath}/collections` : null, roles: req.listRoles ? `${storePath}/roles` : null },
    verifyPy: VERIFY_PY,
  };
  const r = await host.exec([req.python, "-I", "-S", "-c", FINISH_PY, storePath, JSON.stringify(job)], { timeoutMs: req.timeoutMs, signal: req.signal });
  if (r.code !== 0) throw new VenvError("verify-failed", `checking the new virtualenv on ${host.label} failed: ${lastLine(r.stderr || r.stdout)}`);
  const out = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as FinishOutput;
  if (out.version.code !== 0) {
    throw new VenvError("verify-failed", `\`${storePath}/bin/ansible-playbook --version\` failed on ${host.label}: ${lastLine(out.version.err || out.version.out)}`);
  }
  if (!out.core) throw new VenvError("verify-failed", `ansible-playbook --version on ${host.label} did not name an ansible-core version`);
  if (!out.facts.parsed) {
    throw new VenvError("verify-failed", `\`${storePath}/bin/python\` could not check the packages on ${host.label}: ${lastLine(out.facts.err || out.facts.out)}`);
  }
  if (!out.digest) throw new VenvError("verify-failed", `the new virtualenv ${storePath} on ${host.label} has no marker`);
  return { ansibleCoreVersion: out.core, facts: out.facts.parsed, digest: out.digest, sizeBytes: out.sizeBytes ?? 0 };
}
