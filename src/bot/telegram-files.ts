// Downloads files users sent from the Bot API's file endpoint (grammY's files plugin only speaks https).
import type { Api } from "grammy";
import type { Config } from "../config.js";

/** A file a user sent earlier, by its file_id (getFile gives a fresh file_path). */
export async function fetchTelegramFileById(config: Config, api: Api, fileId: string): Promise<Buffer> {
  const file = await api.getFile(fileId);
  if (!file.file_path) throw new Error("Telegram gave no file_path for the upload; send it again");
  return fetchTelegramFile(config, file.file_path);
}

export async function fetchTelegramFile(config: Config, filePath: string): Promise<Buffer> {
  const res = await fetch(`${config.telegram.apiRoot}/file/bot${config.telegram.token}/${filePath}`);
  if (!res.ok) throw new Error(`Telegram refused the file download (HTTP ${res.status})`);
  return Buffer.from(await res.arrayBuffer());
}
