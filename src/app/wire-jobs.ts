// Wiring, part 3: the two job kinds — their runners with the adapters behind their ports, their presenters, and
// the torrent kind's quoter and reaper.
import type { Api } from "grammy";
import type { Config } from "../config.js";
import { createDropletTorrentClient } from "../aria2/droplet-torrent-client.js";
import { PLAYBOOKS_DIR } from "../ansible/run-playbook.js";
import { createDropletProvisioner } from "../ansible/provision-droplet.js";
import { documentSource, fetchTelegramFileById, uploadLimitBytes } from "../bot/telegram-files.js";
import { RunPresenter } from "../bot/presenters/run-presenter.js";
import { TorrentPresenter } from "../bot/presenters/torrent-presenter.js";
import { buildUserData, generateHostKeyPair } from "../cloud/cloud-init.js";
import { HostAccess } from "../hosts/host-access.js";
import { HostRegistry } from "../hosts/host-registry.js";
import { PlaybookRunner, defaultCallbackPluginFile } from "../jobs/playbook/playbook-runner.js";
import { DropletReaper } from "../jobs/torrent/droplet-reaper.js";
import { TorrentJobRunner, type TorrentJobDeps } from "../jobs/torrent/torrent-job.js";
import { TorrentBudget } from "../jobs/torrent/torrent-budget.js";
import { TorrentQuoter } from "../jobs/torrent/torrent-quote.js";
import { JobVolumes } from "../jobs/torrent/job-volumes.js";
import { createDropletSsh } from "../remote/droplet-ssh.js";
import { sshHostConnector } from "../remote/ssh-host.js";
import type { Logger } from "../shared/logger.js";
import { markDelivered } from "../web/index.js";
import type { CloudServices, VenvServices, WebServices } from "./wire-services.js";
import type { Storage } from "./wire-storage.js";

export interface TorrentJobs {
  runner: TorrentJobRunner;
  presenter: TorrentPresenter;
  quoter: TorrentQuoter;
  reaper: DropletReaper;
}

export function wireTorrentJobs(
  config: Config,
  s: { storage: Storage; cloud: CloudServices; venvs: VenvServices; web: WebServices; api: Api; logger: Logger },
): TorrentJobs {
  const { storage, logger } = s;
  const { jobs, botKey, downloadsDir } = storage;
  const presenter = new TorrentPresenter({
    api: s.api,
    jobs,
    downloadsDir,
    editIntervalMs: config.progress.editIntervalMs,
    sendDocuments: (userId) => storage.userSettings.sendFiles(userId),
    uploadLimitBytes: uploadLimitBytes(config.telegram),
    documentSource: (absolutePath, fileName) => documentSource(config.telegram, absolutePath, fileName),
    links: { signJobLinks: (id, paths) => s.web.server.signJobLinks(id, paths) },
    markDelivered: (id) => markDelivered(downloadsDir, id),
    logger,
  });
  const budget = new TorrentBudget({ db: storage.db, jobs, settings: config.budget });
  const quoter = new TorrentQuoter({
    sizes: s.cloud.cloud,
    store: jobs,
    settings: { size: config.digitalOcean.size, region: config.digitalOcean.region, speedBytesPerSecond: config.torrent.speedBytesPerSecond, disk: config.disk },
    budget,
  });
  const runner = new TorrentJobRunner({
    store: jobs,
    ledger: storage.ledger,
    cloud: s.cloud.droplets,
    cloudInit: {
      generateHostKey: () => generateHostKeyPair(),
      userData: (hostKey) => buildUserData({ hostKey, authorizedKeys: [botKey.publicKey], packages: ["aria2"] }),
    },
    ssh: createDropletSsh({ privateKey: botKey.privateKey }),
    provisioner: createDropletProvisioner({ venvPath: s.venvs.botVenv, privateKeyFile: botKey.privateKeyPath }),
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
      minFreeBytes: config.downloads.minFreeBytes,
      pickerTimeoutMs: config.torrent.pickerTimeoutSeconds * 1000,
      disk: config.disk,
    },
    volumes: new JobVolumes({ volumes: s.cloud.volumes, ledger: storage.volumes }),
    logger,
    onEvent: (e) => presenter.handle(e),
    ...torrentMoneyChecks(config, jobs, quoter, budget),
    filePreferences: (ownerId) => storage.userSettings.fileChoice(ownerId),
  });
  const reaper = new DropletReaper({
    cloud: s.cloud.cloud,
    ledger: storage.ledger,
    volumes: storage.volumes,
    store: jobs,
    runningJobIds: () => runner.runningJobIds(),
    logger,
  });
  return { runner, presenter, quoter, reaper };
}

/**
 * How a running torrent job's money is re-checked once its real size, its choice of files or its volume is known:
 * the estimate again, as a .torrent of that size would get it, and the job's reservation resized against the caps.
 */
function torrentMoneyChecks(
  config: Config,
  jobs: Storage["jobs"],
  quoter: TorrentQuoter,
  budget: TorrentBudget,
): Pick<TorrentJobDeps, "checkDiskCaps" | "checkRealSize" | "estimateSelection"> {
  return {
    // A volume's cost joins the job's reservation; a monthly cap the owner already chose to pass no longer stops it.
    checkDiskCaps: (jobId, ownerId, usd, capsAccepted) => {
      const over = budget.resize(jobId, ownerId, usd);
      return over && capsAccepted && usd <= config.budget.perJobUsd ? null : over;
    },
    // A magnet's real size: the estimate again, as a .torrent of that size would get it, and the caps re-checked.
    // On the droplet it already has: a disk too small for the real size gets a volume after this (disk-fit.ts).
    checkRealSize: async (jobId, ownerId, realBytes) => {
      const size = jobs.get<unknown, { size?: string }>(jobId)?.data.size ?? config.digitalOcean.size;
      const q = await quoter.quote({ sizeBytes: realBytes, hasTorrentFile: true, size }, ownerId);
      jobs.patchData(jobId, { estimateSeconds: q.seconds });
      return { estimateUsd: q.usd, estimateSeconds: q.seconds, overCap: budget.resize(jobId, ownerId, q.usd) };
    },
    // The same estimate, without touching the reservation: the card after the metadata and the picker's running total.
    estimateSelection: async (ownerId, bytes) => {
      const q = await quoter.quote({ sizeBytes: bytes, hasTorrentFile: true }, ownerId);
      return { usd: q.usd, seconds: q.seconds };
    },
  };
}

export interface PlaybookJobs {
  hosts: HostRegistry;
  /** Who may use, share and remove which host. */
  hostAccess: HostAccess;
  runner: PlaybookRunner;
  presenter: RunPresenter;
}

export function wirePlaybookJobs(config: Config, s: { storage: Storage; venvs: VenvServices; api: Api; logger: Logger }): PlaybookJobs {
  const hosts = new HostRegistry({ db: s.storage.db, connect: sshHostConnector(s.storage.botKey.privateKey) });
  const hostAccess = new HostAccess({
    db: s.storage.db,
    registry: hosts,
    people: { botOwnerId: config.access.ownerId, allowedUserIds: config.access.allowedUserIds },
  });
  const presenter = new RunPresenter(s.api, config.progress.editIntervalMs, s.logger);
  const runner = new PlaybookRunner({
    jobs: s.storage.jobs,
    connectHost: (name) => hosts.connect(name),
    venvs: s.venvs.manager,
    fetchUpload: (fileId) => fetchTelegramFileById(config, s.api, fileId),
    callbackPluginFile: defaultCallbackPluginFile(PLAYBOOKS_DIR),
    tmpDir: s.storage.workDir,
    logger: s.logger,
    onEvent: (e) => presenter.handle(e),
  });
  return { hosts, hostAccess, runner, presenter };
}
