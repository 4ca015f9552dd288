// The bot's fixed virtualenvs on its own host, each ensured on first use, pinned, then reused: the torrent app's
// (ansible for the droplets) and the Galaxy tool venv (ansible-galaxy for fetching the roles an upload installs).
import type { Logger } from "../shared/logger.js";
import type { Host } from "../hosts/host.js";
import type { VenvManager } from "./venv-manager.js";
import { GALAXY_TOOL_VENV_SPEC, TORRENT_VENV_SPEC, type VenvSpec } from "./venv-spec.js";

export interface FixedVenvDeps {
  manager: Pick<VenvManager, "ensure">;
  /** The bot's own host. */
  host: Host;
  logger: Logger;
}

/** A function resolving to the venv's path, for progress callers (the messages say what is being built). */
export type FixedVenv = (onProgress?: (message: string) => void) => Promise<string>;

/**
 * Every call asks the manager, which reuses the venv when its content matches the digest recorded at build (~0.5 s of
 * CPU: the whole venv is hashed) and rebuilds it when it was removed, broken or changed. Calls made while a check is
 * under way share it (a burst of jobs started together hashes the venv once, not once each); each caller still hears
 * the check's progress. Concurrent first calls build it once (the manager's lock).
 */
function fixedVenv(deps: FixedVenvDeps, spec: VenvSpec, purpose: string): FixedVenv {
  let current: { path: Promise<string>; listeners: Set<(message: string) => void> } | null = null;
  return (onProgress) => {
    if (!current) {
      const listeners = new Set<(message: string) => void>();
      const check = deps.manager.ensure(deps.host, spec, {
        pin: true,
        onProgress: (p) => {
          deps.logger.debug({ step: p.step }, `${purpose} venv: ${p.message}`);
          for (const listener of listeners) listener(p.message);
        },
      });
      const entry = { path: check.then((venv) => venv.path), listeners };
      current = entry;
      // The next call after this one settles checks again.
      void entry.path.finally(() => {
        if (current === entry) current = null;
      }).catch(() => undefined);
    }
    if (onProgress) current.listeners.add(onProgress);
    return current.path;
  };
}

/** ansible-playbook and community.digitalocean, run on the bot's host against the droplets. */
export function createTorrentVenvProvider(deps: FixedVenvDeps): FixedVenv {
  return fixedVenv(deps, TORRENT_VENV_SPEC, "torrent");
}

/** Just ansible-core: `ansible-galaxy role install` for the closure, whatever else this bot is set up for. */
export function createGalaxyToolVenvProvider(deps: FixedVenvDeps): FixedVenv {
  return fixedVenv(deps, GALAXY_TOOL_VENV_SPEC, "galaxy tool");
}
