// /venvs: the virtualenvs Dropship keeps on each host (size, last use, pinned/in use), and `/venvs remove <name>`.
import { Composer } from "grammy";
import type { Host } from "../../hosts/host.js";
import type { VenvManager } from "../../venv/venv-manager.js";
import { formatVenvList } from "../../venv/venv-format.js";
import type { BotContext } from "../context.js";
import type { BotFeature } from "../deps.js";
import { escapeHtml, fitMessage } from "../render/telegram-html.js";

export interface VenvsFeatureDeps {
  venvs: Pick<VenvManager, "list" | "remove">;
  /** The hosts the bot knows, by label (the bot's own host is "local"). */
  host(label: string): Host | undefined;
  ownerId: number;
  now?: () => number;
}

export function venvsFeature(deps: VenvsFeatureDeps): BotFeature {
  const composer = new Composer<BotContext>();
  const now = deps.now ?? Date.now;
  composer.command("venvs", async (ctx) => {
    const [verb, ...rest] = ctx.match.trim().split(/\s+/).filter(Boolean);
    if (!verb) {
      const live = deps.venvs.list().filter((v) => v.status !== "removed");
      await ctx.reply(fitMessage(`<pre>${escapeHtml(formatVenvList(live, now()))}</pre>`), { parse_mode: "HTML" });
      return;
    }
    if (verb !== "remove" || rest.length === 0 || rest.length > 2) {
      await ctx.reply("Usage: /venvs to list them, /venvs remove <name> [host] to delete one.");
      return;
    }
    // Removing files on a host is the owner's call; other users may only look.
    if (ctx.from!.id !== deps.ownerId) {
      await ctx.reply("Only the owner can remove virtualenvs.");
      return;
    }
    const [name, hostLabel] = rest as [string, string | undefined];
    const candidates = deps.venvs.list().filter((v) => v.name === name && v.status !== "removed" && (!hostLabel || v.host === hostLabel));
    if (candidates.length !== 1) {
      await ctx.reply(
        candidates.length === 0
          ? `There is no virtualenv ${name}${hostLabel ? ` on ${hostLabel}` : ""}; /venvs lists them.`
          : `${name} exists on several hosts (${candidates.map((c) => c.host).join(", ")}); add the host: /venvs remove ${name} <host>`,
      );
      return;
    }
    const host = deps.host(candidates[0]!.host);
    if (!host) {
      await ctx.reply(`The host ${candidates[0]!.host} is not known to this bot any more; nothing was removed.`);
      return;
    }
    try {
      await deps.venvs.remove(host, name);
      await ctx.reply(`Removed ${name} from ${host.label}.`);
    } catch (err) {
      await ctx.reply(`Not removed: ${(err as Error).message}`);
    }
  });
  return {
    name: "venvs",
    composer,
    commands: [{ command: "venvs", description: "Virtualenvs on your hosts", usage: "/venvs — the virtualenvs on your hosts; /venvs remove <name> — delete one" }],
  };
}
