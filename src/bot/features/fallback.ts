// The catch-all, last in the chain: a short hint for messages nothing else handled, and an answer for stale buttons.
import { Composer } from "grammy";
import type { BotContext } from "../context.js";

export const HINT =
  "I did not recognise that. Paste a magnet link, send a .torrent file, or attach a playbook (.yml) or project archive (.zip, .tar.gz) to analyse. /help has examples.";
export const UNKNOWN_COMMAND = "I don't know that command. /help lists what I can do.";
export const UNUSABLE_FILE =
  "I can't use this file. What works: a .torrent file (to download it), or an Ansible playbook (.yml, .yaml) or project archive " +
  "(.zip, .tar.gz, .tgz) to analyse what it needs. /help has examples.";
const STALE_BUTTON = "This button no longer works.";

export function fallbackFeature(): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  const privateChats = composer.chatType("private");
  privateChats
    .on("message:text")
    .filter((ctx) => ctx.msg.entities?.[0]?.type === "bot_command" && ctx.msg.entities[0].offset === 0)
    .use((ctx) => ctx.reply(UNKNOWN_COMMAND));
  privateChats.on("message:document", (ctx) => ctx.reply(UNUSABLE_FILE));
  privateChats.on("message", (ctx) => ctx.reply(HINT));
  composer.on("callback_query", (ctx) => ctx.answerCallbackQuery({ text: STALE_BUTTON }));
  return composer;
}
