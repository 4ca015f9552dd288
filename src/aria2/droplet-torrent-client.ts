// TorrentClientPort: starts aria2c on the droplet over SSH and drives it over JSON-RPC through the SSH tunnel.
import { randomBytes, randomInt } from "node:crypto";
import { quote } from "shell-quote";
import type { DropletSession, SeedingProgress, TorrentClientPort, TorrentProgress as JobProgress } from "../jobs/torrent/torrent-ports.js";
import { aria2SeedOptions, NO_SEEDING, type SeedPolicy } from "../jobs/torrent/seeding-policy.js";
import { abortableSleep as sleep } from "../shared/abortable-sleep.js";
import { buildAria2Command, aria2DaemonShellLine } from "./aria2-command.js";
import { Aria2Client, TorrentDownloadError, hasAllBytes, type Aria2Options } from "./aria2-client.js";
import { Aria2UnreachableError } from "./aria2-rpc.js";
import { toTorrentProgress, type TorrentProgress } from "./torrent-progress.js";

export interface DropletTorrentSettings {
  metadataTimeoutSeconds: number;
  stallTimeoutSeconds: number;
  trackers: string[];
  dhtEntryPoint: string | null;
  extraOptions: string[];
  /** How often aria2 is asked for progress (default 500 ms): a finished file, and the end, are seen within this. */
  pollIntervalMs?: number;
}

const DEFAULT_POLL_MS = 500;

export function createDropletTorrentClient(settings: DropletTorrentSettings): TorrentClientPort {
  return {
    async download(session, { dir, source, signal, onProgress, resume, onMetadata, selectFiles, seedPolicy }) {
      const policy = seedPolicy ?? (() => NO_SEEDING);
      // A job resumed after a restart first looks for the aria2 its earlier process started (it outlives the bot's
      // SSH session); if that aria2 is gone, a new one re-checks the pieces already on disk and carries on.
      const attached = resume ? await reattach(session, dir, settings, signal) : null;
      const launched = attached ?? (await launch(session, dir, source, settings, { recheck: Boolean(resume), selectFiles: selectFiles ?? null, seed: policy(), signal }));
      const { aria2 } = launched;
      let gid = launched.gid;
      if ("magnetUri" in source) {
        onProgress({ phase: "metadata", name: null, totalBytes: 0, completedBytes: 0, downloadSpeed: 0, seeders: 0, connections: 0, etaSeconds: null, files: [] });
        gid = await aria2.followDownload(gid, { timeoutSeconds: settings.metadataTimeoutSeconds, intervalMs: 250, signal });
        // --pause-metadata holds the real download until the job has seen what it is (also after a restart mid-question).
        const held = await aria2.tellStatus(gid);
        if (held.status === "paused") {
          const meta = toTorrentProgress(held);
          // Every file, chosen or not: the job decides (a relaunch may have inherited an earlier select-file).
          const files = meta.files.map((f) => ({ index: f.index, path: f.path, size: f.sizeBytes }));
          // A paused download reports totalLength 0 (aria2 1.36); its files carry the real sizes.
          const choice = await onMetadata?.({ name: meta.name, totalBytes: files.reduce((n, f) => n + f.size, 0), files });
          // Changing select-file of a paused download is taken as is (measured, aria2 1.36); of an active one aria2
          // would restart it.
          const wanted = choice ? choice.selectFiles : null;
          if (wanted !== null || meta.files.some((f) => !f.selected)) await aria2.changeOption(gid, { "select-file": wanted ?? allFiles(files.length) });
          await aria2.unpause(gid);
        }
      }
      let firstByteAt: number | null = null;
      const final = await aria2.watchDownload(gid, {
        intervalMs: settings.pollIntervalMs ?? DEFAULT_POLL_MS,
        metadataTimeoutSeconds: "magnetUri" in source ? settings.metadataTimeoutSeconds : undefined,
        signal,
        // A job that seeds counts as downloaded once aria2 has every byte; aria2 goes on giving to the swarm. One that
        // does not waits for "complete", when aria2 has also deleted the unchosen files' pieces.
        untilAllBytes: () => policy().kind !== "none",
        onProgress: (p) => {
          if (firstByteAt === null && p.phase !== "metadata" && p.completedBytes > 0) firstByteAt = Date.now();
          if (p.phase !== "error") onProgress(toJobProgress(p, dir));
        },
      });
      if (final.phase === "error") {
        await aria2.forceShutdown().catch(() => undefined);
        throw new TorrentDownloadError(final);
      }
      // Stopped only once it has every byte, unless the job seeds: a job left behind by a shutdown keeps its aria2.
      const seeding = final.phase !== "complete" && policy().kind !== "none";
      if (!seeding) await aria2.forceShutdown().catch(() => undefined);
      // aria2 reports paths relative to --dir; the job wants them as they are on the droplet.
      const files = final.files.filter((f) => f.selected).map((f) => ({ path: `${dir}/${f.path}`, size: f.sizeBytes }));
      return { name: final.name, files, transferSeconds: firstByteAt === null ? 0 : (Date.now() - firstByteAt) / 1000, seeding };
    },

    async seed(session, { dir, signal, onProgress, met }) {
      let last: SeedingProgress = { uploadedBytes: 0, sizeBytes: 0, uploadSpeed: 0, connections: 0 };
      const found = await reattach(session, dir, settings, signal);
      if (!found) return { how: "gone", ...last };
      const { aria2, gid } = found;
      let failures = 0;
      for (;;) {
        let p;
        try {
          p = await aria2.pollProgress(gid);
          failures = 0;
        } catch (err) {
          // aria2 exits a few seconds after it stops seeding (it was told to stop, or a shutdown): gone, not broken.
          if (!(err instanceof Aria2UnreachableError) || ++failures >= 3) return { how: "gone", ...last };
          await sleep(settings.pollIntervalMs ?? 1000, signal);
          continue;
        }
        last = { uploadedBytes: p.uploadedBytes, sizeBytes: p.totalBytes, uploadSpeed: p.uploadSpeed, connections: p.connections };
        onProgress(last);
        if (p.phase === "complete") return { how: "complete", ...last };
        if (p.phase === "error") return { how: "gone", ...last };
        if (met(last)) {
          await endSeeding(aria2, p.gid, signal);
          return { how: "met", ...last };
        }
        await sleep(settings.pollIntervalMs ?? 1000, signal);
      }
    },

    async applySeedPolicy(session, dir, policy, signal) {
      const found = await reattach(session, dir, settings, signal);
      if (!found) return false;
      // A magnet's handle names its metadata download; the options belong to the real one that follows it.
      const p = await found.aria2.pollProgress(found.gid);
      if (hasAllBytes(p)) return false;
      await found.aria2.changeOption(p.gid, aria2SeedOptions(policy));
      return true;
    },
  };
}

/**
 * Ends a download whose seeding policy the job found met, as aria2 ends one by its own rule: `aria2.remove` stops it
 * gracefully, so the trackers hear "stopped" with the final upload (what a private tracker credits to the account);
 * forceShutdown contacts no tracker, and follows only to make sure aria2 is stopped before the droplet goes.
 */
async function endSeeding(aria2: Aria2Client, gid: string, signal?: AbortSignal): Promise<void> {
  try {
    await aria2.remove(gid);
    for (let waited = 0; waited < REMOVE_WAIT_MS; waited += 200) {
      if ((await aria2.tellStatus(gid, ["status"])).status === "removed") break;
      await sleep(200, signal);
    }
  } catch {
    // Gone already, or not answering: the forced stop below (or the droplet's destroy) ends it.
  }
  await aria2.forceShutdown().catch(() => undefined);
}

/** How long a graceful stop may take (aria2 announces "stopped" to each tracker first). */
const REMOVE_WAIT_MS = 10_000;

/** `select-file` naming every file: how a selection inherited from an earlier launch is undone. */
function allFiles(count: number): string {
  return count <= 1 ? "1" : `1-${count}`;
}

/** Where a droplet keeps how to reach its aria2 (port, secret, gid): next to the download, readable by root only. */
const handleFile = (dir: string) => `${dir}.aria2.rpc`;

async function launch(
  session: DropletSession,
  dir: string,
  source: { magnetUri: string } | { torrentFile: Buffer },
  settings: DropletTorrentSettings,
  o: { recheck: boolean; selectFiles: string | null; seed: SeedPolicy; signal?: AbortSignal },
): Promise<{ aria2: Aria2Client; gid: string }> {
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
    // The job sees a magnet's real size before a byte of content is fetched (download() unpauses it).
    pauseAfterMetadata: true,
    // How long to seed is each download's own option (the job's policy), inherited by a magnet's real download.
    seedTime: null,
  });
  const started = await session.exec(["sh", "-c", aria2DaemonShellLine(argv, `${dir}.aria2.log`)], { timeoutMs: 30_000, signal: o.signal });
  if (started.code !== 0) throw new Error(`could not start aria2 on the droplet: ${started.stderr.trim().slice(0, 300)}`);
  const aria2 = clientFor(session, rpcPort, secret, settings);
  await aria2.waitUntilReady(15_000, o.signal);
  // After a restart the pieces already on disk are checked against the torrent's hashes and kept.
  const options: Aria2Options = { ...aria2SeedOptions(o.seed), ...(o.recheck ? { "check-integrity": "true" } : {}) };
  // Files chosen before the start (a .torrent's card, or before a restart); a magnet's real download inherits it.
  if (o.selectFiles !== null) options["select-file"] = o.selectFiles;
  const gid = "magnetUri" in source ? await aria2.addUri([source.magnetUri], options) : await aria2.addTorrent(source.torrentFile, options);
  const saved = await session.exec(["sh", "-c", `umask 077 && printf '%s %s %s\\n' ${rpcPort} ${secret} ${gid} > ${quote([handleFile(dir)])}`], {
    timeoutMs: 30_000,
    signal: o.signal,
  });
  if (saved.code !== 0) throw new Error(`could not record aria2's address on the droplet: ${saved.stderr.trim().slice(0, 300)}`);
  return { aria2, gid };
}

/** The aria2 an earlier process started for this download, if it still answers and still knows the download. */
async function reattach(
  session: DropletSession,
  dir: string,
  settings: DropletTorrentSettings,
  signal?: AbortSignal,
): Promise<{ aria2: Aria2Client; gid: string } | null> {
  const read = await session.exec(["cat", handleFile(dir)], { timeoutMs: 30_000, signal });
  const m = /^(\d+) ([A-Za-z0-9_-]+) ([0-9a-f]+)\s*$/.exec(read.stdout);
  if (read.code !== 0 || !m) return null;
  const aria2 = clientFor(session, Number(m[1]), m[2]!, settings);
  try {
    await aria2.tellStatus(m[3]!, ["status"]);
  } catch {
    return null; // not running any more, or it forgot the download: start again
  }
  return { aria2, gid: m[3]! };
}

function clientFor(session: DropletSession, port: number, secret: string, settings: DropletTorrentSettings): Aria2Client {
  return new Aria2Client({
    host: "127.0.0.1",
    port,
    secret,
    agent: session.httpAgent("127.0.0.1", port),
    stallTimeoutSeconds: settings.stallTimeoutSeconds,
    timeoutMs: 10_000,
  });
}

function toJobProgress(p: TorrentProgress, dir: string): JobProgress {
  return {
    phase: p.phase === "complete" ? "complete" : p.phase === "metadata" ? "metadata" : "downloading",
    name: p.name,
    totalBytes: p.totalBytes,
    completedBytes: p.completedBytes,
    downloadSpeed: p.downloadSpeed,
    seeders: p.seeders,
    connections: p.connections,
    etaSeconds: p.etaSeconds,
    uploadedBytes: p.uploadedBytes,
    uploadSpeed: p.uploadSpeed,
    // Paths as on the droplet, like the download's result, so the job can pull a finished file before the rest.
    files: p.files.filter((f) => f.selected).map((f) => ({ path: `${dir}/${f.path}`, size: f.sizeBytes, completedBytes: f.completedBytes })),
  };
}
