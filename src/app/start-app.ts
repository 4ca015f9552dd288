// The composition root: the one place that knows every concrete class. It reads as the order things start in:
// storage → services → job kinds → recovery after a restart → bot → start-up droplet sweep (in the background) →
// schedules. main.ts adds signals; tests call startApp directly.
import type { Config } from "../config.js";
import type { DropshipBot } from "../bot/create-bot.js";
import { TelegramPacer } from "../bot/telegram-pacer.js";
import type { TorrentPresenter } from "../bot/presenters/torrent-presenter.js";
import type { HostAccess } from "../hosts/host-access.js";
import type { HostRegistry } from "../hosts/host-registry.js";
import type { JobStore } from "../jobs/job-store.js";
import type { PlaybookRunner } from "../jobs/playbook/playbook-runner.js";
import type { DropletLedger } from "../jobs/torrent/droplet-ledger.js";
import type { DropletReaper, SweepRetry } from "../jobs/torrent/droplet-reaper.js";
import type { RetryPolicy } from "../cloud/digitalocean-client.js";
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
  hostAccess: HostAccess;
  playbooks: PlaybookRunner;
  /** The port the download server listens on (useful when HTTP_LISTEN asks for port 0). */
  webPort: number;
  reaper: DropletReaper;
  /** Settles when the start-up droplet sweep has cleaned up (true) or was stopped first (false). */
  startupSweep: Promise<boolean>;
  stop(): Promise<void>;
}

export interface AppOptions {
  logger?: Logger;
  /** Card buttons stop working after this long (default 1 h). */
  cardTtlMs?: number;
  /** How the start-up droplet sweep backs off while DigitalOcean fails (default 5 s doubling to 5 min). */
  sweepRetry?: SweepRetry;
  /** The DigitalOcean client's own retries of one call (default: 5 tries from 1 s); tests shorten them. */
  cloudRetry?: Partial<RetryPolicy>;
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
  const cloud = wireCloud(config, storage, logger, options.cloudRetry);
  const venvs = wireVenvs(config, storage, logger);
  const web = await wireWeb(config, storage, logger);
  const torrents = wireTorrentJobs(config, { storage, cloud, venvs, web, api, logger });
  const playbooks = wirePlaybookJobs(config, { storage, venvs, api, logger });
  const venvCollector = wireVenvCollector(venvs, playbooks.hosts, logger);
  recoverAfterRestart(torrents, playbooks, ownerNotifier(api, logger));
  const bot = wireBot(config, { storage, venvs, torrents, playbooks, logger, pacer, cardTtlMs: options.cardTtlMs ?? 3_600_000 });
  await bot.start();
  // DigitalOcean may be down or refuse a destroy: the bot serves chat and links meanwhile, and the owner is told.
  const sweep = startupSweep(torrents.reaper, {
    retry: options.sweepRetry ?? { minDelayMs: 5_000, maxDelayMs: 300_000 },
    tellOwner: (text) => void api.sendMessage(config.access.ownerId, text).catch((err: unknown) => logger.warn({ err }, "could not tell the owner")),
    logger,
  });
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
      await sweep.stop();
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
    hostAccess: playbooks.hostAccess,
    playbooks: playbooks.runner,
    webPort: web.port,
    reaper: torrents.reaper,
    startupSweep: sweep.done,
    stop,
  };
}

/**
 * Jobs an earlier process left running cannot be picked up (their SSH sessions died with it): torrent jobs whose
 * files were verified end done with their links; other torrent jobs are failed (their droplets go with the start-up
 * sweep); playbook runs are failed and their work directories removed from the hosts. Owners are told either way.
 * Nothing here waits on DigitalOcean.
 */
function recoverAfterRestart(torrents: TorrentJobs, playbooks: PlaybookJobs, tellOwner: (chatId: number, jobId: number, message: string) => void): void {
  // Files verified before the restart are kept: the job ends done and its card becomes the links, as it would have.
  for (const d of torrents.reaper.completeDelivered()) {
    if (d.cardMessageId === null) {
      tellOwner(d.chatId, d.jobId, `${d.warning}, but its card is gone, so its links cannot be shown here`);
      continue;
    }
    torrents.presenter.attach(d.jobId, d.chatId, d.cardMessageId);
    const result = { files: d.files, totalBytes: d.totalBytes, actualUsd: d.actualUsd, durationSeconds: d.durationSeconds, overheadSeconds: 0, warning: d.warning };
    torrents.presenter.handle({ jobId: d.jobId, state: "done", costSoFarUsd: d.actualUsd, elapsedSeconds: d.durationSeconds, result });
  }
  for (const { jobId, chatId, message } of torrents.reaper.failInterrupted()) tellOwner(chatId, jobId, message);
  const interruptedRuns = playbooks.runner.failInterrupted();
  for (const { jobId, chatId, message } of interruptedRuns) tellOwner(chatId, jobId, message);
  // In the background: a host that is down must not hold up the start.
  void playbooks.runner.cleanUpInterrupted(interruptedRuns.map((r) => r.jobId));
}

/**
 * Destroys what earlier processes left at DigitalOcean, in the background and retrying until it succeeds. The owner
 * hears once what could not be cleaned yet, and again when it is done.
 */
function startupSweep(
  reaper: DropletReaper,
  opts: { retry: SweepRetry; tellOwner: (text: string) => void; logger: Logger },
): { done: Promise<boolean>; stop(): Promise<void> } {
  const abort = new AbortController();
  let toldTrouble = false;
  const done = reaper
    .sweepUntilClean({
      signal: abort.signal,
      retry: opts.retry,
      onTrouble: (message) => {
        if (toldTrouble) return;
        toldTrouble = true;
        opts.tellOwner(
          `⚠️ Dropship is up, but could not clean up at DigitalOcean yet: ${message}. Chat and download links work; ` +
            "leftover droplets may still cost money. I keep retrying and will tell you when it is done.",
        );
      },
    })
    .then(({ destroyed }) => {
      opts.logger.info({ destroyed }, "start-up droplet sweep done");
      const what = destroyed.length === 0 ? "nothing was left to destroy" : `${destroyed.length} leftover droplet${destroyed.length === 1 ? "" : "s"} destroyed`;
      if (toldTrouble) opts.tellOwner(`✅ The start-up clean-up at DigitalOcean is done: ${what}.`);
      return true;
    })
    .catch((err: unknown) => {
      if (!abort.signal.aborted) opts.logger.error({ err }, "start-up droplet sweep gave up");
      return false;
    });
  // Stopping does not wait for a DigitalOcean call in flight (its own retries may take half a minute): what it
  // finds after the database is closed fails quietly, and the next start sweeps again.
  const stopped = new Promise<boolean>((resolve) => abort.signal.addEventListener("abort", () => resolve(false), { once: true }));
  return {
    done: Promise.race([done, stopped]),
    async stop() {
      abort.abort();
      await Promise.race([done, stopped]);
    },
  };
}
