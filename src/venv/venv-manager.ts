// Ensures venvs on hosts: reuse when the marker matches (no pip), else build once under a lock and record it.
// Also the bookkeeping jobs need (in use, pinned) and the collection of old venvs.
import type { Logger } from "../shared/logger.js";
import type { Host } from "../hosts/host.js";
import type { Db } from "../storage/database.js";
import { ansibleCoreRequirement } from "./ansible-core-support.js";
import { assertCanBuild, assertIndexReachable, assertVenvModule, probeHost, VenvError, type HostProbe } from "./host-probe.js";
import { buildVenv, publishVenv, type InstalledContent, type PackageSources, type VenvMarker, type VenvProgress } from "./venv-builder.js";
import { describeDigestChange, inspectVenv, sealMatches, type VenvInspection } from "./venv-digest.js";
import { VenvLocks } from "./venv-lock.js";
import { VenvStore, type VenvRecord } from "./venv-store.js";
import { canonicalSpecJson, resolveForPython, venvHash, type VenvSpec } from "./venv-spec.js";
import { collectGarbage, removeVenv, type GarbageReport } from "./venv-gc.js";

export interface VenvManagerOptions {
  db: Db;
  /** config.packages */
  packages: PackageSources;
  /** config.venv */
  venv: { root: string; gcUnusedMs: number; minFreeMb: number };
  logger?: Logger;
  now?: () => number;
  /** The interpreter to build with on every host (default python3, as a login shell finds it). */
  python?: string;
  /** Longest a single pip or ansible-galaxy run may take (default 15 min). */
  stepTimeoutMs?: number;
  lockTimeoutMs?: number;
  /**
   * A secret of the bot's: builds are sealed with it on the host, so a venv this database does not know (a new
   * DATA_DIR) is adopted when its seal matches its content. Without it, only the database vouches for a venv.
   */
  sealKey?: string;
}

export interface EnsureOptions {
  onProgress?(p: VenvProgress): void;
  signal?: AbortSignal;
  /** Pin it (never collected), e.g. the torrent venv. */
  pin?: boolean;
  /** Count it as in use until the returned release() is called. */
  use?: boolean;
}

export interface EnsuredVenv {
  name: string;
  /** root/name on the host: a symlink to the build, stable across rebuilds. */
  path: string;
  reused: boolean;
  /** Why an existing venv of this name was not reused (its content changed, its python broke, …); null when there was none or it was reused. */
  rebuiltBecause?: string | null;
  pythonVersion: string;
  /** Environment for running ansible from this venv (PATH, VIRTUAL_ENV, ANSIBLE_COLLECTIONS_PATH, ANSIBLE_ROLES_PATH). */
  env: Record<string, string>;
  /**
   * The collections and roles the venv holds, dependencies included, as read back from it after the build (from its
   * marker on reuse); null for a venv built before Dropship recorded them.
   */
  installed: InstalledContent | null;
  /** Ends the use taken with `use: true` (a no-op otherwise); safe to call twice. */
  release(): void;
}

/** The environment a command needs to run ansible from the venv at `path`. */
function venvEnvironment(path: string): Record<string, string> {
  return {
    VIRTUAL_ENV: path,
    PATH: `${path}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    ANSIBLE_COLLECTIONS_PATH: `${path}/collections`,
    ANSIBLE_ROLES_PATH: `${path}/roles`,
    // Runs must not add __pycache__ to the venv: its content is checked against the digest taken at build.
    PYTHONDONTWRITEBYTECODE: "1",
  };
}

/** Whether the venv found at a name may be reused: its marker when so, else why not (null: there was none). */
type ReuseVerdict = { marker: VenvMarker } | { marker: null; reason: string | null };

/** One venv name on one host, as ensure works on it. */
interface VenvTarget {
  host: Host;
  name: string;
  hash: string;
  path: string;
  specJson: string;
  probe: HostProbe;
}

export class VenvManager {
  readonly store: VenvStore;
  private readonly locks: VenvLocks;
  private readonly now: () => number;
  private readonly python: string;

  constructor(private readonly opts: VenvManagerOptions) {
    this.store = new VenvStore(opts.db);
    this.now = opts.now ?? Date.now;
    this.locks = new VenvLocks(opts.db, undefined, this.now);
    this.python = opts.python ?? "python3";
  }

  async ensure(host: Host, spec: VenvSpec, opts: EnsureOptions = {}): Promise<EnsuredVenv> {
    const progress = opts.onProgress ?? (() => {});
    progress({ step: "probing", message: `checking ${host.label}` });
    const probe = await probeHost(host, this.opts.venv.root, this.python);
    const resolved = resolveForPython(spec, probe.pythonVersion);
    const hash = venvHash(resolved);
    const name = `dropship-${hash}`;
    const target = { host, name, hash, path: `${probe.root}/${name}`, specJson: canonicalSpecJson(resolved), probe };
    // A name the probe did not see under the root needs no closer look before the lock.
    let verdict: ReuseVerdict = probe.venvs.includes(name) ? await this.verdict(target, opts.signal) : { marker: null, reason: null };
    if (verdict.marker) return this.reuse(target, opts, verdict.marker);
    const rebuiltBecause = verdict.reason;
    if (rebuiltBecause) {
      this.opts.logger?.warn({ host: host.label, venv: name, reason: rebuiltBecause }, "venv not reused: rebuilding it");
      progress({ step: "rebuilding", message: `rebuilding ${name}: ${rebuiltBecause}` });
    }

    assertCanBuild(probe, host.label, this.opts.venv.minFreeMb);
    const requirement = ansibleCoreRequirement(resolved.ansibleCore, probe.pythonVersion, host.label);
    const release = await this.locks.acquire(host, `${probe.root}/.locks`, name, {
      signal: opts.signal,
      timeoutMs: this.opts.lockTimeoutMs,
      onWait: () => progress({ step: "waiting", message: `waiting for another build of ${name}` }),
    });
    try {
      // Whoever held the lock may just have built it. The venv module and the index are checked meanwhile (all
      // three only read); their answers matter only when there is something to build.
      const { pipIndexUrl } = this.opts.packages;
      const [again, ...ready] = await Promise.allSettled([
        this.verdict(target, opts.signal),
        assertVenvModule(host, probe, this.python),
        pipIndexUrl ? assertIndexReachable(host, this.python, pipIndexUrl) : Promise.resolve(),
      ]);
      if (again.status === "rejected") throw again.reason;
      verdict = again.value;
      if (verdict.marker) return this.reuse(target, opts, verdict.marker);
      for (const r of ready) if (r.status === "rejected") throw r.reason;
      const installed = await this.build(target, resolved, requirement, opts);
      return this.finish(target, { reused: false, rebuiltBecause }, opts, installed);
    } finally {
      await release();
    }
  }

  private async build(t: VenvTarget, resolved: ReturnType<typeof resolveForPython>, requirement: string, opts: EnsureOptions): Promise<InstalledContent> {
    const { host, name, path, specJson, probe } = t;
    const existed = this.store.get(host.label, name);
    this.store.upsert({ host: host.label, name, path, spec: specJson, status: "building" }, this.now());
    const started = this.now();
    try {
      const built = await buildVenv({
        host, python: this.python, root: probe.root, name, hash: t.hash, spec: resolved, specJson,
        ansibleCoreRequirement: requirement, sources: this.opts.packages, onProgress: opts.onProgress ?? (() => {}), signal: opts.signal,
        stepTimeoutMs: this.opts.stepTimeoutMs ?? 15 * 60_000, sealKey: this.opts.sealKey ?? null,
      });
      const previous = await publishVenv(host, probe.root, name, built.storePath, built.seal);
      const buildMs = this.now() - started;
      this.store.upsert({ host: host.label, name, path, spec: specJson, status: "ready", sizeBytes: built.sizeBytes, buildMs, contentDigest: built.digest }, this.now());
      this.opts.logger?.info({ host: host.label, venv: name, buildMs, ansibleCore: built.ansibleCoreVersion }, "venv built");
      // The replaced build goes now only when this bot knew it and no job of its uses it; one the database did not
      // know (another bot on the host, a new DATA_DIR) may still be in use by its owner, and is left to the sweep.
      const knew = existed !== null && existed.status !== "removed";
      if (previous && previous !== built.storePath && previous.startsWith(`${probe.root}/.store/`) && knew && existed.inUse === 0) {
        await host.exec(["rm", "-rf", "--", previous]).catch(() => {});
      }
      return built.installed;
    } catch (err) {
      this.store.setStatus(host.label, name, existed && existed.status !== "removed" ? "broken" : "removed");
      this.opts.logger?.warn({ host: host.label, venv: name, err: (err as Error).message }, "venv build failed");
      throw err;
    }
  }

  /**
   * Reuse only what the bot built and recorded: the venv must be there, hold exactly the content whose digest the
   * database kept at build (nothing planted, nothing changed), be for exactly this spec, and its python must run.
   */
  private async verdict(t: VenvTarget, signal?: AbortSignal): Promise<ReuseVerdict> {
    const row = this.store.get(t.host.label, t.name);
    const recorded = row?.status === "ready" ? row.contentDigest : null;
    const seen = await inspectVenv(t.host, probedPython(t, this.python), { path: t.path, root: t.probe.root, expected: recorded?.total ?? null }, signal);
    if (seen.state === "missing") return { marker: null, reason: null };
    if (seen.state === "broken") return { marker: null, reason: "its python no longer starts" };
    if (!recorded) return this.adopt(t, seen, signal);
    const changed = describeDigestChange(recorded, seen.digest);
    if (changed) return { marker: null, reason: changed };
    if (!seen.marker || JSON.stringify(seen.marker.spec) !== t.specJson) return { marker: null, reason: "it was built for another set of requirements" };
    return { marker: seen.marker };
  }

  /** A venv the database does not vouch for: reused only when the bot's own seal on the host matches its content. */
  private async adopt(t: VenvTarget, seen: Extract<VenvInspection, { state: "present" }>, signal?: AbortSignal): Promise<ReuseVerdict> {
    const noRecord = { marker: null, reason: "the bot has no record of what it holds (built before venvs were checked, or by another bot)" };
    const key = this.opts.sealKey;
    if (!key || !sealMatches(key, t.name, seen.digest.total, seen.seal)) return noRecord;
    if (!seen.marker || JSON.stringify(seen.marker.spec) !== t.specJson) return { marker: null, reason: "it was built for another set of requirements" };
    // Sealed and unchanged: now its python may start (a second look, as expected content).
    const again = await inspectVenv(t.host, probedPython(t, this.python), { path: t.path, root: t.probe.root, expected: seen.digest.total }, signal);
    if (again.state === "broken") return { marker: null, reason: "its python no longer starts" };
    if (again.state !== "present" || again.digest.total !== seen.digest.total) return { marker: null, reason: "it changed while it was being checked" };
    this.store.upsert({ host: t.host.label, name: t.name, path: t.path, spec: t.specJson, status: "ready", contentDigest: seen.digest }, this.now());
    this.opts.logger?.info({ host: t.host.label, venv: t.name }, "venv adopted: the bot's seal matches its content");
    return { marker: seen.marker };
  }

  private reuse(t: VenvTarget, opts: EnsureOptions, marker: VenvMarker): EnsuredVenv {
    return this.finish(t, { reused: true, rebuiltBecause: null }, opts, marker.installed ?? null);
  }

  private finish(t: VenvTarget, how: { reused: boolean; rebuiltBecause: string | null }, opts: EnsureOptions, installed: InstalledContent | null): EnsuredVenv {
    const { host, name, path, probe } = t;
    this.store.touch(host.label, name, this.now());
    if (opts.pin) this.store.setPinned(host.label, name, true);
    const release = opts.use ? this.markInUse(host.label, name) : () => {};
    opts.onProgress?.({ step: "ready", message: how.reused ? `reusing ${name}` : `${name} is ready` });
    return { name, path, ...how, pythonVersion: probe.pythonVersion, env: venvEnvironment(path), installed, release };
  }

  /** Counts a job as using the venv; GC leaves it alone until every use is released. */
  markInUse(hostLabel: string, name: string): () => void {
    this.store.addUse(hostLabel, name, 1, this.now());
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.store.addUse(hostLabel, name, -1, this.now());
    };
  }

  pin(hostLabel: string, name: string, pinned = true): void {
    this.store.setPinned(hostLabel, name, pinned);
  }

  /** Call once at start: uses recorded by a previous process ended with it. */
  releaseAllUses(): void {
    this.store.clearUses();
  }

  list(hostLabel?: string): VenvRecord[] {
    return this.store.list(hostLabel);
  }

  /** Removes venvs unused for olderThanMs (default VENV_GC_UNUSED_DAYS); never pinned or in-use ones. */
  collectGarbage(host: Host, opts: { olderThanMs?: number } = {}): Promise<GarbageReport> {
    return collectGarbage(host, this.store, {
      root: this.opts.venv.root,
      python: this.python,
      olderThanMs: opts.olderThanMs ?? this.opts.venv.gcUnusedMs,
      now: this.now(),
    });
  }

  /** Removes one venv (the chat's "remove" button); refuses pinned or in-use ones unless forced. */
  async remove(host: Host, name: string, opts: { force?: boolean } = {}): Promise<void> {
    const row = this.store.get(host.label, name);
    if (!row || row.status === "removed") throw new VenvError("not-found", `there is no venv ${name} on ${host.label}`);
    if (!opts.force && row.pinned) throw new VenvError("kept", `${name} on ${host.label} is pinned (the torrent venv); it is kept`);
    if (!opts.force && row.inUse > 0) throw new VenvError("kept", `${name} on ${host.label} is in use by ${row.inUse} job(s); try again when they finish`);
    await removeVenv(host, row.path);
    this.store.setStatus(host.label, name, "removed");
  }
}

/**
 * The interpreter the probe ran as, by its real path: the same python, without finding it again. A version manager's
 * shim (pyenv's python3 is a shell script that runs `pyenv exec`) costs ~0.6 s per start here, and every torrent job
 * checks the venv.
 */
function probedPython(t: VenvTarget, asked: string): string {
  return t.probe.pythonExecutable || asked;
}
