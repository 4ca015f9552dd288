// SshPort for droplets: waits for a booting droplet's sshd, accepting only the host key the bot generated for it.
import pRetry, { AbortError } from "p-retry";
import type { DropletSession, SshPort } from "../jobs/torrent/torrent-ports.js";
import { SshConnectError, connectSsh, type SshHost } from "./ssh-host.js";

export function createDropletSsh(opts: { privateKey: string; username?: string; retryDelayMs?: number }): SshPort {
  return {
    async connect(ip, hostKeyPublic, { timeoutMs, signal }) {
      const deadline = Date.now() + timeoutMs;
      const attempt = async () => {
        try {
          return await connectSsh({
            host: ip,
            username: opts.username ?? "root",
            privateKey: opts.privateKey,
            hostKey: hostKeyPublic,
            readyTimeoutMs: Math.min(20_000, Math.max(1000, deadline - Date.now())),
            keepaliveMs: 5000,
          });
        } catch (err) {
          // A booting droplet refuses, resets or times out connections, and may run sshd before cloud-init has
          // installed our authorized key; all that passes. A host key other than the pinned one is final.
          const booting = !(err instanceof SshConnectError && err.kind === "host-key-changed");
          const message = `the droplet at ${ip} did not answer SSH: ${(err as Error).message}`;
          throw booting && Date.now() < deadline ? new Error(message) : new AbortError(message);
        }
      };
      // Tried every half second at most: sshd is noticed within 0.5 s of answering (it came 1–4 s late with the old
      // doubling up to 5 s, and the job waits for it). A refused connection costs next to nothing on either side.
      const host = await pRetry(attempt, {
        retries: Number.POSITIVE_INFINITY,
        minTimeout: opts.retryDelayMs ?? 250,
        maxTimeout: Math.max(opts.retryDelayMs ?? 250, 500),
        factor: 2,
        maxRetryTime: timeoutMs,
        signal,
      });
      return sessionOf(host);
    },
  };
}

function sessionOf(host: SshHost): DropletSession {
  return {
    exec: (argv, o) => host.exec(argv, o),
    httpAgent: (h, p) => host.httpAgentFor(h, p),
    listFiles: (dir) => host.listFiles(dir),
    async download(remotePath, localPath, o) {
      const r = await host.download(remotePath, localPath, { signal: o.signal, onProgress: (p) => o.onProgress?.(p.bytes) });
      return { sha256: r.sha256, size: r.bytes, resumes: r.resumes };
    },
    droppedConnections: () => host.droppedConnections,
    close: () => host.close(),
  };
}
