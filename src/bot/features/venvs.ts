// /venvs: the virtualenvs Dropship keeps on the bot's host and on registered hosts (size, last use, pinned/in use);
// `/venvs <host>` for one host, `/venvs remove <name> [host]` to delete one. The use-cases are in src/venv/host-venvs.ts.
import { Composer } from "grammy";
import { listHostVenvs, removeHostVenv, type HostVenvsDeps } from "../../venv/host-venvs.js";
import { formatVenvList } from "../../venv/venv-format.js";
import type { BotContext } from "../context.js";
import type { BotFeature } from "../deps.js";
import { escapeHtml, fitMessage } from "../render/telegram-html.js";

export interface VenvsFeatureDeps extends HostVenvsDeps {
  now?: () => number;
}

const USAGE = "Usage: /venvs to list them, /venvs <host> for one host, /venvs remove <name> [host] to delete one (the bot's own host is \"local\").";

export function venvsFeature(deps: VenvsFeatureDeps): BotFeature {
  const composer = new Composer<BotContext>();
  const now = deps.now ?? Date.now;
  composer.command("venvs", async (ctx) => {
    const words = ctx.match.trim().split(/\s+/).filter(Boolean);
    if (words.length <= 1 && words[0] !== "remove") {
      const answer = await listHostVenvs(deps, words[0]);
      const text = answer.ok ? `<pre>${escapeHtml(formatVenvList(answer.venvs ?? [], now()))}</pre>` : escapeHtml(answer.text);
      await ctx.reply(fitMessage(text), { parse_mode: "HTML" });
      return;
    }
    if (words[0] !== "remove" || words.length < 2 || words.length > 3) {
      await ctx.reply(USAGE);
      return;
    }
    const answer = await removeHostVenv(deps, ctx.from!.id, words[1]!, words[2]);
    await ctx.reply(answer.text);
  });
  return {
    name: "venvs",
    composer,
    commands: [
      {
        command: "venvs",
        description: "Virtualenvs on your hosts",
        usage: "/venvs — the virtualenvs on your hosts; /venvs <host> — on one host; /venvs remove <name> [host] — delete one",
      },
    ],
  };
}
