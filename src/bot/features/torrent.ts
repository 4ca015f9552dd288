// The torrent feature: magnet links and .torrent documents get a cost card; its Start/Cancel buttons drive the job.
import { Composer, InlineKeyboard } from "grammy";
import type { JobStore } from "../../jobs/job-store.js";
import type { TorrentJobInput } from "../../jobs/torrent/torrent-job.js";
import type { TorrentQuote, TorrentQuoter } from "../../jobs/torrent/torrent-quote.js";
import { parseTorrentLinks } from "../../jobs/torrent/parse-magnet.js";
import { parseTorrentFile } from "../../jobs/torrent/parse-torrent-file.js";
import type { TorrentRequest } from "../../jobs/torrent/torrent-request.js";
import type { BotContext } from "../context.js";
import type { BotFeature } from "../deps.js";
import { escapeHtml, formatSpeed, renderCancelled, renderTorrentCard } from "../render/index.js";
import type { TorrentPresenter } from "../presenters/torrent-presenter.js";
import { torrentCardButton } from "../callback-data.js";

/** A .torrent is metadata only; anything bigger is not one (and getFile stops at 20 MB anyway). */
const TORRENT_FILE_MAX_BYTES = 10 * 1024 * 1024;

export interface TorrentFeatureDeps {
  jobs: JobStore;
  quoter: Pick<TorrentQuoter, "quote" | "budgetBlocker">;
  runner: { start(jobId: number): void; cancel(jobId: number): Promise<boolean>; isRunning(jobId: number): boolean };
  presenter: Pick<TorrentPresenter, "attach">;
  /** Downloads a file the user sent, by Telegram file_path. */
  fetchTelegramFile(filePath: string): Promise<Buffer>;
  /** A card's buttons stop working after this long. */
  cardTtlMs: number;
  now?: () => number;
}

export function torrentFeature(deps: TorrentFeatureDeps): BotFeature {
  const composer = new Composer<BotContext>();
  const now = deps.now ?? Date.now;

  composer.on(["message:text", "message:caption"], async (ctx, next) => {
    const text = ctx.msg.text ?? ctx.msg.caption ?? "";
    if (!/magnet:/i.test(text)) return next();
    const { magnets, errors } = parseTorrentLinks(text);
    for (const e of errors) {
      await ctx.reply(`⚠️ That magnet link is broken: ${escapeHtml(e.message)}`, { parse_mode: "HTML" });
    }
    for (const m of magnets) await sendCard(ctx, m);
  });

  composer.on("message:document", async (ctx, next) => {
    const doc = ctx.msg.document;
    const isTorrent = doc.mime_type === "application/x-bittorrent" || /\.torrent$/i.test(doc.file_name ?? "");
    if (!isTorrent) return next();
    if ((doc.file_size ?? 0) > TORRENT_FILE_MAX_BYTES) {
      await ctx.reply("⚠️ That file is too large to be a .torrent (over 10 MB). Send the .torrent file itself, or its magnet link.");
      return;
    }
    const file = await ctx.getFile();
    if (!file.file_path) throw new Error("Telegram gave no file_path for the .torrent document");
    let req: TorrentRequest;
    try {
      req = await parseTorrentFile(await deps.fetchTelegramFile(file.file_path));
    } catch (err) {
      await ctx.reply(`⚠️ That is not a usable .torrent file: ${escapeHtml((err as Error).message)}`, { parse_mode: "HTML" });
      return;
    }
    await sendCard(ctx, req);
  });

  composer.callbackQuery(/^t:/, async (ctx) => {
    const press = torrentCardButton.unpack(ctx.callbackQuery.data);
    const job = press ? deps.jobs.get<TorrentJobInput>(Number(press.jobId)) : undefined;
    if (!press || !job || job.kind !== "torrent") {
      await ctx.answerCallbackQuery({ text: "This button is not valid any more." });
      return;
    }
    // Only the user who sent the torrent may press its buttons, in whatever chat the card is.
    if (job.ownerId !== ctx.from.id) {
      await ctx.answerCallbackQuery({ text: "Only the person who sent this torrent can use its buttons.", show_alert: true });
      return;
    }
    if (press.action === "start") await onStart(ctx, job.id, job.state, job.createdAt);
    else await onCancel(ctx, job.id, job.state, job.input.name);
  });

  async function sendCard(ctx: BotContext, req: TorrentRequest): Promise<void> {
    const quote = await deps.quoter.quote({ sizeBytes: req.sizeBytes, hasTorrentFile: Boolean(req.torrentFile) });
    const input: TorrentJobInput = {
      infoHash: req.infoHash,
      name: req.name,
      sizeBytes: req.sizeBytes,
      magnetUri: req.magnetUri,
      torrentFile: req.torrentFile ? req.torrentFile.toString("base64") : null,
    };
    const job = deps.jobs.create({ kind: "torrent", ownerId: ctx.from!.id, chatId: ctx.chat!.id, state: "estimated", input });
    if (quote.usd !== null) deps.jobs.recordSpend({ jobId: job.id, userId: ctx.from!.id, kind: "estimate", usd: quote.usd });
    const card = renderTorrentCard({
      name: req.name,
      sizeBytes: req.sizeBytes,
      fileCount: req.files?.length ?? null,
      infoHash: req.infoHash,
      sizeSlug: quote.size,
      region: quote.region,
      priceHourlyUsd: quote.priceHourly,
      estimate: cardEstimate(quote),
      speedNote:
        quote.speed.source === "history"
          ? `Download speed ${formatSpeed(quote.speed.bytesPerSecond)}: the median of the last ${quote.speed.samples} downloads.`
          : null,
      notes: quote.blocker ? [`Start is blocked: ${quote.blocker}`] : [],
    });
    const keyboard = new InlineKeyboard()
      .text("▶️ Start", torrentCardButton.pack({ action: "start", jobId: job.id }))
      .text("✖️ Cancel", torrentCardButton.pack({ action: "cancel", jobId: job.id }));
    const sent = await ctx.reply(card.text, { parse_mode: "HTML", reply_markup: keyboard, link_preview_options: { is_disabled: true } });
    deps.jobs.patchData(job.id, { cardMessageId: sent.message_id, size: quote.size, region: quote.region, priceHourly: quote.priceHourly, estimateUsd: quote.usd, estimateSeconds: quote.seconds });
  }

  async function onStart(ctx: BotContext, jobId: number, state: string, createdAt: number): Promise<void> {
    if (state !== "estimated") {
      const already = state === "cancelled" || state === "failed" || state === "done" ? "This card has expired." : "Already started.";
      await ctx.answerCallbackQuery({ text: already });
      return;
    }
    if (now() - createdAt > deps.cardTtlMs) {
      if (deps.jobs.transitionIf(jobId, "estimated", "cancelled", { detail: "card expired" })) {
        await ctx.editMessageReplyMarkup({ reply_markup: { inline_keyboard: [] } });
      }
      await ctx.answerCallbackQuery({ text: "This card has expired; send the link again.", show_alert: true });
      return;
    }
    const job = deps.jobs.get<TorrentJobInput, { estimateUsd?: number | null }>(jobId)!;
    const blocker = deps.quoter.budgetBlocker(job.data.estimateUsd ?? null);
    if (blocker) {
      await ctx.answerCallbackQuery({ text: `Not started: ${blocker}`, show_alert: true });
      return;
    }
    // The atomic state change is the lock: of two presses, only one moves the job out of "estimated".
    if (!deps.jobs.transitionIf(jobId, "estimated", "approved")) {
      await ctx.answerCallbackQuery({ text: "Already started." });
      return;
    }
    await ctx.answerCallbackQuery({ text: "Starting…" });
    deps.presenter.attach(jobId, ctx.chat!.id, ctx.callbackQuery!.message!.message_id);
    deps.runner.start(jobId);
  }

  async function onCancel(ctx: BotContext, jobId: number, state: string, name: string | null): Promise<void> {
    if (state === "estimated" && deps.jobs.transitionIf(jobId, "estimated", "cancelled", { detail: "cancelled on the card" })) {
      await ctx.answerCallbackQuery({ text: "Cancelled." });
      await ctx.editMessageText(renderCancelled({ name, createdNothing: true }).text, { parse_mode: "HTML", reply_markup: { inline_keyboard: [] } });
      return;
    }
    if (deps.runner.isRunning(jobId)) {
      await ctx.answerCallbackQuery({ text: "Cancelling: destroying the droplet…" });
      // Not awaited: the runner reports the outcome through the progress message.
      void deps.runner.cancel(jobId);
      return;
    }
    await ctx.answerCallbackQuery({ text: "This job has already finished." });
  }

  return {
    name: "torrent",
    composer,
    commands: [],
  };
}

function cardEstimate(q: TorrentQuote) {
  const e = q.estimate;
  if (!e) return { seconds: null, usd: null, breakdown: [] };
  if (!e.known) return { seconds: null, usd: null, usdPerGb: e.perGib.usd, secondsPerGb: e.perGib.seconds, breakdown: [{ label: "boot", seconds: e.fixed.seconds }] };
  return {
    seconds: e.seconds.total,
    usd: e.usd.total,
    breakdown: [
      { label: "boot", seconds: e.seconds.boot },
      { label: "metadata", seconds: e.seconds.metadata },
      { label: "download", seconds: e.seconds.download },
      { label: "transfer", seconds: e.seconds.transfer },
    ],
  };
}
