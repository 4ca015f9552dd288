// The provisioning playbook against fake droplets as they boot: aria2 absent until cloud-init installs it (apt's
// lock held meanwhile), or never installed by cloud-init, so the playbook must install it itself; and ansible-playbook
// started before the droplet exists, waiting in its inventory for the address.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeDigitalOcean, type FakeDigitalOcean } from "../world/fake-digitalocean.js";
import { sshConnect, sshExec } from "../cloud/ssh-test-client.js";
import { buildUserData, generateHostKeyPair } from "../../src/cloud/cloud-init.js";
import { createDropletProvisioner } from "../../src/ansible/provision-droplet.js";
import { generateEd25519OpenSsh } from "../../src/shared/ed25519-openssh.js";

const TOKEN = "dop_v1_provision_test_token_0123456789ab";
let dir: string;
let fake: FakeDigitalOcean;
const bot = generateEd25519OpenSsh("bot");
let keyFile: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "provision-"));
  keyFile = path.join(dir, "id_ed25519");
  fs.writeFileSync(keyFile, bot.privateKey, { mode: 0o600 });
  // The system's ansible-playbook stands in for the pinned torrent venv (built and tested in test/venv): this
  // file is about what the playbook does on the droplet, and the playbook needs only ansible.builtin.
  fs.mkdirSync(path.join(dir, "venv", "bin"), { recursive: true });
  fs.symlinkSync("/usr/bin/ansible-playbook", path.join(dir, "venv", "bin", "ansible-playbook"));
  // cloud-init's package step holds apt's lock for 6 s: longer than ansible-playbook takes to reach the droplet, so
  // that a playbook racing it would be seen running apt-get.
  fake = await startFakeDigitalOcean({ token: TOKEN, dir: path.join(dir, "do"), cloudInitPackagesMs: 6000 });
});

afterAll(async () => {
  await fake?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function boot(packages: string[]) {
  const hostKey = generateHostKeyPair();
  const res = await fetch(`${fake.url}/droplets`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({
      name: `prov-${packages.length}`,
      region: "fra1",
      size: "s-1vcpu-1gb",
      image: "debian-12-x64",
      user_data: buildUserData({ hostKey, authorizedKeys: [bot.publicKey], packages }),
    }),
  });
  const id = ((await res.json()) as { droplet: { id: number } }).droplet.id;
  const d = await fake.whenSshReady(id, 20_000);
  const c = await sshConnect(d.ip, bot.privateKey);
  const run = async (cmd: string) => {
    try {
      return await sshExec(c.client, cmd);
    } catch {
      return { code: -1, stdout: "", stderr: "" };
    }
  };
  return { d, hostKey, run, close: () => c.client.end() };
}

/** Replaces the droplet's apt-get (its own /usr/bin, an overlay) by one that logs each run to /root/apt-get-runs. */
const loggedAptGet =
  "mv /usr/bin/apt-get /usr/bin/apt-get.real && " +
  `printf '%s\\n' '#!/bin/sh' 'echo "$*" >> /root/apt-get-runs' 'exec /usr/bin/apt-get.real "$@"' > /usr/bin/apt-get && chmod 755 /usr/bin/apt-get`;

const provisioner = () => createDropletProvisioner({ venvPath: async () => path.join(dir, "venv"), privateKeyFile: keyFile, timeoutMs: 120_000 });

describe("provisioning a torrent droplet", () => {
  it("waits for cloud-init's aria2 install (apt locked meanwhile) instead of racing it", async () => {
    const { d, hostKey, run, close } = await boot(["aria2"]);
    try {
      // The droplet answers SSH while cloud-init still installs: aria2 is not there yet, apt is locked.
      expect((await run("command -v aria2c")).code).not.toBe(0);
      expect((await run("apt-get install -y aria2")).stderr).toContain("Could not get lock");
      // From now on every apt-get run is logged (cloud-init's own is already running): the playbook must not need one.
      await run(loggedAptGet);
      await provisioner().provision({ target: Promise.resolve({ ip: d.ip, hostKeyPublic: hostKey.publicKey }), downloadDir: "/root/dl" }, {});
      expect((await run("cat /root/apt-get-runs 2>/dev/null")).stdout).toBe("");
      expect((await run("aria2c --version")).stdout).toMatch(/^aria2 version/);
      expect((await run("test -d /root/dl && echo yes")).stdout.trim()).toBe("yes");
      expect(fs.readFileSync(path.join(d.dir, "cloud-init.log"), "utf8")).toContain("Setting up aria2");
    } finally {
      close();
    }
  }, 120_000);

  it("installs aria2 itself when cloud-init did not", async () => {
    const { d, hostKey, run, close } = await boot([]);
    try {
      expect((await run("command -v aria2c")).code).not.toBe(0);
      await run(loggedAptGet);
      await provisioner().provision({ target: Promise.resolve({ ip: d.ip, hostKeyPublic: hostKey.publicKey }), downloadDir: "/root/dl" }, {});
      expect((await run("cat /root/apt-get-runs")).stdout).toMatch(/install aria2/);
      expect((await run("aria2c --version")).stdout).toMatch(/^aria2 version/);
      expect((await run("stat -c %a /root/dl")).stdout.trim()).toBe("700");
      expect(fs.readFileSync(path.join(d.dir, "cloud-init.log"), "utf8")).not.toContain("Setting up aria2");
    } finally {
      close();
    }
  }, 120_000);

  it("starts ansible-playbook before the droplet exists: it waits in its inventory until told where the droplet is", async () => {
    let reachable!: (t: { ip: string; hostKeyPublic: string }) => void;
    const target = new Promise<{ ip: string; hostKeyPublic: string }>((resolve) => (reachable = resolve));
    const tasks: string[] = [];
    const run = provisioner().provision({ target, downloadDir: "/root/early" }, { onTask: (t) => tasks.push(t) });
    // ansible-playbook has started, read its configuration and asked its inventory: the script waits for the address.
    const waiting = await pollFor(() => inventoryScriptsOf(process.pid).length > 0, 60_000);
    expect(waiting).toBe(true);
    expect(tasks).toEqual([]);
    const { d, hostKey, run: sh, close } = await boot(["aria2"]);
    try {
      reachable({ ip: d.ip, hostKeyPublic: hostKey.publicKey });
      await run;
      expect(tasks).toEqual(["Install aria2 and make the download directory"]);
      expect((await sh("test -d /root/early && echo yes")).stdout.trim()).toBe("yes");
    } finally {
      close();
    }
  }, 120_000);

  it("ends ansible-playbook, and fails with the reason, when the droplet never comes", async () => {
    let unreachable!: (err: Error) => void;
    const target = new Promise<{ ip: string; hostKeyPublic: string }>((_resolve, reject) => (unreachable = reject));
    const run = provisioner().provision({ target, downloadDir: "/root/never" }, {});
    const outcome = run.then(() => "resolved", (err: Error) => err.message);
    expect(await pollFor(() => inventoryScriptsOf(process.pid).length > 0, 60_000)).toBe(true);
    unreachable(new Error("DigitalOcean refused the droplet"));
    expect(await outcome).toBe("DigitalOcean refused the droplet");
    expect(inventoryScriptsOf(process.pid)).toEqual([]);
  }, 120_000);
});

/** PIDs of inventory scripts (python3 …/inventory.py --list) among the descendants of `root`. */
function inventoryScriptsOf(root: number): number[] {
  const parent = new Map<number, number>();
  const cmd = new Map<number, string>();
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, "utf8");
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
      cmd.set(Number(e), fs.readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0").join(" "));
    } catch {
      /* exited meanwhile */
    }
  }
  const descends = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === root) return true;
    return false;
  };
  return [...cmd].filter(([pid, c]) => /inventory\.py --list/.test(c) && descends(pid)).map(([pid]) => pid);
}

async function pollFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
