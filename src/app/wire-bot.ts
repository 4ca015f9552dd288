// Wiring, part 4: the bot and its features, each handed the use-cases and stores it calls.
import { seedPolicyOf } from "../jobs/torrent/seeding-policy.js";
import type { Config } from "../config.js";
import { createBot, type DropshipBot } from "../bot/create-bot.js";
import type { TelegramPacer } from "../bot/telegram-pacer.js";
import { filesFeature } from "../bot/features/files.js";
import { settingsFeature } from "../bot/features/settings.js";
import { hostsFeature } from "../bot/features/hosts.js";
import { playbookRunFeature } from "../bot/features/playbook-run.js";
import { playbookFeature } from "../bot/features/playbook.js";
import { PrivateAnswers } from "../bot/private-answers.js";
import { torrentFeature } from "../bot/features/torrent.js";
import { venvsFeature } from "../bot/features/venvs.js";
import { fetchTelegramFile, uploadLimitBytes } from "../bot/telegram-files.js";
import { JobCanceller } from "../jobs/cancel-job.js";
import { KnownUsers } from "../jobs/known-users.js";
import { playbookCancellation } from "../jobs/playbook/playbook-runner.js";
import { torrentCancellation } from "../jobs/torrent/torrent-job.js";
import type { Logger } from "../shared/logger.js";
import { createKvStore } from "../storage/kv-store.js";
import { probeHost } from "../venv/host-probe.js";
import type { VenvServices } from "./wire-services.js";
import type { Storage } from "./wire-storage.js";
import type { PlaybookJobs, TorrentJobs } from "./wire-jobs.js";

export function wireBot(
  config: Config,
  s: { storage: Storage; venvs: VenvServices; torrents: TorrentJobs; playbooks: PlaybookJobs; logger: Logger; pacer: TelegramPacer; cardTtlMs: number },
): DropshipBot {
  const { storage, venvs, torrents, playbooks } = s;
  const { jobs } = storage;
  const ownerId = config.access.ownerId;
  const fetchFile = (filePath: string) => fetchTelegramFile(config, filePath);
  // Each job kind says how it is stopped; /cancel and Cancel buttons go through the one canceller.
  // Private vars_prompt answers: in this process's memory only, shared by the run dialogue and the conversations' storage.
  const privateAnswers = new PrivateAnswers();
  // Names of the bot's users as Telegram shows them, for the lists of who a host is shared with.
  const knownUsers = new KnownUsers(storage.db);
  const canceller = new JobCanceller(jobs, { torrent: torrentCancellation(torrents.runner, jobs), playbook: playbookCancellation(playbooks.runner) });
  return createBot(config, {
    logger: s.logger,
    kv: <T>(ns: string) => createKvStore<T>(storage.db, ns),
    jobs,
    privateAnswers,
    knownUsers,
    cancelJob: (jobId, userId) => canceller.cancel(jobId, userId, { via: "/cancel" }),
    features: [
      torrentFeature({
        jobs,
        quoter: torrents.quoter,
        canceller,
        runner: torrents.runner,
        presenter: torrents.presenter,
        delivery: { uploadLimitBytes: uploadLimitBytes(config.telegram), sendsDocuments: (userId) => storage.userSettings.sendFiles(userId) },
        cardTtlMs: s.cardTtlMs,
        fetchTelegramFile: fetchFile,
        seeding: { perJobBudgetUsd: config.budget.perJobUsd, defaultFor: (userId) => seedPolicyOf(storage.userSettings.seedPolicyCode(userId)) },
      }),
      filesFeature({ settings: storage.userSettings, ownerId, uploadLimitBytes: uploadLimitBytes(config.telegram) }),
      settingsFeature({ settings: storage.userSettings, ownerId, pickerTimeoutSeconds: config.torrent.pickerTimeoutSeconds }),
      venvsFeature({ venvs: venvs.manager, localHost: venvs.localHost, hosts: playbooks.hosts, ownerId }),
      playbookFeature({
        jobs,
        fetchTelegramFile: fetchFile,
        tmpDir: storage.workDir,
        roleStager: venvs.roleStager,
        // The analysis comes before a host is chosen: the venv name shown is for the bot's own Python (the run
        // reports the name actually used on the chosen host).
        controllerPython: async () => (await probeHost(venvs.localHost, config.venv.root)).pythonVersion,
      }),
      hostsFeature({ access: playbooks.hostAccess, nameOf: (id) => knownUsers.nameOf(id), botPublicKey: storage.botKey.publicKey }),
      playbookRunFeature({ jobs, hosts: playbooks.hostAccess, runner: playbooks.runner, presenter: playbooks.presenter, privateAnswers }),
    ],
  }, { pacer: s.pacer });
}
