// The bot's own machine as a Host: child_process without a shell, so argv elements are passed as they are.
import { spawn } from "node:child_process";
import fs from "node:fs/promises";
import { assertSafeArgv, type ExecOptions, type ExecResult, type Host } from "../hosts/host.js";
import { OutputCollector } from "./output-collector.js";

/** Grace between SIGTERM and SIGKILL when a command is cut off. */
const KILL_GRACE_MS = 2000;

export class LocalHost implements Host {
  constructor(readonly label: string = "local") {}

  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    assertSafeArgv(argv, opts.env);
    // Extra variables go through env(1) so the bot's own environment is inherited without reading it here.
    const envArgs = Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`);
    const full = envArgs.length > 0 ? ["env", "--", ...envArgs, ...argv] : argv;
    return new Promise((resolve, reject) => {
      if (opts.signal?.aborted) return reject(abortError(opts.signal));
      // Its own process group, so that cutting it off also stops what it started (pip's subprocesses).
      const child = spawn(full[0]!, full.slice(1), { cwd: opts.cwd, detached: true, stdio: ["pipe", "pipe", "pipe"] });
      const out = new OutputCollector(opts.onStdout);
      const err = new OutputCollector(opts.onStderr);
      child.stdout.on("data", (d: Buffer) => out.push(d));
      child.stderr.on("data", (d: Buffer) => err.push(d));
      child.stdin.on("error", () => {}); // the command may exit without reading its input
      child.stdin.end(opts.stdin ?? "");
      let killTimer: NodeJS.Timeout | undefined;
      const cutOff = () => {
        killGroup(child.pid, "SIGTERM");
        killTimer = setTimeout(() => killGroup(child.pid, "SIGKILL"), KILL_GRACE_MS);
      };
      const timer = opts.timeoutMs ? setTimeout(cutOff, opts.timeoutMs) : undefined;
      opts.signal?.addEventListener("abort", cutOff, { once: true });
      child.once("error", (e) => {
        clearTimeout(timer);
        opts.signal?.removeEventListener("abort", cutOff);
        reject(new Error(`cannot run ${argv[0]} on ${this.label}: ${e.message}`));
      });
      child.once("close", (code, signal) => {
        clearTimeout(timer);
        clearTimeout(killTimer);
        opts.signal?.removeEventListener("abort", cutOff);
        if (opts.signal?.aborted) return reject(abortError(opts.signal));
        resolve({ code, signal, stdout: out.end(), stderr: err.end() });
      });
    });
  }

  async writeFile(path: string, data: string | Buffer, mode = 0o644): Promise<void> {
    await fs.writeFile(path, data, { mode });
    await fs.chmod(path, mode); // writeFile's mode only applies to new files
  }

  readFile(path: string): Promise<Buffer> {
    return fs.readFile(path);
  }

  async close(): Promise<void> {}
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const e = new Error(typeof reason === "string" ? reason : "the operation was cancelled");
  e.name = "AbortError";
  return e;
}
