// Answering a button press when the answer may come late. Telegram refuses an answer after about 15 s (or a second
// one) with "query is too old"; what the press did still stands and the edited message shows it, so that refusal is
// logged, not turned into "Something went wrong" by the error boundary.
import { GrammyError, type Context } from "grammy";
import type { LoggerFlavor } from "./context.js";

type AnswerOptions = Parameters<Context["answerCallbackQuery"]>[0];

export function isQueryTooOld(err: unknown): boolean {
  return err instanceof GrammyError && err.error_code === 400 && /query is too old|query id is invalid/i.test(err.description);
}

export async function answerPress(ctx: Context & LoggerFlavor, options?: AnswerOptions): Promise<void> {
  try {
    await ctx.answerCallbackQuery(options);
  } catch (err) {
    if (!isQueryTooOld(err)) throw err;
    ctx.logger.info({ data: ctx.callbackQuery?.data }, "answered a button press too late for Telegram; its effect stands");
  }
}
