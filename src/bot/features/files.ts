// /files on|off: whether this user's finished downloads also arrive as Telegram documents (up to 50 MB each).
import { Composer } from "grammy";
import type { UserSettings } from "../../jobs/user-settings.js";
import type { BotContext } from "../context.js";
import type { BotFeature } from "../deps.js";

export function filesFeature(deps: { settings: UserSettings; ownerId: number }): BotFeature {
  const composer = new Composer<BotContext>();
  composer.command("files", async (ctx) => {
    const userId = ctx.from!.id;
    const arg = ctx.match.trim().toLowerCase();
    if (arg === "on" || arg === "off") {
      deps.settings.setSendFiles(userId, userId === deps.ownerId ? "owner" : "user", arg === "on");
    } else if (arg !== "") {
      await ctx.reply("Usage: /files on — also send finished files (up to 50 MB) as documents; /files off — links only.");
      return;
    }
    const on = deps.settings.sendFiles(userId);
    await ctx.reply(
      on
        ? "Finished files up to 50 MB also arrive here as documents, besides the download links. /files off for links only."
        : "You get download links only. /files on to also receive files up to 50 MB as documents.",
    );
  });
  return {
    name: "files",
    composer,
    commands: [{ command: "files", description: "Also receive files as documents (on/off)", usage: "/files on|off — also receive finished files up to 50 MB as documents" }],
  };
}
