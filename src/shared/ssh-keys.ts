// SSH public-key helpers: normalising pinned host keys, fingerprints, known_hosts lines, and the public line of a private key.
import { createHash } from "node:crypto";
import ssh2 from "ssh2";
import { generateEd25519OpenSsh } from "./ed25519-openssh.js";

export interface PublicKeyInfo {
  /** Key type, e.g. "ssh-ed25519". */
  type: string;
  /** Base64 of the key blob, the form stored in the hosts table. */
  blob: string;
  /** "type base64" as in known_hosts / authorized_keys. */
  line: string;
  /** "SHA256:…" as ssh-keygen -l prints it. */
  fingerprint: string;
}

export function fingerprintOf(blob: Buffer): string {
  return "SHA256:" + createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

/** Key type named inside an SSH key blob (a length-prefixed string at its start). */
function blobType(blob: Buffer): string {
  if (blob.length < 4) return "unknown";
  const n = blob.readUInt32BE(0);
  return n > 0 && n < 64 && blob.length >= 4 + n ? blob.subarray(4, 4 + n).toString("ascii") : "unknown";
}

export function publicKeyInfo(blob: Buffer): PublicKeyInfo {
  const type = blobType(blob);
  const b64 = blob.toString("base64");
  return { type, blob: b64, line: `${type} ${b64}`, fingerprint: fingerprintOf(blob) };
}

/** Accepts an OpenSSH public key line ("ssh-ed25519 AAAA… comment") or a bare base64 blob; returns the blob. */
export function parsePinnedHostKey(pinned: string): Buffer {
  const parts = pinned.trim().split(/\s+/);
  const b64 = parts.length >= 2 && /^(ssh-|ecdsa-|sk-)/.test(parts[0]!) ? parts[1]! : parts[0]!;
  if (!b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
    throw new Error(`the pinned host key is not an OpenSSH public key or base64 key blob: ${JSON.stringify(pinned.slice(0, 40))}`);
  }
  const blob = Buffer.from(b64, "base64");
  if (blobType(blob) === "unknown") throw new Error("the pinned host key does not decode to an SSH key blob");
  return blob;
}

/** "ssh-ed25519 AAAA..." without the comment: the canonical form to compare keys by. */
export function canonicalPublicKey(publicKey: string): string {
  const parsed = ssh2.utils.parseKey(publicKey.trim());
  if (parsed instanceof Error) throw new Error(`not an OpenSSH public key: ${parsed.message}`);
  return `${parsed.type} ${parsed.getPublicSSH().toString("base64")}`;
}

/** A known_hosts line pinning `publicKey` for `address` (OpenSSH writes "[addr]:port" for ports other than 22). */
export function knownHostsLine(address: string, publicKey: string, port = 22): string {
  const host = port === 22 ? address : `[${address}]:${port}`;
  return `${host} ${canonicalPublicKey(publicKey)}`;
}

/** The "type base64 comment" line of a private key, as the host's authorized_keys needs it. */
export function publicLineOfPrivateKey(privateKey: string | Buffer, comment = "dropship"): string {
  const parsed = ssh2.utils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) {
    throw new Error(`the bot's SSH private key cannot be read: ${key instanceof Error ? key.message : "no key found"}`);
  }
  return `${key.type} ${key.getPublicSSH().toString("base64")} ${comment}`;
}

/**
 * A new ed25519 key pair in OpenSSH format, from node:crypto (ssh2's own generator now and then drops a
 * leading zero byte and emits a malformed key; see src/cloud/ed25519-openssh.ts).
 */
export function generateEd25519(comment: string): { private: string; public: string } {
  const pair = generateEd25519OpenSsh(comment);
  return { private: pair.privateKey, public: pair.publicKey };
}
