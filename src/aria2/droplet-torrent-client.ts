// TorrentClientPort: starts aria2c on the droplet over SSH and drives it over JSON-RPC through the SSH tunnel.
import { randomBytes, randomInt } from "node:crypto";
import type { TorrentClientPort, TorrentProgress as JobProgress } from "../jobs/torrent/torrent-ports.js";
import { buildAria2Command, aria2DaemonShellLine } from "./aria2-command.js";
import { Aria2Client, TorrentDownloadError } from "./aria2-client.js";
import type { TorrentProgress } from "./torrent-progress.js";

export interface DropletTorrentSettings {
  metadataTimeoutSeconds: number;
  stallTimeoutSeconds: number;
  trackers: string[];
  dhtEntryPoint: string | null;
  extraOptions: string[];
  pollIntervalMs?: number;
}

export function createDropletTorrentClient(settings: DropletTorrentSettings): TorrentClientPort {
  return {
    async download(session, { dir, source, signal, onProgress }) {
      const rpcPort = randomInt(20_000, 60_000);
      const secret = randomBytes(24).toString("base64url");
      const argv = buildAria2Command({
        rpcPort,
        rpcSecret: secret,
        downloadDir: dir,
        stallTimeoutSeconds: settings.stallTimeoutSeconds,
        trackers: settings.trackers,
        dhtEntryPoint: settings.dhtEntryPoint,
        extraOptions: [`--listen-port=${randomInt(20_000, 60_000)}`, ...settings.extraOptions],
      });
      const started = await session.exec(["sh", "-c", aria2DaemonShellLine(argv, `${dir}.aria2.log`)], { timeoutMs: 30_000, signal });
      if (started.code !== 0) throw new Error(`could not start aria2 on the droplet: ${started.stderr.trim().slice(0, 300)}`);
      const aria2 = new Aria2Client({
        host: "127.0.0.1",
        port: rpcPort,
        secret,
        agent: session.httpAgent("127.0.0.1", rpcPort),
        stallTimeoutSeconds: settings.stallTimeoutSeconds,
      });
      try {
        await aria2.waitUntilReady(15_000, signal);
        const gid = "magnetUri" in source ? await aria2.addUri([source.magnetUri]) : await aria2.addTorrent(source.torrentFile);
        let firstByteAt: number | null = null;
        const final = await aria2.watchDownload(gid, {
          intervalMs: settings.pollIntervalMs ?? 1000,
          metadataTimeoutSeconds: "magnetUri" in source ? settings.metadataTimeoutSeconds : undefined,
          signal,
          onProgress: (p) => {
            if (firstByteAt === null && p.phase !== "metadata" && p.completedBytes > 0) firstByteAt = Date.now();
            if (p.phase !== "error") onProgress(toJobProgress(p));
          },
        });
        if (final.phase === "error") throw new TorrentDownloadError(final);
        // aria2 reports paths relative to --dir; the job wants them as they are on the droplet.
        const files = final.files.filter((f) => f.selected).map((f) => ({ path: `${dir}/${f.path}`, size: f.sizeBytes }));
        return { name: final.name, files, transferSeconds: firstByteAt === null ? 0 : (Date.now() - firstByteAt) / 1000 };
      } finally {
        // The droplet is about to be destroyed; stopping aria2 first only keeps it from seeding meanwhile.
        await aria2.forceShutdown().catch(() => undefined);
      }
    },
  };
}

function toJobProgress(p: TorrentProgress): JobProgress {
  return {
    phase: p.phase === "complete" ? "complete" : p.phase === "metadata" ? "metadata" : "downloading",
    name: p.name,
    totalBytes: p.totalBytes,
    completedBytes: p.completedBytes,
    downloadSpeed: p.downloadSpeed,
    seeders: p.seeders,
    connections: p.connections,
    etaSeconds: p.etaSeconds,
  };
}
