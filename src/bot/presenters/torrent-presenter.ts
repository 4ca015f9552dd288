// Renders torrent job events into the job's card (throttled progress edits), and its end into one result message
// that replaces the card: the links (then the files that also go as documents), or why it failed.
import path from "node:path";
import { InlineKeyboard, type Api, type InputFile } from "grammy";
import type { JobStore } from "../../jobs/job-store.js";
import type { TorrentJobEvent, TorrentJobInput } from "../../jobs/torrent/torrent-job.js";
import type { TorrentState } from "../../jobs/torrent/torrent-states.js";
import type { Logger } from "../../shared/logger.js";
import { isNotModifiedError, ProgressMessage } from "../message-editor.js";
import {
  pickDocuments,
  cleanupLine,
  renderCancelled,
  renderCardPointer,
  renderFailure,
  renderTorrentDone,
  renderTorrentProgress,
  type TorrentPhase,
} from "../render/index.js";
import { filePickerButton, torrentCardButton } from "../callback-data.js";
import { pickerKeyboard } from "../file-picker-keyboard.js";
import type { TorrentSummary } from "../../jobs/torrent/after-metadata.js";
import { encodePick } from "../../jobs/torrent/file-picker.js";
import { describeSeedPolicy, seedPolicyOf } from "../../jobs/torrent/seeding-policy.js";
import { torrentStateReached } from "../../jobs/torrent/torrent-states.js";
import { seedChoiceButtons, stopSeedingButtonFor } from "../seed-keyboard.js";

export interface PresenterDeps {
  api: Api;
  jobs: JobStore;
  downloadsDir: string;
  editIntervalMs: number;
  /** Whether this user also wants small files as documents (/files, default SEND_FILES_TO_TELEGRAM). */
  sendDocuments: (userId: number) => boolean;
  /** The Bot API's upload limit per file (src/bot/telegram-files.ts): larger files are only linked. */
  uploadLimitBytes: number;
  /** What sendDocument gets for a finished file: an upload, or a path for a local Bot API server. */
  documentSource: (absolutePath: string, fileName: string) => InputFile | string;
  links: { signJobLinks(jobId: number, paths: string[]): { index: string; files: { path: string; url: string }[]; expiresAt: Date } };
  markDelivered(jobId: number): Promise<void>;
  logger: Logger;
}

type TorrentJobResult = NonNullable<TorrentJobEvent["result"]>;

interface Attached {
  chatId: number;
  messageId: number;
  editor: ProgressMessage<InlineKeyboard>;
  name: string | null;
  /** The real torrent once its metadata is in, shown under the name from then on. */
  summary: TorrentSummary | null;
}

const PHASE_OF: Partial<Record<TorrentState, TorrentPhase>> = {
  approved: "creating",
  droplet_requested: "creating",
  droplet_active: "booting",
  ssh_ready: "provisioning",
  provisioned: "metadata",
  downloading: "downloading",
  downloaded: "transferring",
  transferring: "transferring",
  transferred: "cleaning",
  seeding: "seeding",
  droplet_destroyed: "cleaning",
};

/**
 * What a "downloading" job is doing: fetching the metadata, downloading, or — once aria2 has it all and the job pulls
 * the last files (it records "downloaded" only after aria2's final poll) — transferring, which the card then shows.
 */
function downloadingPhase(e: TorrentJobEvent): TorrentPhase {
  if (e.progress?.phase === "metadata") return "metadata";
  if (e.progress?.phase === "complete" && e.transfer) return "transferring";
  return "downloading";
}

export class TorrentPresenter {
  private readonly attached = new Map<number, Attached>();
  /** Final messages in flight, so shutdown and tests can wait for them. */
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly deps: PresenterDeps) {}

  /** Binds a job to the message that shows it (the card the user pressed Start on). */
  attach(jobId: number, chatId: number, messageId: number): void {
    const job = this.deps.jobs.get<TorrentJobInput>(jobId);
    const editor = this.cardEditor(jobId, chatId, messageId);
    this.attached.set(jobId, { chatId, messageId, editor, name: job?.input.name ?? null, summary: null });
  }

  handle(e: TorrentJobEvent): void {
    const a = this.attached.get(e.jobId);
    if (!a) return;
    if (e.state === "done" || e.state === "failed" || e.state === "cancelled") {
      const p = this.finish(e, a).catch((err: unknown) => this.deps.logger.error({ err, job: e.jobId }, "could not deliver the job's result"));
      this.pending.add(p);
      void p.finally(() => this.pending.delete(p));
      return;
    }
    const phase = e.state === "downloading" ? downloadingPhase(e) : PHASE_OF[e.state];
    if (!phase) return;
    if (e.progress?.name) a.name = e.progress.name;
    if (e.summary) {
      a.summary = e.summary;
      if (e.summary.name) a.name = e.summary.name;
    }
    const text = renderTorrentProgress({
      phase,
      name: a.name,
      download: e.progress
        ? {
            completedBytes: e.progress.completedBytes,
            totalBytes: e.progress.totalBytes,
            speedBytesPerSecond: e.progress.downloadSpeed,
            etaSeconds: e.progress.etaSeconds,
            seeders: e.progress.seeders,
            peers: e.progress.connections,
          }
        : null,
      transfer: e.transfer
        ? {
            completedBytes: e.transfer.doneBytes,
            totalBytes: e.transfer.totalBytes,
            speedBytesPerSecond: e.transfer.bytesPerSecond,
            etaSeconds: e.transfer.bytesPerSecond > 0 ? (e.transfer.totalBytes - e.transfer.doneBytes) / e.transfer.bytesPerSecond : null,
            filesDone: e.transfer.filesDone,
            filesTotal: e.transfer.filesTotal,
          }
        : null,
      costSoFarUsd: e.costSoFarUsd,
      elapsedSeconds: e.elapsedSeconds,
      detail: e.detail ?? null,
      resumed: e.resumed ?? false,
      question: e.question ?? null,
      summary: a.summary,
      picker: e.picker ?? null,
      volume: e.volume ?? null,
      seedLine: seedLineOf(e.seedPolicy),
      seeding: e.seeding ?? null,
    }).text;
    const cancel = { text: "Cancel", data: torrentCardButton.pack({ action: "cancel", jobId: e.jobId }) };
    if (e.picker) {
      const n = e.picker.view.selectedCount;
      const fetch = { text: `✅ Fetch ${n} file${n === 1 ? "" : "s"}`, data: filePickerButton.pack({ jobId: e.jobId, code: encodePick({ kind: "confirm" }) }) };
      a.editor.update(text, pickerKeyboard(e.jobId, e.picker.view, [fetch, cancel]));
      // The owner is pressing buttons on it: each press shows at once, not at the next progress tick.
      void a.editor.flush().catch((err: unknown) => this.deps.logger.warn({ err, job: e.jobId }, "could not show the file picker"));
      return;
    }
    const keyboard = new InlineKeyboard();
    if (e.state === "seeding") {
      // The files are home: Cancel would only stop the seeding too.
      const stop = stopSeedingButtonFor(e.jobId);
      a.editor.update(text, keyboard.text(stop.text, stop.data));
      return;
    }
    if (e.question) keyboard.text("▶️ Continue", torrentCardButton.pack({ action: "go", jobId: e.jobId }));
    keyboard.text(cancel.text, cancel.data);
    // How long to seed may change until aria2 has every byte.
    if (e.seedPolicy !== undefined && !torrentStateReached(e.state, "downloaded")) {
      keyboard.row();
      for (const b of seedChoiceButtons(e.jobId, seedPolicyOf(e.seedPolicy))) keyboard.text(b.text, b.data);
    }
    a.editor.update(text, keyboard);
  }

  /** Waits for final messages still being sent, and sends the last progress edit of jobs still shown (a shutdown's "⏸"). */
  async idle(): Promise<void> {
    await Promise.all([...this.pending, ...[...this.attached.values()].map((a) => a.editor.flush())]);
  }

  /** One message kept showing the latest text: throttled edits that wait out flood limits (the app's Api does not). */
  private cardEditor(jobId: number, chatId: number, messageId: number): ProgressMessage<InlineKeyboard> {
    return new ProgressMessage<InlineKeyboard>({
      minIntervalMs: this.deps.editIntervalMs,
      edit: async (text, markup) => {
        await this.deps.api.editMessageText(chatId, messageId, text, {
          parse_mode: "HTML",
          reply_markup: markup ?? { inline_keyboard: [] },
          link_preview_options: { is_disabled: true },
        });
      },
      onError: (err) => this.deps.logger.warn({ err, job: jobId }, "could not edit the progress message"),
    });
  }

  private async finish(e: TorrentJobEvent, a: Attached): Promise<void> {
    this.attached.delete(e.jobId);
    const job = this.deps.jobs.get<TorrentJobInput, { name?: string }>(e.jobId);
    const name = job?.data.name ?? a.name;
    if (e.state === "cancelled") {
      // The user pressed Cancel on this very message: it shows the outcome in place.
      const createdNothing = e.cleanup !== undefined && !e.cleanup.dropletCreated && e.costSoFarUsd === 0;
      a.editor.update(renderCancelled({ name, createdNothing, reason: e.cancelReason, cleanup: cleanupLine(e.cleanup), usd: e.costSoFarUsd, seconds: e.elapsedSeconds }).text);
      await a.editor.flush();
      a.editor.close();
      return;
    }
    // No progress edit may land after the result: drop the pending one and wait out one on its way.
    a.editor.close();
    await a.editor.flush();
    if (e.state === "done" && e.result) {
      await this.deliver(e.jobId, e.result, a, { name, ownerId: job?.ownerId ?? null });
      return;
    }
    const failure = renderFailure({ name, reason: e.error ?? "unknown error", cleanup: cleanupLine(e.cleanup), usd: e.costSoFarUsd, seconds: e.elapsedSeconds });
    await this.replaceCard(e.jobId, a, failure.text, renderCardPointer("failed", name).text);
  }

  /** The links message in place of the card, then the files that also go as documents. */
  private async deliver(jobId: number, result: TorrentJobResult, a: Attached, job: { name: string | null; ownerId: number | null }): Promise<void> {
    const links = this.deps.links.signJobLinks(jobId, result.files.map((f) => f.path));
    const sendsDocuments = job.ownerId !== null && this.deps.sendDocuments(job.ownerId);
    const rule = { sendsDocuments, limitBytes: this.deps.uploadLimitBytes };
    const documents = new Set(pickDocuments(result.files.map((f) => f.size), rule));
    const done = renderTorrentDone({
      name: job.name,
      files: result.files.map((f, i) => ({ path: f.path, sizeBytes: f.size, url: links.files[i]!.url, asDocument: documents.has(i) })),
      indexUrl: links.index,
      usd: result.actualUsd,
      seconds: result.durationSeconds,
      expiresAt: links.expiresAt,
      documentLimitBytes: sendsDocuments ? this.deps.uploadLimitBytes : null,
      warning: result.warning,
      seeding: result.seeding ?? null,
      volume: result.volume ?? null,
    });
    await this.replaceCard(jobId, a, done.text, renderCardPointer("done", job.name).text);
    for (const i of documents) {
      const f = result.files[i]!;
      const local = path.join(this.deps.downloadsDir, String(jobId), ...f.path.split("/"));
      await this.deps.api.sendDocument(a.chatId, this.deps.documentSource(local, path.posix.basename(f.path)));
    }
    await this.deps.markDelivered(jobId);
  }

  /**
   * Puts `text` in the chat once, in place of the card: a new message (it notifies the user; an edit does not), then
   * the card deleted. Bots cannot delete messages 48 hours old or older (Bot API, deleteMessage): such a card becomes
   * `pointer`, one line. A result message Telegram refuses goes onto the card instead, so the chat still shows it.
   */
  private async replaceCard(jobId: number, a: Attached, text: string, pointer: string): Promise<void> {
    const { api, logger } = this.deps;
    try {
      await api.sendMessage(a.chatId, text, { parse_mode: "HTML", link_preview_options: { is_disabled: true } });
    } catch (err) {
      logger.warn({ err, job: jobId }, "could not send the result message; the card shows the result instead");
      await this.editCardOnce(a, text);
      return;
    }
    try {
      await api.deleteMessage(a.chatId, a.messageId);
      return;
    } catch (err) {
      logger.info({ err, job: jobId }, "could not delete the card; it points to the result instead");
    }
    // The result is in the chat already: a card that cannot be edited either is only logged.
    await this.editCardOnce(a, pointer).catch((err: unknown) => logger.warn({ err, job: jobId }, "could not turn the card into a pointer"));
  }

  /** One edit of the card, now; not through the throttled editor, whose own sends report errors only to its log. */
  private async editCardOnce(a: Attached, text: string): Promise<void> {
    try {
      await this.deps.api.editMessageText(a.chatId, a.messageId, text, {
        parse_mode: "HTML",
        reply_markup: { inline_keyboard: [] },
        link_preview_options: { is_disabled: true },
      });
    } catch (err) {
      if (!isNotModifiedError(err)) throw err;
    }
  }
}


/** The progress card's seeding line; null (and no Seeding phase) for a job that does not seed. */
function seedLineOf(code: string | undefined): string | null {
  const policy = seedPolicyOf(code);
  return policy.kind === "none" ? null : `🌱 After the download: ${describeSeedPolicy(policy)} (the files come home meanwhile).`;
}
