// Wiring, part 2: the services jobs use — DigitalOcean, virtualenvs on the bot's host, the download server, and
// the Telegram Bot API client for messages sent outside any update.
import { Api } from "grammy";
import { autoRetry } from "@grammyjs/auto-retry";
import type { Config } from "../config.js";
import { createDigitalOceanClient, type RetryPolicy } from "../cloud/digitalocean-client.js";
import { createDigitalOceanProvider } from "../cloud/digitalocean-provider.js";
import type { CloudProvider } from "../cloud/cloud-provider.js";
import type { DropletPort } from "../jobs/torrent/torrent-ports.js";
import { LocalHost } from "../remote/local-host.js";
import type { Logger } from "../shared/logger.js";
import { VenvCollector } from "../venv/venv-collector.js";
import { VenvManager } from "../venv/venv-manager.js";
import { createDownloadServer, createRetentionSweeper, type DownloadServer, type RetentionSweeper } from "../web/index.js";
import { dropletPort } from "./droplet-port.js";
import type { Storage } from "./wire-storage.js";

export interface CloudServices {
  cloud: CloudProvider;
  /** The torrent job's narrow view of it, with the bot's key. */
  droplets: DropletPort;
}

export function wireCloud(config: Config, storage: Storage, logger: Logger, retry?: Partial<RetryPolicy>): CloudServices {
  const cloud = createDigitalOceanProvider({
    client: createDigitalOceanClient({ token: config.digitalOcean.token, apiUrl: config.digitalOcean.apiUrl, logger, retry }),
    logger,
  });
  return { cloud, droplets: dropletPort(cloud, storage.botKey) };
}

export interface VenvServices {
  manager: VenvManager;
  localHost: LocalHost;
  collector: VenvCollector;
}

export function wireVenvs(config: Config, storage: Storage, logger: Logger): VenvServices {
  const manager = new VenvManager({ db: storage.db, packages: config.packages, venv: config.venv, logger });
  // Uses recorded by a previous process ended with it.
  manager.releaseAllUses();
  const localHost = new LocalHost();
  const collector = new VenvCollector({ collect: (host) => manager.collectGarbage(host), hosts: () => [localHost], logger });
  return { manager, localHost, collector };
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

/** Presenters and restart notices send outside any update, so they have their own Api with the bot's retry policy. */
export function wireTelegramApi(config: Config): Api {
  const api = new Api(config.telegram.token, { apiRoot: config.telegram.apiRoot });
  api.config.use(autoRetry({ maxRetryAttempts: 5, maxDelaySeconds: 60 }));
  return api;
}

/** Tells a job's owner something that happened outside any update (a restart interrupted their job). */
export function ownerNotifier(api: Api, logger: Logger): (chatId: number, jobId: number, message: string) => void {
  return (chatId, jobId, message) =>
    void api.sendMessage(chatId, `Job ${jobId}: ${message}`).catch((err: unknown) => logger.warn({ err, job_id: jobId }, "could not tell the owner"));
}
