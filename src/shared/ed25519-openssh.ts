// Ed25519 key pairs in OpenSSH's own formats, generated with node:crypto.
// Not ssh2's utils.generateKeyPairSync("ed25519"): it drops a leading zero byte of the public key, so about
// one key in 256 comes out malformed (31 bytes) and neither ssh2 nor sshd can load it.
// Format: PROTOCOL.key in the OpenSSH sources ("openssh-key-v1", unencrypted).
import { generateKeyPairSync, randomBytes } from "node:crypto";

export interface OpenSshKeyPair {
  /** "-----BEGIN OPENSSH PRIVATE KEY-----..." as ssh-keygen writes it (unencrypted). */
  privateKey: string;
  /** "ssh-ed25519 AAAA... comment" */
  publicKey: string;
}

export function generateEd25519OpenSsh(comment = ""): OpenSshKeyPair {
  const { privateKey } = generateKeyPairSync("ed25519");
  const jwk = privateKey.export({ format: "jwk" });
  const seed = Buffer.from(jwk.d!, "base64url");
  const pub = Buffer.from(jwk.x!, "base64url");
  if (seed.length !== 32 || pub.length !== 32) throw new Error("node:crypto returned an ed25519 key of unexpected length");
  const keyType = Buffer.from("ssh-ed25519");
  const publicBlob = Buffer.concat([sshString(keyType), sshString(pub)]);
  const check = randomBytes(4);
  let secret = Buffer.concat([
    check,
    check,
    sshString(keyType),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(Buffer.from(comment)),
  ]);
  // Pad to the cipher block size ("none" uses 8) with 1, 2, 3, ...
  const pad = (8 - (secret.length % 8)) % 8;
  secret = Buffer.concat([secret, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const body = Buffer.concat([
    Buffer.from("openssh-key-v1\0"),
    sshString(Buffer.from("none")),
    sshString(Buffer.from("none")),
    sshString(Buffer.alloc(0)),
    uint32(1),
    sshString(publicBlob),
    sshString(secret),
  ]);
  const b64 = body.toString("base64").match(/.{1,70}/g)!.join("\n");
  return {
    privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}\n-----END OPENSSH PRIVATE KEY-----\n`,
    publicKey: `ssh-ed25519 ${publicBlob.toString("base64")}${comment ? " " + comment : ""}`,
  };
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function sshString(data: Buffer): Buffer {
  return Buffer.concat([uint32(data.length), data]);
}
