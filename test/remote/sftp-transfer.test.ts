// The SFTP pull against a real sshd (OpenSSH's internal-sftp): bytes and SHA-256 equal, the server's short reads,
// resume from what is on disk, a prompt stop on abort, and a file that changes under the pull.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type ssh2 from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downloadOverSftp, type SftpHost } from "../../src/remote/sftp-transfer.js";
import type { SshHost } from "../../src/remote/ssh-host.js";
import { startSshFixture, type SshFixture } from "./ssh-fixture.js";

const SIZE = 40 * 1024 * 1024;
const OLD = new Date("2020-01-01T00:00:00Z"); // a finished file: any write now moves its mtime
let f: SshFixture;
let host: SshHost;
let remoteSha = "";

beforeAll(async () => {
  f = await startSshFixture("dropship-sftp-");
  host = await f.connect();
  const data = Buffer.alloc(SIZE);
  for (let off = 0; off < SIZE; off += 1 << 20) data.fill(createHash("sha256").update(String(off)).digest(), off, off + (1 << 20));
  fs.writeFileSync(remoteFile("big.bin"), data);
  fs.utimesSync(remoteFile("big.bin"), OLD, OLD);
  remoteSha = createHash("sha256").update(data).digest("hex");
});
afterAll(async () => {
  await f?.stop();
});

function remoteFile(name: string): string {
  return path.join(f.world.tmp, name);
}

function localFile(name: string): string {
  return path.join(f.tempDir, "pulled", name);
}

function sha256(file: string): string {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** The host, with every SFTP read it makes counted: how many bytes came over the wire, and which reads came short. */
function counted(h: SshHost, opts: { maxReadLen?: number } = {}) {
  const seen = { bytes: 0, short: 0 };
  const patched = new WeakSet<ssh2.SFTPWrapper>();
  const spy = (s: ssh2.SFTPWrapper) => {
    if (patched.has(s)) return s;
    patched.add(s);
    // Lets ssh2 send reads longer than the server's cap, so that the server answers them short.
    if (opts.maxReadLen) (s as unknown as { _maxReadLen: number })._maxReadLen = opts.maxReadLen;
    const read = s.read.bind(s);
    s.read = ((handle, buf, off, len, pos, cb) =>
      read(handle, buf, off, len, pos, (err, n, data, p) => {
        seen.bytes += n ?? 0;
        if (!err && n > 0 && n < len) seen.short++;
        cb(err, n, data, p);
      })) as typeof s.read;
    return s;
  };
  const wrapped: SftpHost = {
    label: h.label,
    exec: (argv, o) => h.exec(argv, o),
    writeFile: (p, d, m) => h.writeFile(p, d, m),
    readFile: (p) => h.readFile(p),
    close: () => h.close(),
    sftp: () => h.sftp(),
    sftpSessions: async (n) => (await h.sftpSessions(n)).map(spy),
  };
  return { host: wrapped, seen };
}

describe("SFTP pull", () => {
  it("copies every byte: the size and SHA-256 equal the host's, and progress reaches the end", async () => {
    const local = localFile("whole.bin");
    let last = 0;
    const r = await host.download("/tmp/big.bin", local, { onProgress: (p) => (last = p.bytes) });
    expect(r).toEqual({ bytes: SIZE, sha256: remoteSha, resumes: 0 });
    expect(sha256(local)).toBe(remoteSha);
    expect(last).toBe(SIZE);
  });

  it("asks again for the rest when the server answers a read short (sftp-server caps reads at 255 KiB)", async () => {
    const { host: spied, seen } = counted(host, { maxReadLen: 1024 * 1024 });
    const local = localFile("short.bin");
    const r = await downloadOverSftp(spied, "/tmp/big.bin", local, { chunkBytes: 1024 * 1024, sessions: 2 });
    expect(seen.short).toBeGreaterThan(0);
    expect(seen.bytes).toBe(SIZE);
    expect(r.sha256).toBe(remoteSha);
    expect(sha256(local)).toBe(remoteSha);
  }, 20_000);

  it("resumes from the partial file on disk, reading only the rest", async () => {
    const local = localFile("partial.bin");
    fs.mkdirSync(path.dirname(local), { recursive: true });
    fs.writeFileSync(local, fs.readFileSync(remoteFile("big.bin")).subarray(0, 10 * 1024 * 1024 + 12345));
    const { host: spied, seen } = counted(host);
    const r = await downloadOverSftp(spied, "/tmp/big.bin", local);
    expect(seen.bytes).toBe(SIZE - (10 * 1024 * 1024 + 12345));
    expect(r).toEqual({ bytes: SIZE, sha256: remoteSha, resumes: 0 });
  });

  it("resumes after the connection drops mid-file, from what is on disk rather than from the start", async () => {
    const local = localFile("dropped.bin");
    const { host: spied, seen } = counted(host);
    let killedAt = 0;
    const window = 2 * 1024 * 1024;
    const r = await downloadOverSftp(spied, "/tmp/big.bin", local, {
      windowBytes: window,
      onProgress: (p) => {
        if (killedAt === 0 && p.bytes > SIZE / 3) {
          killedAt = p.bytes;
          f.world.killSessions();
        }
      },
    });
    expect(killedAt).toBeGreaterThan(0);
    expect(r.resumes).toBeGreaterThanOrEqual(1);
    expect(r).toMatchObject({ bytes: SIZE, sha256: remoteSha });
    expect(sha256(local)).toBe(remoteSha);
    // Only what was in flight when the connection dropped is read twice.
    expect(seen.bytes).toBeLessThanOrEqual(SIZE + window + 1024 * 1024);
  });

  it("stops promptly when aborted, and keeps the clean prefix for a later resume", async () => {
    const local = localFile("aborted.bin");
    const ac = new AbortController();
    let abortedAt = 0;
    let progressAfter = 0;
    const pull = host.download("/tmp/big.bin", local, {
      windowBytes: 1024 * 1024,
      onProgress: (p) => {
        if (abortedAt) progressAfter++;
        else if (p.bytes > SIZE / 10) {
          abortedAt = performance.now();
          ac.abort();
        }
      },
      signal: ac.signal,
    });
    await expect(pull).rejects.toThrow(/cancel|abort/i);
    expect(performance.now() - abortedAt).toBeLessThan(500);
    expect(progressAfter).toBe(0);
    const kept = fs.statSync(local).size;
    expect(kept).toBeLessThan(SIZE);
    expect(createHash("sha256").update(fs.readFileSync(local)).digest("hex")).toBe(
      createHash("sha256").update(fs.readFileSync(remoteFile("big.bin")).subarray(0, kept)).digest("hex"),
    );
  });

  it("detects a file that changes on the host during the pull, and removes the copy", async () => {
    const name = "changing.bin";
    fs.copyFileSync(remoteFile("big.bin"), remoteFile(name));
    fs.utimesSync(remoteFile(name), OLD, OLD);
    const local = localFile(name);
    let changed = false;
    const pull = host.download(`/tmp/${name}`, local, {
      windowBytes: 1024 * 1024,
      onProgress: (p) => {
        if (changed || p.bytes < SIZE / 4) return;
        changed = true;
        // Bytes already copied change on the host: the copy is now of a file that no longer exists there.
        const fd = fs.openSync(remoteFile(name), "r+");
        fs.writeSync(fd, Buffer.alloc(4096, 0xee), 0, 4096, 0);
        fs.closeSync(fd);
      },
    });
    await expect(pull).rejects.toThrow(/changed while it was being copied/);
    expect(changed).toBe(true);
    expect(fs.existsSync(local)).toBe(false);
  });
});
