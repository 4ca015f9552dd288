// Hosts that cannot build get a clear, specific error and keep no half-built venv; locks from dead holders are broken.
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/hosts/host.js";
import type { SshHost } from "../../src/remote/ssh-host.js";
import { VenvError } from "../../src/venv/host-probe.js";
import { resolveForPython, venvName, type VenvSpec } from "../../src/venv/venv-spec.js";
import { startVenvWorld, type VenvWorld } from "./venv-world.js";

let w: VenvWorld;
let ssh: SshHost;

beforeAll(async () => {
  w = await startVenvWorld();
  ssh = await w.ssh.connect();
});
afterAll(async () => {
  await w?.stop();
});

const SPEC: VenvSpec = { ansibleCore: null, python: ["dropship-hello"], collections: [] };

async function failure(p: Promise<unknown>): Promise<VenvError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof VenvError)) throw err;
  return err;
}

/** Nothing venv-like left under the root: no names, no store entries, no locks. */
function leftovers(): string[] {
  const walk = (d: string): string[] =>
    fs.existsSync(`${w.outsideRoot}/${d}`) ? fs.readdirSync(`${w.outsideRoot}/${d}`).map((n) => `${d}/${n}`) : [];
  return [...walk("").filter((n) => !/^\/\.(store|locks)$/.test(n)), ...walk(".store"), ...walk(".locks")];
}

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

describe("hosts that cannot build", () => {
  it("names python3-venv when the host's python3 has no ensurepip", async () => {
    // Debian's python3 without the python3-venv package has the venv module but no ensurepip. The host has its
    // own mount namespace, so hiding ensurepip there (an empty directory mounted over it) leaves the machine alone.
    const dir = (await run(ssh, ["python3", "-c", "import ensurepip, os; print(os.path.dirname(ensurepip.__file__))"])).stdout.trim();
    await run(ssh, ["sh", "-c", 'mkdir -p /root/empty && mount --bind /root/empty "$1"', "sh", dir]);
    try {
      const err = await failure(w.manager().ensure(ssh, SPEC));
      expect(err.code).toBe("no-venv-module");
      expect(err.message).toContain(`python3-venv is not installed on ${ssh.label}: run apt-get install python3-venv`);
      expect(leftovers()).toEqual([]);
    } finally {
      await run(ssh, ["umount", dir]);
    }
    expect(fs.existsSync(`${dir}/__init__.py`)).toBe(true); // the machine's own python was never touched
  });

  it("refuses to build when the host is short of disk", async () => {
    const manager = w.manager({ venv: { root: "~/.dropship/venvs", gcUnusedMs: 1, minFreeMb: 10_000_000 } });
    const err = await failure(manager.ensure(ssh, SPEC));
    expect(err.code).toBe("low-disk");
    expect(err.message).toMatch(new RegExp(`${ssh.label} has only \\d+ MB free under /root/.dropship/venvs; building a virtualenv needs at least 10000000 MB \\(VENV_MIN_FREE_MB\\)`));
    expect(leftovers()).toEqual([]);
  });

  it("says the pip index is unreachable, before creating anything", async () => {
    const url = `http://user:s3cret@127.0.0.1:${await closedPort()}/simple/`;
    const manager = w.manager({ packages: { pipIndexUrl: url, pipExtraArgs: ["--isolated"], galaxyServer: null, collectionTarballDir: w.tarballDir } });
    const err = await failure(manager.ensure(ssh, SPEC));
    expect(err.code).toBe("index-unreachable");
    expect(err.message).toMatch(/the pip index http:\/\/\*\*\*@127\.0\.0\.1:\d+\/simple\/ is unreachable from root@[\d.]+ \(.*Connection refused.*\): check PIP_INDEX_URL/);
    expect(err.message).not.toContain("s3cret");
    expect(leftovers()).toEqual([]);
    expect(manager.list()).toEqual([]);
  });

  it("removes the half-built venv when pip finds no such package", async () => {
    const err = await failure(w.manager().ensure(ssh, { ...SPEC, python: ["dropship-no-such-package>=1"] }));
    expect(err.code).toBe("pip-failed");
    expect(err.message).toContain("pip found no release of dropship-no-such-package");
    expect(leftovers()).toEqual([]);
    expect(w.manager().list()).toEqual([]);
    expect(w.db.prepare("SELECT COUNT(*) AS n FROM locks").get()).toEqual({ n: 0 });
  });

  it("names a collection missing from the tarball directory", async () => {
    const err = await failure(w.manager({ stepTimeoutMs: 60_000 }).ensure(ssh, { ...SPEC, collections: [{ name: "community.nope", version: "1.0.0" }] }));
    expect(err.code).toBe("collections-failed");
    expect(err.message).toContain(`no collection tarball in ${w.tarballDir} for: community.nope 1.0.0`);
    expect(leftovers()).toEqual([]);
  });
});

/** The venv name a spec gets on the test host (its python3 decides the Python part). */
async function nameOnHost(spec: VenvSpec): Promise<string> {
  const version = (await run(ssh, ["python3", "-c", "import platform; print(platform.python_version())"])).stdout.trim();
  return venvName(resolveForPython(spec, version));
}

describe("the build lock", () => {
  const unreachable = async () => ({ pipIndexUrl: `http://127.0.0.1:${await closedPort()}/simple/`, pipExtraArgs: [], galaxyServer: null, collectionTarballDir: null });

  it("waits for a live holder and gives up with a clear message", async () => {
    const manager = w.manager({ lockTimeoutMs: 400 });
    const name = await nameOnHost(SPEC);
    // Another live process holds the lock (this very process, under another token).
    w.db.prepare("INSERT INTO locks (name, holder, acquired_at) VALUES (?, ?, ?)").run(`venv:${ssh.label}:${name}`, `${os.hostname()}:${process.pid}:other`, Date.now());
    try {
      const err = await failure(manager.ensure(ssh, SPEC));
      expect(err.code).toBe("lock-timeout");
      expect(err.message).toContain(`${name} on ${ssh.label} has been locked by ${os.hostname()}:${process.pid}:other for too long`);
    } finally {
      w.db.prepare("DELETE FROM locks").run();
    }
  });

  it("breaks locks left by a dead process, in the database and on the host", async () => {
    const manager = w.manager({ packages: await unreachable() });
    const name = await nameOnHost(SPEC);
    const dead = `${os.hostname()}:999999999:gone`;
    w.db.prepare("INSERT INTO locks (name, holder, acquired_at) VALUES (?, ?, ?)").run(`venv:${ssh.label}:${name}`, dead, Date.now());
    await run(ssh, ["sh", "-c", `mkdir -p /root/.dropship/venvs/.locks/${name} && printf %s '${dead}' > /root/.dropship/venvs/.locks/${name}/holder`]);
    const err = await failure(manager.ensure(ssh, SPEC));
    expect(err.code).toBe("index-unreachable"); // got past the lock
    expect(w.db.prepare("SELECT COUNT(*) AS n FROM locks").get()).toEqual({ n: 0 });
    expect(fs.readdirSync(`${w.outsideRoot}/.locks`)).toEqual([]);
  });
});
