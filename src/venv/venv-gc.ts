// Garbage collection of venvs on one host: old unused ones go; pinned and in-use ones stay; abandoned builds are swept.
import type { Host } from "../hosts/host.js";
import { lastLine, probeHost, VenvError } from "./host-probe.js";
import type { VenvStore } from "./venv-store.js";

export interface GarbageReport {
  removed: string[];
  kept: { name: string; reason: "pinned" | "in use" | "recently used" }[];
  /** Store directories no venv name pointed at (failed or superseded builds). */
  orphansRemoved: string[];
}

// $1 = the venv path (a symlink into $2/.store).
const REMOVE_SH = `
t=$(readlink "$1" 2>/dev/null || true)
rm -rf -- "$1"
case "$t" in "$2"/.store/*) rm -rf -- "$t" ;; esac
`;

export async function removeVenv(host: Host, path: string): Promise<void> {
  const root = path.slice(0, path.lastIndexOf("/"));
  const r = await host.exec(["sh", "-c", REMOVE_SH, "sh", path, root], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new VenvError("build-failed", `cannot remove ${path} on ${host.label}: ${lastLine(r.stderr)}`);
}

// $1 = root; $2.. = names to leave alone (in use). Removes .store entries that no symlink points at and no lock covers.
const SWEEP_SH = `
root="$1"; shift
[ -d "$root/.store" ] || exit 0
for s in "$root"/.store/dropship-*; do
  [ -d "$s" ] || continue
  b=\${s##*/}
  n=$(printf '%s' "$b" | cut -c1-21)
  [ "$(readlink "$root/$n" 2>/dev/null)" = "$s" ] && continue
  [ -d "$root/.locks/$n" ] && continue
  keep=0
  for p in "$@"; do [ "$p" = "$n" ] && keep=1; done
  [ $keep = 1 ] && continue
  rm -rf -- "$s" && printf '%s\\n' "$b"
done
`;

export async function collectGarbage(
  host: Host,
  store: VenvStore,
  opts: { root: string; python: string; olderThanMs: number; now: number },
): Promise<GarbageReport> {
  const report: GarbageReport = { removed: [], kept: [], orphansRemoved: [] };
  const before = opts.now - opts.olderThanMs;
  for (const v of store.collectable(host.label, before)) {
    // Checked again just before removing: a job may have taken it since the list was read.
    const fresh = store.get(host.label, v.name);
    if (!fresh || fresh.pinned || fresh.inUse > 0 || fresh.lastUsedAt >= before) continue;
    await removeVenv(host, v.path);
    store.setStatus(host.label, v.name, "removed");
    report.removed.push(v.name);
  }
  for (const v of store.list(host.label)) {
    if (report.removed.includes(v.name)) continue;
    report.kept.push({ name: v.name, reason: v.pinned ? "pinned" : v.inUse > 0 ? "in use" : "recently used" });
  }
  const { root } = await probeHost(host, opts.root, opts.python);
  const inUse = store.list(host.label).filter((v) => v.inUse > 0).map((v) => v.name);
  const swept = await host.exec(["sh", "-c", SWEEP_SH, "sh", root, ...inUse], { timeoutMs: 300_000 });
  report.orphansRemoved = swept.stdout.split("\n").filter(Boolean);
  return report;
}
