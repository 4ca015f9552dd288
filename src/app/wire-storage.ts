// Wiring, part 1: the data directory, the SQLite database and the stores over it, and the bot's SSH key.
import fs from "node:fs";
import path from "node:path";
import type { Config } from "../config.js";
import { JobStore } from "../jobs/job-store.js";
import { playbookMayMove } from "../jobs/playbook/playbook-states.js";
import { DropletLedger } from "../jobs/torrent/droplet-ledger.js";
import { torrentMayMove } from "../jobs/torrent/torrent-states.js";
import { UserSettings } from "../jobs/user-settings.js";
import { loadOrCreateBotKey, type BotKey } from "../remote/bot-key.js";
import { openDatabase, type Db } from "../storage/database.js";

export interface Storage {
  db: Db;
  jobs: JobStore;
  ledger: DropletLedger;
  userSettings: UserSettings;
  botKey: BotKey;
  /** Finished torrents' files, served by the download server. */
  downloadsDir: string;
  /** Unpacked uploads while they are analysed or copied to a host. */
  workDir: string;
}

export function wireStorage(config: Config): Storage {
  fs.mkdirSync(config.dataDir, { recursive: true });
  const db = openDatabase(path.join(config.dataDir, "dropship.sqlite"));
  // The store enforces each kind's flow (torrent-states.ts, playbook-states.ts) on every transition.
  const jobs = new JobStore(db, Date.now, { torrent: torrentMayMove, playbook: playbookMayMove });
  const workDir = path.join(config.dataDir, "work");
  // What a crash left of unpacked uploads goes now.
  fs.rmSync(workDir, { recursive: true, force: true });
  fs.mkdirSync(workDir, { recursive: true });
  return {
    db,
    jobs,
    ledger: new DropletLedger(db),
    userSettings: new UserSettings(db, { sendFiles: config.web.sendFilesToTelegram }),
    botKey: loadOrCreateBotKey(path.join(config.dataDir, "keys")),
    downloadsDir: config.downloads.dir,
    workDir,
  };
}
