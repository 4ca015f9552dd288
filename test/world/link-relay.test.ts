// The link emulator measures as configured: the round trip it adds, and the rate it lets through each way.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLinkRelayProcess, type LinkRelay } from "./link-relay.js";

const RTT_MS = 100;
const MBIT = 80; // 10 MB/s: a few megabytes take long enough to measure
const BYTES_PER_S = (MBIT * 1e6) / 8;

let server: net.Server;
let relay: LinkRelay;

beforeAll(async () => {
  // "ping\n" is echoed; "bulk N\n" answers with N bytes and closes.
  server = net.createServer((s) => {
    s.once("data", (d: Buffer) => {
      const m = /^bulk (\d+)/.exec(d.toString());
      if (m) s.end(Buffer.alloc(Number(m[1]), 7));
      else {
        s.write(d);
        s.on("data", (more: Buffer) => s.write(more));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  relay = await startLinkRelayProcess({ listen: { host: "127.0.0.1" }, target: { host: "127.0.0.1", port }, rttMs: RTT_MS, bitsPerSecond: MBIT * 1e6 });
});

afterAll(async () => {
  await relay?.close();
  await new Promise((r) => server?.close(r));
});

function connect(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: relay.host, port: relay.port }, () => resolve(s.setNoDelay(true)));
    s.once("error", reject);
  });
}

describe("link relay", () => {
  it("adds the round trip: an echo takes rttMs, not less and not much more", async () => {
    const s = await connect();
    const rtts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await new Promise<void>((resolve) => {
        s.once("data", () => resolve());
        s.write("ping\n");
      });
      rtts.push(performance.now() - t0);
    }
    s.destroy();
    const median = [...rtts].sort((a, b) => a - b)[2]!;
    expect(Math.min(...rtts)).toBeGreaterThanOrEqual(RTT_MS - 1);
    expect(median).toBeLessThan(RTT_MS * 1.25);
  });

  it("limits the rate to the link's: 6 MB arrive at 10 MB/s ± 15%", async () => {
    const size = 6 * 1024 * 1024;
    const s = await connect();
    let got = 0;
    let first = 0;
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      s.on("data", (d: Buffer) => {
        if (got === 0) first = performance.now();
        got += d.length;
      });
      s.on("end", () => resolve());
      s.write(`bulk ${size}\n`);
    });
    const seconds = (performance.now() - first) / 1000;
    expect(got).toBe(size);
    expect(first - t0).toBeGreaterThanOrEqual(RTT_MS - 1); // the request went out and the answer came back
    const rate = size / seconds;
    expect(rate).toBeGreaterThan(BYTES_PER_S * 0.85);
    expect(rate).toBeLessThan(BYTES_PER_S * 1.15);
  });
});
