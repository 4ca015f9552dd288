// Shows a playbook run in the chat: the approval card's message, edited as the runner's events arrive (throttled,
// with Cancel), then the recap and the full log as a document.
import { InlineKeyboard, InputFile, type Api } from "grammy";
import type { RunEvent } from "../../jobs/playbook/playbook-runner.js";
import type { Logger } from "../../shared/logger.js";
import { cancelJobButton } from "../callback-data.js";
import { ProgressMessage } from "../message-editor.js";
import { renderFinalProgress, renderProgress, renderRecap, renderStep } from "../render/playbook-run.js";

/** Edits each run's message as events arrive, then sends the recap and the log document (its own Api: runs outlive updates). */
export class RunPresenter {
  private readonly runs = new Map<number, { chatId: number; header: string; message: ProgressMessage<InlineKeyboard> }>();
  private pending = new Set<Promise<void>>();

  constructor(
    private readonly api: Api,
    private readonly editIntervalMs: number,
    private readonly logger: Logger,
  ) {}

  begin(jobId: number, chatId: number, messageId: number, header: string): void {
    const message = new ProgressMessage<InlineKeyboard>({
      minIntervalMs: this.editIntervalMs,
      edit: async (text, markup) => void (await this.api.editMessageText(chatId, messageId, text, { parse_mode: "HTML", reply_markup: markup })),
      onError: (err) => this.logger.warn({ err, job_id: jobId }, "could not edit a run's progress message"),
    });
    this.runs.set(jobId, { chatId, header, message });
    message.update(renderStep(header, "starting"), cancelKeyboard(jobId));
  }

  handle(e: RunEvent): void {
    const run = this.runs.get(e.jobId);
    if (!run) return;
    if (e.kind === "step") run.message.update(renderStep(run.header, e.text), cancelKeyboard(e.jobId));
    else if (e.kind === "progress") run.message.update(renderProgress(run.header, e.progress), cancelKeyboard(e.jobId));
    else {
      this.runs.delete(e.jobId);
      run.message.update(renderFinalProgress(run.header, e.state, e.progress));
      const p = this.finish(run.chatId, run.message, e).finally(() => this.pending.delete(p));
      this.pending.add(p);
    }
  }

  /** Resolves when every final message has been sent (for shutdown and tests). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  private async finish(chatId: number, message: ProgressMessage<InlineKeyboard>, e: Extract<RunEvent, { kind: "finished" }>): Promise<void> {
    try {
      await message.flush().catch(() => undefined);
      message.close();
      await this.api.sendMessage(chatId, renderRecap(e.jobId, e.state, e.progress, e.error, e.used), { parse_mode: "HTML" });
      if (e.log.trim()) {
        await this.api.sendDocument(chatId, new InputFile(Buffer.from(e.log, "utf8"), `job-${e.jobId}-ansible.txt`), { caption: `ansible-playbook output of job #${e.jobId}` });
      }
    } catch (err) {
      this.logger.warn({ err, job_id: e.jobId }, "could not send a run's results");
    }
  }
}

function cancelKeyboard(jobId: number): InlineKeyboard {
  return new InlineKeyboard().text("🛑 Cancel", cancelJobButton.pack({ jobId }));
}
