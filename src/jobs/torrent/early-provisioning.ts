// Provisioning started ahead of the droplet: ansible-playbook's venv check, Python start and loading take seconds (tens
// of seconds on a loaded host), so they run while DigitalOcean creates and boots the droplet; the playbook connects
// once the job's own SSH session has found sshd answering.
import type { ProvisionPort, ProvisionTarget } from "./torrent-ports.js";

/** A provisioning run started before its droplet answers. */
export interface EarlyProvisioning {
  /** The droplet answers SSH: ansible-playbook may connect. */
  reachable(target: ProvisionTarget): void;
  /** Settles when the playbook has run (or failed, or was stopped). */
  done: Promise<void>;
  /** Aborted, with the run's error as its reason, when the run fails: the boot need not go on. */
  failed: AbortSignal;
  /** Ends the run (the boot failed) and waits until it has. */
  stop(reason: unknown): Promise<void>;
}

export function startEarlyProvisioning(
  provisioner: ProvisionPort,
  run: { downloadDir: string; signal: AbortSignal; onTask(detail: string): void },
): EarlyProvisioning {
  const stopper = new AbortController();
  const failed = new AbortController();
  let reachable!: (t: ProvisionTarget) => void;
  let unreachable!: (err: unknown) => void;
  const target = new Promise<ProvisionTarget>((resolve, reject) => ((reachable = resolve), (unreachable = reject)));
  target.catch(() => undefined); // the provisioner's to handle
  const done = provisioner.provision(
    { target, downloadDir: run.downloadDir },
    { signal: AbortSignal.any([run.signal, stopper.signal]), onTask: run.onTask },
  );
  done.catch((err: unknown) => failed.abort(err));
  return {
    reachable,
    done,
    failed: failed.signal,
    async stop(reason) {
      unreachable(reason);
      stopper.abort(reason);
      await done.catch(() => undefined);
    },
  };
}
