// The aria2c argv for a droplet, its daemon shell line (checked by a real sh), and secret redaction.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { aria2DaemonShellLine, buildAria2Command, redactAria2Command } from "../../src/aria2/index.js";

const base = {
  rpcPort: 6800,
  rpcSecret: "s3cr3t-s3cr3t-s3cr3t",
  downloadDir: "/root/downloads",
  stallTimeoutSeconds: 300,
};

describe("buildAria2Command", () => {
  it("holds a magnet's real download after its metadata only when asked (the droplet's job unpauses it)", () => {
    expect(buildAria2Command(base)).not.toContain("--pause-metadata=true");
    expect(buildAria2Command({ ...base, pauseAfterMetadata: true })).toContain("--pause-metadata=true");
  });

  it("binds RPC to localhost with a secret, stops seeding at completion, stops stalled torrents", () => {
    const argv = buildAria2Command({
      ...base,
      trackers: ["udp://a.example:1337/announce", "http://b.example/announce"],
      dhtEntryPoint: "dht.transmissionbt.com:6881",
      logFile: "/root/aria2.log",
    });
    expect(argv[0]).toBe("aria2c");
    expect(argv).toEqual(
      expect.arrayContaining([
        "--enable-rpc=true",
        "--rpc-listen-all=false",
        "--rpc-listen-port=6800",
        "--rpc-secret=s3cr3t-s3cr3t-s3cr3t",
        "--dir=/root/downloads",
        "--seed-time=0",
        "--bt-stop-timeout=300",
        "--bt-save-metadata=false",
        "--rpc-save-upload-metadata=false",
        "--bt-tracker=udp://a.example:1337/announce,http://b.example/announce",
        "--enable-dht=true",
        "--dht-entry-point=dht.transmissionbt.com:6881",
        "--log=/root/aria2.log",
      ]),
    );
  });

  it("appends extra options last so they override (the closed-swarm flags of the test world)", () => {
    const argv = buildAria2Command({ ...base, dhtEntryPoint: "x:1", extraOptions: ["--enable-dht=false", "--interface=127.0.0.1"] });
    expect(argv.slice(-2)).toEqual(["--enable-dht=false", "--interface=127.0.0.1"]);
  });

  it("leaves out trackers and the DHT entry point when none are configured", () => {
    const argv = buildAria2Command({ ...base, trackers: [], dhtEntryPoint: null });
    expect(argv.some((a) => a.startsWith("--bt-tracker=") || a.startsWith("--dht-entry-point="))).toBe(false);
  });

  it("refuses options that would make a broken or unsafe daemon", () => {
    expect(() => buildAria2Command({ ...base, rpcSecret: "short" })).toThrow(/at least 16 characters/);
    expect(() => buildAria2Command({ ...base, rpcSecret: "has spaces and; semicolons!" })).toThrow(/RPC secret/);
    expect(() => buildAria2Command({ ...base, rpcPort: 70000 })).toThrow(/1–65535/);
    expect(() => buildAria2Command({ ...base, stallTimeoutSeconds: 0 })).toThrow(/stall timeout/);
    expect(() => buildAria2Command({ ...base, extraOptions: ["rm -rf /"] })).toThrow(/--name=value/);
  });

  it("masks the secret for logs", () => {
    const shown = redactAria2Command(buildAria2Command(base));
    expect(shown).not.toContain(base.rpcSecret);
    expect(shown).toContain("--rpc-secret=***");
  });
});

describe("aria2DaemonShellLine", () => {
  it("is a shell line that starts the program in the background with stdin from /dev/null and prints its PID", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "daemon-line-"));
    try {
      const out = path.join(dir, "it's a log.txt");
      // A stand-in for aria2c that records its argv and whether stdin is /dev/null.
      const argv = ["sh", "-c", 'printf "%s|" "$@"; readlink /proc/self/fd/0', "sh", "--dir=/a b/c'd", "--x=$(id)"];
      const line = aria2DaemonShellLine(argv, out);
      const pid = Number(execFileSync("sh", ["-c", line], { encoding: "utf8" }).trim());
      expect(pid).toBeGreaterThan(1);
      const deadline = Date.now() + 3000;
      while (!fs.existsSync(out) || !fs.readFileSync(out, "utf8").includes("\n")) {
        if (Date.now() > deadline) throw new Error("the background command wrote nothing");
      }
      expect(fs.readFileSync(out, "utf8")).toBe("--dir=/a b/c'd|--x=$(id)|/dev/null\n");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
