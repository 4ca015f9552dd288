// The bot's own SSH key pair (ed25519, OpenSSH format): created once in a directory, then loaded on every start.
import fs from "node:fs";
import path from "node:path";
import { fingerprintOf, generateEd25519, publicLineOfPrivateKey } from "../shared/ssh-keys.js";

export interface BotKey {
  /** OpenSSH private key text; never log it. */
  privateKey: string;
  /** The authorized_keys line to give users: "ssh-ed25519 AAAA… dropship". */
  publicKey: string;
  fingerprint: string;
  privateKeyPath: string;
}

const PRIVATE_NAME = "id_ed25519";

/** Loads dir/id_ed25519 (+ .pub), creating both (mode 0600) when missing. */
export function loadOrCreateBotKey(dir: string, comment = "dropship"): BotKey {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const privateKeyPath = path.join(dir, PRIVATE_NAME);
  if (!fs.existsSync(privateKeyPath)) {
    const pair = generateEd25519(comment);
    // Write to a temporary name first, so a crash never leaves a half-written key that a restart would trust.
    const tmp = `${privateKeyPath}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, pair.private.endsWith("\n") ? pair.private : pair.private + "\n", { mode: 0o600 });
    fs.renameSync(tmp, privateKeyPath);
  }
  fs.chmodSync(privateKeyPath, 0o600);
  const privateKey = fs.readFileSync(privateKeyPath, "utf8");
  const publicKey = publicLineOfPrivateKey(privateKey, comment);
  const pubPath = `${privateKeyPath}.pub`;
  if (!fs.existsSync(pubPath) || fs.readFileSync(pubPath, "utf8").trim() !== publicKey) {
    fs.writeFileSync(pubPath, publicKey + "\n", { mode: 0o600 });
  }
  fs.chmodSync(pubPath, 0o600);
  const blob = Buffer.from(publicKey.split(" ")[1]!, "base64");
  return { privateKey, publicKey, fingerprint: fingerprintOf(blob), privateKeyPath };
}
