// /jobs: the user's recent jobs with their state and cost (actual when known, else the estimate).
import { Composer } from "grammy";
import type { Job } from "../../jobs/job-store.js";
import type { BotContext } from "../context.js";
import type { BotDeps } from "../deps.js";
import { escapeHtml, formatAgo } from "../../shared/text-format.js";

const RECENT = 10;

export function jobsFeature(jobs: BotDeps["jobs"], now: () => number = Date.now): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  composer.command("jobs", async (ctx) => {
    const recent = jobs.listRecent(ctx.from!.id, RECENT);
    if (recent.length === 0) {
      await ctx.reply("You have no jobs yet. Paste a magnet link or attach a playbook to start one; /help has examples.");
      return;
    }
    const lines = recent.map((job) => formatJobLine(job, jobs.spendForJob(job.id), now()));
    await ctx.reply(`<b>Your recent jobs</b>\n${lines.join("\n")}`, { parse_mode: "HTML" });
  });
  return composer;
}

function formatJobLine(job: Job, spend: { estimate: number | null; actual: number | null }, nowMs: number): string {
  const name = jobName(job);
  const cost =
    spend.actual !== null ? `$${spend.actual.toFixed(2)}` : spend.estimate !== null ? `est. $${spend.estimate.toFixed(2)}` : "no cost yet";
  const parts = [`<b>#${job.id}</b> ${job.kind}`, escapeHtml(job.state), cost, formatAgo(nowMs - job.createdAt)];
  return parts.join(" · ") + (name ? `\n    ${escapeHtml(name)}` : "");
}

/** A human name for a job from whatever its kind recorded (torrent name, playbook file). */
function jobName(job: Job): string | undefined {
  for (const source of [job.data, job.input]) {
    for (const key of ["name", "title", "fileName", "file_name", "playbook"]) {
      const v = source[key];
      if (typeof v === "string" && v.trim() !== "") return v.length > 60 ? `${v.slice(0, 59)}…` : v;
    }
  }
  return undefined;
}
