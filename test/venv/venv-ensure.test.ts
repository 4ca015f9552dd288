// Ensuring venvs on a real SSH host with real venv/pip/ansible-galaxy: build, reuse without pip, rebuild when broken, GC.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SshHost } from "../../src/remote/ssh-host.js";
import { run } from "../../src/hosts/host.js";
import type { VenvManager } from "../../src/venv/venv-manager.js";
import type { VenvProgress } from "../../src/venv/venv-builder.js";
import type { VenvSpec } from "../../src/venv/venv-spec.js";
import { ranInstaller, recording, startVenvWorld, type VenvWorld } from "./venv-world.js";

let w: VenvWorld;
let ssh: SshHost;
let manager: VenvManager;
// Builds take seconds alone, minutes on a loaded two-core machine.
const BUILD_MS = 300_000;

const SPEC: VenvSpec = {
  ansibleCore: ">=2.14",
  python: ["dropship-hello>=1.0,<1.1", "requests"],
  collections: [{ name: "community.digitalocean", version: ">=1.20.0" }],
};

beforeAll(async () => {
  w = await startVenvWorld();
  ssh = await w.ssh.connect();
  manager = w.manager();
});
afterAll(async () => {
  await w?.stop();
});

describe("VenvManager.ensure over SSH", () => {
  let first: Awaited<ReturnType<VenvManager["ensure"]>>;

  it("builds a venv with ansible-core, the packages and the collections, and records it", async () => {
    const steps: VenvProgress["step"][] = [];
    first = await manager.ensure(ssh, SPEC, { onProgress: (p) => steps.push(p.step) });
    expect(first.reused).toBe(false);
    expect(first.name).toMatch(/^dropship-[0-9a-f]{12}$/);
    expect(first.path).toBe(`/root/.dropship/venvs/${first.name}`);
    expect(steps).toEqual(["probing", "creating", "installing-packages", "installing-collections", "verifying", "ready"]);

    const version = await run(ssh, [`${first.path}/bin/ansible-playbook`, "--version"], { env: first.env });
    expect(version.stdout).toMatch(/ansible-playbook \[core 2\.14\.\d+\]/);
    const collections = await run(ssh, ["ansible-galaxy", "collection", "list", "community.digitalocean"], { env: first.env });
    expect(collections.stdout).toMatch(/community\.digitalocean\s+1\.23\.0/);
    const py = await run(ssh, [`${first.path}/bin/python`, "-c", "import dropship_hello, requests; print(dropship_hello.VERSION)"]);
    expect(py.stdout.trim()).toBe("1.0.0"); // the specifier excluded 1.1.0

    const marker = JSON.parse((await ssh.readFile(`${first.path}/dropship-venv.json`)).toString());
    expect(marker).toMatchObject({ tool: "dropship", name: first.name, hash: first.name.slice(9), ansibleCoreVersion: "2.14.18" });
    expect(marker.spec.python).toEqual(["dropship-hello<1.1,>=1.0", "requests"]);

    const row = manager.list(ssh.label)[0]!;
    expect(row).toMatchObject({ name: first.name, status: "ready", pinned: false, inUse: 0 });
    expect(row.sizeBytes).toBeGreaterThan(10_000_000);
    expect(row.buildMs).toBeGreaterThan(0);
  }, BUILD_MS);

  // How fast a reuse is belongs to bench/venv.ts; here, what it does (and does not do).
  it("reuses it without running pip and without touching the index", async () => {
    const rec = recording(ssh);
    const before = w.index.requests.length;
    const again = await manager.ensure(rec, { ...SPEC, python: ["requests", "dropship_hello >= 1.0, < 1.1"] });
    expect(again).toMatchObject({ name: first.name, path: first.path, reused: true });
    expect(ranInstaller(rec.commands)).toBe(false);
    expect(rec.commands.length).toBeLessThanOrEqual(2);
    expect(w.index.requests.length).toBe(before);
  });

  it("gives a changed spec a new venv and keeps the old one", async () => {
    const changed = await manager.ensure(ssh, { ...SPEC, python: [...SPEC.python, "dropship-greeting"], collections: [...SPEC.collections, { name: "ansible.posix" }] });
    expect(changed.reused).toBe(false);
    expect(changed.name).not.toBe(first.name);
    await run(ssh, [`${changed.path}/bin/python`, "-c", "import dropship_greeting"]);
    expect(manager.list(ssh.label).map((v) => v.name).sort()).toEqual([first.name, changed.name].sort());
  }, BUILD_MS);

  it("rebuilds a venv whose marker was tampered with", async () => {
    const markerPath = `${first.path}/dropship-venv.json`;
    const marker = JSON.parse((await ssh.readFile(markerPath)).toString());
    marker.spec.python = ["something-else"];
    await ssh.writeFile(markerPath, JSON.stringify(marker));
    const oldTarget = (await run(ssh, ["readlink", first.path])).stdout.trim();
    const rec = recording(ssh);
    const rebuilt = await manager.ensure(rec, SPEC);
    expect(rebuilt).toMatchObject({ name: first.name, reused: false });
    expect(ranInstaller(rec.commands)).toBe(true);
    const newTarget = (await run(ssh, ["readlink", first.path])).stdout.trim();
    expect(newTarget).not.toBe(oldTarget);
    expect((await ssh.exec(["test", "-e", oldTarget])).code).toBe(1); // the replaced build was removed
    expect((await manager.ensure(ssh, SPEC)).reused).toBe(true);
  }, BUILD_MS);

  it("rebuilds a venv whose python was deleted", async () => {
    await run(ssh, ["rm", "-f", `${first.path}/bin/python`, `${first.path}/bin/python3`]);
    const rebuilt = await manager.ensure(ssh, SPEC);
    expect(rebuilt.reused).toBe(false);
    expect(rebuilt.rebuiltBecause).toBe("its content changed since it was built: bin changed");
    await run(ssh, [`${rebuilt.path}/bin/ansible-playbook`, "--version"]);
  }, BUILD_MS);

  it("collects old unused venvs but keeps pinned and in-use ones", async () => {
    const [a, b] = manager.list(ssh.label);
    expect(a && b).toBeTruthy();
    // A third, cheap-to-make venv is not needed: pin one, hold the other, then age both and add an unpinned one.
    const t0 = Date.now();
    const late = w.manager({ now: () => t0 + 90 * 86_400_000 });
    manager.pin(ssh.label, a!.name);
    const release = manager.markInUse(ssh.label, b!.name);
    let report = await late.collectGarbage(ssh, { olderThanMs: 30 * 86_400_000 });
    expect(report.removed).toEqual([]);
    expect(report.kept.map((k) => k.reason).sort()).toEqual(["in use", "pinned"]);
    release();
    report = await late.collectGarbage(ssh, { olderThanMs: 30 * 86_400_000 });
    expect(report.removed).toEqual([b!.name]);
    expect(fs.readdirSync(w.outsideRoot)).not.toContain(b!.name);
    expect(manager.list(ssh.label).map((v) => v.name)).toEqual([a!.name]);
    // Only the live builds remain in the store: no orphans.
    const store = fs.readdirSync(path.join(w.outsideRoot, ".store"));
    expect(store).toHaveLength(1);
  });
});
