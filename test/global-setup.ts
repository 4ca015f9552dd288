// Suite-wide: marks every process this test run starts, and fails the run if one of the world's processes
// (the bot, a droplet's sshd, aria2c, opentracker) is still alive when all tests are done. A leaked bot keeps
// working on a job next to the next app, so a leak is a bug in a test or in the code it drives, never noise.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import { isWorldProcess, processesOfRun, TEST_RUN_ENV, type ProcessInfo } from "./world/processes.js";

/** When set (scripts/test.sh does), the leak list is also written to this file, for the closing summary. */
export const LEAK_REPORT_ENV = "DROPSHIP_LEAK_REPORT";

export default function setup(): () => Promise<void> {
  // Set before vitest starts its workers, so they and everything they spawn inherit it.
  const runId = `${process.pid}-${randomBytes(6).toString("hex")}`;
  process.env[TEST_RUN_ENV] = runId;
  return async function teardown() {
    const leaked = processesOfRun(runId).filter((p) => p.pid !== process.pid && isWorldProcess(p));
    if (leaked.length === 0) return;
    for (const p of leaked) kill(p);
    const list = leaked.map((p) => `  pid ${p.pid} (ppid ${p.ppid}, pgid ${p.pgid}): ${p.cmdline || p.comm}`).join("\n");
    const message = `${leaked.length} process(es) started by this test run were still running after the last test (now killed):\n${list}`;
    const reportFile = process.env[LEAK_REPORT_ENV];
    if (reportFile) fs.writeFileSync(reportFile, message + "\n");
    // vitest only logs an error thrown here and exits 0, so the failure is the exit code itself.
    console.error(`\nLEAKED PROCESSES: ${message}\n`);
    process.exitCode = 1;
  };
}

function kill(p: ProcessInfo): void {
  try {
    process.kill(p.pid, "SIGKILL");
  } catch {
    /* gone meanwhile */
  }
}
