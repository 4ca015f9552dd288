// Renders torrent job events into the job's one progress message (throttled edits) and the final links.
import path from "node:path";
import { InlineKeyboard, InputFile, type Api } from "grammy";
import type { JobStore } from "../../jobs/job-store.js";
import type { TorrentJobEvent, TorrentJobInput } from "../../jobs/torrent/torrent-job.js";
import type { TorrentState } from "../../jobs/torrent/torrent-states.js";
import type { Logger } from "../../shared/logger.js";
import { ProgressMessage } from "../message-editor.js";
import {
  renderCancelled,
  renderFailure,
  renderTorrentDone,
  renderTorrentProgress,
  type TorrentPhase,
} from "../render/index.js";
import { torrentCardButton } from "../callback-data.js";

/** Telegram's upload limit for bots (FACTS.md): larger files are only linked. */
export const TELEGRAM_UPLOAD_LIMIT = 50 * 1000 * 1000;
const MAX_DOCUMENTS = 10;

export interface PresenterDeps {
  api: Api;
  jobs: JobStore;
  downloadsDir: string;
  editIntervalMs: number;
  /** Whether this user also wants small files as documents (/files, default SEND_FILES_TO_TELEGRAM). */
  sendDocuments: (userId: number) => boolean;
  links: { signJobLinks(jobId: number, paths: string[]): { index: string; files: { path: string; url: string }[]; expiresAt: Date } };
  markDelivered(jobId: number): Promise<void>;
  logger: Logger;
}

interface Attached {
  chatId: number;
  messageId: number;
  editor: ProgressMessage<InlineKeyboard>;
  name: string | null;
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
  droplet_destroyed: "cleaning",
};

export class TorrentPresenter {
  private readonly attached = new Map<number, Attached>();
  /** Final messages in flight, so shutdown and tests can wait for them. */
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly deps: PresenterDeps) {}

  /** Binds a job to the message that shows it (the card the user pressed Start on). */
  attach(jobId: number, chatId: number, messageId: number): void {
    const job = this.deps.jobs.get<TorrentJobInput>(jobId);
    const editor = new ProgressMessage<InlineKeyboard>({
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
    this.attached.set(jobId, { chatId, messageId, editor, name: job?.input.name ?? null });
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
    const phase = e.state === "downloading" && e.progress?.phase === "metadata" ? "metadata" : PHASE_OF[e.state];
    if (!phase) return;
    if (e.progress?.name) a.name = e.progress.name;
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
          }
        : null,
      costSoFarUsd: e.costSoFarUsd,
      elapsedSeconds: e.elapsedSeconds,
      detail: e.detail ?? null,
      resumed: e.resumed ?? false,
      question: e.question ?? null,
    }).text;
    const keyboard = new InlineKeyboard();
    if (e.question) keyboard.text("▶️ Continue", torrentCardButton.pack({ action: "go", jobId: e.jobId }));
    a.editor.update(text, keyboard.text("Cancel", torrentCardButton.pack({ action: "cancel", jobId: e.jobId })));
  }

  /** Waits for final messages still being sent, and sends the last progress edit of jobs still shown (a shutdown's "⏸"). */
  async idle(): Promise<void> {
    await Promise.all([...this.pending, ...[...this.attached.values()].map((a) => a.editor.flush())]);
  }

  private async finish(e: TorrentJobEvent, a: Attached): Promise<void> {
    this.attached.delete(e.jobId);
    const { api } = this.deps;
    const job = this.deps.jobs.get<TorrentJobInput, { name?: string }>(e.jobId);
    const name = job?.data.name ?? a.name;
    if (e.state === "done" && e.result) {
      const links = this.deps.links.signJobLinks(e.jobId, e.result.files.map((f) => f.path));
      const wantsFiles = job ? this.deps.sendDocuments(job.ownerId) : false;
      const small = wantsFiles ? e.result.files.filter((f) => f.size <= TELEGRAM_UPLOAD_LIMIT).slice(0, MAX_DOCUMENTS) : [];
      const done = renderTorrentDone({
        name,
        files: e.result.files.map((f, i) => ({ path: f.path, sizeBytes: f.size, url: links.files[i]!.url })),
        indexUrl: links.index,
        usd: e.result.actualUsd,
        seconds: e.result.durationSeconds,
        expiresAt: links.expiresAt,
        sentAsDocuments: small.length,
        warning: e.result.warning,
      });
      a.editor.update(done.text);
      await a.editor.flush();
      a.editor.close();
      await api.sendMessage(a.chatId, done.text, {
        parse_mode: "HTML",
        link_preview_options: { is_disabled: true },
        reply_parameters: { message_id: a.messageId, allow_sending_without_reply: true },
      });
      for (const f of small) {
        const local = path.join(this.deps.downloadsDir, String(e.jobId), ...f.path.split("/"));
        await api.sendDocument(a.chatId, new InputFile(local, path.posix.basename(f.path)));
      }
      await this.deps.markDelivered(e.jobId);
      return;
    }
    const cleanup = "The droplet is destroyed and partial files are removed.";
    const rendered =
      e.state === "cancelled"
        ? renderCancelled({ name, createdNothing: false, cleanup, usd: e.costSoFarUsd, seconds: e.elapsedSeconds })
        : renderFailure({ name, reason: e.error ?? "unknown error", cleanup, usd: e.costSoFarUsd, seconds: e.elapsedSeconds });
    a.editor.update(rendered.text);
    await a.editor.flush();
    a.editor.close();
    if (e.state === "failed") {
      // An edit does not notify; a failure after minutes of waiting should.
      await api.sendMessage(a.chatId, rendered.text, {
        parse_mode: "HTML",
        reply_parameters: { message_id: a.messageId, allow_sending_without_reply: true },
      });
    }
  }
}
