// Runs ansible-playbook from a given virtualenv and reports its JSON-lines events (playbooks/callback_plugins).
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { PlaybookEvent } from "../shared/ansible-events.js";

export type { PlaybookEvent };

export const PLAYBOOKS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../playbooks");


export interface PlaybookRun {
  /** Directory holding bin/ansible-playbook. */
  venvPath: string;
  playbook: string;
  inventory: string;
  extraVars?: Record<string, string>;
  env?: Record<string, string>;
  signal?: AbortSignal;
  onEvent?: (e: PlaybookEvent) => void;
  timeoutMs?: number;
}

export interface PlaybookOutcome {
  code: number | null;
  events: PlaybookEvent[];
  output: string;
}

export async function runPlaybook(run: PlaybookRun): Promise<PlaybookOutcome> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-play-"));
  const eventsFile = path.join(work, "events.jsonl");
  fs.writeFileSync(eventsFile, "");
  const args = ["-i", run.inventory, run.playbook];
  // Extra vars go as one JSON document: no value is ever parsed as key=value or shell text.
  if (run.extraVars) args.push("--extra-vars", JSON.stringify(run.extraVars));
  const env = {
    PATH: `${path.join(run.venvPath, "bin")}:/usr/local/bin:/usr/bin:/bin`,
    HOME: process.env.HOME ?? os.homedir(),
    LANG: "C.UTF-8",
    ANSIBLE_CALLBACK_PLUGINS: path.join(PLAYBOOKS_DIR, "callback_plugins"),
    ANSIBLE_CALLBACKS_ENABLED: "dropship_events",
    ANSIBLE_HOST_KEY_CHECKING: "True",
    ANSIBLE_RETRY_FILES_ENABLED: "False",
    ANSIBLE_NOCOLOR: "1",
    ANSIBLE_COLLECTIONS_PATH: path.join(run.venvPath, "collections"),
    DROPSHIP_EVENTS_FILE: eventsFile,
    ...run.env,
  };
  const child = spawn(path.join(run.venvPath, "bin", "ansible-playbook"), args, {
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // own process group, so abort kills ssh children too
  });
  const events: PlaybookEvent[] = [];
  let output = "";
  let offset = 0;
  const drainEvents = () => {
    const text = fs.readFileSync(eventsFile, "utf8");
    const complete = text.lastIndexOf("\n") + 1;
    for (const line of text.slice(offset, complete).split("\n")) {
      if (!line) continue;
      const e = JSON.parse(line) as PlaybookEvent;
      events.push(e);
      run.onEvent?.(e);
    }
    offset = complete;
  };
  child.stdout.on("data", (b: Buffer) => ((output += b.toString()), drainEvents()));
  child.stderr.on("data", (b: Buffer) => (output += b.toString()));
  const kill = () => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      /* already gone */
    }
  };
  run.signal?.addEventListener("abort", kill, { once: true });
  const timer = run.timeoutMs ? setTimeout(kill, run.timeoutMs) : null;
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (c) => resolve(c));
    });
    drainEvents();
    run.signal?.throwIfAborted();
    return { code, events, output };
  } finally {
    if (timer) clearTimeout(timer);
    run.signal?.removeEventListener("abort", kill);
    fs.rmSync(work, { recursive: true, force: true });
  }
}
