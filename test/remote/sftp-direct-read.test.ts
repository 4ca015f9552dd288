// DATA replies copied straight into the read's buffer (sftp-direct-read.ts), against a real sshd: the bytes are
// right for reads of every size, mixed with replies that are not DATA (stat, readdir, end of file), and ssh2's own
// reassembly no longer sees the data (if an ssh2 upgrade changes the internals this relies on, this fails).
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type ssh2 from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readRepliesInPlace } from "../../src/remote/sftp-direct-read.js";
import type { SshHost } from "../../src/remote/ssh-host.js";
import { startSshFixture, type SshFixture } from "./ssh-fixture.js";

const content = randomBytes(3 * 1024 * 1024 + 12345);
let f: SshFixture;
let host: SshHost;

beforeAll(async () => {
  f = await startSshFixture("dropship-direct-read-");
  host = await f.connect();
  fs.writeFileSync(path.join(f.world.tmp, "data.bin"), content);
});
afterAll(async () => {
  await f?.stop();
});

function call<T>(fn: (cb: (err: Error | null | undefined, v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

describe("readRepliesInPlace", () => {
  it("puts each read's bytes in its buffer, beside other replies, without ssh2 reassembling them", async () => {
    const sftp = await host.sftp();
    // Counts what reaches ssh2's own parser once the direct path is installed in front of it.
    const internals = sftp as unknown as { push(d: Buffer | null): unknown };
    const ssh2Push = internals.push.bind(sftp);
    let bytesToSsh2 = 0;
    internals.push = (d) => ((bytesToSsh2 += d?.length ?? 0), ssh2Push(d));
    expect(readRepliesInPlace(sftp)).toBe(true);

    const handle = await call<Buffer>((cb) => sftp.open("/tmp/data.bin", "r", cb));
    const reads: { off: number; len: number }[] = [];
    for (let off = 0, i = 0; off < content.length; i++) {
      const len = [1, 1000, 32 * 1024 + 7, 255 * 1024, 200 * 1024][i % 5]!;
      reads.push({ off, len: Math.min(len, content.length - off) });
      off += len;
    }
    const results = await Promise.all([
      ...reads.map(({ off, len }) => {
        // Each read gets a buffer of its own, with room to spare and a marked tail that must stay untouched.
        const buf = Buffer.alloc(len + 16, 0xee);
        return call<number>((cb) => sftp.read(handle, buf, 0, len, off, (err, n) => cb(err, n))).then((n) => ({ off, len, n, buf }));
      }),
      call<ssh2.Stats>((cb) => sftp.stat("/tmp/data.bin", cb)).then((st) => ({ size: st.size })),
      call<ssh2.FileEntry[]>((cb) => sftp.readdir("/tmp", cb)).then((list) => ({ names: list.map((e) => e.filename) })),
    ]);
    let dataBytes = 0;
    for (const r of results) {
      if ("size" in r) expect(r.size).toBe(content.length);
      else if ("names" in r) expect(r.names).toContain("data.bin");
      else {
        expect(r.n).toBe(r.len);
        expect(r.buf.subarray(0, r.n).equals(content.subarray(r.off, r.off + r.len))).toBe(true);
        expect(r.buf.subarray(r.len).every((b) => b === 0xee)).toBe(true);
        dataBytes += r.n;
      }
    }
    expect(dataBytes).toBe(content.length);

    // Past the end: the server's EOF status goes through ssh2 as before (ssh2 makes it a read of 0 bytes).
    const past = await call<number>((cb) => sftp.read(handle, Buffer.alloc(10), 0, 10, content.length + 5, (err, n) => cb(err, n)));
    expect(past).toBe(0);
    await call<void>((cb) => sftp.close(handle, (err) => cb(err, undefined)));

    // ssh2 saw the other replies (handle, attributes, names, statuses), not the file's bytes.
    expect(bytesToSsh2).toBeLessThan(64 * 1024);
  });
});
