// The composition root: the one place that knows every concrete class. It reads as the order things start in:
// storage → services → job kinds → recovery after a restart → bot → schedules. main.ts adds signals; tests call
// startApp directly.
import type { Config } from "../config.js";
import type { DropshipBot } from "../bot/create-bot.js";
import { TelegramPacer } from "../bot/telegram-pacer.js";
import type { TorrentPresenter } from "../bot/presenters/torrent-presenter.js";
import type { HostRegistry } from "../hosts/host-registry.js";
import type { JobStore } from "../jobs/job-store.js";
import type { PlaybookRunner } from "../jobs/playbook/playbook-runner.js";
import type { DropletLedger } from "../jobs/torrent/droplet-ledger.js";
import type { TorrentJobRunner } from "../jobs/torrent/torrent-job.js";
import type { BotKey } from "../remote/bot-key.js";
import { createLogger, type Logger } from "../shared/logger.js";
import type { Db } from "../storage/database.js";
import { wireBot } from "./wire-bot.js";
import { wirePlaybookJobs, wireTorrentJobs, type PlaybookJobs, type TorrentJobs } from "./wire-jobs.js";
import { ownerNotifier, wireCloud, wireTelegramApi, wireVenvCollector, wireVenvs, wireWeb } from "./wire-services.js";
import { wireStorage } from "./wire-storage.js";

export interface App {
  config: Config;
  logger: Logger;
  db: Db;
  jobs: JobStore;
  ledger: DropletLedger;
  runner: TorrentJobRunner;
  presenter: TorrentPresenter;
  bot: DropshipBot;
  botKey: BotKey;
  hosts: HostRegistry;
  playbooks: PlaybookRunner;
  /** The port the download server listens on (useful when HTTP_LISTEN asks for port 0). */
  webPort: number;
  stop(): Promise<void>;
}

export interface AppOptions {
  logger?: Logger;
  /** Card buttons stop working after this long (default 1 h). */
  cardTtlMs?: number;
}

export async function startApp(config: Config, options: AppOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger({
    level: config.log.level,
    pretty: config.log.pretty,
    secrets: [config.telegram.token, config.digitalOcean.token, config.web.signingKey],
  });
  const storage = wireStorage(config, logger);
  // One pacer for every Api of the process: Telegram counts the bot's messages together, whoever sends them.
  const pacer = new TelegramPacer();
  const api = wireTelegramApi(config, pacer);
  const cloud = wireCloud(config, storage, logger);
  const venvs = wireVenvs(config, storage, logger);
  const web = await wireWeb(config, storage, logger);
  const torrents = wireTorrentJobs(config, { storage, cloud, venvs, web, api, logger });
  const playbooks = wirePlaybookJobs(config, { storage, venvs, api, logger });
  const venvCollector = wireVenvCollector(venvs, playbooks.hosts, logger);
  await recoverAfterRestart(torrents, playbooks, ownerNotifier(api, logger));
  const bot = wireBot(config, { storage, venvs, torrents, playbooks, logger, pacer, cardTtlMs: options.cardTtlMs ?? 3_600_000 });
  await bot.start();
  // Schedules: droplet reaper every five minutes, venv collection daily, download retention.
  torrents.reaper.start();
  venvCollector.start();
  web.sweeper.start();
  logger.info({ webPort: web.port, dataDir: config.dataDir }, "Dropship started");

  let stopped: Promise<void> | null = null;
  const stop = () =>
    (stopped ??= (async () => {
      logger.info("stopping: polling first, then running jobs (their droplets are destroyed)");
      await bot.stop();
      await torrents.runner.stopAll();
      await playbooks.runner.stopAll();
      await torrents.presenter.idle();
      await playbooks.presenter.idle();
      torrents.reaper.stop();
      venvCollector.stop();
      await web.sweeper.stop();
      await web.server.close();
      storage.db.close();
      logger.info("stopped");
    })());
  return {
    config,
    logger,
    db: storage.db,
    jobs: storage.jobs,
    ledger: storage.ledger,
    runner: torrents.runner,
    presenter: torrents.presenter,
    bot,
    botKey: storage.botKey,
    hosts: playbooks.hosts,
    playbooks: playbooks.runner,
    webPort: web.port,
    stop,
  };
}

/**
 * Jobs an earlier process left running cannot be picked up (their SSH sessions died with it): torrent jobs are
 * failed and their droplets destroyed, playbook runs failed and their work directories removed from the hosts.
 * Owners are told either way.
 */
async function recoverAfterRestart(
  torrents: TorrentJobs,
  playbooks: PlaybookJobs,
  tellOwner: (chatId: number, jobId: number, message: string) => void,
): Promise<void> {
  for (const { jobId, chatId, message } of (await torrents.reaper.recoverAfterRestart()).interrupted) tellOwner(chatId, jobId, message);
  const interruptedRuns = playbooks.runner.failInterrupted();
  for (const { jobId, chatId, message } of interruptedRuns) tellOwner(chatId, jobId, message);
  // In the background: a host that is down must not hold up the start.
  void playbooks.runner.cleanUpInterrupted(interruptedRuns.map((r) => r.jobId));
}
