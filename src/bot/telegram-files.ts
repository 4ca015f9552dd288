// Files between the bot's disk and the Bot API: downloads of what users sent (grammY's files plugin only speaks
// https), and the form a finished file takes for sendDocument — a multipart upload, or with a self-hosted
// `telegram-bot-api --local` server, its path (tdlib/telegram-bot-api README, "Usage").
import fs from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { InputFile, type Api } from "grammy";
import type { Config } from "../config.js";

/**
 * The most a bot may upload per file (FACTS.md, Telegram): 50 MB through api.telegram.org, 2000 MB through a
 * `telegram-bot-api --local` server. Counted in decimal megabytes, the smaller reading of "MB", so a file at the
 * limit is never refused.
 */
export const TELEGRAM_UPLOAD_LIMIT = 50 * 1000 * 1000;
export const LOCAL_BOT_API_UPLOAD_LIMIT = 2000 * 1000 * 1000;

export function uploadLimitBytes(telegram: Pick<Config["telegram"], "localBotApi">): number {
  return telegram.localBotApi ? LOCAL_BOT_API_UPLOAD_LIMIT : TELEGRAM_UPLOAD_LIMIT;
}

/**
 * What sendDocument gets for a file on this host. A local server reads a `file://` URI itself (it percent-decodes
 * the path), so gigabytes do not stream over HTTP; Telegram names the document after the file on disk then.
 */
export function documentSource(telegram: Pick<Config["telegram"], "localBotApi">, absolutePath: string, fileName: string): InputFile | string {
  if (!path.isAbsolute(absolutePath)) throw new Error(`a document to send needs an absolute path, got ${JSON.stringify(absolutePath)}`);
  return telegram.localBotApi ? pathToFileURL(absolutePath).href : new InputFile(absolutePath, fileName);
}

/** A file a user sent earlier, by its file_id (getFile gives a fresh file_path). */
export async function fetchTelegramFileById(config: Config, api: Api, fileId: string): Promise<Buffer> {
  const file = await api.getFile(fileId);
  if (!file.file_path) throw new Error("Telegram gave no file_path for the upload; send it again");
  return fetchTelegramFile(config, file.file_path);
}

export async function fetchTelegramFile(config: Config, filePath: string): Promise<Buffer> {
  // A local server answers getFile with the file's absolute path on its disk and serves no /file/ downloads
  // (tdlib/telegram-bot-api README, "Moving a bot to a local server"; issue #381).
  if (config.telegram.localBotApi && path.isAbsolute(filePath)) {
    try {
      return await fs.readFile(filePath);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new Error(`cannot read ${filePath} that the local Bot API server gave (${code}); the bot must run where that server's files are (TELEGRAM_LOCAL_BOT_API)`);
    }
  }
  const res = await fetch(`${config.telegram.apiRoot}/file/bot${config.telegram.token}/${filePath}`);
  if (!res.ok) throw new Error(`Telegram refused the file download (HTTP ${res.status})`);
  return Buffer.from(await res.arrayBuffer());
}
