// The torrent app's one fixed virtualenv on the bot's own host: ensured on first use, pinned, then reused.
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { LocalHost } from "../remote/local-host.js";
import type { Host } from "../remote/host.js";
import type { Db } from "../storage/database.js";
import { VenvManager } from "./venv-manager.js";
import { TORRENT_VENV_SPEC } from "./venv-spec.js";

/** Returns a function resolving to the venv's path; concurrent first calls share one ensure. */
export function createTorrentVenvProvider(deps: { config: Config; db: Db; logger: Logger; manager?: VenvManager; host?: Host }): () => Promise<string> {
  const manager =
    deps.manager ?? new VenvManager({ db: deps.db, packages: deps.config.packages, venv: deps.config.venv, logger: deps.logger });
  const host = deps.host ?? new LocalHost();
  let pending: Promise<string> | null = null;
  return () => {
    pending ??= manager
      .ensure(host, TORRENT_VENV_SPEC, {
        pin: true,
        onProgress: (p) => deps.logger.info({ step: p.step }, `torrent venv: ${p.message}`),
      })
      .then((v) => v.path)
      // A failed build is retried on the next torrent rather than remembered forever.
      .catch((err: unknown) => {
        pending = null;
        throw err;
      });
    return pending;
  };
}
