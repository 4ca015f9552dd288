// Access control, the outermost middleware: only the owner and allowed users get service. A stranger gets one
// short refusal per private message (or per button press, as the callback answer) and nothing else happens.
import type { Context, MiddlewareFn } from "grammy";
import type { Config } from "../config.js";
import type { Logger } from "../shared/logger.js";

export const REFUSAL = "This is a private bot.";

function isAllowed(access: Config["access"], userId: number | undefined): boolean {
  return userId !== undefined && (userId === access.ownerId || access.allowedUserIds.includes(userId));
}

export function accessControl<C extends Context>(access: Config["access"], logger: Logger): MiddlewareFn<C> {
  return async (ctx, next) => {
    if (isAllowed(access, ctx.from?.id)) return next();
    const log = logger.child({ update_id: ctx.update.update_id, user_id: ctx.from?.id, chat_id: ctx.chat?.id });
    // Channel posts and other updates without a sender, group chatter, edits, member changes: ignored silently.
    if (ctx.callbackQuery) {
      log.info("refused a button press from a stranger");
      await ctx.answerCallbackQuery({ text: REFUSAL });
    } else if (ctx.message && ctx.chat?.type === "private") {
      log.info("refused a message from a stranger");
      await ctx.reply(REFUSAL);
    } else {
      log.debug({ kind: Object.keys(ctx.update).find((k) => k !== "update_id") }, "ignored an update from outside the allowlist");
    }
  };
}
