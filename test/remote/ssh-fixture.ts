// Test fixture: a real sshd host on a fresh loopback address, a bot key authorised on it, and cleanup of both.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { connectSsh, type SshHost as SshRemote } from "../../src/remote/ssh-host.js";
import { loadOrCreateBotKey, type BotKey } from "../../src/remote/bot-key.js";
import { generateEd25519 } from "../../src/shared/ssh-keys.js";
import { freeLoopbackAddress } from "../world/loopback.js";
import { startSshHost, type SshHost } from "../world/sshd-host.js";

export interface SshFixture {
  world: SshHost;
  botKey: BotKey;
  /** The host's public key line, as it would be pinned. */
  hostPublicKey: string;
  tempDir: string;
  connect(): Promise<SshRemote>;
  stop(): Promise<void>;
}

export async function startSshFixture(prefix = "dropship-ssh-"): Promise<SshFixture> {
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const botKey = loadOrCreateBotKey(path.join(tempDir, "bot-key"));
  const hostPair = generateEd25519("test-host");
  const address = await freeLoopbackAddress(22);
  const world = await startSshHost({
    address,
    dir: path.join(tempDir, "host"),
    hostPrivateKey: hostPair.private,
    authorizedKeys: [botKey.publicKey],
  });
  const opened: SshRemote[] = [];
  return {
    world,
    botKey,
    hostPublicKey: hostPair.public,
    tempDir,
    async connect() {
      const h = await connectSsh({ host: address, username: "root", privateKey: botKey.privateKey, hostKey: hostPair.public, readyTimeoutMs: 5000 });
      opened.push(h);
      return h;
    },
    async stop() {
      await Promise.all(opened.map((h) => h.close().catch(() => {})));
      await world.stop();
      fs.rmSync(tempDir, { recursive: true, force: true });
    },
  };
}
