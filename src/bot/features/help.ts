// /help: what the bot does, with examples, and the command list (the same list Telegram's menu shows).
import { Composer } from "grammy";
import type { BotContext } from "../context.js";
import type { BotCommandSpec } from "../deps.js";
import { escapeHtml } from "../render/telegram-html.js";

export function helpText(commands: BotCommandSpec[]): string {
  const commandLines = commands
    .filter((c) => c.command !== "start")
    .map((c) => escapeHtml(c.usage ?? `/${c.command} — ${c.description}`));
  return [
    "<b>Dropship</b> runs throwaway cloud jobs from this chat and shows the cost before anything starts.",
    "",
    "<b>Download a torrent</b>",
    "Paste a magnet link, for example:",
    "<code>magnet:?xt=urn:btih:c9e15763f722f23e98a29decdfae341b98d53056&amp;dn=debian.iso</code>",
    "or send a <code>.torrent</code> file. I show the size and estimated cost; press Start and a droplet downloads it. " +
      "A torrent of several files lets you choose which to fetch (on the card of a .torrent, after the metadata for a magnet), " +
      "and the card offers to seed for a while after the download; /settings sets your defaults. " +
      "You get a download link (and the file itself when it fits Telegram's limit, unless you chose links only with /files off); the droplet is destroyed when done.",
    "",
    "<b>Check and run an Ansible playbook</b>",
    "Attach a playbook (<code>site.yml</code>) or a whole project (<code>.zip</code>, <code>.tar.gz</code> or <code>.tgz</code>, up to 20 MB). " +
      "I list the collections, roles and Python packages it needs, the ansible-core versions that fit, the vars_prompt questions " +
      "it will ask, names I cannot resolve, and the virtualenv that set of dependencies maps to. " +
      "If the project has several playbooks, name one in the caption: <code>entry: playbooks/site.yml</code>.",
    "Press <b>▶️ Run…</b> under the analysis to run it on one of your hosts: pick the host, answer its questions " +
      "(private answers are deleted from the chat as soon as I read them), check the card and press Start. " +
      "I build or reuse the virtualenv there, show each task as it runs, and send the recap and the full log. " +
      "The owner adds hosts with <code>/addhost web1 root@203.0.113.5</code>; I show the key to authorise and pin the host's key.",
    "",
    "<b>Commands</b>",
    ...commandLines,
  ].join("\n");
}

export function helpFeature(commands: BotCommandSpec[]): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  const text = helpText(commands);
  composer.command("help", (ctx) => ctx.reply(text, { parse_mode: "HTML", link_preview_options: { is_disabled: true } }));
  return composer;
}
