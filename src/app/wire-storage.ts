// Wiring, part 1: the data directory, the SQLite database and the stores over it, and the bot's SSH key.
import fs from "node:fs";
import path from "node:path";
import type { Config } from "../config.js";
import { JobStore } from "../jobs/job-store.js";
import { playbookMayMove } from "../jobs/playbook/playbook-states.js";
import { DropletLedger } from "../jobs/torrent/droplet-ledger.js";
import { VolumeLedger } from "../jobs/torrent/volume-ledger.js";
import { torrentMayMove } from "../jobs/torrent/torrent-states.js";
import { UserSettings } from "../jobs/user-settings.js";
import { loadOrCreateBotKey, type BotKey } from "../remote/bot-key.js";
import { openDatabase, type Db } from "../storage/database.js";
import { restrictToOwner } from "../storage/private-files.js";
import type { Logger } from "../shared/logger.js";

export interface Storage {
  db: Db;
  jobs: JobStore;
  ledger: DropletLedger;
  /** Block storage volumes the torrent jobs attached, recorded like droplets. */
  volumes: VolumeLedger;
  userSettings: UserSettings;
  botKey: BotKey;
  /** Finished torrents' files, served by the download server. */
  downloadsDir: string;
  /** Unpacked uploads while they are analysed or copied to a host. */
  workDir: string;
}

export function wireStorage(config: Config, logger: Logger): Storage {
  // The database, the bot's key and downloads are for the bot's user only: 0700 directories, 0600 files.
  const fixed = restrictToOwner(config.dataDir);
  if (fixed.length) {
    // Also new directories made since (downloads) under the 0700 root, so info rather than a warning.
    logger.info({ data_dir: config.dataDir, fixed: fixed.length, examples: fixed.slice(0, 5) }, "DATA_DIR: made directories 0700 and files 0600");
  }
  const db = openDatabase(path.join(config.dataDir, "dropship.sqlite"));
  // The store enforces each kind's flow (torrent-states.ts, playbook-states.ts) on every transition.
  const jobs = new JobStore(db, Date.now, { torrent: torrentMayMove, playbook: playbookMayMove });
  const workDir = path.join(config.dataDir, "work");
  // What a crash left of unpacked uploads goes now.
  fs.rmSync(workDir, { recursive: true, force: true });
  fs.mkdirSync(workDir, { recursive: true, mode: 0o700 });
  return {
    db,
    jobs,
    ledger: new DropletLedger(db),
    volumes: new VolumeLedger(db),
    userSettings: new UserSettings(db, { sendFiles: config.web.sendFilesToTelegram }),
    botKey: loadOrCreateBotKey(path.join(config.dataDir, "keys")),
    downloadsDir: config.downloads.dir,
    workDir,
  };
}
