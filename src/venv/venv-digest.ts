// What a venv holds, as a digest the bot keeps in its own database: every file, link and directory under the venv
// (site-packages, collections, roles, bin, the marker), hashed in full. All runs on a host share one SSH user, so a
// playbook can plant code in a shared venv; comparing this digest on reuse is what notices it.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Host } from "../hosts/host.js";
import { lastLine, VenvError } from "./host-probe.js";
import type { VenvMarker } from "./venv-builder.js";

/** The digest of a venv's content: one hash per area (a site-packages entry, a collection, a role, a top-level entry) and their total. */
export interface VenvDigest {
  total: string;
  areas: Record<string, string>;
}

export type VenvInspection =
  | { state: "missing" }
  /** Content matches the expected digest, but its python does not start (the host's python3 changed under it). */
  | { state: "broken" }
  | { state: "present"; marker: VenvMarker | null; digest: VenvDigest; files: number; bytes: number; seal: string | null };

/** The file beside the marker holding the bot's seal over the digest; the only entry the digest leaves out. */
export const SEAL_FILE = "dropship-venv.seal";

/** The marker file at the top of every build: what it was built for and what it holds. */
export const MARKER_FILE = "dropship-venv.json";

// Python, shared by the check on reuse and the build's last pass (venv-finish.ts), so both hash alike: every entry
// under a directory, sorted by name, grouped into areas; an entry's record is its path, kind, permission bits and
// content (a file's SHA-256, a link's target). Areas are told apart by the path alone, so an entry hashed on its own
// (the marker, once written) gives what one walk over everything would.
export const DIGEST_PY = `
import hashlib, os, stat
def area(rel):
    p = rel.split("/")
    if len(p) >= 4 and p[0] == "lib" and p[2] == "site-packages":
        return "site-packages/" + p[3]
    if len(p) >= 4 and p[0] == "collections" and p[1] == "ansible_collections":
        return "collections/%s.%s" % (p[2], p[3])
    if len(p) >= 2 and p[0] == "roles":
        return "roles/" + p[1]
    return p[0]
class Digest:
    def __init__(self):
        self.hashes, self.files, self.bytes, self.blocks = {}, 0, 0, 0
    def add(self, rel, *fields):
        record = b"\\0".join([os.fsencode(rel)] + [f if isinstance(f, bytes) else str(f).encode() for f in fields])
        self.hashes.setdefault(area(rel), hashlib.sha256()).update(hashlib.sha256(record).digest())
    def entry(self, path, rel, st):
        mode = "%o" % stat.S_IMODE(st.st_mode)
        self.blocks += st.st_blocks
        if stat.S_ISLNK(st.st_mode):
            self.add(rel, "link", mode, os.fsencode(os.readlink(path)))
        elif stat.S_ISDIR(st.st_mode):
            self.add(rel, "dir", mode)
            self.walk(path, rel + "/")
        elif stat.S_ISREG(st.st_mode):
            with open(path, "rb") as f:
                if st.st_size <= 1 << 22:
                    h = hashlib.sha256(f.read())
                else:
                    h = hashlib.sha256()
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
            self.add(rel, "file", mode, h.hexdigest())
            self.files += 1
            self.bytes += st.st_size
        else:
            self.add(rel, "other", mode, stat.S_IFMT(st.st_mode))
    def walk(self, directory, prefix="", skip=()):
        with os.scandir(directory) as it:
            entries = sorted(it, key=lambda e: e.name)
        for e in entries:
            rel = prefix + e.name
            if rel not in skip:
                self.entry(e.path, rel, e.stat(follow_symlinks=False))
    def add_path(self, path, rel):
        self.entry(path, rel, os.lstat(path))
    def area_hashes(self):
        return {k: v.hexdigest() for k, v in self.hashes.items()}
    def result(self, more=None):
        # more: areas hashed earlier by another Digest, over other top-level entries (areas never span two).
        areas = dict(sorted({**(more or {}), **self.area_hashes()}.items()))
        total = hashlib.sha256("".join("%s\\0%s\\n" % kv for kv in areas.items()).encode("utf-8", "surrogateescape")).hexdigest()
        return {"total": total, "areas": areas}
`;

// argv: venv path, venv root, expected total ("" for none). Run by the host's python with -I -S: nothing from the
// venv (no .pth file, no sitecustomize) runs while it is checked, and its own python starts only once it matched.
// Root is made 0700 on every call: other accounts on the host have no business in it.
const INSPECT_PY = `${DIGEST_PY}
import json, subprocess, sys
path, root, expected = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    os.chmod(root, 0o700)
except OSError:
    pass
marker_file = os.path.join(path, "${MARKER_FILE}")
if not os.path.isfile(marker_file):
    print(json.dumps({"state": "missing"}))
    sys.exit(0)
base = os.path.realpath(path)
d = Digest()
d.walk(base, "", ("${SEAL_FILE}",))
digest = d.result()
if expected and digest["total"] == expected:
    ran = subprocess.run([os.path.join(path, "bin", "python"), "-I", "-S", "-c", ""], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if ran.returncode != 0:
        print(json.dumps({"state": "broken"}))
        sys.exit(0)
try:
    with open(marker_file) as f:
        marker = json.load(f)
except Exception:
    marker = None
try:
    with open(os.path.join(base, "${SEAL_FILE}")) as f:
        seal = f.read().strip()
except Exception:
    seal = None
print(json.dumps({"state": "present", "marker": marker, "digest": digest, "files": d.files, "bytes": d.bytes, "seal": seal}))
`;

/**
 * One round trip: makes the venv root 0700, and says whether the venv at `path` is there, what its marker says and
 * the digest of its content. Its python is started only when the content matched `expected` (a venv that does not
 * match is rebuilt anyway, and a planted interpreter must not run).
 */
export async function inspectVenv(
  host: Host,
  python: string,
  where: { path: string; root: string; expected: string | null },
  signal?: AbortSignal,
): Promise<VenvInspection> {
  const r = await host.exec([python, "-I", "-S", "-c", INSPECT_PY, where.path, where.root, where.expected ?? ""], { timeoutMs: 300_000, signal });
  if (r.code !== 0) throw new VenvError("build-failed", `cannot check the virtualenv ${where.path} on ${host.label}: ${lastLine(r.stderr || r.stdout)}`);
  return JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as VenvInspection;
}

const SHOWN = 4;

/** Null when the content is what was recorded; else what changed, in words for the chat ("site-packages/evil.pth was added"). */
export function describeDigestChange(recorded: VenvDigest, now: VenvDigest): string | null {
  if (recorded.total === now.total) return null;
  const changes: string[] = [];
  for (const [name, hash] of Object.entries(now.areas)) {
    if (!(name in recorded.areas)) changes.push(`${name} was added`);
    else if (recorded.areas[name] !== hash) changes.push(`${name} changed`);
  }
  for (const name of Object.keys(recorded.areas)) if (!(name in now.areas)) changes.push(`${name} was removed`);
  if (changes.length === 0) return "its content changed since it was built";
  const more = changes.length > SHOWN ? ` and ${changes.length - SHOWN} more` : "";
  return `its content changed since it was built: ${changes.slice(0, SHOWN).join(", ")}${more}`;
}

/**
 * The bot's seal over a venv's digest: HMAC-SHA256 with a key only the bot has, over the venv's name and digest.
 * Written beside the marker at build, it lets a bot whose database does not know the venv (a new DATA_DIR, test
 * files sharing a VENV_ROOT) adopt it: the shared SSH user can change the venv but cannot seal the change.
 */
export function sealDigest(key: string, name: string, total: string): string {
  return createHmac("sha256", createHmac("sha256", key).update("dropship venv seal v1").digest()).update(`${name}\n${total}`).digest("hex");
}

export function sealMatches(key: string, name: string, total: string, seal: string | null): boolean {
  if (!seal || !/^[0-9a-f]{64}$/.test(seal)) return false;
  return timingSafeEqual(Buffer.from(sealDigest(key, name, total), "hex"), Buffer.from(seal, "hex"));
}
