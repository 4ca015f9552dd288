// The droplet's first-boot configuration: a host key generated here (so the first SSH connection is
// verified against a key we already know), the keys allowed to log in as root, and the packages to install.
import * as yaml from "js-yaml";
import { generateEd25519OpenSsh } from "../shared/ed25519-openssh.js";
import { canonicalPublicKey } from "../shared/ssh-keys.js";
import { publicKeyBlob, sha256Fingerprint } from "./ssh-key-fingerprint.js";

/** DigitalOcean rejects user_data over 64 KiB (droplet_create.user_data in the OpenAPI spec). */
export const USER_DATA_MAX_BYTES = 64 * 1024;

export interface HostKeyPair {
  /** OpenSSH-format private key ("-----BEGIN OPENSSH PRIVATE KEY-----"), as sshd's HostKey file wants it. */
  privateKey: string;
  /** "ssh-ed25519 AAAA... comment" */
  publicKey: string;
  /** "SHA256:..." as OpenSSH prints it. */
  fingerprint: string;
}

export function generateHostKeyPair(comment = "dropship-droplet-host-key"): HostKeyPair {
  const kp = generateEd25519OpenSsh(comment);
  return { ...kp, fingerprint: sha256Fingerprint(kp.publicKey) };
}

export interface UserDataOptions {
  hostKey: { privateKey: string; publicKey: string };
  /** OpenSSH public key lines allowed to log in as root. */
  authorizedKeys: string[];
  /** Debian packages to install at first boot, e.g. ["aria2"]. */
  packages?: string[];
}

/**
 * A `#cloud-config` document. cloud-init's `ssh_keys` installs the given host key and, because it is given,
 * generates no other type (`ssh_genkeytypes: []` says so explicitly), so the droplet can present only the
 * key we pin. Throws if the result would exceed DigitalOcean's 64 KiB limit.
 */
export function buildUserData(opts: UserDataOptions): string {
  if (!opts.hostKey.privateKey.includes("BEGIN OPENSSH PRIVATE KEY")) {
    throw new Error("the host private key must be in OpenSSH format (BEGIN OPENSSH PRIVATE KEY)");
  }
  const hostPublic = canonicalPublicKey(opts.hostKey.publicKey);
  if (!hostPublic.startsWith("ssh-ed25519 ")) throw new Error("the host key must be ed25519");
  if (opts.authorizedKeys.length === 0) throw new Error("at least one authorized key is needed to reach the droplet");
  const authorized = opts.authorizedKeys.map((k) => {
    canonicalPublicKey(k); // throws on a malformed key, before a droplet is paid for
    return k.trim();
  });
  const doc: Record<string, unknown> = {
    ssh_deletekeys: true,
    ssh_genkeytypes: [],
    ssh_keys: {
      ed25519_private: opts.hostKey.privateKey.endsWith("\n") ? opts.hostKey.privateKey : opts.hostKey.privateKey + "\n",
      ed25519_public: hostPublic,
    },
    disable_root: false,
    ssh_pwauth: false,
    ssh_authorized_keys: authorized,
  };
  const packages = opts.packages ?? [];
  if (packages.length > 0) {
    doc.package_update = true;
    doc.packages = packages;
  }
  const text = "#cloud-config\n" + yaml.dump(doc, { lineWidth: -1, noRefs: true });
  const bytes = Buffer.byteLength(text);
  if (bytes > USER_DATA_MAX_BYTES) {
    throw new Error(`cloud-init user_data is ${bytes} bytes; DigitalOcean accepts at most ${USER_DATA_MAX_BYTES}`);
  }
  return text;
}

/** An ssh2 `hostVerifier` that accepts exactly `publicKey` and nothing else. */
export function pinnedHostVerifier(publicKey: string): (key: Buffer) => boolean {
  const expected = publicKeyBlob(publicKey);
  return (key: Buffer) => Buffer.isBuffer(key) && key.equals(expected);
}
