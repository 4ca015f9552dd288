// "Run…" on a playbook analysis: a conversation (host → vars_prompt answers → approval card), then the run's
// progress in one edited message with a Cancel button, the recap, and the full log as a document.
import { Composer, InlineKeyboard, InputFile, type Api } from "grammy";
import type { JobStore } from "../../jobs/job-store.js";
import type { HostRecord } from "../../hosts/host-registry.js";
import { hostAddressText } from "../../hosts/host-registry.js";
import type { VarsPrompt } from "../../analysis/index.js";
import type { PlaybookRunner, RunEvent } from "../../jobs/playbook/playbook-runner.js";
import { RUNNABLE_STATES } from "../../jobs/playbook/playbook-states.js";
import type { Logger } from "../../shared/logger.js";
import type { BotContext, BotConversation, ConversationContext } from "../context.js";
import type { BotFeature } from "../deps.js";
import { ProgressMessage } from "../message-editor.js";
import { escapeHtml } from "../render/telegram-html.js";
import { cancelJobButton, runAbortButton, runDefaultButton, runHostButton, runPlaybookButton, runStartButton } from "../callback-data.js";
import { ADDHOST_USAGE } from "./hosts.js";
import { renderApprovalCard, renderFinalProgress, renderProgress, renderRecap, renderRunHeader, renderStep } from "../render/playbook-run.js";

export const RUN_CONVERSATION = "playbook-run";

export interface PlaybookRunFeatureDeps {
  jobs: Pick<JobStore, "get" | "transition" | "transitionIf" | "patchData">;
  hosts: { list(): HostRecord[] };
  runner: Pick<PlaybookRunner, "start">;
  /** Shows the run in the approval card's message once Start is pressed (the runner feeds it events). */
  presenter: Pick<RunPresenter, "begin">;
  /** How long the dialogue waits for an answer (default 30 min). */
  dialogueTimeoutMs?: number;
}

interface JobFacts {
  ownerId: number;
  chatId: number;
  state: string;
  fileName: string;
  entry: string;
  venv: string | null;
  collections: string[];
  packages: string[];
  questions: VarsPrompt[];
  hosts: { name: string; address: string }[];
}

type Answer<T> = { value: T; ctx: ConversationContext } | null;

export function playbookRunFeature(deps: PlaybookRunFeatureDeps): BotFeature {
  const composer = new Composer<BotContext>();
  const presenter = deps.presenter;

  composer.callbackQuery(runPlaybookButton.filter, async (ctx) => {
    const jobId = Number(runPlaybookButton.unpack(ctx.callbackQuery.data)!.jobId);
    const job = deps.jobs.get(jobId);
    if (!job || job.kind !== "playbook" || job.ownerId !== ctx.from.id) {
      ctx.logger.info({ job_id: jobId }, "run press refused: not the job's owner");
      return void (await ctx.answerCallbackQuery({ text: "Only the person who sent this playbook can run it." }));
    }
    if (!RUNNABLE_STATES.has(job.state)) {
      return void (await ctx.answerCallbackQuery({ text: `Job #${jobId} is ${job.state}; send the playbook again to run it once more.` }));
    }
    await ctx.answerCallbackQuery();
    // A dialogue left open for another job gives way to this one.
    await ctx.conversation.exit(RUN_CONVERSATION);
    await ctx.conversation.enter(RUN_CONVERSATION, jobId);
  });

  const facts = (jobId: number): JobFacts | null => {
    const job = deps.jobs.get<{ fileName: string }, Record<string, unknown>>(jobId);
    if (!job || job.kind !== "playbook") return null;
    const ds = job.data.dependencySet as { collections: { name: string }[]; python: { controller: string[] } };
    return {
      ownerId: job.ownerId,
      chatId: job.chatId,
      state: job.state,
      fileName: job.input.fileName,
      entry: String(job.data.entry),
      venv: typeof job.data.venv === "string" ? job.data.venv : null,
      collections: ds.collections.map((c) => c.name),
      packages: ds.python.controller,
      questions: (job.data.varsPrompt as VarsPrompt[] | undefined) ?? [],
      hosts: deps.hosts.list().map((h) => ({ name: h.name, address: hostAddressText(h) })),
    };
  };

  async function dialogue(conversation: BotConversation, ctx: ConversationContext, jobId: number): Promise<void> {
    const job = await conversation.external(() => facts(jobId));
    if (!job || !RUNNABLE_STATES.has(job.state)) return void (await ctx.reply(`Job #${jobId} cannot be run now.`));
    if (job.hosts.length === 0) {
      await ctx.reply(`There are no hosts to run it on yet. The owner adds one with /addhost.\n${ADDHOST_USAGE}`);
      return;
    }
    const leave = async () => {
      await conversation.external(() => void deps.jobs.transitionIf(jobId, "host_chosen", "analysed", { detail: "run dialogue left" }));
      await conversation.external(() => void deps.jobs.transitionIf(jobId, "answered", "analysed", { detail: "run dialogue left" }));
      await ctx.reply(`Left the run of job #${jobId}; nothing ran. Press ▶️ Run… on its summary to start again.`);
    };

    // (a) the host
    const hostKb = new InlineKeyboard();
    job.hosts.forEach((h, i) => hostKb.text(`🖥 ${h.name}`, runHostButton.pack({ jobId, index: i })).row());
    hostKb.text("Cancel", runAbortButton.pack({ jobId }));
    const asked = await ctx.reply(`Job #${jobId}: which host should run <code>${escapeHtml(job.entry)}</code>? (/cancel to stop)`, {
      parse_mode: "HTML",
      reply_markup: hostKb,
    });
    const picked = await waitAnswer(conversation, jobId, job.ownerId, (c) => {
      const press = runHostButton.unpack(c.callbackQuery?.data);
      return press && Number(press.jobId) === jobId ? job.hosts[Number(press.index)] : undefined;
    });
    if (!picked) return leave();
    await picked.ctx.answerCallbackQuery();
    await ctx.api.editMessageText(asked.chat.id, asked.message_id, `Job #${jobId} runs on <b>${escapeHtml(picked.value.name)}</b>.`, { parse_mode: "HTML" });
    await conversation.external(() => deps.jobs.transition(jobId, "host_chosen", { detail: picked.value.name, data: { run: { host: picked.value.name } } }).state);

    // (b) the vars_prompt questions, in order
    const vars: Record<string, string> = {};
    const secrets: string[] = [];
    for (const [i, q] of job.questions.entries()) {
      const answer = await ask(conversation, ctx, jobId, job.ownerId, q, i + 1, job.questions.length);
      if (!answer) return leave();
      vars[q.name] = answer;
      if (q.private) secrets.push(answer);
    }
    const answered = job.questions.map((q) => q.name);
    await conversation.external(() => deps.jobs.transition(jobId, "answered", { detail: answered.join(", ") || "no questions", data: { run: { host: picked.value.name, answered } } }).state);

    // (c) the approval card
    const card = await ctx.reply(
      renderApprovalCard({
        jobId, fileName: job.fileName, entry: job.entry, host: picked.value.name, hostAddress: picked.value.address,
        venv: job.venv, collections: job.collections, packages: job.packages,
        answers: job.questions.map((q) => ({ name: q.name, value: q.private ? null : vars[q.name]! })),
      }),
      { parse_mode: "HTML", reply_markup: new InlineKeyboard().text("▶️ Start", runStartButton.pack({ jobId })).text("Cancel", runAbortButton.pack({ jobId })) },
    );
    const go = await waitAnswer(conversation, jobId, job.ownerId, (c) => (c.callbackQuery?.data === runStartButton.pack({ jobId }) ? true : undefined));
    if (!go) {
      await ctx.api.editMessageReplyMarkup(card.chat.id, card.message_id).catch(() => undefined);
      return leave();
    }
    const started = await conversation.external(() => {
      if (!deps.jobs.transitionIf(jobId, "answered", "approved", { detail: "Start pressed" })) return false;
      deps.jobs.patchData(jobId, { progressMessageId: card.message_id });
      presenter.begin(jobId, card.chat.id, card.message_id, renderRunHeader(jobId, job.entry, picked.value.name));
      deps.runner.start(jobId, vars, secrets);
      return true;
    });
    await go.ctx.answerCallbackQuery({ text: started ? "Started" : `Job #${jobId} was already started or left.` });
  }

  return {
    name: "playbook-run",
    composer,
    conversations: [{ id: RUN_CONVERSATION, builder: dialogue, maxMillisecondsToWait: deps.dialogueTimeoutMs ?? 30 * 60_000 }],
  };
}

/** One vars_prompt question; a private answer is deleted from the chat as soon as it is read. */
async function ask(conversation: BotConversation, ctx: ConversationContext, jobId: number, ownerId: number, q: VarsPrompt, n: number, of: number): Promise<string | null> {
  const kb = new InlineKeyboard();
  if (q.default !== null) kb.text(q.private ? "Use the default" : `Use default: ${q.default.slice(0, 40)}`, runDefaultButton.pack({ jobId }));
  kb.text("Cancel", runAbortButton.pack({ jobId }));
  const lines = [`Job #${jobId}, question ${n} of ${of} (<code>${escapeHtml(q.name)}</code>):`, `<b>${escapeHtml(q.prompt)}</b>`];
  if (q.private) lines.push("🔒 Private: I delete your reply as soon as I have read it, and never show or log it.");
  lines.push(q.default !== null ? "Reply with the value, or use the default." : "Reply with the value.");
  await ctx.reply(lines.join("\n"), { parse_mode: "HTML", reply_markup: kb });
  const got = await waitAnswer(conversation, jobId, ownerId, (c) => {
    if (c.callbackQuery?.data === runDefaultButton.pack({ jobId }) && q.default !== null) return q.default;
    const text = c.message?.text;
    return text !== undefined ? text : undefined;
  });
  if (!got) return null;
  if (got.ctx.callbackQuery) await got.ctx.answerCallbackQuery();
  else if (q.private) {
    await got.ctx.deleteMessage().catch(() => ctx.reply("I could not delete your answer; please delete it yourself."));
  }
  return got.value;
}

/** The owner's next update this step accepts; null when they leave (/cancel, Cancel). Anything else passes on. */
async function waitAnswer<T>(conversation: BotConversation, jobId: number, ownerId: number, accept: (c: ConversationContext) => T | undefined): Promise<Answer<T>> {
  const c = await conversation.wait();
  if (c.from?.id === ownerId) {
    if (c.callbackQuery?.data === runAbortButton.pack({ jobId })) {
      await c.answerCallbackQuery();
      return null;
    }
    const cancel = /^\/cancel(?:@\w+)?(?:\s+#?(\d+))?\s*$/.exec(c.message?.text ?? "");
    if (cancel && (cancel[1] === undefined || Number(cancel[1]) === jobId)) return null;
    const value = accept(c);
    if (value !== undefined) return { value, ctx: c };
  }
  // Not for this dialogue (another job's buttons, a magnet link, someone else): the rest of the bot handles it.
  return conversation.skip();
}

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
      await this.api.sendMessage(chatId, renderRecap(e.jobId, e.state, e.progress, e.error), { parse_mode: "HTML" });
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
