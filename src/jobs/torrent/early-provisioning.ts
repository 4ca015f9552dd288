// Provisioning started ahead of the droplet's SSH: ansible-playbook's venv check, Python start and loading take seconds
// (tens of seconds on a loaded host), so they run while the droplet boots; the playbook connects once the job's own
// SSH session has found sshd answering. It starts only once DigitalOcean has made the droplet: a job whose create
// fails costs no Ansible at all (a burst of such jobs once spent the host's cores on playbooks that never ran).
import type { ProvisionPort, ProvisionTarget } from "./torrent-ports.js";

/** A provisioning run started before its droplet answers. */
export interface EarlyProvisioning {
  /** The droplet exists (its boot is what remains): ansible-playbook starts and waits for it. Only the first call counts. */
  start(): void;
  /** The droplet answers SSH: ansible-playbook may connect (started now if it was not yet). */
  reachable(target: ProvisionTarget): void;
  /** Settles when the playbook has run (or failed, or was stopped); call after `reachable`. */
  finished(): Promise<void>;
  /** Aborted, with the run's error as its reason, when the run fails: the boot need not go on. */
  failed: AbortSignal;
  /** Ends the run (the boot failed) and waits until it has; a run never started just ends. */
  stop(reason: unknown): Promise<void>;
}

export function earlyProvisioning(
  provisioner: ProvisionPort,
  run: { downloadDir: string; signal: AbortSignal; onTask(detail: string): void },
): EarlyProvisioning {
  const stopper = new AbortController();
  const failed = new AbortController();
  let resolveTarget!: (t: ProvisionTarget) => void;
  let rejectTarget!: (err: unknown) => void;
  const target = new Promise<ProvisionTarget>((resolve, reject) => ((resolveTarget = resolve), (rejectTarget = reject)));
  target.catch(() => undefined); // the provisioner's to handle
  let done: Promise<void> | null = null;
  const start = (): Promise<void> => {
    if (!done) {
      done = stopper.signal.aborted
        ? Promise.reject(stopper.signal.reason as Error)
        : provisioner.provision({ target, downloadDir: run.downloadDir }, { signal: AbortSignal.any([run.signal, stopper.signal]), onTask: run.onTask });
      done.catch((err: unknown) => failed.abort(err));
    }
    return done;
  };
  return {
    start: () => void start(),
    reachable(t) {
      start();
      resolveTarget(t);
    },
    finished: start,
    failed: failed.signal,
    async stop(reason) {
      rejectTarget(reason);
      stopper.abort(reason);
      await done?.catch(() => undefined);
    },
  };
}
