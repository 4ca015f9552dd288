// ProvisionPort over ansible-playbook: runs playbooks/provision_torrent_droplet.yml against one droplet, host key pinned.
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
  return {
    async provision(target, { signal, onTask }) {
      const venv = await opts.venvPath((message) => onTask?.(`Preparing Ansible: ${message}`));
      const work = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-prov-"));
      try {
        const knownHosts = path.join(work, "known_hosts");
        // Pin the key the bot generated for this droplet: the first connection is already verified.
        fs.writeFileSync(knownHosts, `${knownHostsLine(target.ip, target.hostKeyPublic)}\n`);
        const inventory = path.join(work, "inventory.yml");
        const controlDir = path.join(work, "cp");
        fs.writeFileSync(
          inventory,
          JSON.stringify({
            droplet: {
              hosts: {
                [target.ip]: {
                  ansible_host: target.ip,
                  ansible_user: "root",
                  ansible_ssh_private_key_file: opts.privateKeyFile,
                  ansible_ssh_common_args: `-o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes`,
                  ansible_python_interpreter: "/usr/bin/python3",
                  // OpenSSH's shared connections per run, not in ~/.ansible/cp: droplet addresses are reused, and a
                  // master left by an earlier droplet (or a crashed bot) at the same address must never be picked up.
                  ansible_control_path_dir: controlDir,
                  // A dropped connection (exit 255) is retried rather than failing the droplet's provisioning.
                  ansible_ssh_retries: 3,
                },
              },
            },
          }),
        );
        const outcome = await runPlaybook({
          venvPath: venv,
          playbook: path.join(PLAYBOOKS_DIR, "provision_torrent_droplet.yml"),
          inventory,
          extraVars: { download_dir: target.downloadDir },
          signal,
          timeoutMs: opts.timeoutMs ?? 600_000,
          onEvent: (e) => {
            if (e.event === "task") onTask?.(e.name);
          },
        });
        if (outcome.code !== 0) throw new Error(`provisioning the droplet failed: ${describeFailedRun(firstFailedTask(outcome.events), { code: outcome.code, signal: null, output: outcome.output })}`);
      } finally {
        await stopSshMasters(path.join(work, "cp"));
        fs.rmSync(work, { recursive: true, force: true });
      }
    },
  };
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
