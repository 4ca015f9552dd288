// The error boundary: logs the failure with the update id and an error id, and tells the user only that id —
// never a stack trace, an API URL or a secret.
import { randomBytes } from "node:crypto";
import type { BotError } from "grammy";
import type { Logger } from "../shared/logger.js";
import type { BotContext } from "./context.js";

function userErrorMessage(errorId: string): string {
  return `Something went wrong; the error was logged as ${errorId}.`;
}

export function handleBotError(fallbackLogger: Logger): (err: BotError<BotContext>) => Promise<void> {
  return async (err) => {
    const ctx = err.ctx;
    const errorId = randomBytes(4).toString("hex");
    const log = ctx.logger ?? fallbackLogger.child({ update_id: ctx.update.update_id });
    log.error({ err: err.error, error_id: errorId }, "handling an update failed");
    try {
      if (ctx.callbackQuery) await ctx.answerCallbackQuery({ text: userErrorMessage(errorId) }).catch(() => undefined);
      if (ctx.chat && ctx.chat.type !== "channel") await ctx.reply(userErrorMessage(errorId));
    } catch (replyErr) {
      log.warn({ err: replyErr, error_id: errorId }, "could not tell the user about the error");
    }
  };
}
