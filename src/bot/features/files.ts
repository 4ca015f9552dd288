// /files on|off: whether this user's finished downloads also arrive as Telegram documents (up to the Bot API's upload
// limit each: 50 MB, or 2000 MB with a local Bot API server).
import { Composer } from "grammy";
import type { UserSettings } from "../../jobs/user-settings.js";
import type { BotContext } from "../context.js";
import type { BotFeature } from "../deps.js";
import { formatUploadLimit } from "../render/torrent-delivery.js";

export function filesFeature(deps: { settings: UserSettings; ownerId: number; uploadLimitBytes: number }): BotFeature {
  const composer = new Composer<BotContext>();
  const limit = formatUploadLimit(deps.uploadLimitBytes);
  composer.command("files", async (ctx) => {
    const userId = ctx.from!.id;
    const arg = ctx.match.trim().toLowerCase();
    if (arg === "on" || arg === "off") {
      deps.settings.setSendFiles(userId, userId === deps.ownerId ? "owner" : "user", arg === "on");
    } else if (arg !== "") {
      await ctx.reply(`Usage: /files on — also send finished files (up to ${limit}) as documents; /files off — links only.`);
      return;
    }
    const on = deps.settings.sendFiles(userId);
    await ctx.reply(
      on
        ? `Finished files up to ${limit} also arrive here as documents, besides the download links. /files off for links only.`
        : `You get download links only. /files on to also receive files up to ${limit} as documents.`,
    );
  });
  return {
    name: "files",
    composer,
    commands: [{ command: "files", description: "Also receive files as documents (on/off)", usage: `/files on|off — also receive finished files up to ${limit} as documents` }],
  };
}
