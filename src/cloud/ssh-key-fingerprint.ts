// Fingerprints of OpenSSH public keys: MD5 (how DigitalOcean names registered keys) and SHA-256
// (how OpenSSH shows host keys, used to pin a droplet's host key).
import { createHash } from "node:crypto";
import ssh2 from "ssh2";

/** The key's wire-format blob from an OpenSSH public key line ("ssh-ed25519 AAAA... comment"). */
export function publicKeyBlob(publicKey: string): Buffer {
  const parsed = ssh2.utils.parseKey(publicKey.trim());
  if (parsed instanceof Error) throw new Error(`not an OpenSSH public key: ${parsed.message}`);
  return parsed.getPublicSSH();
}

/** "3b:16:e4:..." — the fingerprint DigitalOcean reports for keys under /v2/account/keys. */
export function md5Fingerprint(publicKey: string): string {
  return createHash("md5").update(publicKeyBlob(publicKey)).digest("hex").match(/../g)!.join(":");
}

/** "SHA256:base64-without-padding", as `ssh-keygen -lf` and OpenSSH's host key prompts show it. */
export function sha256Fingerprint(publicKeyOrBlob: string | Buffer): string {
  const blob = typeof publicKeyOrBlob === "string" ? publicKeyBlob(publicKeyOrBlob) : publicKeyOrBlob;
  return "SHA256:" + createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}
