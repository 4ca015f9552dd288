// A venv cannot be tampered with unnoticed: on a real sshd host, a file planted in it or a module changed in it over
// SSH makes the next ensure rebuild it and say why; an untouched venv (even after ansible ran from it) is reused.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SshHost } from "../../src/remote/ssh-host.js";
import { run } from "../../src/hosts/host.js";
import { createLogger } from "../../src/shared/logger.js";
import { openDatabase } from "../../src/storage/database.js";
import { sealDigest, sealMatches } from "../../src/venv/venv-digest.js";
import type { EnsuredVenv, VenvManager } from "../../src/venv/venv-manager.js";
import type { VenvProgress } from "../../src/venv/venv-builder.js";
import type { VenvSpec } from "../../src/venv/venv-spec.js";
import { ranInstaller, recording, startVenvWorld, type VenvWorld } from "./venv-world.js";

// Builds take seconds alone, minutes on a loaded two-core machine.
const BUILD_MS = 300_000;

let w: VenvWorld;
let ssh: SshHost;
let manager: VenvManager;
const logLines: Record<string, unknown>[] = [];

const SPEC: VenvSpec = { ansibleCore: null, python: ["dropship-hello"], collections: [{ name: "ansible.posix" }] };

beforeAll(async () => {
  w = await startVenvWorld();
  ssh = await w.ssh.connect();
  const logger = createLogger({ level: "info", destination: { write: (l: string) => void logLines.push(JSON.parse(l) as Record<string, unknown>) } });
  manager = w.manager({ logger });
}, BUILD_MS);
afterAll(async () => {
  await w?.stop();
});

async function ensure(): Promise<{ venv: EnsuredVenv; steps: VenvProgress[]; commands: string[][] }> {
  const steps: VenvProgress[] = [];
  const rec = recording(ssh);
  const venv = await manager.ensure(rec, SPEC, { onProgress: (p) => steps.push(p) });
  return { venv, steps, commands: rec.commands };
}

async function sitePackages(venvPath: string): Promise<string> {
  return (await run(ssh, ["sh", "-c", 'echo "$1"/lib/python3*/site-packages', "sh", venvPath])).stdout.trim();
}

describe("venv content digest", () => {
  let first: EnsuredVenv;

  it("records a digest of the build and keeps the venv root 0700", async () => {
    first = (await ensure()).venv;
    expect(first.reused).toBe(false);
    expect(first.rebuiltBecause).toBeNull();
    const row = manager.store.get(ssh.label, first.name)!;
    expect(row.contentDigest?.total).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(row.contentDigest!.areas)).toEqual(expect.arrayContaining(["bin", "dropship-venv.json", "site-packages/dropship_hello", "collections/ansible.posix"]));
    expect(fs.statSync(w.outsideRoot).mode & 0o777).toBe(0o700);
    // Loosened by someone: the next ensure (a reuse) puts it back.
    fs.chmodSync(w.outsideRoot, 0o755);
    const again = await ensure();
    expect(again.venv.reused).toBe(true);
    expect(fs.statSync(w.outsideRoot).mode & 0o777).toBe(0o700);
  }, BUILD_MS);

  it("reuses an untouched venv, also after ansible ran from it with a collection's plugin", async () => {
    // A collection callback is imported on the controller; no PYTHONDONTWRITEBYTECODE here, so only the
    // byte-compiling at build keeps Python from writing __pycache__ into the venv.
    const env = Object.fromEntries(Object.entries(first.env).filter(([k]) => k !== "PYTHONDONTWRITEBYTECODE"));
    const play = "/root/play.yml";
    await ssh.writeFile(play, "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - ansible.builtin.debug: {msg: hi}\n");
    const played = await run(ssh, [`${first.path}/bin/ansible-playbook`, "-i", "localhost,", "-c", "local", play], {
      env: { ...env, ANSIBLE_CALLBACKS_ENABLED: "ansible.posix.profile_tasks" },
    });
    expect(played.stdout).toMatch(/ok=1/);
    expect(played.stdout).toMatch(/=====/); // profile_tasks' summary: the collection plugin was loaded

    const { venv, commands } = await ensure();
    expect(venv).toMatchObject({ name: first.name, reused: true, rebuiltBecause: null });
    expect(ranInstaller(commands)).toBe(false);
    expect(commands.length).toBeLessThanOrEqual(2);
  });

  it("rebuilds when a file was planted, says why, and runs nothing of the planted file while checking", async () => {
    const site = await sitePackages(first.path);
    // A .pth line runs in every Python start that processes site-packages: the classic plant.
    await ssh.writeFile(`${site}/zz_planted.pth`, 'import os; open("/tmp/planted-code-ran", "w").close()\n');
    const { venv, steps, commands } = await ensure();
    expect(venv).toMatchObject({ name: first.name, reused: false });
    expect(venv.rebuiltBecause).toBe("its content changed since it was built: site-packages/zz_planted.pth was added");
    expect(steps.find((s) => s.step === "rebuilding")?.message).toBe(`rebuilding ${first.name}: ${venv.rebuiltBecause}`);
    expect(ranInstaller(commands)).toBe(true);
    expect(logLines.find((l) => l.msg === "venv not reused: rebuilding it" && l.venv === first.name)?.reason).toBe(venv.rebuiltBecause);
    expect((await ssh.exec(["test", "-e", "/tmp/planted-code-ran"])).code).toBe(1);
    expect((await ssh.exec(["test", "-e", `${await sitePackages(venv.path)}/zz_planted.pth`])).code).toBe(1);
    expect((await ensure()).venv.reused).toBe(true);
  }, BUILD_MS);

  it("rebuilds when a module was changed and a compiled file planted in a collection", async () => {
    const site = await sitePackages(first.path);
    const module = (await run(ssh, ["sh", "-c", 'ls -d "$1"/dropship_hello*.py "$1"/dropship_hello/__init__.py 2>/dev/null | head -1', "sh", site])).stdout.trim();
    expect(module).not.toBe("");
    const original = (await ssh.readFile(module)).toString();
    await ssh.writeFile(module, `${original}\nimport os  # planted\n`);
    const posix = `${first.path}/collections/ansible_collections/ansible/posix/plugins/modules`;
    await run(ssh, ["sh", "-c", 'mkdir -p "$1/__pycache__" && printf x > "$1/__pycache__/planted.cpython-311.pyc"', "sh", posix]);

    const { venv } = await ensure();
    expect(venv.reused).toBe(false);
    expect(venv.rebuiltBecause).toMatch(/^its content changed since it was built: /);
    expect(venv.rebuiltBecause).toContain("site-packages/dropship_hello");
    expect(venv.rebuiltBecause).toContain("collections/ansible.posix changed");
    expect((await ssh.readFile(module)).toString()).toBe(original);
  }, BUILD_MS);

  it("rebuilds a venv the database holds no digest for", async () => {
    w.db.prepare("UPDATE venvs SET content_digest = NULL").run();
    const { venv } = await ensure();
    expect(venv.reused).toBe(false);
    expect(venv.rebuiltBecause).toMatch(/the bot has no record of what it holds/);
    expect(manager.store.get(ssh.label, venv.name)!.contentDigest).not.toBeNull();
  }, BUILD_MS);

  it("adopts a venv sealed by the bot into a new database, but not once something was planted in it", async () => {
    const KEY = "a-test-secret-of-the-bot-0123456789abcdef";
    // This database has no digest for it (the test before): a build with the key, which seals it on the host.
    w.db.prepare("UPDATE venvs SET content_digest = NULL").run();
    const sealed = await w.manager({ sealKey: KEY }).ensure(ssh, SPEC);
    expect(sealed.reused).toBe(false);

    const fresh = (file: string) => {
      const db = openDatabase(path.join(w.ssh.tempDir, file));
      const lines: Record<string, unknown>[] = [];
      const logger = createLogger({ level: "info", destination: { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) } });
      return { db, lines, manager: w.manager({ db, sealKey: KEY, logger }) };
    };
    const second = fresh("second.sqlite");
    const rec = recording(ssh);
    const adopted = await second.manager.ensure(rec, SPEC);
    expect(adopted).toMatchObject({ name: sealed.name, reused: true, rebuiltBecause: null });
    expect(ranInstaller(rec.commands)).toBe(false);
    expect(second.lines.some((l) => l.msg === "venv adopted: the bot's seal matches its content")).toBe(true);
    expect(second.manager.store.get(ssh.label, sealed.name)!.contentDigest).toEqual(manager.store.get(ssh.label, sealed.name)!.contentDigest);
    second.db.close();

    await ssh.writeFile(`${await sitePackages(sealed.path)}/zz_planted.pth`, "import os\n");
    const third = fresh("third.sqlite");
    const refused = await third.manager.ensure(ssh, SPEC);
    expect(refused.reused).toBe(false);
    expect(refused.rebuiltBecause).toMatch(/the bot has no record of what it holds/);
    third.db.close();
  }, 2 * BUILD_MS);

  it("seals with the bot's key only: another key or another name does not match", () => {
    const seal = sealDigest("key-one-0123456789abcdef0123456789", "dropship-aaaaaaaaaaaa", "f".repeat(64));
    expect(sealMatches("key-one-0123456789abcdef0123456789", "dropship-aaaaaaaaaaaa", "f".repeat(64), seal)).toBe(true);
    expect(sealMatches("key-two-0123456789abcdef0123456789", "dropship-aaaaaaaaaaaa", "f".repeat(64), seal)).toBe(false);
    expect(sealMatches("key-one-0123456789abcdef0123456789", "dropship-bbbbbbbbbbbb", "f".repeat(64), seal)).toBe(false);
    expect(sealMatches("key-one-0123456789abcdef0123456789", "dropship-aaaaaaaaaaaa", "e".repeat(64), seal)).toBe(false);
    expect(sealMatches("key-one-0123456789abcdef0123456789", "dropship-aaaaaaaaaaaa", "f".repeat(64), "not a seal")).toBe(false);
  });
});
