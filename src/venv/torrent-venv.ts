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
 * Every call asks the manager, which reuses the venv when its content matches the digest recorded at build (~0.5 s:
 * the whole venv is hashed) and rebuilds it when it was removed, broken or changed; concurrent first calls build it
 * once (lock).
 */
function fixedVenv(deps: FixedVenvDeps, spec: VenvSpec, purpose: string): FixedVenv {
  return async (onProgress) => {
    const venv = await deps.manager.ensure(deps.host, spec, {
      pin: true,
      onProgress: (p) => {
        deps.logger.debug({ step: p.step }, `${purpose} venv: ${p.message}`);
        onProgress?.(p.message);
      },
    });
    return venv.path;
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
