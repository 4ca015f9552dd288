// The playbook feature: a .yml/.yaml playbook or a .zip/.tar.gz project in the chat is unpacked, analysed and
// answered with what it needs (collections, roles, Python packages, questions, the virtualenv), recorded as a job.
// The summary carries a "▶️ Run…" button (features/playbook-run.ts) when the venv could be named.
import { Composer, GrammyError, InlineKeyboard, InputFile } from "grammy";
import { AnalysisInputError } from "../../analysis/index.js";
import type { JobStore } from "../../jobs/job-store.js";
import { analysePlaybookUpload, cachedControllerPython, type PlaybookJobInput, type PlaybookUploadDeps } from "../../jobs/playbook/playbook-upload-job.js";
import { UnpackError, projectUploadKind } from "../../jobs/playbook/unpack-project.js";
import { RoleFetchError, type RoleStager } from "../../venv/role-closure.js";
import type { BotContext } from "../context.js";
import type { BotFeature } from "../deps.js";
import { escapeHtml, fitMessage } from "../render/telegram-html.js";
import { runPlaybookButton } from "../callback-data.js";
import { renderPlaybookReportText, renderPlaybookSummary, reportFileName } from "../render/playbook-summary.js";

/** Telegram's getFile serves bots files up to 20 MB; anything larger cannot be downloaded at all. */
export const TELEGRAM_DOWNLOAD_MAX_BYTES = 20 * 1024 * 1024;

export interface PlaybookFeatureDeps {
  jobs: Pick<JobStore, "create" | "transition">;
  /** Downloads a file the user sent, by Telegram file_path. */
  fetchTelegramFile(filePath: string): Promise<Buffer>;
  /**
   * The Python version ("3.11.2") of the host the playbook would run from. A venv's name hashes the Python minor
   * version with the packages, so naming one needs it. Until choosing a host exists, that is the bot's own host.
   */
  controllerPython(): Promise<string>;
  /** Fetches the roles a project installs, so their content is analysed too (null: they are not read). */
  roleStager: RoleStager | null;
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
  const uploads: PlaybookUploadDeps = {
    jobs: deps.jobs,
    controllerPython: cachedControllerPython(deps.controllerPython),
    roleStager: deps.roleStager,
    ...(deps.tmpDir ? { tmpDir: deps.tmpDir } : {}),
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
    // Fetching roles takes seconds: the first progress step gets a status message, which the answer then replaces.
    let status: Promise<number | null> | null = null;
    const onProgress = (text: string) => {
      status ??= ctx.reply(`⏳ ${escapeHtml(text)} to see what they need…`, { parse_mode: "HTML" }).then((m) => m.message_id, () => null);
    };
    const outcome = await analysePlaybookUpload(uploads, { ownerId: ctx.from!.id, chatId: ctx.chat.id, input, bytes }, onProgress);
    const job = outcome.jobId;
    const statusId = await (status ?? Promise.resolve(null));
    if (statusId !== null) await ctx.api.deleteMessage(ctx.chat.id, statusId).catch(() => undefined);
    if (outcome.kind === "refused") {
      ctx.logger.info({ job_id: job, reason: outcome.error.message }, "playbook upload refused");
      await ctx.reply(refusal(shown, outcome.error), { parse_mode: "HTML" });
      return;
    }
    const summary = renderPlaybookSummary(outcome.analysis, fileName, job);
    const run = "name" in outcome.analysis.venv ? { reply_markup: new InlineKeyboard().text("▶️ Run…", runPlaybookButton.pack({ jobId: job })) } : {};
    await ctx.reply(summary.html, { parse_mode: "HTML", link_preview_options: { is_disabled: true }, ...run });
    if (summary.shortened) {
      const report = Buffer.from(renderPlaybookReportText(outcome.analysis, fileName, job), "utf8");
      await ctx.replyWithDocument(new InputFile(report, reportFileName(fileName)), { caption: `Full analysis of ${fileName} (job #${job})` });
    }
  });

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

function refusal(shown: string, err: UnpackError | AnalysisInputError | RoleFetchError): string {
  // The analysis words its messages for the CLI; in the chat the entry is chosen with the caption.
  let message = err.message.replace(/--entry/g, "a caption such as entry: site.yml");
  if (err instanceof AnalysisInputError && err.file && !message.includes(err.file)) {
    message += ` (at ${err.file}${err.line ? `:${err.line}` : ""})`;
  }
  const what = err instanceof UnpackError ? "I can't use" : err instanceof RoleFetchError ? "I could not fetch a role for" : "I could not analyse";
  return fitMessage(`⚠️ ${what} <code>${shown}</code>: ${escapeHtml(message)}`);
}
