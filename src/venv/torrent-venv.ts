// The torrent app's one fixed virtualenv on the bot's own host: ensured on first use, pinned, then reused.
import type { Logger } from "../shared/logger.js";
import type { Host } from "../hosts/host.js";
import type { VenvManager } from "./venv-manager.js";
import { TORRENT_VENV_SPEC } from "./venv-spec.js";

/**
 * Returns a function resolving to the venv's path. Every call asks the manager, which reuses the venv when its
 * content matches the digest recorded at build (~0.5 s, the whole venv is hashed) and rebuilds it when it was
 * removed, broken or changed; concurrent first calls build it once (lock).
 */
export function createTorrentVenvProvider(deps: {
  manager: Pick<VenvManager, "ensure">;
  /** The bot's own host: ansible-playbook runs there against the droplet. */
  host: Host;
  logger: Logger;
}): (onProgress?: (message: string) => void) => Promise<string> {
  return async (onProgress) => {
    const venv = await deps.manager.ensure(deps.host, TORRENT_VENV_SPEC, {
      pin: true,
      onProgress: (p) => {
        deps.logger.debug({ step: p.step }, `torrent venv: ${p.message}`);
        onProgress?.(p.message);
      },
    });
    return venv.path;
  };
}
