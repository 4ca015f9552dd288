// The torrent app's one fixed virtualenv on the bot's own host: ensured on first use, pinned, then reused.
import type { Config } from "../config.js";
import type { Logger } from "../shared/logger.js";
import { LocalHost } from "../remote/local-host.js";
import type { Host } from "../hosts/host.js";
import type { Db } from "../storage/database.js";
import { VenvManager } from "./venv-manager.js";
import { TORRENT_VENV_SPEC } from "./venv-spec.js";

/**
 * Returns a function resolving to the venv's path. Every call asks the manager, which reuses the venv when its
 * marker matches (~0.1 s) and rebuilds it when it was removed or broken; concurrent first calls build it once (lock).
 */
export function createTorrentVenvProvider(deps: {
  config: Config;
  db: Db;
  logger: Logger;
  manager?: VenvManager;
  host?: Host;
}): (onProgress?: (message: string) => void) => Promise<string> {
  const manager =
    deps.manager ?? new VenvManager({ db: deps.db, packages: deps.config.packages, venv: deps.config.venv, logger: deps.logger });
  const host = deps.host ?? new LocalHost();
  return async (onProgress) => {
    const venv = await manager.ensure(host, TORRENT_VENV_SPEC, {
      pin: true,
      onProgress: (p) => {
        deps.logger.debug({ step: p.step }, `torrent venv: ${p.message}`);
        onProgress?.(p.message);
      },
    });
    return venv.path;
  };
}
