// /start: a short greeting that says what Dropship is and points at /help.
import { Composer } from "grammy";
import type { BotContext } from "../context.js";
import { escapeHtml } from "../render/telegram-html.js";

export function startFeature(): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  composer.command("start", async (ctx) => {
    const name = escapeHtml(ctx.from?.first_name ?? "there");
    await ctx.reply(
      `Hi ${name}! I'm <b>Dropship</b>: I turn chat messages into short-lived cloud jobs.\n\n` +
        "• Paste a magnet link or send a .torrent file, and a throwaway server downloads it for you.\n" +
        "• Attach an Ansible playbook (or a .zip / .tar.gz project), and I run it with the right collections and packages.\n\n" +
        "/help shows examples and commands.",
      { parse_mode: "HTML" },
    );
  });
  return composer;
}
