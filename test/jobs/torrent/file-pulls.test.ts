// Pulling a torrent's files as aria2 finishes them, over a real SSH session to a real sshd: a finished file is pulled
// and verified while the others still download, names do not depend on the order files finish in, a restart keeps
// what was verified, and a failed pull fails the job with its reason.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDropletSsh } from "../../../src/remote/droplet-ssh.js";
import { FilePulls, type PulledFile, type TransferProgress } from "../../../src/jobs/torrent/pull-downloaded-files.js";
import type { DropletSession, TorrentFileProgress } from "../../../src/jobs/torrent/torrent-ports.js";
import { createLogger } from "../../../src/shared/logger.js";
import { startSshFixture, type SshFixture } from "../../remote/ssh-fixture.js";

let fx: SshFixture;
let session: DropletSession;
let remoteDir: string;
let localDir: string;
let run = 0;

beforeAll(async () => {
  fx = await startSshFixture("file-pulls-");
  session = await createDropletSsh({ privateKey: fx.botKey.privateKey }).connect(fx.world.address, fx.hostPublicKey, { timeoutMs: 10_000 });
}, 60_000);

afterAll(async () => {
  await session?.close();
  await fx?.stop();
});

beforeEach(() => {
  run++;
  remoteDir = `/root/job-${run}`;
  localDir = path.join(fx.tempDir, `local-${run}`);
  fs.mkdirSync(onHost(remoteDir), { recursive: true });
});

/** Where a path on the SSH host is, seen from the test. */
const onHost = (remote: string) => path.join(fx.world.home, path.posix.relative("/root", remote));
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

function writeRemote(rel: string, content: Buffer): string {
  const remote = `${remoteDir}/${rel}`;
  fs.mkdirSync(path.dirname(onHost(remote)), { recursive: true });
  fs.writeFileSync(onHost(remote), content);
  return remote;
}

function pulls(o: { pulled?: PulledFile[]; checkRoom?: (n: number) => Promise<void>; session?: DropletSession } = {}) {
  const record: { pulled: PulledFile[]; progress: TransferProgress[]; failures: unknown[]; roomAsked: number[] } = { pulled: [], progress: [], failures: [], roomAsked: [] };
  const p = new FilePulls({
    session: o.session ?? session,
    remoteDir,
    localDir,
    signal: new AbortController().signal,
    now: Date.now,
    log: createLogger({ level: "silent" }),
    pulled: o.pulled ?? [],
    checkRoom: async (n) => {
      record.roomAsked.push(n);
      await o.checkRoom?.(n);
    },
    onPulled: (_file, all) => (record.pulled = all),
    onProgress: (t) => record.progress.push(t),
    onFailure: (err) => record.failures.push(err),
  });
  return { p, record };
}

async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("FilePulls", () => {
  it("pulls and verifies a finished file while the others still download; empty files wait for the end", async () => {
    const first = bytes(300_000, 1);
    const second = bytes(500_000, 2);
    const a = writeRemote("album/01 first.bin", first);
    const b = writeRemote("album/02 second.bin", second.subarray(0, 100_000)); // aria2 is still writing it
    const empty = `${remoteDir}/album/empty.txt`; // not on the droplet yet
    const progress = (bDone: number): TorrentFileProgress[] => [
      { path: a, size: first.length, completedBytes: first.length },
      { path: b, size: second.length, completedBytes: bDone },
      { path: empty, size: 0, completedBytes: 0 },
    ];
    const { p, record } = pulls();
    p.offer(progress(100_000));
    await until("the first file verified", () => record.pulled.length === 1);
    expect(record.pulled[0]).toMatchObject({ path: "album/01 first.bin", size: first.length, sha256: sha256(first), remotePath: a });
    expect(sha256(fs.readFileSync(path.join(localDir, "album", "01 first.bin")))).toBe(sha256(first));
    expect(fs.existsSync(path.join(localDir, "album", "02 second.bin"))).toBe(false);
    expect(record.roomAsked).toEqual([first.length + second.length]);
    expect(record.progress.at(-1)).toMatchObject({ doneBytes: first.length, totalBytes: 800_000, filesDone: 1, filesTotal: 3 });

    // aria2 finishes: the rest is pulled, everything returned in the torrent's order.
    writeRemote("album/02 second.bin", second);
    writeRemote("album/empty.txt", Buffer.alloc(0));
    p.offer(progress(second.length));
    const files = await p.finish(progress(second.length).map((f) => ({ path: f.path, size: f.size })));
    expect(files.map((f) => [f.path, f.size, f.sha256])).toEqual([
      ["album/01 first.bin", first.length, sha256(first)],
      ["album/02 second.bin", second.length, sha256(second)],
      ["album/empty.txt", 0, sha256(Buffer.alloc(0))],
    ]);
    expect(record.pulled.map((f) => f.path)).toEqual(["album/01 first.bin", "album/02 second.bin", "album/empty.txt"]);
    expect(record.pulled[0]!.verifiedAt).toBeLessThanOrEqual(record.pulled[1]!.verifiedAt);
    expect(record.failures).toEqual([]);
  });

  it("pulls two files at a time, each verified, and records them in the torrent's order", async () => {
    const contents = [1, 2, 3, 4, 5].map((i) => bytes(400_000 + i * 50_000, 10 + i));
    const list = contents.map((c, i) => ({ path: writeRemote(`p/${i + 1}.bin`, c), size: c.length }));
    let now = 0;
    let most = 0;
    // The real session, counting the pulls in flight.
    const counting: DropletSession = {
      ...session,
      download: async (...args) => {
        most = Math.max(most, ++now);
        try {
          return await session.download(...args);
        } finally {
          now--;
        }
      },
    };
    const { p, record } = pulls({ session: counting });
    p.offer(list.map((f) => ({ ...f, completedBytes: f.size })));
    const files = await p.finish(list);
    expect(most).toBe(2);
    expect(files.map((f) => [f.path, f.sha256])).toEqual(contents.map((c, i) => [`p/${i + 1}.bin`, sha256(c)]));
    expect(record.pulled.map((f) => f.path)).toEqual(["p/1.bin", "p/2.bin", "p/3.bin", "p/4.bin", "p/5.bin"]);
    expect(record.roomAsked).toHaveLength(1);
    expect(record.progress.at(-1)).toMatchObject({ doneBytes: contents.reduce((n, c) => n + c.length, 0), filesDone: 5, filesTotal: 5 });
  });

  it("names a file the same whichever file finishes first", async () => {
    // Both sanitise to the same name: the torrent's order decides which gets " (2)", not the order they finish in.
    const upper = writeRemote("t/Notes.txt", Buffer.from("upper\n"));
    const lower = writeRemote("t/notes.txt", Buffer.from("lower\n"));
    const list = [
      { path: upper, size: 6 },
      { path: lower, size: 6 },
    ];
    const { p, record } = pulls();
    p.offer([
      { ...list[0]!, completedBytes: 0 },
      { ...list[1]!, completedBytes: 6 },
    ]);
    await until("the second file verified", () => record.pulled.length === 1);
    expect(record.pulled[0]!.path).toBe("t/notes (2).txt");
    const files = await p.finish(list);
    expect(files.map((f) => f.path)).toEqual(["t/Notes.txt", "t/notes (2).txt"]);
    expect(fs.readFileSync(path.join(localDir, "t", "notes (2).txt"), "utf8")).toBe("lower\n");
  });

  it("after a restart keeps the files verified before, and pulls again one whose local copy is gone", async () => {
    const kept = bytes(200_000, 3);
    const lost = bytes(200_000, 4);
    const list = [
      { path: writeRemote("k.bin", kept), size: kept.length },
      { path: writeRemote("l.bin", lost), size: lost.length },
    ];
    const before = pulls();
    await before.p.finish(list);
    const recorded = before.record.pulled;
    fs.rmSync(path.join(localDir, "l.bin"));
    // Gone from the droplet: pulling it again would fail, so it must not be pulled again.
    fs.rmSync(onHost(list[0]!.path));
    const after = pulls({ pulled: recorded });
    const files = await after.p.finish(list);
    expect(files.map((f) => [f.path, f.sha256])).toEqual([
      ["k.bin", sha256(kept)],
      ["l.bin", sha256(lost)],
    ]);
    expect(after.record.roomAsked).toEqual([lost.length]);
    expect(after.record.pulled.find((f) => f.path === "k.bin")!.verifiedAt).toBe(recorded.find((f) => f.path === "k.bin")!.verifiedAt);
    expect(sha256(fs.readFileSync(path.join(localDir, "l.bin")))).toBe(sha256(lost));
  });

  it("fails with the pull's reason, once, and pulls nothing more", async () => {
    const missing = `${remoteDir}/missing.bin`;
    const later = writeRemote("later.bin", Buffer.from("later"));
    const { p, record } = pulls();
    p.offer([
      { path: missing, size: 10, completedBytes: 10 },
      { path: later, size: 5, completedBytes: 0 },
    ]);
    await until("the failure", () => record.failures.length === 1);
    expect(String(record.failures[0])).toMatch(/missing\.bin.*no such file/);
    await expect(p.finish([{ path: missing, size: 10 }, { path: later, size: 5 }])).rejects.toThrow(/no such file/);
    expect(record.failures).toHaveLength(1);
    expect(fs.existsSync(path.join(localDir, "later.bin"))).toBe(false);
  });

  it("asks for room before its first pull, and pulls nothing without it", async () => {
    const f = writeRemote("big.bin", bytes(1000, 5));
    const { p, record } = pulls({
      checkRoom: async () => {
        throw new Error("not enough free disk");
      },
    });
    p.offer([{ path: f, size: 1000, completedBytes: 1000 }]);
    await until("the failure", () => record.failures.length === 1);
    await expect(p.finish([{ path: f, size: 1000 }])).rejects.toThrow("not enough free disk");
    expect(fs.existsSync(path.join(localDir, "big.bin"))).toBe(false);
  });
});
