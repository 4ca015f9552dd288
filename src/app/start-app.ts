// The composition root: config → database → adapters → jobs → bot and web server. main.ts adds signals; tests call it directly.
import fs from "node:fs";
import path from "node:path";
import { Api } from "grammy";
import { autoRetry } from "@grammyjs/auto-retry";
import type { Config } from "../config.js";
import { createLogger, type Logger } from "../shared/logger.js";
import { openDatabase, type Db } from "../storage/database.js";
import { createKvStore } from "../storage/kv-store.js";
import { JobStore } from "../jobs/job-store.js";
import { torrentMayMove } from "../jobs/torrent/torrent-states.js";
import { playbookMayMove } from "../jobs/playbook/playbook-states.js";
import { DropletLedger } from "../jobs/torrent/droplet-ledger.js";
import { DropletReaper } from "../jobs/torrent/droplet-reaper.js";
import { TorrentJobRunner, torrentCancellation } from "../jobs/torrent/torrent-job.js";
import { TorrentQuoter } from "../jobs/torrent/torrent-quote.js";
import { createDigitalOceanClient } from "../cloud/digitalocean-client.js";
import { createDigitalOceanProvider } from "../cloud/digitalocean-provider.js";
import { dropletPort } from "./droplet-port.js";
import { JobCanceller } from "../jobs/cancel-job.js";
import { fetchTelegramFile, fetchTelegramFileById } from "../bot/telegram-files.js";
import { buildUserData, generateHostKeyPair } from "../cloud/cloud-init.js";
import { loadOrCreateBotKey, type BotKey } from "../remote/bot-key.js";
import { createDropletSsh } from "../remote/droplet-ssh.js";
import { sshHostConnector } from "../remote/ssh-host.js";
import { createDropletProvisioner } from "../ansible/provision-droplet.js";
import { createDropletTorrentClient } from "../aria2/droplet-torrent-client.js";
import { createDownloadServer, createRetentionSweeper, markDelivered } from "../web/index.js";
import { createBot, type DropshipBot } from "../bot/create-bot.js";
import { torrentFeature } from "../bot/features/torrent.js";
import { TorrentPresenter } from "../bot/presenters/torrent-presenter.js";
import { createTorrentVenvProvider } from "../venv/torrent-venv.js";
import { VenvManager } from "../venv/venv-manager.js";
import { LocalHost } from "../remote/local-host.js";
import { VenvCollector } from "../venv/venv-collector.js";
import { venvsFeature } from "../bot/features/venvs.js";
import { filesFeature } from "../bot/features/files.js";
import { UserSettings } from "../jobs/user-settings.js";
import { playbookFeature } from "../bot/features/playbook.js";
import { probeHost } from "../venv/host-probe.js";
import { HostRegistry } from "../hosts/host-registry.js";
import { PlaybookRunner, defaultCallbackPluginFile, playbookCancellation } from "../jobs/playbook/playbook-runner.js";
import { PLAYBOOKS_DIR } from "../ansible/run-playbook.js";
import { hostsFeature } from "../bot/features/hosts.js";
import { playbookRunFeature, RunPresenter } from "../bot/features/playbook-run.js";

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
  const logger =
    options.logger ??
    createLogger({
      level: config.log.level,
      pretty: config.log.pretty,
      secrets: [config.telegram.token, config.digitalOcean.token, config.web.signingKey],
    });
  fs.mkdirSync(config.dataDir, { recursive: true });
  const db = openDatabase(path.join(config.dataDir, "dropship.sqlite"));
  const botKey = loadOrCreateBotKey(path.join(config.dataDir, "keys"));
  // The store enforces each kind's flow (torrent-states.ts, playbook/run-states.ts) on every transition.
  const jobs = new JobStore(db, Date.now, { torrent: torrentMayMove, playbook: playbookMayMove });
  const ledger = new DropletLedger(db);
  const userSettings = new UserSettings(db, { sendFiles: config.web.sendFilesToTelegram });
  const downloadsDir = path.join(config.dataDir, "downloads");
  // Unpacked uploads live here while they are analysed or copied to a host; what a crash left behind goes now.
  const workDir = path.join(config.dataDir, "work");
  fs.rmSync(workDir, { recursive: true, force: true });
  fs.mkdirSync(workDir, { recursive: true });

  const cloud = createDigitalOceanProvider({
    client: createDigitalOceanClient({ token: config.digitalOcean.token, apiUrl: config.digitalOcean.apiUrl, logger }),
    logger,
  });
  const droplets = dropletPort(cloud, botKey);
  const venvs = new VenvManager({ db, packages: config.packages, venv: config.venv, logger });
  // Uses recorded by a previous process ended with it.
  venvs.releaseAllUses();
  const localHost = new LocalHost();
  const torrentVenv = createTorrentVenvProvider({ manager: venvs, host: localHost, logger });
  const collector = new VenvCollector({ collect: (host) => venvs.collectGarbage(host), hosts: () => [localHost], logger });
  collector.start();

  const web = createDownloadServer({
    filesRoot: downloadsDir,
    publicBaseUrl: config.web.publicBaseUrl,
    signingKey: config.web.signingKey,
    linkTtlMs: config.web.linkTtlMs,
    logger,
  });
  const { port: webPort } = await web.listen(config.web.listenHost, config.web.listenPort);
  const sweeper = createRetentionSweeper({ filesRoot: downloadsDir, retentionMs: config.web.retentionMs, logger });
  sweeper.start();

  // The presenter edits messages outside any update, so it has its own Api with the same retry policy.
  const api = new Api(config.telegram.token, { apiRoot: config.telegram.apiRoot });
  api.config.use(autoRetry({ maxRetryAttempts: 5, maxDelaySeconds: 60 }));
  const presenter = new TorrentPresenter({
    api,
    jobs,
    downloadsDir,
    editIntervalMs: config.progress.editIntervalMs,
    sendDocuments: (userId) => userSettings.sendFiles(userId),
    links: { signJobLinks: (id, paths) => web.signJobLinks(id, paths) },
    markDelivered: (id) => markDelivered(downloadsDir, id),
    logger,
  });
  const runner = new TorrentJobRunner({
    store: jobs,
    ledger,
    cloud: droplets,
    cloudInit: {
      generateHostKey: () => generateHostKeyPair(),
      userData: (hostKey) => buildUserData({ hostKey, authorizedKeys: [botKey.publicKey], packages: ["aria2"] }),
    },
    ssh: createDropletSsh({ privateKey: botKey.privateKey }),
    provisioner: createDropletProvisioner({ venvPath: torrentVenv, privateKeyFile: botKey.privateKeyPath }),
    torrents: createDropletTorrentClient({
      metadataTimeoutSeconds: config.torrent.metadataTimeoutSeconds,
      stallTimeoutSeconds: config.torrent.stallTimeoutSeconds,
      trackers: config.torrent.trackers,
      dhtEntryPoint: config.torrent.dhtEntryPoint,
      extraOptions: config.torrent.aria2ExtraOptions,
    }),
    settings: {
      region: config.digitalOcean.region,
      size: config.digitalOcean.size,
      image: config.digitalOcean.image,
      bootTimeoutMs: config.digitalOcean.bootTimeoutMs,
      downloadsDir,
      perJobBudgetUsd: config.budget.perJobUsd,
    },
    logger,
    onEvent: (e) => presenter.handle(e),
  });

  const reaper = new DropletReaper({
    cloud,
    ledger,
    store: jobs,
    runningJobIds: () => runner.runningJobIds(),
    logger,
    onInterrupted: (jobId, message) => {
      const job = jobs.get(jobId);
      if (job) void api.sendMessage(job.chatId, `Job ${jobId}: ${message}`).catch((err: unknown) => logger.warn({ err }, "could not tell the owner"));
    },
  });
  await reaper.recoverAfterRestart();
  reaper.start();

  const hosts = new HostRegistry({ db, connect: sshHostConnector(botKey.privateKey) });
  const runPresenter = new RunPresenter(api, config.progress.editIntervalMs, logger);
  const playbooks = new PlaybookRunner({
    jobs,
    connectHost: (name) => hosts.connect(name),
    venvs,
    fetchUpload: (fileId) => fetchTelegramFileById(config, api, fileId),
    callbackPluginFile: defaultCallbackPluginFile(PLAYBOOKS_DIR),
    tmpDir: workDir,
    logger,
    onEvent: (e) => runPresenter.handle(e),
  });
  const interruptedRuns = playbooks.failInterrupted();
  for (const { jobId, chatId, message } of interruptedRuns) {
    void api.sendMessage(chatId, `Job ${jobId}: ${message}`).catch((err: unknown) => logger.warn({ err }, "could not tell the owner"));
  }
  // In the background: a host that is down must not hold up the start.
  void playbooks.cleanUpInterrupted(interruptedRuns.map((r) => r.jobId));

  const quoter = new TorrentQuoter({
    sizes: cloud,
    store: jobs,
    settings: {
      size: config.digitalOcean.size,
      region: config.digitalOcean.region,
      speedBytesPerSecond: config.torrent.speedBytesPerSecond,
      perJobBudgetUsd: config.budget.perJobUsd,
      monthlyBudgetUsd: config.budget.monthlyUsd,
    },
  });
  const canceller = new JobCanceller(jobs, { torrent: torrentCancellation(runner, jobs), playbook: playbookCancellation(playbooks) });
  const bot = createBot(config, {
    logger,
    kv: <T>(ns: string) => createKvStore<T>(db, ns),
    jobs,
    cancelJob: (jobId, userId) => canceller.cancel(jobId, userId, { via: "/cancel" }),
    features: [
      torrentFeature({
        jobs,
        quoter,
        canceller,
        runner,
        presenter,
        cardTtlMs: options.cardTtlMs ?? 3_600_000,
        fetchTelegramFile: (filePath) => fetchTelegramFile(config, filePath),
      }),
      filesFeature({ settings: userSettings, ownerId: config.access.ownerId }),
      venvsFeature({ venvs, host: (label) => (label === localHost.label ? localHost : undefined), ownerId: config.access.ownerId }),
      playbookFeature({
        jobs,
        fetchTelegramFile: (filePath) => fetchTelegramFile(config, filePath),
        tmpDir: workDir,
        // The analysis comes before a host is chosen: the venv name shown is for the bot's own Python (the run
        // reports the name actually used on the chosen host).
        controllerPython: async () => (await probeHost(localHost, config.venv.root)).pythonVersion,
      }),
      hostsFeature({ hosts, ownerId: config.access.ownerId, botPublicKey: botKey.publicKey }),
      playbookRunFeature({ jobs, hosts, runner: playbooks, presenter: runPresenter }),
    ],
  });
  await bot.start();
  logger.info({ webPort, dataDir: config.dataDir }, "Dropship started");

  let stopped: Promise<void> | null = null;
  const stop = () =>
    (stopped ??= (async () => {
      logger.info("stopping: polling first, then running jobs (their droplets are destroyed)");
      await bot.stop();
      await runner.stopAll();
      await playbooks.stopAll();
      await presenter.idle();
      await runPresenter.idle();
      reaper.stop();
      collector.stop();
      await sweeper.stop();
      await web.close();
      db.close();
      logger.info("stopped");
    })());
  return { config, logger, db, jobs, ledger, runner, presenter, bot, botKey, hosts, playbooks, webPort, stop };
}
