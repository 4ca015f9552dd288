// Host keys, fingerprints and user_data, checked against OpenSSH's own ssh-keygen.
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as yaml from "js-yaml";
import { afterAll, describe, expect, it } from "vitest";
import {
  buildUserData,
  generateHostKeyPair,
  pinnedHostVerifier,
  USER_DATA_MAX_BYTES,
} from "../../src/cloud/cloud-init.js";
import { md5Fingerprint, publicKeyBlob } from "../../src/cloud/ssh-key-fingerprint.js";
import { knownHostsLine } from "../../src/shared/ssh-keys.js";
import { readCloudInit } from "../world/fake-digitalocean-cloud-init.js";
import { generateEd25519OpenSsh } from "../../src/shared/ed25519-openssh.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cloud-init-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function keygen(args: string[]): string {
  return execFileSync("ssh-keygen", args, { encoding: "utf8" }).trim();
}

describe("host keys and fingerprints", () => {
  it("generates an ed25519 key OpenSSH reads, with OpenSSH's SHA256 and MD5 fingerprints", () => {
    const kp = generateHostKeyPair("test-host");
    expect(kp.privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    const priv = path.join(tmp, "host_key");
    fs.writeFileSync(priv, kp.privateKey, { mode: 0o600 });
    fs.writeFileSync(priv + ".pub", kp.publicKey + "\n");
    expect(keygen(["-y", "-f", priv]).split(" ").slice(0, 2)).toEqual(kp.publicKey.split(" ").slice(0, 2));
    expect(keygen(["-l", "-f", priv + ".pub"]).split(" ")[1]).toBe(kp.fingerprint);
    expect(keygen(["-l", "-E", "md5", "-f", priv + ".pub"]).split(" ")[1]).toBe(`MD5:${md5Fingerprint(kp.publicKey)}`);
  });

  it("pins exactly one host key", () => {
    const a = generateHostKeyPair();
    const b = generateHostKeyPair();
    const verify = pinnedHostVerifier(a.publicKey);
    expect(verify(publicKeyBlob(a.publicKey))).toBe(true);
    expect(verify(publicKeyBlob(b.publicKey))).toBe(false);
    expect(knownHostsLine("127.3.4.5", a.publicKey)).toBe(`127.3.4.5 ${a.publicKey.split(" ").slice(0, 2).join(" ")}`);
    expect(knownHostsLine("127.3.4.5", a.publicKey, 2222)).toMatch(/^\[127\.3\.4\.5\]:2222 ssh-ed25519 /);
  });
});

describe("buildUserData", () => {
  const hostKey = generateHostKeyPair();
  const bot = generateEd25519OpenSsh("bot");

  it("writes a #cloud-config with the host key, root's authorized keys and aria2", () => {
    const text = buildUserData({ hostKey, authorizedKeys: [bot.publicKey], packages: ["aria2"] });
    expect(text.startsWith("#cloud-config\n")).toBe(true);
    const doc = yaml.load(text) as Record<string, unknown>;
    expect(doc).toMatchObject({
      ssh_deletekeys: true,
      ssh_genkeytypes: [],
      disable_root: false,
      ssh_authorized_keys: [bot.publicKey.trim()],
      package_update: true,
      packages: ["aria2"],
    });
    const keys = doc.ssh_keys as Record<string, string>;
    expect(keys.ed25519_private!.trim()).toBe(hostKey.privateKey.trim());
    // What the fake droplet (like cloud-init) reads back is the same key pair.
    const read = readCloudInit(text);
    expect(read.problem).toBeNull();
    expect(read.hostPrivateKey?.trim()).toBe(hostKey.privateKey.trim());
    expect(read.authorizedKeys).toEqual([bot.publicKey.trim()]);
  });

  it("refuses what would give an unreachable or unverifiable droplet", () => {
    const pkcs8 = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    expect(() => buildUserData({ hostKey: { ...hostKey, privateKey: pkcs8 }, authorizedKeys: [bot.publicKey] })).toThrow(/OpenSSH format/);
    expect(() => buildUserData({ hostKey, authorizedKeys: [] })).toThrow(/at least one authorized key/);
    expect(() => buildUserData({ hostKey, authorizedKeys: ["ssh-ed25519 not-base64!"] })).toThrow(/not an OpenSSH public key/);
  });

  it("stays under DigitalOcean's 64 KiB limit or says so", () => {
    const many = Array.from({ length: 800 }, (_, i) => `${bot.publicKey.trim().split(" ").slice(0, 2).join(" ")} key-${i}`);
    expect(() => buildUserData({ hostKey, authorizedKeys: many })).toThrow(new RegExp(`at most ${USER_DATA_MAX_BYTES}`));
    expect(Buffer.byteLength(buildUserData({ hostKey, authorizedKeys: many.slice(0, 100) }))).toBeLessThan(USER_DATA_MAX_BYTES);
  });
});
