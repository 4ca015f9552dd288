// Drives one aria2 daemon over JSON-RPC: add a magnet or .torrent, follow a magnet's metadata job to the
// real download, report progress as numbers, and stop it. Stateless between calls, so a restarted job
// engine can pick up a download by its gid.
import type http from "node:http";
import { abortableSleep as sleep } from "../shared/abortable-sleep.js";
import { callAria2, Aria2UnreachableError, type Aria2RpcOptions } from "./aria2-rpc.js";
import {
  isMetadataJob,
  toTorrentProgress,
  type Aria2File,
  type Aria2Status,
  type TorrentProgress,
} from "./torrent-progress.js";

export interface Aria2ClientOptions {
  host?: string;
  port: number;
  secret: string;
  /** Injected transport, e.g. an SSH tunnel (shared/stream-agent.ts); default: a plain TCP connection. */
  agent?: http.Agent;
  timeoutMs?: number;
  /** The --bt-stop-timeout aria2 was started with; used to word "dead torrent" messages. */
  stallTimeoutSeconds?: number;
}

export interface WatchOptions {
  /** Called after every poll, with the figures of the current phase. */
  onProgress?: (p: TorrentProgress) => void | Promise<void>;
  /** Default 1000 ms. */
  intervalMs?: number;
  /** Give up on a magnet whose metadata has not arrived after this long (the job is force-removed). */
  metadataTimeoutSeconds?: number;
  /** When the download was added (ms since epoch), so a resumed watch keeps the metadata deadline; default now. */
  startedAtMs?: number;
  /**
   * Return as soon as aria2 has every byte (completedLength = totalLength), while it still seeds, instead of waiting
   * for it to finish seeding ("complete").
   */
  untilAllBytes?: () => boolean;
  /** Polls that may fail in a row (tunnel hiccup) before giving up; default 3. */
  maxConsecutiveFailures?: number;
  signal?: AbortSignal;
}

/** Per-download aria2 options (strings, as aria2's RPC wants them), e.g. { "bt-stop-timeout": "30" }. */
export type Aria2Options = Record<string, string>;

export class Aria2Client {
  private readonly rpc: Aria2RpcOptions;

  constructor(private readonly opts: Aria2ClientOptions) {
    this.rpc = { host: opts.host, port: opts.port, secret: opts.secret, agent: opts.agent, timeoutMs: opts.timeoutMs };
  }

  call<T>(method: string, ...params: unknown[]): Promise<T> {
    return callAria2<T>(this.rpc, method, params);
  }

  getVersion(): Promise<{ version: string; enabledFeatures: string[] }> {
    return this.call("aria2.getVersion");
  }

  /** Polls getVersion until aria2 answers (it was just started) or `timeoutMs` passes. */
  async waitUntilReady(timeoutMs = 10_000, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.getVersion();
        return;
      } catch (err) {
        if (!(err instanceof Aria2UnreachableError) || Date.now() > deadline) throw err;
      }
      await sleep(100, signal);
    }
  }

  /** Adds a magnet (or any URIs aria2 understands); returns the gid (for a magnet, the metadata job's). */
  addUri(uris: string[], options: Aria2Options = {}): Promise<string> {
    return this.call("aria2.addUri", uris, options);
  }

  /** Adds a .torrent document; there is no metadata phase then. */
  addTorrent(torrent: Uint8Array, options: Aria2Options = {}): Promise<string> {
    return this.call("aria2.addTorrent", Buffer.from(torrent).toString("base64"), [], options);
  }

  tellStatus(gid: string, keys?: string[]): Promise<Aria2Status> {
    return keys ? this.call("aria2.tellStatus", gid, keys) : this.call("aria2.tellStatus", gid);
  }

  getFiles(gid: string): Promise<Aria2File[]> {
    return this.call("aria2.getFiles", gid);
  }

  changeOption(gid: string, options: Aria2Options): Promise<string> {
    return this.call("aria2.changeOption", gid, options);
  }

  /** Lets a paused download (e.g. one --pause-metadata held after its metadata arrived) go on. */
  unpause(gid: string): Promise<string> {
    return this.call("aria2.unpause", gid);
  }

  remove(gid: string): Promise<string> {
    return this.call("aria2.remove", gid);
  }

  forceRemove(gid: string): Promise<string> {
    return this.call("aria2.forceRemove", gid);
  }

  /** Stops aria2 at once (aria2.shutdown takes seconds). */
  forceShutdown(): Promise<string> {
    return this.call("aria2.forceShutdown");
  }

  /** Figures for `gid`; a finished metadata job is followed to the real download (see `gid` in the result). */
  async pollProgress(gid: string): Promise<TorrentProgress> {
    let st = await this.tellStatus(gid);
    const next = st.followedBy?.[0];
    if (isMetadataJob(st) && st.status === "complete" && next) st = await this.tellStatus(next);
    return toTorrentProgress(st, { stallTimeoutSeconds: this.opts.stallTimeoutSeconds });
  }

  /**
   * Waits for a magnet's metadata and returns the real download's gid (the same gid for a .torrent).
   * Throws TorrentDownloadError if the metadata job fails or `timeoutSeconds` passes (it is then removed).
   */
  async followDownload(gid: string, o: { timeoutSeconds?: number; intervalMs?: number; signal?: AbortSignal } = {}): Promise<string> {
    const deadline = o.timeoutSeconds ? Date.now() + o.timeoutSeconds * 1000 : Infinity;
    for (;;) {
      const p = await this.pollProgress(gid);
      if (p.phase === "error") throw new TorrentDownloadError(p);
      if (p.phase !== "metadata") return p.gid;
      if (Date.now() > deadline) throw new TorrentDownloadError(await this.giveUpOnMetadata(p, o.timeoutSeconds!));
      await sleep(o.intervalMs ?? 250, o.signal);
    }
  }

  /** Polls until the download completes or fails; resolves with the final figures (phase complete or error). */
  async watchDownload(gid: string, o: WatchOptions = {}): Promise<TorrentProgress> {
    const started = o.startedAtMs ?? Date.now();
    let failures = 0;
    let current = gid;
    for (;;) {
      let p: TorrentProgress;
      try {
        p = await this.pollProgress(current);
        failures = 0;
      } catch (err) {
        if (!(err instanceof Aria2UnreachableError) || ++failures >= (o.maxConsecutiveFailures ?? 3)) throw err;
        await sleep(o.intervalMs ?? 1000, o.signal);
        continue;
      }
      current = p.gid;
      const limit = o.metadataTimeoutSeconds;
      if (p.phase === "metadata" && limit !== undefined && Date.now() - started > limit * 1000) {
        p = await this.giveUpOnMetadata(p, limit);
      }
      await o.onProgress?.(p);
      if (p.phase === "complete" || p.phase === "error") return p;
      if (o.untilAllBytes?.() && hasAllBytes(p)) return p;
      await sleep(o.intervalMs ?? 1000, o.signal);
    }
  }

  private async giveUpOnMetadata(p: TorrentProgress, seconds: number): Promise<TorrentProgress> {
    await this.forceRemove(p.gid).catch(() => undefined); // it may have failed by itself meanwhile
    return {
      ...p,
      phase: "error",
      errorMessage: `no peer sent the torrent's metadata within ${seconds} s: the torrent looks dead or has no reachable seeders`,
    };
  }
}

/** A download that ended in aria2's error state; `progress.errorMessage` is the sentence for the user. */
export class TorrentDownloadError extends Error {
  constructor(readonly progress: TorrentProgress) {
    super(progress.errorMessage ?? "the download failed");
    this.name = "TorrentDownloadError";
  }
}

/** aria2 holds every byte of the (chosen) files: it is seeding, or about to say "complete". */
export function hasAllBytes(p: TorrentProgress): boolean {
  return p.phase === "complete" || (p.phase === "downloading" && p.totalBytes > 0 && p.completedBytes >= p.totalBytes);
}
