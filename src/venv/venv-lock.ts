// A lock per (host, venv name) that two jobs and two bot processes respect: a row in the locks table, then a
// directory on the host made with mkdir (atomic). Both name their holder, so a crashed holder's lock can be broken.
import { randomBytes } from "node:crypto";
import os from "node:os";
import type { Host } from "../hosts/host.js";
import type { Db } from "../storage/database.js";
import { VenvError } from "./host-probe.js";

export interface LockOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Called once when the lock is busy and we start waiting. */
  onWait?(holder: string): void;
}

const POLL_MS = 100;

/** Holder ids: machine:pid:token, so a lock left by a dead process on this machine is recognisably stale. */
function newHolder(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
}

function holderIsDead(holder: string): boolean {
  const [machine, pidText] = holder.split(":");
  const pid = Number(pidText);
  if (machine !== os.hostname() || !Number.isInteger(pid) || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

const HOST_LOCK_SH = `
mkdir -p "$1" || exit 3
if mkdir "$1/$2" 2>/dev/null; then printf '%s' "$3" > "$1/$2/holder"; echo acquired; exit 0; fi
printf 'busy %s %s\\n' "$(date +%s)" "$(stat -c %Y "$1/$2" 2>/dev/null || echo 0)"
# The holder file may not be written yet (another process is between its mkdir and its printf): still busy.
cat "$1/$2/holder" 2>/dev/null
exit 0
`;

export class VenvLocks {
  constructor(
    private readonly db: Db,
    /** A lock older than this is presumed abandoned (a build never takes this long). */
    private readonly staleMs = 2 * 3_600_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Waits for and takes the lock; resolves to its release function. */
  async acquire(host: Host, lockDir: string, name: string, opts: LockOptions = {}): Promise<() => Promise<void>> {
    const key = `venv:${host.label}:${name}`;
    const holder = newHolder();
    const deadline = this.now() + (opts.timeoutMs ?? 30 * 60_000);
    let waiting = false;
    const wait = async (by: string) => {
      if (!waiting) {
        waiting = true;
        opts.onWait?.(by);
      }
      if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new Error("cancelled");
      if (this.now() > deadline) throw new VenvError("lock-timeout", `${name} on ${host.label} has been locked by ${by} for too long; try again later`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    };
    while (!this.tryRow(key, holder)) await wait(this.rowHolder(key) ?? "another build");
    try {
      while (true) {
        const r = await host.exec(["sh", "-c", HOST_LOCK_SH, "sh", lockDir, name, holder], { timeoutMs: 30_000 });
        if (r.code !== 0) throw new VenvError("build-failed", `cannot create the lock directory ${lockDir} on ${host.label}: ${r.stderr.trim()}`);
        if (r.stdout.startsWith("acquired")) break;
        const [status, other = ""] = r.stdout.split("\n");
        const [, nowS, mtimeS] = (status ?? "").split(" ");
        const ageMs = (Number(nowS) - Number(mtimeS)) * 1000;
        if (holderIsDead(other) || ageMs > this.staleMs) await host.exec(["rm", "-rf", "--", `${lockDir}/${name}`]);
        else await wait(other || "another Dropship");
      }
    } catch (err) {
      this.dropRow(key, holder);
      throw err;
    }
    return async () => {
      await host.exec(["rm", "-rf", "--", `${lockDir}/${name}`]).catch(() => {});
      this.dropRow(key, holder);
    };
  }

  private tryRow(key: string, holder: string): boolean {
    const inserted = this.db.prepare("INSERT OR IGNORE INTO locks (name, holder, acquired_at) VALUES (?, ?, ?)").run(key, holder, this.now());
    if (inserted.changes === 1) return true;
    const row = this.db.prepare<[string], { holder: string; acquired_at: number }>("SELECT holder, acquired_at FROM locks WHERE name = ?").get(key);
    if (row && (holderIsDead(row.holder) || this.now() - row.acquired_at > this.staleMs)) {
      this.db.prepare("DELETE FROM locks WHERE name = ? AND holder = ?").run(key, row.holder);
      return this.tryRow(key, holder);
    }
    return false;
  }

  private rowHolder(key: string): string | null {
    return this.db.prepare<[string], { holder: string }>("SELECT holder FROM locks WHERE name = ?").get(key)?.holder ?? null;
  }

  private dropRow(key: string, holder: string): void {
    this.db.prepare("DELETE FROM locks WHERE name = ? AND holder = ?").run(key, holder);
  }
}
