// Output kept in memory is bounded, with real volumes from real processes: a command printing 50 MB keeps its head
// and tail and says how much was cut; a 10 MB line without a newline is capped while it arrives, and the lines after
// it (an event of the callback plugin) are still read.
import { describe, expect, it } from "vitest";
import { LocalHost } from "../../src/remote/local-host.js";
import { MAX_KEPT_CHARS } from "../../src/remote/output-collector.js";
import { LineSplitter, MAX_LINE_CHARS, parseEventLine } from "../../src/shared/ansible-events.js";

const host = new LocalHost();

describe("bounded output", () => {
  it("a command printing 50 MB: every chunk streams through, the result keeps head and tail and says what was cut", async () => {
    let streamed = 0;
    // 50,000,000 bytes of numbered lines: "1\n2\n…", then the last line tells the end apart from the middle.
    const r = await host.exec(["sh", "-c", "seq 1 100000000 | head -c 50000000; echo; echo THE-END"], {
      onStdout: (c) => void (streamed += Buffer.byteLength(c)),
    });
    expect(r.code).toBe(0);
    expect(streamed).toBe(50_000_000 + "\nTHE-END\n".length);
    expect(r.stdout.startsWith("1\n2\n3\n")).toBe(true);
    expect(r.stdout.trimEnd().endsWith("THE-END")).toBe(true);
    expect(r.stdout.length).toBeLessThanOrEqual(MAX_KEPT_CHARS + 200);
    const cut = /\[… [\d.]+ MiB \(([\d,]+) characters\) of output cut here …\]/.exec(r.stdout);
    expect(cut).not.toBeNull();
    // What was kept plus what was cut is everything (the marker line aside).
    expect(r.stdout.length - cut![0].length - 1 + Number(cut![1]!.replace(/,/g, ""))).toBe(streamed);
  }, 60_000);

  it("a 10 MB line without a newline is capped as it arrives; the next line is still an event", async () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((l) => lines.push(l));
    const started = performance.now();
    const r = await host.exec(["sh", "-c", `head -c 10000000 /dev/zero | tr '\\0' y >&2; sleep 0.2; echo >&2; echo '{"event": "play", "name": "after", "tasks": 1}' >&2`], {
      onStderr: (c) => splitter.push(c),
    });
    splitter.end();
    const ms = performance.now() - started;
    expect(r.code).toBe(0);
    expect(lines).toHaveLength(2);
    expect(lines[0]!.length).toBeLessThan(MAX_LINE_CHARS + 100);
    expect(lines[0]).toMatch(/^y+\[… [\d,]+ more characters of this line cut …\]$/);
    expect(lines[0]).toContain(`${(10_000_000 - MAX_LINE_CHARS).toLocaleString("en")} more characters`);
    expect(parseEventLine(lines[1]!)).toEqual({ event: "play", name: "after", tasks: 1 });
    expect(ms).toBeLessThan(10_000);
  }, 30_000);
});
