// The playbook feature: a .yml/.yaml playbook or a .zip/.tar.gz project in the chat is unpacked, analysed and
// answered with what it needs (collections, roles, Python packages, questions, the virtualenv), recorded as a job.
// The summary carries a "▶️ Run…" button (features/playbook-run.ts) when the venv could be named.
import { Composer, GrammyError, InlineKeyboard, InputFile } from "grammy";
import { AnalysisInputError } from "../../analysis/index.js";
import type { JobStore } from "../../jobs/job-store.js";
import { analyseUpload, type UploadAnalysis } from "../../jobs/playbook/analyse-upload.js";
import { UnpackError, projectUploadKind } from "../../jobs/playbook/unpack-project.js";
import type { BotContext } from "../context.js";
import type { BotFeature } from "../deps.js";
import { escapeHtml, fitMessage } from "../render/telegram-html.js";
import { runPlaybookButton } from "../callback-data.js";
import { renderPlaybookReportText, renderPlaybookSummary, reportFileName } from "../render/playbook-summary.js";

/** Telegram's getFile serves bots files up to 20 MB; anything larger cannot be downloaded at all. */
export const TELEGRAM_DOWNLOAD_MAX_BYTES = 20 * 1024 * 1024;

export interface PlaybookJobInput {
  fileName: string;
  /** Lets a later step (running it) fetch the same upload again; temp copies are never kept. */
  fileId: string;
  fileSize: number | null;
  /** The entry asked for in the caption, if any. */
  entry: string | null;
}

export interface PlaybookFeatureDeps {
  jobs: Pick<JobStore, "create" | "transition">;
  /** Downloads a file the user sent, by Telegram file_path. */
  fetchTelegramFile(filePath: string): Promise<Buffer>;
  /**
   * The Python version ("3.11.2") of the host the playbook would run from. A venv's name hashes the Python minor
   * version with the packages, so naming one needs it. Until choosing a host exists, that is the bot's own host.
   */
  controllerPython(): Promise<string>;
  /** Where uploads are unpacked (default: the OS temp dir). */
  tmpDir?: string;
}

/** `entry: playbooks/site.yml`, or a caption that is just a playbook path, names the entry playbook. */
export function entryFromCaption(caption: string | undefined): string | undefined {
  if (!caption) return undefined;
  const strip = (s: string) => s.replace(/^[`'"]+|[`'"]+$/g, "");
  const m = /(?:^|\s)entry\s*[:=]\s*(\S+)/i.exec(caption);
  if (m) return strip(m[1]!) || undefined;
  const only = strip(caption.trim());
  return /^\S+\.ya?ml$/i.test(only) ? only : undefined;
}

// Rounded up, so that 20 MB and one byte does not read as "20.0 MB".
const megabytes = (n: number) => `${(Math.ceil((n / 1024 / 1024) * 10) / 10).toFixed(1)} MB`;

export function playbookFeature(deps: PlaybookFeatureDeps): BotFeature {
  const composer = new Composer<BotContext>();
  let python: Promise<string> | null = null;
  /** Probed once per process; a failure is retried next time rather than remembered. */
  const controllerPython = async (): Promise<string | { error: string }> => {
    python ??= deps.controllerPython();
    try {
      return await python;
    } catch (err) {
      python = null;
      return { error: `the controller's Python version is unknown (${(err as Error).message})` };
    }
  };

  composer.on("message:document", async (ctx, next) => {
    const doc = ctx.msg.document;
    const fileName = doc.file_name ?? "";
    if (!projectUploadKind(fileName)) return next();
    const shown = escapeHtml(fileName);
    if ((doc.file_size ?? 0) > TELEGRAM_DOWNLOAD_MAX_BYTES) {
      await ctx.reply(tooBig(shown, megabytes(doc.file_size!)), { parse_mode: "HTML" });
      return;
    }
    const bytes = await download(ctx, shown);
    if (!bytes) return;
    const input: PlaybookJobInput = { fileName, fileId: doc.file_id, fileSize: doc.file_size ?? null, entry: entryFromCaption(ctx.msg.caption) ?? null };
    let analysis: UploadAnalysis;
    try {
      analysis = await analyseUpload(bytes, fileName, {
        ...(input.entry ? { entry: input.entry } : {}),
        pythonVersion: await controllerPython(),
        ...(deps.tmpDir ? { tmpDir: deps.tmpDir } : {}),
      });
    } catch (err) {
      if (!(err instanceof UnpackError || err instanceof AnalysisInputError)) throw err;
      const job = recordJob(ctx, input);
      deps.jobs.transition(job, "failed", { error: err.message });
      ctx.logger.info({ job_id: job, reason: err.message }, "playbook upload refused");
      await ctx.reply(refusal(shown, err), { parse_mode: "HTML" });
      return;
    }
    const job = recordJob(ctx, input);
    deps.jobs.transition(job, "analysed", { data: jobData(analysis) });
    const summary = renderPlaybookSummary(analysis, fileName, job);
    const run = "name" in analysis.venv ? { reply_markup: new InlineKeyboard().text("▶️ Run…", runPlaybookButton.pack({ jobId: job })) } : {};
    await ctx.reply(summary.html, { parse_mode: "HTML", link_preview_options: { is_disabled: true }, ...run });
    if (summary.shortened) {
      const report = Buffer.from(renderPlaybookReportText(analysis, fileName, job), "utf8");
      await ctx.replyWithDocument(new InputFile(report, reportFileName(fileName)), { caption: `Full analysis of ${fileName} (job #${job})` });
    }
  });

  function recordJob(ctx: BotContext, input: PlaybookJobInput): number {
    return deps.jobs.create({ kind: "playbook", ownerId: ctx.from!.id, chatId: ctx.chat!.id, state: "received", input }).id;
  }

  async function download(ctx: BotContext, shown: string): Promise<Buffer | null> {
    try {
      const file = await ctx.getFile();
      if (!file.file_path) throw new Error("Telegram gave no file_path");
      return await deps.fetchTelegramFile(file.file_path);
    } catch (err) {
      // The size is not always in the update; Telegram then refuses at getFile.
      if (err instanceof GrammyError && /file is too big/i.test(err.description)) {
        await ctx.reply(tooBig(shown, "over 20 MB"), { parse_mode: "HTML" });
        return null;
      }
      ctx.logger.warn({ err }, "could not download a playbook upload");
      await ctx.reply(`⚠️ I could not download <code>${shown}</code> from Telegram (${escapeHtml((err as Error).message)}). Please send it again.`, {
        parse_mode: "HTML",
      });
      return null;
    }
  }

  return { name: "playbook", composer, commands: [] };
}

function tooBig(shown: string, size: string): string {
  return (
    `⚠️ <code>${shown}</code> is ${size}; Telegram lets bots download files up to 20 MB. ` +
    "Leave out what the playbook does not need (.git, build artefacts, large files) and send it again."
  );
}

function refusal(shown: string, err: UnpackError | AnalysisInputError): string {
  // The analysis words its messages for the CLI; in the chat the entry is chosen with the caption.
  let message = err.message.replace(/--entry/g, "a caption such as entry: site.yml");
  if (err instanceof AnalysisInputError && err.file && !message.includes(err.file)) {
    message += ` (at ${err.file}${err.line ? `:${err.line}` : ""})`;
  }
  const what = err instanceof UnpackError ? "I can't use" : "I could not analyse";
  return fitMessage(`⚠️ ${what} <code>${shown}</code>: ${escapeHtml(message)}`);
}

function jobData(a: UploadAnalysis): Record<string, unknown> {
  const r = a.result;
  return {
    entry: r.entry,
    dependencySet: r.dependencySet,
    venv: "name" in a.venv ? a.venv.name : null,
    ...("name" in a.venv ? { venvPythonVersion: a.venv.pythonVersion } : { venvError: a.venv.error }),
    varsPrompt: r.varsPrompt,
    counts: {
      files: r.stats.files,
      tasks: r.stats.tasks,
      collections: r.collections.length,
      roles: r.roles.length,
      pythonController: r.python.controller.length,
      pythonTarget: r.python.target.length,
      varsPrompt: r.varsPrompt.length,
      unresolved: r.unresolved.length,
      warnings: r.warnings.length,
    },
    project: a.project,
  };
}
