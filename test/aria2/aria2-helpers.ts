// Test helper: runs a real aria2c daemon on 127.0.0.1 from buildAria2Command's argv, in the closed swarm.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Aria2Client, buildAria2Command, type Aria2LaunchOptions } from "../../src/aria2/index.js";
import { CLOSED_SWARM_ARIA2_OPTIONS, freeTcpUdpPort } from "../world/swarm.js";

/** Runs a plain aria2c on one magnet/.torrent in the closed swarm; it exits after the download (--seed-time=0). */
export async function runPlainAria2c(
  dir: string,
  source: string,
  extra: string[] = [],
  timeoutMs = 60_000,
): Promise<{ code: number | null; out: string }> {
  const port = await freeTcpUdpPort();
  const args = [
    ...CLOSED_SWARM_ARIA2_OPTIONS,
    "--seed-time=0",
    `--listen-port=${port}`,
    `--dir=${dir}`,
    "--bt-save-metadata=false",
    "--file-allocation=none",
    "--summary-interval=0",
    "--console-log-level=warn",
    ...extra,
    source,
  ];
  const child = spawn("aria2c", args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
  clearTimeout(timer);
  return { code, out };
}

export interface Aria2Daemon {
  client: Aria2Client;
  rpcPort: number;
  secret: string;
  downloadDir: string;
  pid: number;
  /** forceShutdown over RPC (aria2 then exits 3 s later), SIGKILL after 300 ms; resolves once it has exited. */
  stop(): Promise<void>;
  readonly exited: boolean;
  logTail(): string;
}

export async function startAria2Daemon(
  dir: string,
  o: Partial<Aria2LaunchOptions> & { stallTimeoutSeconds: number },
): Promise<Aria2Daemon> {
  const rpcPort = await freeTcpUdpPort();
  const listenPort = await freeTcpUdpPort();
  const secret = randomBytes(16).toString("hex");
  const downloadDir = fs.mkdtempSync(path.join(dir, "aria2-"));
  const argv = buildAria2Command({
    rpcPort,
    rpcSecret: secret,
    downloadDir,
    dhtEntryPoint: null,
    ...o,
    extraOptions: [...CLOSED_SWARM_ARIA2_OPTIONS, `--listen-port=${listenPort}`, ...(o.extraOptions ?? [])],
  });
  const logFile = path.join(downloadDir, "..", `aria2-${rpcPort}.log`);
  const log = fs.openSync(logFile, "a");
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", log, log] });
  fs.closeSync(log);
  let exited = false;
  const exitP = new Promise<void>((r) => child.once("exit", () => ((exited = true), r())));
  const client = new Aria2Client({ port: rpcPort, secret, stallTimeoutSeconds: o.stallTimeoutSeconds });
  try {
    await client.waitUntilReady(5000);
  } catch (err) {
    child.kill("SIGKILL");
    await exitP;
    throw new Error(`aria2c did not start: ${(err as Error).message}\n${fs.readFileSync(logFile, "utf8")}`);
  }
  return {
    client,
    rpcPort,
    secret,
    downloadDir,
    pid: child.pid!,
    get exited() {
      return exited;
    },
    logTail: () => fs.readFileSync(logFile, "utf8").slice(-2000),
    async stop() {
      if (exited) return;
      await client.forceShutdown().catch(() => undefined);
      const t = setTimeout(() => child.kill("SIGKILL"), 300);
      await exitP;
      clearTimeout(t);
    },
  };
}
