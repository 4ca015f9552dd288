// A long link of the world's own (the kernel here has no netem): a TCP relay in front of a server that delays each
// direction by half the round trip and limits each direction to the link's rate, as a full-duplex link with a
// bottleneck queue would. Run it in-process (tests) or in a child process of its own (benchmarks), so that a busy
// client's event loop does not stretch the delays it measures.
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import { fileURLToPath } from "node:url";

export interface LinkOptions {
  /** Where the relay listens (port 0: any free port). */
  listen: { host: string; port?: number };
  /** The server behind the link. */
  target: { host: string; port: number };
  /** Round-trip time added by the link; each direction gets half. */
  rttMs: number;
  /** The link's rate, each direction. */
  bitsPerSecond: number;
  /** The bottleneck's queue, past the bytes on the wire; when full, the relay stops reading (TCP back-pressure).
   * Default: one bandwidth × delay product. */
  queueBytes?: number;
}

export interface LinkRelay {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** One direction of the link: bytes leave the queue at the link's rate and arrive one way's delay later. */
class DelayLine {
  private readonly line: { at: number; data: Buffer | null }[] = [];
  private busyUntil = 0;
  private queued = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly src: net.Socket,
    private readonly dst: net.Socket,
    private readonly oneWayMs: number,
    private readonly bytesPerMs: number,
    private readonly limit: number,
  ) {
    src.on("data", (d: Buffer) => this.push(d));
    src.on("end", () => this.push(null));
  }

  private push(data: Buffer | null): void {
    const start = Math.max(performance.now(), this.busyUntil);
    this.busyUntil = start + (data ? data.length / this.bytesPerMs : 0);
    this.line.push({ at: this.busyUntil + this.oneWayMs, data });
    if (data) this.queued += data.length;
    if (this.queued > this.limit) this.src.pause();
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.line.length === 0) return;
    this.timer = setTimeout(() => this.deliver(), Math.max(0, this.line[0]!.at - performance.now()));
  }

  private deliver(): void {
    this.timer = null;
    const now = performance.now();
    let n = 0;
    while (n < this.line.length && this.line[n]!.at <= now) {
      const { data } = this.line[n++]!;
      if (data === null) this.dst.end();
      else if (!this.dst.destroyed) {
        this.dst.write(data);
        this.queued -= data.length;
      }
    }
    this.line.splice(0, n);
    if (this.src.isPaused() && this.queued <= this.limit / 2) this.src.resume();
    this.schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.line.length = 0;
  }
}

export function startLinkRelay(o: LinkOptions): Promise<LinkRelay> {
  const bytesPerMs = o.bitsPerSecond / 8 / 1000;
  const oneWayMs = o.rttMs / 2;
  const limit = bytesPerMs * oneWayMs + (o.queueBytes ?? bytesPerMs * o.rttMs);
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ host: o.target.host, port: o.target.port, allowHalfOpen: true });
    const lines = [new DelayLine(client, upstream, oneWayMs, bytesPerMs, limit), new DelayLine(upstream, client, oneWayMs, bytesPerMs, limit)];
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on("error", () => s.destroy());
      s.on("close", () => {
        sockets.delete(s);
        lines.forEach((l) => l.stop());
        client.destroy();
        upstream.destroy();
      });
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: o.listen.host, port: o.listen.port ?? 0 }, () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        host: o.listen.host,
        port,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/** The same relay in a child process of its own; closing it ends the process. */
export async function startLinkRelayProcess(o: LinkOptions): Promise<LinkRelay> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), JSON.stringify(o)], {
    stdio: ["pipe", "pipe", "inherit"], // the relay exits when its stdin closes, so it cannot outlive us
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^listening (\d+)$/m.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`the link relay exited early with code ${code}`)));
  });
  return {
    host: o.listen.host,
    port,
    async close() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

// As a child process: `node --import tsx link-relay.ts '<LinkOptions as JSON>'`.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const relay = await startLinkRelay(JSON.parse(process.argv[2]!) as LinkOptions);
  process.stdout.write(`listening ${relay.port}\n`);
  const stop = () => void relay.close().then(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.stdin.on("end", stop).resume();
}
