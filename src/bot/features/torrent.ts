// The torrent feature: magnet links and .torrent documents get a cost card; its Start/Cancel buttons drive the job.
// The story of each action is in jobs/torrent/torrent-use-cases.ts; here updates become its arguments and its
// outcomes become answers.
import { Composer, InlineKeyboard } from "grammy";
import type { JobStore } from "../../jobs/job-store.js";
import type { JobCanceller } from "../../jobs/cancel-job.js";
import { QuoteUnavailable, type TorrentQuoter } from "../../jobs/torrent/torrent-quote.js";
import { parseTorrentLinks } from "../../jobs/torrent/parse-magnet.js";
import { parseTorrentFile } from "../../jobs/torrent/parse-torrent-file.js";
import type { TorrentRequest } from "../../jobs/torrent/torrent-request.js";
import {
  cancelTorrentFromCard,
  chooseSeeding,
  stopSeeding,
  continueTorrent,
  pickOnCard,
  recordCardMessage,
  requestTorrent,
  startTorrent,
  type RequestedTorrent,
  type SeedingDefaults,
  type SeedingRunner,
  type TorrentUseCaseDeps,
} from "../../jobs/torrent/torrent-use-cases.js";
import { answerSeeding } from "./torrent-seeding.js";
import { seedChoiceButtons } from "../seed-keyboard.js";
import type { PickOutcome } from "../../jobs/torrent/after-metadata.js";
import type { PickAction } from "../../jobs/torrent/file-picker.js";
import type { BotContext } from "../context.js";
import type { BotFeature } from "../deps.js";
import { escapeHtml, renderCancelled, renderRequestedTorrentCard } from "../render/index.js";
import type { TorrentPresenter } from "../presenters/torrent-presenter.js";
import { filePickerButton, seedButton, stopSeedingButton, torrentCardButton } from "../callback-data.js";
import { pickerKeyboard } from "../file-picker-keyboard.js";
import { showInPlace } from "../message-editor.js";
import { answerPress } from "../press-answer.js";
import { formatBytes } from "../render/index.js";

/** Magnet links answered from one message; more is refused as a whole, nothing recorded. */
export const MAX_LINKS_PER_MESSAGE = 10;

/** A .torrent is metadata only; anything bigger is not one (and getFile stops at 20 MB anyway). */
const TORRENT_FILE_MAX_BYTES = 10 * 1024 * 1024;

export interface TorrentFeatureDeps {
  jobs: JobStore;
  quoter: Pick<TorrentQuoter, "quote" | "admit">;
  /** Cancel on the card goes through the generic cancel, as /cancel does. */
  canceller: Pick<JobCanceller, "cancel">;
  runner: SeedingRunner & {
    start(jobId: number): void;
    answerSizeQuestion(jobId: number, answer: "continue"): boolean;
    pickFiles(jobId: number, action: PickAction): Promise<PickOutcome>;
  };
  presenter: Pick<TorrentPresenter, "attach">;
  /** What the card promises about documents: the Bot API's upload limit, and whether this user gets documents. */
  delivery: { uploadLimitBytes: number; sendsDocuments(userId: number): boolean };
  /** Downloads a file the user sent, by Telegram file_path. */
  fetchTelegramFile(filePath: string): Promise<Buffer>;
  /** A card's buttons stop working after this long. */
  cardTtlMs: number;
  now?: () => number;
  /** The owner's default seeding policy and the per-job budget (the card's "Seed after download"). */
  seeding?: SeedingDefaults;
}

/** What the handlers below share: the feature's dependencies and the use-cases' view of them. */
interface Wiring {
  deps: TorrentFeatureDeps;
  useCases: TorrentUseCaseDeps;
}

export function torrentFeature(deps: TorrentFeatureDeps): BotFeature {
  const composer = new Composer<BotContext>();
  const w: Wiring = {
    deps,
    useCases: { jobs: deps.jobs, quoter: deps.quoter, canceller: deps.canceller, cardTtlMs: deps.cardTtlMs, now: deps.now, seeding: deps.seeding },
  };

  composer.on(["message:text", "message:caption"], async (ctx, next) => {
    const text = ctx.msg.text ?? ctx.msg.caption ?? "";
    if (!/magnet:/i.test(text)) return next();
    const { magnets, errors } = parseTorrentLinks(text);
    // "magnet:" in prose, with no link after it, is for the rest of the bot (the hint).
    if (magnets.length + errors.length === 0) return next();
    // Each link gets a card or an error of its own: a pasted list of hundreds would flood the chat for minutes.
    const links = magnets.length + errors.length;
    if (links > MAX_LINKS_PER_MESSAGE) {
      await ctx.reply(`⚠️ That message has ${links} magnet links; I take at most ${MAX_LINKS_PER_MESSAGE} at a time. Send them in smaller batches.`);
      return;
    }
    for (const e of errors) {
      await ctx.reply(`⚠️ That magnet link is broken: ${escapeHtml(e.message)}`, { parse_mode: "HTML" });
    }
    for (const m of magnets) await sendCard(w, ctx, m);
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
    await sendCard(w, ctx, req);
  });

  composer.callbackQuery(/^t:/, async (ctx) => {
    const press = torrentCardButton.unpack(ctx.callbackQuery.data);
    if (!press) {
      await answerRefusedPress(ctx, "invalid");
      return;
    }
    if (press.action === "start") await onStart(w, ctx, Number(press.jobId));
    else if (press.action === "go") await onContinue(w, ctx, Number(press.jobId));
    else await onCancel(w, ctx, Number(press.jobId));
  });

  composer.callbackQuery(filePickerButton.filter, async (ctx) => {
    const press = filePickerButton.unpack(ctx.callbackQuery.data)!;
    await onPick(w, ctx, Number(press.jobId), press.code);
  });

  composer.callbackQuery(stopSeedingButton.filter, async (ctx) => {
    const press = stopSeedingButton.unpack(ctx.callbackQuery.data)!;
    await answerSeeding(ctx, renderCard(w), stopSeeding({ jobs: deps.jobs, runner: deps.runner }, Number(press.jobId), ctx.from.id));
  });

  composer.callbackQuery(seedButton.filter, async (ctx) => {
    const press = seedButton.unpack(ctx.callbackQuery.data)!;
    const useCase = { ...w.useCases, runner: deps.runner };
    await answerSeeding(ctx, renderCard(w), await chooseSeeding(useCase, Number(press.jobId), ctx.from.id, press.code));
  });

  return {
    name: "torrent",
    composer,
    commands: [],
  };
}

async function sendCard(w: Wiring, ctx: BotContext, req: TorrentRequest): Promise<void> {
  let requested: RequestedTorrent;
  try {
    requested = await requestTorrent(w.useCases, { ownerId: ctx.from!.id, chatId: ctx.chat!.id }, req);
  } catch (err) {
    if (!(err instanceof QuoteUnavailable)) throw err;
    const name = req.name ? ` for <b>${escapeHtml(req.name)}</b>` : "";
    await ctx.reply(`⚠️ No card${name}: ${escapeHtml(err.message)}. Nothing was started or charged; send the link again in a minute.`, { parse_mode: "HTML" });
    return;
  }
  const card = quoteCard(w, ctx.from!.id, requested);
  const sent = await ctx.reply(card.text, { parse_mode: "HTML", reply_markup: card.keyboard, link_preview_options: { is_disabled: true } });
  recordCardMessage(w.deps.jobs, requested.jobId, sent.message_id);
}

/** The card before Start for a requester, as the seeding answers draw it. */
const renderCard = (w: Wiring) => (userId: number, requested: RequestedTorrent) => quoteCard(w, userId, requested);

/**
 * The card before Start: the quote, for a .torrent of several files the picker above Start / Cancel, and the
 * "Seed after download" choices under them.
 */
function quoteCard(w: Wiring, userId: number, requested: RequestedTorrent): { text: string; keyboard: InlineKeyboard } {
  const start = { text: "▶️ Start", data: torrentCardButton.pack({ action: "start", jobId: requested.jobId }) };
  const cancel = { text: "✖️ Cancel", data: torrentCardButton.pack({ action: "cancel", jobId: requested.jobId }) };
  const keyboard = requested.picker ? pickerKeyboard(requested.jobId, requested.picker, [start, cancel]) : new InlineKeyboard().text(start.text, start.data).text(cancel.text, cancel.data);
  keyboard.row();
  for (const b of seedChoiceButtons(requested.jobId, requested.seed.policy)) keyboard.text(b.text, b.data);
  const rule = { sendsDocuments: w.deps.delivery.sendsDocuments(userId), limitBytes: w.deps.delivery.uploadLimitBytes };
  return { text: renderRequestedTorrentCard(requested, { files: requested.chosenFiles, rule }).text, keyboard };
}

/** A press on a file picker: the card's before Start (edited here), or a running job's (the runner shows it). */
async function onPick(w: Wiring, ctx: BotContext, jobId: number, code: string): Promise<void> {
  const deps = { jobs: w.deps.jobs, quoter: w.deps.quoter, cardTtlMs: w.deps.cardTtlMs, now: w.deps.now, runner: w.deps.runner };
  const outcome = await pickOnCard(deps, jobId, ctx.from!.id, code);
  switch (outcome.kind) {
    case "invalid":
    case "not-yours":
      await answerRefusedPress(ctx, outcome.kind);
      return;
    case "expired":
      await answerPress(ctx, { text: "This card has expired; send the .torrent again.", show_alert: true });
      return;
    case "not-waiting":
      await answerPress(ctx, { text: "The files are already chosen." });
      return;
    case "finished":
      await answerPress(ctx, { text: "This job has already finished." });
      return;
    case "card": {
      const card = quoteCard(w, ctx.from!.id, outcome.requested);
      await answerPress(ctx);
      await showInPlace((text, other) => ctx.editMessageText(text, other), card);
      return;
    }
    case "running":
      await answerRunningPick(ctx, outcome.outcome);
      return;
  }
}

async function answerRunningPick(ctx: BotContext, outcome: PickOutcome): Promise<void> {
  switch (outcome.kind) {
    case "changed":
      await answerPress(ctx);
      return;
    case "confirmed":
      await answerPress(ctx, { text: `Fetching ${outcome.count} file${outcome.count === 1 ? "" : "s"} (${formatBytes(outcome.bytes)}).` });
      return;
    case "empty":
      await answerPress(ctx, { text: "Choose at least one file, or press Cancel.", show_alert: true });
      return;
    case "not-waiting":
      await answerPress(ctx, { text: "The files are already chosen." });
      return;
  }
}

async function onStart(w: Wiring, ctx: BotContext, jobId: number): Promise<void> {
  const outcome = startTorrent(w.useCases, jobId, ctx.from!.id);
  switch (outcome.kind) {
    case "invalid":
    case "not-yours":
      await answerRefusedPress(ctx, outcome.kind);
      return;
    case "already-started":
      await ctx.answerCallbackQuery({ text: "Already started." });
      return;
    case "expired":
      if (outcome.why === "finished") {
        await ctx.answerCallbackQuery({ text: "This card has expired." });
        return;
      }
      if (outcome.closedNow) await ctx.editMessageReplyMarkup({ reply_markup: { inline_keyboard: [] } });
      await ctx.answerCallbackQuery({ text: "This card has expired; send the link again.", show_alert: true });
      return;
    case "blocked":
      await ctx.answerCallbackQuery({ text: `Not started: ${outcome.reason}`, show_alert: true });
      return;
    case "nothing-chosen":
      await ctx.answerCallbackQuery({ text: "Choose at least one file first.", show_alert: true });
      return;
    case "started":
      // The job is admitted: it runs whatever becomes of the answer (a slow or refused answer once left it approved
      // and never started). The card becomes the progress message before the runner's first event.
      w.deps.presenter.attach(jobId, ctx.chat!.id, ctx.callbackQuery!.message!.message_id);
      w.deps.runner.start(jobId);
      await answerPress(ctx, { text: "Starting…" });
      return;
  }
}

async function onContinue(w: Wiring, ctx: BotContext, jobId: number): Promise<void> {
  const outcome = continueTorrent({ jobs: w.deps.jobs, runner: w.deps.runner }, jobId, ctx.from!.id);
  switch (outcome.kind) {
    case "invalid":
    case "not-yours":
      await answerRefusedPress(ctx, outcome.kind);
      return;
    case "not-waiting":
      await ctx.answerCallbackQuery({ text: "This job is not waiting for an answer any more." });
      return;
    case "continued":
      // The runner edits the card as the download goes on.
      await ctx.answerCallbackQuery({ text: "Continuing at the new estimate." });
      return;
  }
}

async function onCancel(w: Wiring, ctx: BotContext, jobId: number): Promise<void> {
  const outcome = await cancelTorrentFromCard(w.useCases, jobId, ctx.from!.id);
  switch (outcome.kind) {
    case "invalid":
    case "not-found":
    case "not-yours":
      await answerRefusedPress(ctx, outcome.kind === "not-yours" ? "not-yours" : "invalid");
      return;
    case "cancelled":
      await ctx.answerCallbackQuery({ text: "Cancelled." });
      await ctx.editMessageText(renderCancelled({ name: outcome.name, createdNothing: true }).text, { parse_mode: "HTML", reply_markup: { inline_keyboard: [] } });
      return;
    case "stopping":
    case "stopped":
      // The runner reports the outcome through the progress message.
      await ctx.answerCallbackQuery({ text: "Cancelling: destroying the droplet…" });
      return;
    case "finished":
    case "not-running":
      await ctx.answerCallbackQuery({ text: "This job has already finished." });
      return;
  }
}

/** A press Start and Cancel both refuse: a button for no torrent job, or on someone else's card. */
async function answerRefusedPress(ctx: BotContext, why: "invalid" | "not-yours"): Promise<void> {
  if (why === "invalid") await ctx.answerCallbackQuery({ text: "This button is not valid any more." });
  else await ctx.answerCallbackQuery({ text: "Only the person who sent this torrent can use its buttons.", show_alert: true });
}

