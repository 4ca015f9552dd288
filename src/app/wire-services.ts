// Wiring, part 2: the services jobs use — DigitalOcean, virtualenvs (and their daily collection on every host), the download server, and
// the Telegram Bot API client for messages sent outside any update.
import { Api, type Transformer } from "grammy";
import { autoRetry } from "@grammyjs/auto-retry";
import type { TelegramPacer } from "../bot/telegram-pacer.js";
import type { Config } from "../config.js";
import { createDigitalOceanClient, type RetryPolicy } from "../cloud/digitalocean-client.js";
import { createDigitalOceanProvider } from "../cloud/digitalocean-provider.js";
import type { CloudProvider } from "../cloud/cloud-provider.js";
import type { DropletPort, VolumePort } from "../jobs/torrent/torrent-ports.js";
import type { HostRegistry } from "../hosts/host-registry.js";
import { LocalHost } from "../remote/local-host.js";
import type { Logger } from "../shared/logger.js";
import { galaxyRoleStager, type RoleStager } from "../venv/role-closure.js";
import { createGalaxyToolVenvProvider, createTorrentVenvProvider } from "../venv/torrent-venv.js";
import { LOCAL_HOST_NAME } from "../venv/host-venvs.js";
import { VenvCollector } from "../venv/venv-collector.js";
import { VenvManager } from "../venv/venv-manager.js";
import { createDownloadServer, createRetentionSweeper, type DownloadServer, type RetentionSweeper } from "../web/index.js";
import { dropletPort, volumePort } from "./droplet-port.js";
import type { Storage } from "./wire-storage.js";

export interface CloudServices {
  cloud: CloudProvider;
  /** The torrent job's narrow view of it, with the bot's key. */
  droplets: DropletPort;
  /** Its block storage, for a droplet whose disk is too small. */
  volumes: VolumePort;
}

export function wireCloud(config: Config, storage: Storage, logger: Logger, retry?: Partial<RetryPolicy>): CloudServices {
  const cloud = createDigitalOceanProvider({
    client: createDigitalOceanClient({ token: config.digitalOcean.token, apiUrl: config.digitalOcean.apiUrl, logger, retry }),
    logger,
  });
  return { cloud, droplets: dropletPort(cloud, storage.botKey), volumes: volumePort(cloud) };
}

export interface VenvServices {
  manager: VenvManager;
  localHost: LocalHost;
  /** The torrent app's fixed venv on the bot's host (ansible for the droplets): its path. */
  botVenv(onProgress?: (message: string) => void): Promise<string>;
  /** Fetches the roles an uploaded project installs, with the Galaxy tool venv's ansible-galaxy and GALAXY_SERVER. */
  roleStager: RoleStager;
}

export function wireVenvs(config: Config, storage: Storage, logger: Logger): VenvServices {
  // The link-signing secret also seals venvs (through its own derived key): a new DATA_DIR can adopt sealed venvs.
  const manager = new VenvManager({ db: storage.db, packages: config.packages, venv: config.venv, logger, sealKey: config.web.signingKey });
  // Uses recorded by a previous process ended with it.
  manager.releaseAllUses();
  const localHost = new LocalHost();
  const botVenv = createTorrentVenvProvider({ manager, host: localHost, logger });
  const galaxyTool = createGalaxyToolVenvProvider({ manager, host: localHost, logger });
  const roleStager = galaxyRoleStager({
    host: localHost,
    ansibleGalaxy: async () => `${await galaxyTool()}/bin/ansible-galaxy`,
    galaxyServer: config.packages.galaxyServer,
    timeoutMs: 5 * 60_000,
  });
  return { manager, localHost, botVenv, roleStager };
}

/** Daily venv collection on the bot's host and on every registered host (read at each pass), one at a time. */
export function wireVenvCollector(venvs: Pick<VenvServices, "manager" | "localHost">, hosts: HostRegistry, logger: Logger): VenvCollector {
  return new VenvCollector({
    collect: (host) => venvs.manager.collectGarbage(host),
    hosts: () => [
      { name: LOCAL_HOST_NAME, connect: () => Promise.resolve(venvs.localHost) },
      ...hosts.list().map((h) => ({ name: h.name, connect: () => hosts.connect(h.name) })),
    ],
    logger,
  });
}

export interface WebServices {
  server: DownloadServer;
  /** The port it listens on (useful when HTTP_LISTEN asks for port 0). */
  port: number;
  sweeper: RetentionSweeper;
}

export async function wireWeb(config: Config, storage: Storage, logger: Logger): Promise<WebServices> {
  const server = createDownloadServer({
    filesRoot: storage.downloadsDir,
    publicBaseUrl: config.web.publicBaseUrl,
    signingKey: config.web.signingKey,
    linkTtlMs: config.web.linkTtlMs,
    logger,
  });
  const { port } = await server.listen(config.web.listenHost, config.web.listenPort);
  const sweeper = createRetentionSweeper({ filesRoot: storage.downloadsDir, retentionMs: config.web.retentionMs, logger });
  return { server, port, sweeper };
}

/**
 * Presenters, restart notices and job runners send outside any update, so they have their own Api: the bot's retry
 * policy, and the process's one pacer (shared with the bot, so both count against the same limits).
 */
export function wireTelegramApi(config: Config, pacer: TelegramPacer): Api {
  const api = new Api(config.telegram.token, { apiRoot: config.telegram.apiRoot, buildUrl: pacer.buildUrl });
  api.config.use(progressEditRetry(), pacer.transformer);
  return api;
}

/**
 * Auto-retry, except that a 429 on an edit is handed back: this Api edits only progress messages, and their
 * ProgressMessage waits the flood out and then sends the newest state, where auto-retry would resend a stale one.
 */
function progressEditRetry(): Transformer {
  const retry = { maxRetryAttempts: 5, maxDelaySeconds: 60 };
  const sends = autoRetry(retry);
  // retry_after is at least 1 s, so 0 refuses every flood wait; 5xx and network errors are still retried.
  const edits = autoRetry({ ...retry, maxDelaySeconds: 0 });
  return (prev, method, payload, signal) => (method.startsWith("editMessage") ? edits : sends)(prev, method, payload, signal);
}

/** Tells a job's owner something that happened outside any update (a restart interrupted their job). */
export function ownerNotifier(api: Api, logger: Logger): (chatId: number, jobId: number, message: string) => void {
  return (chatId, jobId, message) =>
    void api.sendMessage(chatId, `Job ${jobId}: ${message}`).catch((err: unknown) => logger.warn({ err, job_id: jobId }, "could not tell the owner"));
}
