// Reads that land straight in the caller's buffer. ssh2's SFTP client first gathers every reply in a fresh buffer of
// the reply's size, then copies a read's data out of it into the caller's buffer: with 255 KiB reads arriving in
// 32 KiB channel packets that is a second copy of every byte and a fresh 255 KiB allocation per reply (perf: most of
// the ~20 000 page faults of a 300 MB pull on a new connection). Installed on a pull's session, this copies each
// DATA reply from the channel's packets into the buffer its read gave, and hands every other reply to ssh2 as is.
// It relies on two of ssh2's internals (SFTP#push, the `_requests` table with `{ buffer, cb }` entries, as in 1.17);
// `readRepliesInPlace` says whether it could install, and a test fails if an upgrade takes them away.
import type ssh2 from "ssh2";

const DATA = 103;
/** uint32 length, byte type, uint32 request id, uint32 data length. */
const DATA_HEADER = 13;

interface PendingRequest {
  buffer?: Buffer;
  cb?: (err: Error | undefined, data?: Buffer, nb?: number) => void;
}

interface SftpInternals {
  push(data: Buffer | null): unknown;
  _requests: Record<number, PendingRequest | undefined>;
}

const installed = new WeakSet<object>();

/** Makes the session's DATA replies for reads with a buffer land in it directly; false if ssh2's internals differ. */
export function readRepliesInPlace(sftp: ssh2.SFTPWrapper): boolean {
  const s = sftp as unknown as SftpInternals;
  if (installed.has(s)) return true;
  if (typeof s.push !== "function" || typeof s._requests !== "object" || s._requests === null) return false;
  const ssh2Push = s.push.bind(s);
  const head = Buffer.alloc(DATA_HEADER);
  let headBytes = 0;
  /** Bytes of the current reply still to hand to ssh2 (a reply that is not ours). */
  let passing = 0;
  /** The DATA reply being copied into its read's buffer. */
  let into: { id: number; req: PendingRequest; buf: Buffer; at: number; len: number } | null = null;

  const complete = (r: NonNullable<typeof into>) => {
    // ssh2 may have failed the request meanwhile (the channel closed): then it is not ours to answer.
    if (s._requests[r.id] !== r.req) return;
    delete s._requests[r.id];
    r.req.cb!(undefined, r.buf, r.len);
  };
  const pass = (bytes: Buffer, rest: number) => {
    headBytes = 0;
    passing = Math.max(0, rest); // a malformed length is ssh2's to report
    ssh2Push(bytes);
  };

  s.push = (data: Buffer | null) => {
    if (data === null) return void ssh2Push(null);
    let p = 0;
    while (p < data.length) {
      if (passing > 0) {
        const n = Math.min(passing, data.length - p);
        ssh2Push(data.subarray(p, p + n));
        passing -= n;
        p += n;
      } else if (into) {
        const n = Math.min(into.len - into.at, data.length - p);
        data.copy(into.buf, into.at, p, p + n);
        into.at += n;
        p += n;
        if (into.at === into.len) {
          const r = into;
          into = null;
          complete(r);
        }
      } else {
        // A reply's header: its length and type first, then (a DATA reply) its request and data length.
        const want = headBytes < 5 ? 5 : DATA_HEADER;
        const n = Math.min(want - headBytes, data.length - p);
        data.copy(head, headBytes, p, p + n);
        headBytes += n;
        p += n;
        if (headBytes < want) continue;
        const length = head.readUInt32BE(0);
        if (head[4] !== DATA) {
          pass(Buffer.from(head.subarray(0, 5)), length + 4 - 5);
          continue;
        }
        if (headBytes < DATA_HEADER) continue;
        const id = head.readUInt32BE(5);
        const dataLength = head.readUInt32BE(9);
        const req = s._requests[id];
        if (!req?.buffer || typeof req.cb !== "function" || dataLength !== length - 9 || dataLength > req.buffer.length) {
          pass(Buffer.from(head), length + 4 - DATA_HEADER); // ssh2 answers (or reports) it its own way
          continue;
        }
        headBytes = 0;
        into = { id, req, buf: req.buffer, at: 0, len: dataLength };
        if (dataLength === 0) {
          const r = into;
          into = null;
          complete(r);
        }
      }
    }
  };
  installed.add(s);
  return true;
}
