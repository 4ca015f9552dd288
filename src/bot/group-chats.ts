// Group chats. Everyone in a group sees the bot's answers there — download links, files, host lists, the questions a
// playbook asks — and deleting a member's private answer needs admin rights the bot may not have. So with
// GROUP_MODE=private-only (the default) the bot works in private chats only: in a group, an allowed user's command for
// it gets one short answer pointing to the private chat, a button press gets the same as its answer, and everything
// else is ignored. GROUP_MODE=open runs every feature in groups too. Runs after access control (strangers never
// reach it) and before any feature or conversation.
import { InlineKeyboard, type Context, type MiddlewareFn } from "grammy";
import type { GroupMode } from "../config.js";
import type { Logger } from "../shared/logger.js";
import { isQueryTooOld } from "./press-answer.js";

export const GROUP_NOTE = "I work in private chats only, so links, files, hosts and questions stay between us.";

/** "/cmd" or "/cmd@this_bot" at the start of a message; a command for another bot is not ours to answer. */
function isCommandForMe(text: string | undefined, myUsername: string): boolean {
  const m = /^\/[A-Za-z0-9_]{1,32}(?:@([A-Za-z0-9_]{3,32}))?(?![A-Za-z0-9_@])/.exec(text ?? "");
  return m !== null && (m[1] === undefined || m[1].toLowerCase() === myUsername.toLowerCase());
}

export function groupChats<C extends Context>(mode: GroupMode, logger: Logger): MiddlewareFn<C> {
  return async (ctx, next) => {
    const type = ctx.chat?.type;
    if (mode === "open" || type === undefined || type === "private") return next();
    const log = logger.child({ update_id: ctx.update.update_id, chat_id: ctx.chat?.id, user_id: ctx.from?.id });
    const privateChat = `https://t.me/${ctx.me.username}`;
    if (ctx.callbackQuery) {
      log.info("a button in a group: pointed to the private chat");
      await ctx.answerCallbackQuery({ text: `${GROUP_NOTE} Open a private chat with @${ctx.me.username}.`, show_alert: true }).catch((err: unknown) => {
        if (!isQueryTooOld(err)) throw err;
      });
      return;
    }
    const message = ctx.message;
    if (message && isCommandForMe(message.text ?? message.caption, ctx.me.username)) {
      log.info("a command in a group: pointed to the private chat");
      await ctx.reply(`${GROUP_NOTE} Send it to me in a private chat.`, {
        reply_parameters: { message_id: message.message_id, allow_sending_without_reply: true },
        reply_markup: new InlineKeyboard().url(`Open a chat with @${ctx.me.username}`, privateChat),
      });
      return;
    }
    log.debug({ kind: Object.keys(ctx.update).find((k) => k !== "update_id") }, "ignored a group update (GROUP_MODE=private-only)");
  };
}
