// Gives every update its own child logger, so each log line of an update carries its id (and who sent it).
import type { MiddlewareFn } from "grammy";
import type { Logger } from "../shared/logger.js";
import type { BotContext } from "./context.js";

export function updateLogger(logger: Logger): MiddlewareFn<BotContext> {
  return async (ctx, next) => {
    ctx.logger = logger.child({ update_id: ctx.update.update_id, chat_id: ctx.chat?.id, user_id: ctx.from?.id });
    const started = performance.now();
    await next();
    ctx.logger.debug({ ms: Math.round(performance.now() - started) }, "update handled");
  };
}
