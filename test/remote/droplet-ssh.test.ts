// Connecting to a booting droplet: retried until its sshd answers with the pinned key; a wrong key is never retried.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createDropletSsh } from "../../src/remote/droplet-ssh.js";
import { loadOrCreateBotKey } from "../../src/remote/bot-key.js";
import { generateEd25519 } from "../../src/shared/ssh-keys.js";
import { freeLoopbackAddress } from "../world/loopback.js";
import { startSshHost, type SshHost } from "../world/sshd-host.js";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setting() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "droplet-ssh-"));
  cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const botKey = loadOrCreateBotKey(path.join(dir, "bot"));
  const hostKey = generateEd25519("droplet");
  const address = await freeLoopbackAddress();
  const boot = async (): Promise<SshHost> => {
    const h = await startSshHost({ address, dir: path.join(dir, "host"), hostPrivateKey: hostKey.private, authorizedKeys: [botKey.publicKey] });
    cleanup.push(() => h.stop());
    return h;
  };
  return { botKey, hostKey, address, boot };
}

describe("createDropletSsh", () => {
  it("keeps trying while the droplet boots, then runs commands on it", async () => {
    const s = await setting();
    const ssh = createDropletSsh({ privateKey: s.botKey.privateKey, retryDelayMs: 50 });
    const booted = new Promise<void>((resolve) => setTimeout(() => void s.boot().then(() => resolve()), 700));
    const session = await ssh.connect(s.address, s.hostKey.public, { timeoutMs: 20_000 });
    await booted;
    cleanup.push(() => session.close());
    const r = await session.exec(["echo", "it's up"]);
    expect(r.stdout).toBe("it's up\n");
  });

  it("notices sshd within about half a second of it answering, however long the boot", async () => {
    const s = await setting();
    const ssh = createDropletSsh({ privateKey: s.botKey.privateKey });
    let bootedAt = 0;
    setTimeout(() => void s.boot().then(() => (bootedAt = Date.now())), 4000);
    const session = await ssh.connect(s.address, s.hostKey.public, { timeoutMs: 20_000 });
    const connectedAt = Date.now();
    cleanup.push(() => session.close());
    expect(bootedAt).toBeGreaterThan(0);
    // Retries doubling up to 5 s would next try 3.75 s after the start, then 7.75 s: over 3 s late.
    expect(connectedAt - bootedAt).toBeLessThan(2000);
  });

  it("refuses a droplet that presents another host key, at once", async () => {
    const s = await setting();
    await s.boot();
    const impostor = generateEd25519("impostor");
    const ssh = createDropletSsh({ privateKey: s.botKey.privateKey, retryDelayMs: 50 });
    const t0 = Date.now();
    await expect(ssh.connect(s.address, impostor.public, { timeoutMs: 30_000 })).rejects.toThrow(/did not answer SSH: .*host key/);
    // Not retried until the 30 s deadline: one refusal is final.
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it("gives up at the deadline with what went wrong", async () => {
    const s = await setting();
    const ssh = createDropletSsh({ privateKey: s.botKey.privateKey, retryDelayMs: 50 });
    await expect(ssh.connect(s.address, s.hostKey.public, { timeoutMs: 1500 })).rejects.toThrow(/did not answer SSH: .*(refused|reach)/);
  });
});
