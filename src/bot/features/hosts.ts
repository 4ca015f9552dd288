// /hosts, /addhost, /removehost: the machines playbooks run on. Adding connects once with the bot's key and pins
// the host key it offers; only the owner adds or removes, every allowed user may list.
import { Composer } from "grammy";
import { HostRegistryError, hostAddressText, parseHostAddress, type HostRegistry } from "../../hosts/host-registry.js";
import { HostConnectError } from "../../hosts/host.js";
import type { BotContext } from "../context.js";
import type { BotFeature } from "../deps.js";
import { code, escapeHtml, fitMessage } from "../render/telegram-html.js";

export interface HostsFeatureDeps {
  hosts: Pick<HostRegistry, "list" | "add" | "remove">;
  ownerId: number;
  /** The bot's authorized_keys line, shown when a host does not accept it yet. */
  botPublicKey: string;
}

export const ADDHOST_USAGE = "Usage: /addhost <name> <user>@<address>[:port], e.g. /addhost web1 root@203.0.113.5";

export function hostsFeature(deps: HostsFeatureDeps): BotFeature {
  const composer = new Composer<BotContext>();

  composer.command("hosts", async (ctx) => {
    const hosts = deps.hosts.list();
    if (hosts.length === 0) {
      await ctx.reply(`No hosts yet. ${ADDHOST_USAGE}`);
      return;
    }
    const lines = hosts.map((h) => `• <b>${escapeHtml(h.name)}</b> — ${code(hostAddressText(h))}\n  host key ${code(h.fingerprint)}`);
    await ctx.reply(fitMessage(["<b>Hosts</b>", ...lines].join("\n")), { parse_mode: "HTML" });
  });

  composer.command("addhost", async (ctx) => {
    if (ctx.from!.id !== deps.ownerId) return void (await ctx.reply("Only the owner can add hosts."));
    const [name, address, ...rest] = ctx.match.trim().split(/\s+/).filter(Boolean);
    if (!name || !address || rest.length > 0) return void (await ctx.reply(ADDHOST_USAGE));
    let where;
    try {
      where = parseHostAddress(address);
    } catch (err) {
      return void (await ctx.reply(`${(err as Error).message}. ${ADDHOST_USAGE}`));
    }
    await ctx.replyWithChatAction("typing");
    try {
      const h = await deps.hosts.add(name, where, ctx.from!.id);
      ctx.logger.info({ host: h.name, address: hostAddressText(h), fingerprint: h.fingerprint }, "host added");
      await ctx.reply(
        `✅ Added <b>${escapeHtml(h.name)}</b> (${code(hostAddressText(h))}).\n` +
          `Its host key ${code(h.fingerprint)} is now pinned: a machine offering another key there will be refused.`,
        { parse_mode: "HTML" },
      );
    } catch (err) {
      await ctx.reply(addFailure(err, hostAddressText(where), name, deps.botPublicKey), { parse_mode: "HTML" });
      if (!(err instanceof HostRegistryError || err instanceof HostConnectError)) ctx.logger.warn({ err }, "adding a host failed");
    }
  });

  composer.command("removehost", async (ctx) => {
    if (ctx.from!.id !== deps.ownerId) return void (await ctx.reply("Only the owner can remove hosts."));
    const name = ctx.match.trim();
    if (!name || /\s/.test(name)) return void (await ctx.reply("Usage: /removehost <name>; /hosts lists them."));
    const removed = deps.hosts.remove(name);
    if (removed) ctx.logger.info({ host: name }, "host removed");
    await ctx.reply(removed ? `Removed ${name}. Its virtualenvs stay on the machine until you delete them.` : `There is no host called ${name}; /hosts lists them.`);
  });

  return {
    name: "hosts",
    composer,
    commands: [
      { command: "hosts", description: "Hosts that run playbooks" },
      { command: "addhost", description: "Add a host (owner)", usage: "/addhost <name> <user>@<address>[:port] — add a host (owner)" },
      { command: "removehost", description: "Remove a host (owner)", usage: "/removehost <name> — forget a host (owner)" },
    ],
  };
}

function addFailure(err: unknown, where: string, name: string, publicKey: string): string {
  const shown = escapeHtml(where);
  if (err instanceof HostConnectError && err.kind === "not-authorised") {
    return (
      `🔑 <code>${shown}</code> does not accept the bot's key yet. Add this line to <code>~/.ssh/authorized_keys</code> ` +
      `of that user there, then send /addhost again:\n<pre>${escapeHtml(publicKey)}</pre>`
    );
  }
  if (err instanceof HostConnectError || err instanceof HostRegistryError) return `⚠️ Not added: ${escapeHtml(err.message)}`;
  return `⚠️ Could not add ${escapeHtml(name)} (${shown}): ${escapeHtml((err as Error).message)}`;
}
