// The processes a test run started, found in /proc, so tests and the suite's teardown can prove none outlived its test.
// A run is recognised by a marker in the environment (set by test/global-setup.ts, inherited by everything the tests
// spawn), not by name: other worktrees' test runs and the machine's own sshd carry another marker or none.
import fs from "node:fs";

/** Environment variable holding this test run's id; every process the run spawns inherits it. */
export const TEST_RUN_ENV = "DROPSHIP_TEST_RUN";

export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** /proc/PID/stat's state letter; Z (zombie) and X (dead) are not returned by listProcesses. */
  state: string;
  /** The kernel's short name (comm), e.g. "sshd", "aria2c". */
  comm: string;
  /** argv joined with spaces. */
  cmdline: string;
}

function readProc(pid: number, file: string): string | null {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch {
    return null; // gone meanwhile, or not ours to read
  }
}

function processInfo(pid: number): ProcessInfo | null {
  const stat = readProc(pid, "stat");
  if (stat === null) return null;
  // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after the last ")".
  const open = stat.indexOf("(");
  const close = stat.lastIndexOf(")");
  const [state, ppid, pgid] = stat.slice(close + 2).split(" ");
  const cmdline = (readProc(pid, "cmdline") ?? "").split("\0").filter(Boolean).join(" ");
  return { pid, ppid: Number(ppid), pgid: Number(pgid), state: state!, comm: stat.slice(open + 1, close), cmdline };
}

/** Every live process (zombies left out: PID 1 on these machines may never reap an orphan, yet it is dead). */
export function listProcesses(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const p = processInfo(Number(name));
    if (p && p.state !== "Z" && p.state !== "X") out.push(p);
  }
  return out;
}

/** A process's environment, or null when it is gone or unreadable. */
export function environOf(pid: number): Record<string, string> | null {
  const raw = readProc(pid, "environ");
  if (raw === null) return null;
  const env: Record<string, string> = {};
  for (const entry of raw.split("\0")) {
    const eq = entry.indexOf("=");
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

/** True while `pid` exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  const p = processInfo(pid);
  return p !== null && p.state !== "Z" && p.state !== "X";
}

/**
 * Processes carrying `runId` in TEST_RUN_ENV, plus all their descendants: sessions an sshd forks get a fresh
 * environment, yet are still this run's.
 */
export function processesOfRun(runId: string, all = listProcesses()): ProcessInfo[] {
  const ours = new Set(all.filter((p) => environOf(p.pid)?.[TEST_RUN_ENV] === runId).map((p) => p.pid));
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all) {
      if (!ours.has(p.pid) && ours.has(p.ppid)) {
        ours.add(p.pid);
        grew = true;
      }
    }
  }
  return all.filter((p) => ours.has(p.pid));
}

/** What the local world runs and must stop: the bot (src/main.ts), the droplets' sshd (and its unshare), aria2c, opentracker. */
export function isWorldProcess(p: ProcessInfo): boolean {
  return /^(sshd|unshare|aria2c|opentracker)$/.test(p.comm) || /(^|\/)src\/main\.ts( |$)/.test(p.cmdline);
}

/** Live processes running src/main.ts with this DATA_DIR, whoever their parent is now. */
export function botProcesses(dataDir: string): ProcessInfo[] {
  return listProcesses().filter((p) => /(^|\/)src\/main\.ts( |$)/.test(p.cmdline) && environOf(p.pid)?.DATA_DIR === dataDir);
}
