// `npm start` as a real process for tests: one node process (package.json's start script), in its own process group
// so that a SIGKILL of the group is a real crash of the bot and of everything it started.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { expect } from "vitest";
import { listProcesses, TEST_RUN_ENV } from "../world/processes.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const main = path.join(repo, "src", "main.ts");
// `npm start` is `node --import tsx src/main.ts`: one process, so a signal reaches the bot itself. The tests run it
// from another directory, where a bare "tsx" would not resolve, hence the loader's absolute URL.
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

export interface BotProcess {
  child: ChildProcess;
  pid: number;
  out: () => string;
  exited: Promise<number | null>;
  hasExited: () => boolean;
}

/** Starts and tracks bot processes; `cleanUp()` (in afterAll) kills whatever a failed test left and removes work dirs. */
export class BotProcesses {
  private readonly procs: BotProcess[] = [];
  private readonly workDirs: string[] = [];

  newWorkDir(): string {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-main-"));
    this.workDirs.push(d);
    return d;
  }

  /** Runs src/main.ts in an empty directory (no .env there) with exactly `env` plus PATH and HOME, in its own process group. */
  start(env: Record<string, string>, cwd = this.newWorkDir()): BotProcess {
    let out = "";
    const runMarker = process.env[TEST_RUN_ENV] ? { [TEST_RUN_ENV]: process.env[TEST_RUN_ENV] } : {};
    const child = spawn(process.execPath, ["--import", tsxLoader, main], {
      cwd,
      env: { PATH: process.env.PATH!, HOME: process.env.HOME!, ...runMarker, ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group, so a kill of the group reaches everything the bot started
    });
    child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
    let done = false;
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => ((done = true), resolve(code))));
    const p: BotProcess = { child, pid: child.pid!, out: () => out, exited, hasExited: () => done };
    this.procs.push(p);
    return p;
  }

  async cleanUp(): Promise<void> {
    for (const p of this.procs) killGroup(p, "SIGKILL");
    await Promise.all(this.procs.map((p) => p.exited));
    for (const d of this.workDirs) fs.rmSync(d, { recursive: true, force: true });
  }
}

export function killGroup(p: BotProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-p.pid, signal);
  } catch {
    /* the group is empty already */
  }
}

/** After the exit event: no process with the bot's pid, and nothing alive left in its process group. */
export function expectGone(p: BotProcess): void {
  expect(p.hasExited()).toBe(true);
  let err: NodeJS.ErrnoException | null = null;
  try {
    process.kill(p.pid, 0);
  } catch (e) {
    err = e as NodeJS.ErrnoException;
  }
  expect(err?.code, `process ${p.pid} still exists`).toBe("ESRCH");
  expect(listProcesses().filter((q) => q.pgid === p.pid)).toEqual([]);
}

export async function waitForOutput(p: BotProcess, pattern: RegExp, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(p.out())) {
    if (p.hasExited()) throw new Error(`the bot exited before printing ${pattern}:\n${p.out().slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`no ${pattern} in output:\n${p.out().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Reads a bot process's database from outside, as the bot writes it (WAL lets readers in). */
export function readBotDb<T>(dataDir: string, read: (db: Database.Database) => T): T {
  const db = new Database(path.join(dataDir, "dropship.sqlite"), { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}
