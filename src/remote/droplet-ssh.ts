// SshPort for droplets: waits for a booting droplet's sshd, accepting only the host key the bot generated for it.
import type { DropletSession, SshPort } from "../jobs/torrent-ports.js";
import { SshConnectError, connectSsh, type SshHost } from "./ssh-host.js";

export function createDropletSsh(opts: { privateKey: string; username?: string; retryDelayMs?: number }): SshPort {
  return {
    async connect(ip, hostKeyPublic, { timeoutMs, signal }) {
      const deadline = Date.now() + timeoutMs;
      let delay = opts.retryDelayMs ?? 250;
      for (;;) {
        signal?.throwIfAborted();
        const host = await connectSsh({
          host: ip,
          username: opts.username ?? "root",
          privateKey: opts.privateKey,
          hostKey: hostKeyPublic,
          readyTimeoutMs: Math.min(20_000, Math.max(1000, deadline - Date.now())),
          keepaliveMs: 5000,
        }).catch((err: unknown) => err as Error);
        if (!(host instanceof Error)) return sessionOf(host);
        // A droplet that is still booting refuses or drops connections; a wrong host key is never retried.
        const retryable = host instanceof SshConnectError && (host.kind === "unreachable" || host.kind === "timeout");
        if (!retryable || Date.now() + delay > deadline) {
          throw new Error(`the droplet at ${ip} did not answer SSH: ${host.message}`);
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 5000);
      }
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
    close: () => host.close(),
  };
}
