// Reads the parts of a droplet's cloud-init user_data that the fake DigitalOcean acts on: pre-generated
// host keys (cloud-init's `ssh_keys: {ed25519_private, ...}`) and authorized keys for root.
// Anything else (packages, runcmd, ...) is recorded but not executed: the fake's hosts already have the tools.
import * as yaml from "js-yaml";

export interface CloudInitRequest {
  /** The host private key to use, preferring ed25519 (the only one sshd gets, so a pinned key always matches). */
  hostPrivateKey: string | null;
  hostPublicKey: string | null;
  authorizedKeys: string[];
  packages: string[];
  /** Why the user_data could not be used, as cloud-init would log it; the droplet still boots. */
  problem: string | null;
  /** The parsed #cloud-config document, for tests that want to look at it. */
  document: Record<string, unknown> | null;
}

const HOST_KEY_TYPES = ["ed25519", "ecdsa", "rsa"] as const;

export function readCloudInit(userData: string | undefined): CloudInitRequest {
  const empty: CloudInitRequest = {
    hostPrivateKey: null,
    hostPublicKey: null,
    authorizedKeys: [],
    packages: [],
    problem: null,
    document: null,
  };
  if (userData === undefined || userData === "") return empty;
  // cloud-init only treats user data as cloud-config when its first line says so; scripts are just run.
  if (!/^#cloud-config[ \t]*\r?\n/.test(userData)) return { ...empty, problem: "user_data is not #cloud-config" };
  let doc: unknown;
  try {
    doc = yaml.load(userData);
  } catch (err) {
    return { ...empty, problem: `invalid YAML in #cloud-config: ${(err as Error).message}` };
  }
  if (doc === null || doc === undefined) return empty;
  if (typeof doc !== "object" || Array.isArray(doc)) return { ...empty, problem: "#cloud-config is not a mapping" };
  const cfg = doc as Record<string, unknown>;
  const out: CloudInitRequest = { ...empty, document: cfg };

  const keys = cfg.ssh_keys;
  if (keys && typeof keys === "object") {
    const k = keys as Record<string, unknown>;
    for (const type of HOST_KEY_TYPES) {
      const priv = k[`${type}_private`];
      if (typeof priv === "string" && priv.includes("PRIVATE KEY")) {
        out.hostPrivateKey = priv;
        const pub = k[`${type}_public`];
        out.hostPublicKey = typeof pub === "string" ? pub.trim() : null;
        break;
      }
    }
  }
  out.authorizedKeys.push(...stringList(cfg.ssh_authorized_keys));
  // Every user's keys end up on root: the fake's hosts only have root (DigitalOcean's default user too).
  if (Array.isArray(cfg.users)) {
    for (const u of cfg.users) {
      if (u && typeof u === "object") out.authorizedKeys.push(...stringList((u as Record<string, unknown>).ssh_authorized_keys));
    }
  }
  out.packages = stringList(cfg.packages);
  return out;
}

function stringList(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  return v.filter((x): x is string => typeof x === "string").map((s) => s.trim()).filter(Boolean);
}
