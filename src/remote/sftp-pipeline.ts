// The read pipeline of an SFTP pull: a window of large reads spread over several SFTP sessions, delivered in order.
// One SSH channel carries at most its flow-control window (2 MiB in ssh2) per round trip, so a long link needs
// several channels; the window here (requested but not yet written bytes) is what covers bandwidth × delay.
import type ssh2 from "ssh2";
import { AbortError } from "p-retry";
import { abortError } from "./local-host.js";

/** One SFTP session with the remote file open on it. */
export interface ReadSession {
  sftp: ssh2.SFTPWrapper;
  handle: Buffer;
}

export interface PullOptions {
  sessions: ReadSession[];
  /** First byte to read (the size of the clean prefix already on disk). */
  start: number;
  total: number;
  /** Bytes per read request (the server may answer with fewer: the rest is asked for again). */
  chunkBytes: number;
  /** Bytes requested but not yet handed to the sink: covers the link's bandwidth × delay. */
  windowBytes: number;
  /** Receives the file's bytes strictly in order, contiguous; the next batch waits for it. */
  sink(chunks: Buffer[], bytes: number): Promise<void>;
  signal?: AbortSignal;
}

/** How much one call to the sink takes at most: fewer, larger writes, without holding the window back. */
const MAX_BATCH = 4 * 1024 * 1024;

/** Reads [start, total) through the sessions and hands it to the sink in order; rejects on the first failure. */
export function pullInOrder(o: PullOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const ready = new Map<number, Buffer>();
    // Read buffers are reused once the sink is done with them: fresh 256 KiB buffers cost page faults and GC.
    const spare: Buffer[] = [];
    const take = () => spare.pop() ?? Buffer.allocUnsafe(o.chunkBytes);
    const inFlight = o.sessions.map(() => 0);
    let nextRequest = o.start;
    let nextWrite = o.start;
    let sinking = false;
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      o.signal?.removeEventListener("abort", onAbort);
      for (const s of o.sessions) s.sftp.removeListener("close", onClose);
      if (err) reject(err);
      else resolve();
    };
    const onAbort = () => finish(abortError(o.signal!));
    const onClose = () => finish(new Error("the SFTP session closed mid-transfer"));
    if (o.signal?.aborted) return onAbort();
    o.signal?.addEventListener("abort", onAbort, { once: true });
    for (const s of o.sessions) s.sftp.once("close", onClose);

    const request = (i: number, off: number, len: number) => {
      const { sftp, handle } = o.sessions[i]!;
      inFlight[i]!++;
      const buf = take();
      sftp.read(handle, buf, 0, len, off, (err, n) => {
        inFlight[i]!--;
        if (done) return;
        if (err) return finish(err);
        if (n === 0) return finish(new AbortError("the remote file got shorter during the download"));
        ready.set(off, buf.subarray(0, n));
        if (n < len) request(i, off + n, len - n); // a short read (the server's cap, or a slow disk): ask for the rest
        flush();
        pump();
      });
    };
    const pump = () => {
      while (!done && nextRequest < o.total && nextRequest - nextWrite < o.windowBytes) {
        const len = Math.min(o.chunkBytes, o.total - nextRequest);
        request(leastBusy(inFlight), nextRequest, len);
        nextRequest += len;
      }
    };
    const flush = () => {
      if (sinking || done) return;
      if (nextWrite >= o.total) return finish();
      const batch: Buffer[] = [];
      let bytes = 0;
      for (let c = ready.get(nextWrite); c && bytes < MAX_BATCH; c = ready.get(nextWrite + bytes)) {
        ready.delete(nextWrite + bytes);
        batch.push(c);
        bytes += c.length;
      }
      if (bytes === 0) return;
      sinking = true;
      o.sink(batch, bytes).then(
        () => {
          for (const c of batch) spare.push(Buffer.from(c.buffer, c.byteOffset, o.chunkBytes));
          sinking = false;
          nextWrite += bytes;
          pump();
          flush();
        },
        (err: Error) => finish(err),
      );
    };
    pump();
    flush();
  });
}

function leastBusy(inFlight: number[]): number {
  let best = 0;
  for (let i = 1; i < inFlight.length; i++) if (inFlight[i]! < inFlight[best]!) best = i;
  return best;
}
