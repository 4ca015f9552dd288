// /cancel <id> and Cancel buttons: ask the job engine to cancel; /cancel alone lists what can be cancelled.
import { Composer, InlineKeyboard } from "grammy";
import { FINAL_STATES } from "../../jobs/job-store.js";
import { cancelJobButton } from "../callback-data.js";
import type { BotContext } from "../context.js";
import type { BotDeps } from "../deps.js";


export const CANCEL_USAGE = "Usage: /cancel <id>, e.g. /cancel 12. /jobs lists your jobs and their ids.";

export function cancelFeature(deps: Pick<BotDeps, "jobs" | "cancelJob">): Composer<BotContext> {
  const composer = new Composer<BotContext>();

  composer.command("cancel", async (ctx) => {
    const arg = ctx.match.trim().replace(/^#/, "");
    if (arg === "") return listCancellable(ctx, deps.jobs);
    if (!/^\d{1,12}$/.test(arg)) return void (await ctx.reply(CANCEL_USAGE));
    const result = await deps.cancelJob(Number(arg), ctx.from!.id);
    ctx.logger.info({ job_id: Number(arg), outcome: result.kind }, "cancel requested");
    await ctx.reply(result.message);
  });

  composer.callbackQuery(cancelJobButton.filter, async (ctx) => {
    const jobId = Number(cancelJobButton.unpack(ctx.callbackQuery.data)!.jobId);
    const result = await deps.cancelJob(jobId, ctx.from.id);
    ctx.logger.info({ job_id: jobId, outcome: result.kind }, "cancel requested by button");
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
  for (const job of running.slice(0, 10)) keyboard.text(`Cancel #${job.id}`, cancelJobButton.pack({ jobId: job.id })).row();
  const lines = running.map((j) => `#${j.id} ${j.kind} — ${j.state}`);
  await ctx.reply(`Running jobs:\n${lines.join("\n")}\n\nSend /cancel <id> or press a button.`, { reply_markup: keyboard });
}
