// /hosts, /addhost, /removehost and the share panels: the machines playbooks run on, and who may use each. Every
// allowed user may add hosts, which they then own; the bot's owner may add one for someone else. Adding connects
// once with the bot's key and pins the host key it offers. Who may do what is HostAccess's (src/hosts/host-access.ts).
import { Composer, GrammyError, type InlineKeyboard } from "grammy";
import type { HostAccess } from "../../hosts/host-access.js";
import { HostRegistryError, hostAddressText, parseHostAddress } from "../../hosts/host-registry.js";
import { HostConnectError } from "../../hosts/host.js";
import { hostListButton, hostPanelButton, hostShareButton } from "../callback-data.js";
import type { BotContext } from "../context.js";
import type { BotFeature } from "../deps.js";
import { answerPress } from "../press-answer.js";
import { renderHostList, renderSharePanel } from "../render/hosts.js";
import { code, escapeHtml } from "../render/telegram-html.js";
import { personLabel } from "../user-names.js";

export interface HostsFeatureDeps {
  access: Pick<HostAccess, "visibleTo" | "add" | "remove" | "sharing" | "setShared">;
  /** The name last seen for a user, if any (KnownUsers). */
  nameOf(userId: number): string | undefined;
  /** The bot's authorized_keys line, shown when a host does not accept it yet. */
  botPublicKey: string;
}

export const ADDHOST_USAGE = "Usage: /addhost <name> <user>@<address>[:port], e.g. /addhost web1 root@203.0.113.5";
const ADDHOST_FOR = "The bot's owner may add one for another user: /addhost <name> <user>@<address> for <user id>.";

/** "/addhost web1 root@host" or "… for 1002": the words, or null when they do not fit that form. */
function parseAddHost(text: string): { name: string; address: string; forUserId?: number } | null {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const [name, address, word, id, ...rest] = words;
  if (!name || !address || rest.length > 0) return null;
  if (word === undefined) return { name, address };
  if (word !== "for" || !id || !/^\d{1,16}$/.test(id)) return null;
  return { name, address, forUserId: Number(id) };
}

export function hostsFeature(deps: HostsFeatureDeps): BotFeature {
  const composer = new Composer<BotContext>();
  const listFor = (userId: number) => {
    const views = deps.access.visibleTo(userId);
    if (views.length === 0) return { text: escapeHtml(`You have no hosts yet, and none is shared with you. ${ADDHOST_USAGE}`) };
    return renderHostList(views, userId, deps.nameOf);
  };

  composer.command("hosts", async (ctx) => {
    const { text, keyboard } = listFor(ctx.from!.id);
    await ctx.reply(text, { parse_mode: "HTML", ...(keyboard ? { reply_markup: keyboard } : {}) });
  });

  composer.command("addhost", async (ctx) => {
    const args = parseAddHost(ctx.match);
    if (!args) return void (await ctx.reply(`${ADDHOST_USAGE}\n${ADDHOST_FOR}`));
    let where;
    try {
      where = parseHostAddress(args.address);
    } catch (err) {
      return void (await ctx.reply(`${(err as Error).message}. ${ADDHOST_USAGE}`));
    }
    await ctx.replyWithChatAction("typing");
    try {
      const h = await deps.access.add(ctx.from!.id, args.name, where, args.forUserId);
      ctx.logger.info({ host: h.name, address: hostAddressText(h), fingerprint: h.fingerprint, owner_id: h.ownerId }, "host added");
      const owner = h.ownerId === ctx.from!.id ? "It is yours: only you run playbooks on it until you share it (/hosts)." : `It belongs to ${escapeHtml(personLabel(h.ownerId!, ctx.from!.id, deps.nameOf))}, who decides who else may use it.`;
      await ctx.reply(
        `✅ Added <b>${escapeHtml(h.name)}</b> (${code(hostAddressText(h))}).\n` +
          `Its host key ${code(h.fingerprint)} is now pinned: a machine offering another key there will be refused.\n${owner}`,
        { parse_mode: "HTML" },
      );
    } catch (err) {
      await ctx.reply(addFailure(err, hostAddressText(where), args.name, deps.botPublicKey), { parse_mode: "HTML" });
      if (!(err instanceof HostRegistryError || err instanceof HostConnectError)) ctx.logger.warn({ err }, "adding a host failed");
    }
  });

  composer.command("removehost", async (ctx) => {
    const name = ctx.match.trim();
    if (!name || /\s/.test(name)) return void (await ctx.reply("Usage: /removehost <name>; /hosts lists yours."));
    const outcome = deps.access.remove(ctx.from!.id, name);
    if (!outcome.ok) return void (await ctx.reply(outcome.message));
    ctx.logger.info({ host: name }, "host removed");
    await ctx.reply(`Removed ${name}. Its virtualenvs stay on the machine until you delete them.`);
  });

  composer.callbackQuery(hostPanelButton.filter, async (ctx) => {
    const outcome = deps.access.sharing(ctx.from.id, Number(hostPanelButton.unpack(ctx.callbackQuery.data)!.hostId));
    if (!outcome.ok) return answerPress(ctx, { text: outcome.message, show_alert: true });
    await answerPress(ctx);
    const { text, keyboard } = renderSharePanel(outcome.host, outcome, ctx.from.id, deps.nameOf);
    await showInPlace(ctx, text, keyboard);
  });

  composer.callbackQuery(hostShareButton.filter, async (ctx) => {
    const p = hostShareButton.unpack(ctx.callbackQuery.data)!;
    const [hostId, userId, on] = [Number(p.hostId), Number(p.userId), p.action === "on"];
    const outcome = deps.access.setShared(ctx.from.id, hostId, userId, on);
    if (!outcome.ok) return answerPress(ctx, { text: outcome.message, show_alert: outcome.reason === "not-allowed" });
    if (outcome.changed) ctx.logger.info({ host: outcome.host.name, user_id_shared: userId, shared: on }, on ? "host shared" : "host unshared");
    const who = personLabel(userId, ctx.from.id, deps.nameOf);
    await answerPress(ctx, { text: on ? `${outcome.host.name}: ${who} may run playbooks on it.` : `${outcome.host.name}: ${who} may no longer run playbooks on it.` });
    const panel = deps.access.sharing(ctx.from.id, hostId);
    if (!panel.ok) return;
    const { text, keyboard } = renderSharePanel(panel.host, panel, ctx.from.id, deps.nameOf);
    await showInPlace(ctx, text, keyboard);
  });

  composer.callbackQuery(hostListButton.filter, async (ctx) => {
    await answerPress(ctx);
    const { text, keyboard } = listFor(ctx.from.id);
    await showInPlace(ctx, text, keyboard);
  });

  return {
    name: "hosts",
    composer,
    commands: [
      { command: "hosts", description: "Your hosts, and who may use them" },
      { command: "addhost", description: "Add a host you own", usage: "/addhost <name> <user>@<address>[:port] [for <user id>] — add a host (yours; the bot's owner may add one for someone)" },
      { command: "removehost", description: "Remove a host you own", usage: "/removehost <name> — forget a host (its owner or the bot's owner)" },
    ],
  };
}

/** Edits the pressed message into `text`; the same text again (a stale or double press) is not an error. */
async function showInPlace(ctx: BotContext, text: string, keyboard?: InlineKeyboard): Promise<void> {
  try {
    await ctx.editMessageText(text, { parse_mode: "HTML", ...(keyboard ? { reply_markup: keyboard } : {}) });
  } catch (err) {
    if (!(err instanceof GrammyError && /message is not modified/.test(err.description))) throw err;
  }
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
