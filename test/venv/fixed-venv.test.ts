// The bot's fixed venvs (src/venv/torrent-venv.ts): calls made while a check runs share it — a burst of torrent jobs
// started together hashes the venv once — and each caller hears the shared check's progress; a call after the check
// settled checks again. The manager is a stand-in here: what it checks is tested in venv-ensure and venv-trust.
import { describe, expect, it } from "vitest";
import { createTorrentVenvProvider } from "../../src/venv/torrent-venv.js";
import { createLogger } from "../../src/shared/logger.js";
import type { EnsureOptions, EnsuredVenv } from "../../src/venv/venv-manager.js";
import type { Host } from "../../src/hosts/host.js";

function standInManager() {
  const checks: { opts: EnsureOptions; settle(path: string | Error): void }[] = [];
  const manager = {
    ensure: (_host: Host, _spec: unknown, opts: EnsureOptions = {}) =>
      new Promise<EnsuredVenv>((resolve, reject) => {
        checks.push({
          opts,
          settle: (p) => (p instanceof Error ? reject(p) : resolve({ name: "dropship-x", path: p, reused: true, pythonVersion: "3.11.2", env: {} } as unknown as EnsuredVenv)),
        });
      }),
  };
  return { manager, checks };
}

const logger = createLogger({ level: "silent" });
const host = { label: "local" } as unknown as Host;

describe("a fixed venv's checks", () => {
  it("shares one check among calls made while it runs, tells each caller its progress, and checks again afterwards", async () => {
    const { manager, checks } = standInManager();
    const venv = createTorrentVenvProvider({ manager, host, logger });
    const heard: string[][] = [[], [], []];
    const calls = heard.slice(0, 2).map((h) => venv((m) => h.push(m)));
    expect(checks).toHaveLength(1);
    checks[0]!.opts.onProgress?.({ step: "probing", message: "checking local" });
    checks[0]!.settle("/venvs/dropship-x");
    expect(await Promise.all(calls)).toEqual(["/venvs/dropship-x", "/venvs/dropship-x"]);
    expect(heard.slice(0, 2)).toEqual([["checking local"], ["checking local"]]);

    const later = venv((m) => heard[2]!.push(m));
    expect(checks).toHaveLength(2);
    checks[1]!.settle("/venvs/dropship-x");
    expect(await later).toBe("/venvs/dropship-x");
    expect(heard[2]).toEqual([]);
  });

  it("hands a failed check to every caller waiting on it, and the next call tries again", async () => {
    const { manager, checks } = standInManager();
    const venv = createTorrentVenvProvider({ manager, host, logger });
    const calls = [venv(), venv()].map((p) => p.then(() => "ok", (err: Error) => err.message));
    checks[0]!.settle(new Error("pip could not reach the index"));
    expect(await Promise.all(calls)).toEqual(["pip could not reach the index", "pip could not reach the index"]);
    const again = venv();
    expect(checks).toHaveLength(2);
    checks[1]!.settle("/venvs/dropship-x");
    expect(await again).toBe("/venvs/dropship-x");
  });
});
