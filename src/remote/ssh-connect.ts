// Opens one ssh2 connection with a pinned host key and the bot's key, turning ssh2's terse failures into actionable errors.
import ssh2 from "ssh2";
import { HostConnectError, type HostConnectProblem, type HostKeyPolicy } from "../hosts/host.js";
import { parsePinnedHostKey, publicKeyInfo, publicLineOfPrivateKey, type PublicKeyInfo } from "../shared/ssh-keys.js";

export type { HostKeyPolicy };

export interface SshConnectOptions {
  host: string;
  port?: number;
  username: string;
  /** The bot's private key (OpenSSH or PEM text). */
  privateKey: string | Buffer;
  /** The pinned host key (OpenSSH public key line or base64 blob), or a callback that pins the first key seen. */
  hostKey: HostKeyPolicy;
  readyTimeoutMs?: number;
  /** Keepalive interval in ms (0 = off); three missed answers drop the connection. */
  keepaliveMs?: number;
  /** A label for messages; defaults to username@host:port. */
  label?: string;
}

export type SshErrorKind = HostConnectProblem;

/** The domain's HostConnectError, as the SSH adapter raises it. */
export class SshConnectError extends HostConnectError {
  constructor(kind: SshErrorKind, message: string) {
    super(kind, message);
    this.name = "SshConnectError";
  }
}

/** Connects and authenticates; rejects any host key but the pinned one. */
export function openSshConnection(opts: SshConnectOptions, onPinned: (key: PublicKeyInfo) => void): Promise<ssh2.Client> {
  const port = opts.port ?? 22;
  const where = `${opts.host}${port === 22 ? "" : `:${port}`}`;
  const pinned = typeof opts.hostKey === "string" ? parsePinnedHostKey(opts.hostKey) : null;
  let keyMismatch: { expected: string; got: string } | null = null;
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      client.end();
      reject(err);
    };
    client.once("ready", () => {
      settled = true;
      resolve(client);
    });
    client.on("error", (err: Error & { level?: string; code?: string }) => {
      if (keyMismatch) {
        return fail(
          new SshConnectError(
            "host-key-changed",
            `the host key of ${where} changed — refusing to connect (pinned ${keyMismatch.expected}, offered ${keyMismatch.got}). ` +
              `If the machine was reinstalled on purpose, remove the host and add it again.`,
          ),
        );
      }
      fail(describeConnectError(err, opts, where));
    });
    client.once("close", () => fail(new SshConnectError("unreachable", `${where} closed the connection before SSH was ready`)));
    client.connect({
      host: opts.host,
      port,
      username: opts.username,
      privateKey: opts.privateKey,
      readyTimeout: opts.readyTimeoutMs ?? 20_000,
      keepaliveInterval: opts.keepaliveMs ?? 15_000,
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer) => {
        const offered = publicKeyInfo(key);
        if (pinned === null) {
          // Pin on first use: the caller stores the key; every later connection must offer the same one.
          if (typeof opts.hostKey !== "string") opts.hostKey.pinOnFirstUse(offered);
          onPinned(offered);
          return true;
        }
        if (pinned.equals(key)) return true;
        keyMismatch = { expected: publicKeyInfo(pinned).fingerprint, got: offered.fingerprint };
        return false;
      },
    });
  });
}

function describeConnectError(err: Error & { level?: string; code?: string }, opts: SshConnectOptions, where: string): Error {
  const msg = err.message ?? String(err);
  if (/All configured authentication methods failed/i.test(msg)) {
    return new SshConnectError(
      "not-authorised",
      `the bot's key is not authorised on ${opts.username}@${where}: add this public key to ~${opts.username === "root" ? "root" : opts.username}/.ssh/authorized_keys: ` +
        publicLineOfPrivateKey(opts.privateKey),
    );
  }
  if (err.level === "client-timeout" || /Timed out while waiting for handshake/i.test(msg)) {
    return new SshConnectError("timeout", `${where} did not answer SSH within ${Math.round((opts.readyTimeoutMs ?? 20_000) / 1000)} s — is it up, and is port ${opts.port ?? 22} open?`);
  }
  if (err.code === "ECONNREFUSED") return new SshConnectError("unreachable", `cannot reach ${where}: connection refused — is sshd running there?`);
  if (err.code === "EHOSTUNREACH" || err.code === "ENETUNREACH" || err.code === "ENOTFOUND" || err.code === "ETIMEDOUT") {
    return new SshConnectError("unreachable", `cannot reach ${where}: ${err.code}`);
  }
  return new SshConnectError("protocol", `SSH to ${where} failed: ${msg}`);
}
