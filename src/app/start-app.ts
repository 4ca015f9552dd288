// The composition root: the one place that knows every concrete class. It reads as the order things start in:
// the data directory's lock → storage → services → job kinds → resuming what a restart interrupted → bot →
// start-up droplet sweep (in the background) → schedules. main.ts adds signals; tests call startApp directly.
import fs from "node:fs";
import path from "node:path";
import type { Config } from "../config.js";
import type { DropshipBot } from "../bot/create-bot.js";
import { TelegramPacer } from "../bot/telegram-pacer.js";
import type { TorrentPresenter } from "../bot/presenters/torrent-presenter.js";
import type { HostAccess } from "../hosts/host-access.js";
import type { HostRegistry } from "../hosts/host-registry.js";
import type { JobStore } from "../jobs/job-store.js";
import type { PlaybookRunner } from "../jobs/playbook/playbook-runner.js";
import type { VolumeLedger } from "../jobs/torrent/volume-ledger.js";
import type { DropletLedger } from "../jobs/torrent/droplet-ledger.js";
import type { DropletReaper, SweepRetry } from "../jobs/torrent/droplet-reaper.js";
import type { RetryPolicy } from "../cloud/digitalocean-client.js";
import type { TorrentJobData, TorrentJobRunner } from "../jobs/torrent/torrent-job.js";
import type { BotKey } from "../remote/bot-key.js";
import { createLogger, type Logger } from "../shared/logger.js";
import type { Db } from "../storage/database.js";
import { lockDataDir, type InstanceLock } from "../storage/instance-lock.js";
import { DELIVERED_MARKER } from "../web/index.js";
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
  /** Block storage volumes the torrent jobs attached for room. */
  volumes: VolumeLedger;
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
  /** stop() gives up waiting after this long (default SHUTDOWN_DEADLINE_MS); what is left is the next start's. */
  stopDeadlineMs?: number;
}

/**
 * How long stop() waits, in total, for polling, jobs and the last chat messages, so the process exits within 5 s of
 * SIGTERM (Docker kills after 10 s by default). What has not finished by then is the next start's: detached jobs
 * resume, a failing job's clean-up is finished, droplets being destroyed are confirmed by the sweep.
 */
export const SHUTDOWN_DEADLINE_MS = 4000;

export async function startApp(config: Config, options: AppOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger({
    level: config.log.level,
    pretty: config.log.pretty,
    secrets: [config.telegram.token, config.digitalOcean.token, config.web.signingKey],
  });
  // Before anything touches the data directory: a second bot on it would run the same jobs twice.
  const lock = lockDataDir(config.dataDir);
  try {
    return await startLocked(config, options, logger, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function startLocked(config: Config, options: AppOptions, logger: Logger, lock: InstanceLock): Promise<App> {
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
  recoverAfterRestart(storage.jobs, storage.downloadsDir, torrents, playbooks, ownerNotifier(api, logger));
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
      const deadline = Date.now() + (options.stopDeadlineMs ?? SHUTDOWN_DEADLINE_MS);
      const left = () => Math.max(0, deadline - Date.now());
      logger.info({ onShutdown: config.onShutdown }, "stopping: polling, then running jobs");
      await sweep.stop();
      // Polling and jobs stop side by side: neither Telegram nor DigitalOcean being slow may hold the exit.
      const settled = await within(left(), Promise.all([bot.stop(), torrents.runner.stopAll(config.onShutdown), playbooks.runner.stopAll()]));
      if (!settled) logger.warn("stop deadline reached with polling or jobs still stopping; the next start picks up what is left");
      await within(left(), Promise.all([torrents.presenter.idle(), playbooks.presenter.idle()]));
      torrents.reaper.stop();
      venvCollector.stop();
      await within(left(), web.sweeper.stop());
      await within(left(), web.server.close());
      storage.db.close();
      lock.release();
      logger.info("stopped");
    })());
  return {
    config,
    logger,
    db: storage.db,
    jobs: storage.jobs,
    ledger: storage.ledger,
    volumes: storage.volumes,
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
 * Jobs an earlier process left running (a crash, or a shutdown that detached them): torrent jobs carry on from their
 * recorded state on the same droplet, their cards showing "resumed after a restart"; playbook runs are failed (their
 * ansible-playbook died with the SSH session) and their work directories removed from the hosts, owners told. Runs
 * before the start-up sweep, which then spares the resumed jobs' droplets. Nothing here waits on DigitalOcean.
 */
function recoverAfterRestart(
  jobs: JobStore,
  downloadsDir: string,
  torrents: TorrentJobs,
  playbooks: PlaybookJobs,
  tellOwner: (chatId: number, jobId: number, message: string) => void,
): void {
  redeliverResults(jobs, downloadsDir, torrents);
  for (const job of jobs.listUnfinished("torrent")) {
    if (job.state === "estimated") continue; // a card nobody pressed Start on: nothing runs
    const cardMessageId = (job.data as TorrentJobData).cardMessageId;
    if (cardMessageId !== undefined) torrents.presenter.attach(job.id, job.chatId, cardMessageId);
    else tellOwner(job.chatId, job.id, "the bot restarted while this job ran; it carries on, but its card is gone, so its progress cannot be shown");
    torrents.runner.resume(job.id);
  }
  const interruptedRuns = playbooks.runner.failInterrupted();
  for (const { jobId, chatId, message } of interruptedRuns) tellOwner(chatId, jobId, message);
  // In the background: a host that is down must not hold up the start.
  void playbooks.runner.cleanUpInterrupted(interruptedRuns.map((r) => r.jobId));
}

/**
 * A crash between a job's "done" and its result message leaves the links unsent: a finished job of the last day whose
 * files are there but not marked delivered (the presenter marks them once the message is out) gets it now.
 */
function redeliverResults(jobs: JobStore, downloadsDir: string, torrents: TorrentJobs): void {
  const since = Date.now() - 86_400_000;
  for (const job of jobs.listRecentIn("torrent", "done", 20)) {
    const dir = path.join(downloadsDir, String(job.id));
    const d = job.data as TorrentJobData & { actualUsd?: number; durationSeconds?: number; totalBytes?: number; warning?: string };
    if (job.updatedAt < since || d.cardMessageId === undefined || !d.files?.length) continue;
    if (!fs.existsSync(dir) || fs.existsSync(path.join(dir, DELIVERED_MARKER))) continue;
    const [actualUsd, durationSeconds] = [d.actualUsd ?? 0, d.durationSeconds ?? 0];
    const result = { files: d.files, totalBytes: d.totalBytes ?? 0, actualUsd, durationSeconds, overheadSeconds: 0, warning: d.warning };
    torrents.presenter.attach(job.id, job.chatId, d.cardMessageId);
    torrents.presenter.handle({ jobId: job.id, state: "done", costSoFarUsd: actualUsd, elapsedSeconds: durationSeconds, result });
  }
}

/** Whether `p` settled within `ms` (its failure counts as settled: callers log their own errors). */
async function within(ms: number, p: Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const done = p.then(
    () => true,
    () => true,
  );
  try {
    return await Promise.race([done, timeout]);
  } finally {
    clearTimeout(timer);
  }
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
