// The real Aria2Client against a real aria2c (RPC on 127.0.0.1) and the local swarm: magnet → metadata →
// real gid → complete; a .torrent with hostile names; a dead torrent; a tunnel-style agent; shutdown.
import { createHash } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import {
  Aria2Client,
  Aria2RpcError,
  TorrentDownloadError,
  type TorrentProgress,
} from "../../src/aria2/index.js";
import { streamAgent } from "../../src/shared/stream-agent.js";
import { startSwarm, type Swarm } from "../world/swarm.js";
import { startAria2Daemon, type Aria2Daemon } from "./aria2-helpers.js";

let work: string;
let swarm: Swarm;
let aria2: Aria2Daemon;
const started: Aria2Daemon[] = [];

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "aria2-client-test-"));
  swarm = await startSwarm({ dir: work });
  aria2 = await startAria2Daemon(work, { stallTimeoutSeconds: 15 });
  started.push(aria2);
});

afterAll(async () => {
  await Promise.all(started.map((d) => d.stop()));
  await swarm?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

const sha256 = (f: string) => createHash("sha256").update(fs.readFileSync(f)).digest("hex");

// Independent downloads (own torrents, own dirs), so they run side by side.
describe.concurrent("Aria2Client against a real aria2c", () => {
  it("follows a magnet from its metadata job to the real download and reports progress to completion", async ({ expect }) => {
    const t = await swarm.addTorrent({ name: "movie.mkv", files: [{ path: "movie.mkv", size: 20 * 1024 * 1024 }] });
    const gid = await aria2.client.addUri([t.magnet]);
    const seen: TorrentProgress[] = [];
    const final = await aria2.client.watchDownload(gid, { intervalMs: 100, onProgress: (p) => void seen.push(p) });

    expect(final.phase, final.errorMessage ?? "").toBe("complete");
    expect(seen[0]!.phase).toBe("metadata");
    expect(seen[0]!.gid).toBe(gid);
    const meta = await aria2.client.tellStatus(gid, ["followedBy"]);
    expect(final.gid).toBe(meta.followedBy?.[0]);
    expect(final.gid).not.toBe(gid);
    expect(final).toMatchObject({ name: "movie.mkv", infoHash: t.infoHash, totalBytes: t.totalSize, completedBytes: t.totalSize });
    expect(final.files).toEqual([{ index: 1, path: "movie.mkv", sizeBytes: t.totalSize, completedBytes: t.totalSize, selected: true }]);
    // Numbers only, never aria2's strings; completed bytes never go backwards.
    for (const p of seen) for (const v of [p.totalBytes, p.completedBytes, p.downloadSpeed, p.connections]) expect(typeof v).toBe("number");
    const done = seen.map((p) => p.completedBytes);
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(sha256(path.join(aria2.downloadDir, "movie.mkv"))).toBe(t.files[0]!.sha256);
    // --bt-save-metadata=false: no stray .torrent among the user's files.
    expect(fs.readdirSync(aria2.downloadDir).filter((f) => f.endsWith(".torrent"))).toEqual([]);
  });

  it("downloads a .torrent (no metadata phase) with nested folders and hostile names", async ({ expect }) => {
    const t = await swarm.addTorrent({
      name: "pack",
      files: [
        { path: `-rf "quoted" 'single' ünïcödé 🎉.txt`, content: "hostile" },
        { path: "sub dir/deeper/..evil", size: 200_000 },
        { path: "ctl\x01char.txt", content: "control" },
      ],
    });
    const gid = await aria2.client.addTorrent(t.torrentFile);
    expect(await aria2.client.followDownload(gid, { timeoutSeconds: 10 })).toBe(gid);
    const final = await aria2.client.watchDownload(gid, { intervalMs: 100 });
    expect(final.phase, final.errorMessage ?? "").toBe("complete");
    expect(final.files.map((f) => f.path).sort()).toEqual(t.files.map((f) => f.aria2Path).sort());
    for (const f of t.files) expect(sha256(path.join(aria2.downloadDir, f.aria2Path))).toBe(f.sha256);
    const files = await aria2.client.getFiles(gid);
    expect(files).toHaveLength(3);
    // --rpc-save-upload-metadata=false: the uploaded .torrent is not saved among the user's files.
    expect(fs.readdirSync(aria2.downloadDir).filter((f) => f.endsWith(".torrent"))).toEqual([]);
  });

  it("ends a dead magnet (no seeder) with error 7 after --bt-stop-timeout, worded for the user", async ({ expect }) => {
    const dead = await swarm.addTorrent({ name: "dead.iso", files: [{ path: "dead.iso", size: 1 << 20 }], seed: false });
    const shortFuse = await startAria2Daemon(work, { stallTimeoutSeconds: 2 });
    started.push(shortFuse);
    const gid = await shortFuse.client.addUri([dead.magnet]);
    const t0 = Date.now();
    const err = await shortFuse.client.followDownload(gid, { intervalMs: 100 }).catch((e: unknown) => e);
    const seconds = (Date.now() - t0) / 1000;
    expect(err).toBeInstanceOf(TorrentDownloadError);
    const p = (err as TorrentDownloadError).progress;
    expect(p).toMatchObject({ phase: "error", errorCode: 7, name: "dead.iso" });
    expect(p.errorMessage).toBe("no peer sent the torrent's metadata for 2 s: the torrent looks dead (no reachable seeders)");
    expect(seconds).toBeGreaterThanOrEqual(1.5);
    expect(seconds).toBeLessThan(8);
  });

  it("gives up on metadata after metadataTimeoutSeconds and removes the job", async ({ expect }) => {
    const dead = await swarm.addTorrent({ name: "slow.iso", files: [{ path: "slow.iso", size: 4096 }], seed: false });
    const gid = await aria2.client.addUri([dead.magnet]);
    const final = await aria2.client.watchDownload(gid, { intervalMs: 100, metadataTimeoutSeconds: 1 });
    expect(final.phase).toBe("error");
    expect(final.errorMessage).toMatch(/no peer sent the torrent's metadata within 1 s/);
    expect((await aria2.client.tellStatus(gid, ["status"])).status).toBe("removed");
  });

  it("works through an injected agent that delivers its stream asynchronously (as an SSH forward does)", async ({ expect }) => {
    let opened = 0;
    const agent = streamAgent(
      () =>
        new Promise<net.Socket>((resolve, reject) => {
          opened++;
          const s = net.connect({ host: "127.0.0.1", port: aria2.rpcPort });
          s.once("connect", () => resolve(s));
          s.once("error", reject);
        }),
    );
    // The host name is what the droplet would see; the agent decides where bytes really go.
    const tunnelled = new Aria2Client({ host: "localhost.invalid", port: 1, secret: aria2.secret, agent });
    expect((await tunnelled.getVersion()).version).toMatch(/^1\./);
    expect(opened).toBe(1);
    agent.destroy();
  });

  it("rejects a wrong secret without echoing it", async ({ expect }) => {
    const wrong = new Aria2Client({ port: aria2.rpcPort, secret: "not-the-secret-at-all" });
    const err = await wrong.getVersion().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Aria2RpcError);
    expect((err as Error).message).toBe("aria2 aria2.getVersion failed: Unauthorized");
  });

  it("forceShutdown makes aria2 exit by itself (aria2 1.36 schedules it 3 s later)", async ({ expect }) => {
    const d = await startAria2Daemon(work, { stallTimeoutSeconds: 5 });
    started.push(d);
    const t0 = Date.now();
    expect(await d.client.forceShutdown()).toBe("OK");
    while (!d.exited && Date.now() - t0 < 6000) await new Promise((r) => setTimeout(r, 50));
    expect(d.exited, d.logTail()).toBe(true);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});
