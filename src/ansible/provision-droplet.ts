// ProvisionPort over ansible-playbook: runs playbooks/provision_torrent_droplet.yml against one droplet, host key pinned,
// started before the droplet answers (its inventory waits for the address) so that its slow start overlaps the boot.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ProvisionPort } from "../jobs/torrent/torrent-ports.js";
import { describeFailedRun, firstFailedTask } from "../shared/ansible-events.js";
import { knownHostsLine } from "../shared/ssh-keys.js";
import { PLAYBOOKS_DIR, runPlaybook } from "./run-playbook.js";

export interface DropletProvisionerOptions {
  /** Resolves to the pinned torrent virtualenv's path (built on first use, reporting its steps). */
  venvPath: (onProgress?: (message: string) => void) => Promise<string>;
  /** The bot's SSH private key file. */
  privateKeyFile: string;
  timeoutMs?: number;
}

export function createDropletProvisioner(opts: DropletProvisionerOptions): ProvisionPort {
  const timeoutMs = opts.timeoutMs ?? 600_000;
  return {
    async provision({ target, downloadDir }, { signal, onTask }) {
      // A rejected target (the droplet never answered) or a run over its time ends ansible-playbook.
      const stop = new AbortController();
      const runSignal = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
      target.catch((err: unknown) => stop.abort(err));
      // A boot that fails (or a Cancel) during the venv check ends the run at once; the check finishes by itself.
      // The check may outlive this run (it is shared, and finishes by itself): an ended run reports nothing more.
      const venv = await untilAborted(opts.venvPath((message) => {
          if (!runSignal.aborted) onTask?.(`Preparing Ansible: ${message}`);
        }), runSignal);
      const work = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-prov-"));
      let timer: NodeJS.Timeout | undefined;
      let ended = false;
      try {
        const controlDir = path.join(work, "cp");
        const answer = path.join(work, "droplet.json");
        const inventory = path.join(work, "inventory.py");
        fs.writeFileSync(inventory, waitingInventoryScript(answer), { mode: 0o700 });
        // Fed once the droplet answers SSH; until then ansible-playbook has started and waits in its inventory.
        void target.then(
          (t) => {
            if (ended || runSignal.aborted) return;
            try {
              const knownHosts = path.join(work, "known_hosts");
              // Pin the key the bot generated for this droplet: the first connection is already verified.
              fs.writeFileSync(knownHosts, `${knownHostsLine(t.ip, t.hostKeyPublic)}\n`);
              writeAtomically(answer, JSON.stringify(dropletInventory(t.ip, { privateKeyFile: opts.privateKeyFile, knownHosts, controlDir })));
            } catch (err) {
              stop.abort(new Error(`could not write the provisioning inventory: ${(err as Error).message}`));
              return;
            }
            timer = setTimeout(() => stop.abort(new Error(`provisioning the droplet took longer than ${Math.round(timeoutMs / 1000)} s; it was stopped`)), timeoutMs);
          },
          () => undefined,
        );
        const outcome = await runPlaybook({
          venvPath: venv,
          playbook: path.join(PLAYBOOKS_DIR, "provision_torrent_droplet.yml"),
          inventory,
          extraVars: { download_dir: downloadDir },
          signal: runSignal,
          onEvent: (e) => {
            if (e.event === "task") onTask?.(e.name);
          },
        });
        if (outcome.code !== 0) throw new Error(`provisioning the droplet failed: ${describeFailedRun(firstFailedTask(outcome.events), { code: outcome.code, signal: null, output: outcome.output })}`);
      } finally {
        ended = true;
        clearTimeout(timer);
        await stopSshMasters(path.join(work, "cp"));
        fs.rmSync(work, { recursive: true, force: true });
      }
    },
  };
}

/**
 * An inventory script (Ansible runs it with --list once it has started) that waits until `answer` exists and prints
 * it: ansible-playbook's Python start and loading happen before the droplet's address is known. Python from the venv
 * (first on ansible-playbook's PATH), polling in its own process: a shell loop would start a `sleep` twenty times a
 * second for every job waiting on a boot.
 */
function waitingInventoryScript(answer: string): string {
  // A JSON string is a valid Python string literal.
  return [
    "#!/usr/bin/env python3",
    "import os, sys, time",
    `answer = ${JSON.stringify(answer)}`,
    "while not os.path.exists(answer):",
    "    time.sleep(0.02)",
    "with open(answer) as f:",
    "    sys.stdout.write(f.read())",
    "",
  ].join("\n");
}

/** The one droplet, as inventory-script JSON (group "droplet", host vars in _meta). */
function dropletInventory(ip: string, o: { privateKeyFile: string; knownHosts: string; controlDir: string }): unknown {
  return {
    droplet: { hosts: [ip] },
    _meta: {
      hostvars: {
        [ip]: {
          ansible_host: ip,
          ansible_user: "root",
          ansible_ssh_private_key_file: o.privateKeyFile,
          ansible_ssh_common_args: `-o UserKnownHostsFile=${o.knownHosts} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes`,
          ansible_python_interpreter: "/usr/bin/python3",
          // Each module goes to the droplet's python on stdin in one SSH exec (root, no sudo: nothing against it),
          // instead of a temp dir, an upload, a chmod and a run: a quarter of the round trips.
          ansible_pipelining: true,
          // OpenSSH's shared connections per run, not in ~/.ansible/cp: droplet addresses are reused, and a
          // master left by an earlier droplet (or a crashed bot) at the same address must never be picked up.
          ansible_control_path_dir: o.controlDir,
          // A dropped connection (exit 255) is retried rather than failing the droplet's provisioning.
          ansible_ssh_retries: 3,
        },
      },
    },
  };
}

/** `p`, or the signal's reason as soon as it aborts. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Readers see the whole file or none (the inventory script polls for it). */
function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** Ends the OpenSSH connection masters Ansible left for ControlPersist (they would idle on for a minute). */
async function stopSshMasters(controlDir: string): Promise<void> {
  let sockets: string[] = [];
  try {
    sockets = fs.readdirSync(controlDir);
  } catch {
    return; // no connection was made
  }
  await Promise.all(
    sockets.map((socket) =>
      promisify(execFile)("ssh", ["-o", `ControlPath=${path.join(controlDir, socket)}`, "-O", "exit", "droplet"], { timeout: 5000 }).catch(() => undefined),
    ),
  );
}
