// /cancel <id> and Cancel buttons: ask the job engine to cancel; /cancel alone lists what can be cancelled.
import { Composer, InlineKeyboard } from "grammy";
import { FINAL_STATES } from "../../jobs/job-store.js";
import type { BotContext } from "../context.js";
import type { BotDeps } from "../deps.js";

const CANCEL_DATA = /^cancel:(\d+)$/;

/** Callback data of a Cancel button for a job; any feature may put one on its messages. */
export function cancelButtonData(jobId: number): string {
  return `cancel:${jobId}`;
}

export const CANCEL_USAGE = "Usage: /cancel <id>, e.g. /cancel 12. /jobs lists your jobs and their ids.";

export function cancelFeature(deps: Pick<BotDeps, "jobs" | "cancelJob">): Composer<BotContext> {
  const composer = new Composer<BotContext>();

  composer.command("cancel", async (ctx) => {
    const arg = ctx.match.trim().replace(/^#/, "");
    if (arg === "") return listCancellable(ctx, deps.jobs);
    if (!/^\d{1,12}$/.test(arg)) return void (await ctx.reply(CANCEL_USAGE));
    const result = await deps.cancelJob(Number(arg), ctx.from!.id);
    ctx.logger.info({ job_id: Number(arg), ok: result.ok }, "cancel requested");
    await ctx.reply(result.message);
  });

  composer.callbackQuery(CANCEL_DATA, async (ctx) => {
    const jobId = Number(ctx.match[1]);
    const result = await deps.cancelJob(jobId, ctx.from.id);
    ctx.logger.info({ job_id: jobId, ok: result.ok }, "cancel requested by button");
    await ctx.answerCallbackQuery({ text: result.message.slice(0, 200) });
  });

  return composer;
}

async function listCancellable(ctx: BotContext, jobs: BotDeps["jobs"]): Promise<void> {
  const running = jobs.listRecent(ctx.from!.id, 50).filter((j) => !FINAL_STATES.has(j.state));
  if (running.length === 0) {
    await ctx.reply(`You have no running jobs, so there is nothing to cancel. ${CANCEL_USAGE}`);
    return;
  }
  const keyboard = new InlineKeyboard();
  for (const job of running.slice(0, 10)) keyboard.text(`Cancel #${job.id}`, cancelButtonData(job.id)).row();
  const lines = running.map((j) => `#${j.id} ${j.kind} — ${j.state}`);
  await ctx.reply(`Running jobs:\n${lines.join("\n")}\n\nSend /cancel <id> or press a button.`, { reply_markup: keyboard });
}
