// The scheduled venv collection: every known host gets a pass, and one host failing does not stop the others.
import { describe, expect, it } from "vitest";
import { VenvCollector } from "../../src/venv/venv-collector.js";
import { createLogger } from "../../src/shared/logger.js";
import { LocalHost } from "../../src/remote/local-host.js";

describe("VenvCollector", () => {
  it("collects on every host, logs what it removed, and reports a failing host without stopping", async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: "info", destination: { write: (l: string) => void lines.push(l) } });
    const hosts = [new LocalHost("web1"), new LocalHost("down"), new LocalHost("web2")];
    const collector = new VenvCollector({
      hosts: () => hosts,
      logger,
      // What the manager's collectGarbage answers per host (it is tested against real hosts in test/venv).
      collect: async (host) => {
        if (host.label === "down") throw new Error("cannot reach down: connection refused");
        return { removed: host.label === "web1" ? ["dropship-aaaaaaaaaaaa"] : [], kept: [], orphansRemoved: [] };
      },
    });
    const report = await collector.runOnce();
    expect([...report.keys()]).toEqual(["web1", "down", "web2"]);
    expect(report.get("down")).toBeInstanceOf(Error);
    expect(report.get("web2")).toEqual({ removed: [], kept: [], orphansRemoved: [] });
    const logged = lines.map((l) => JSON.parse(l) as { msg: string; host: string });
    expect(logged.map((l) => [l.host, l.msg])).toEqual([
      ["web1", "removed unused virtualenvs"],
      ["down", "virtualenv garbage collection failed"],
    ]);
  });
});
