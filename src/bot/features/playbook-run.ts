// "Run…" on a playbook analysis: a conversation (host → vars_prompt answers → approval card) that only talks; what
// each answer means for the job is RunDialogueSteps' (src/jobs/playbook). The run is shown by RunPresenter.
import { Composer, InlineKeyboard } from "grammy";
import type { VarsPrompt } from "../../analysis/index.js";
import type { JobStore } from "../../jobs/job-store.js";
import type { PlaybookRunner } from "../../jobs/playbook/playbook-runner.js";
import { RunDialogueSteps, type ApproveOutcome, type HostChoice, type RunDialogueDeps, type RunDialogueFacts } from "../../jobs/playbook/run-dialogue-steps.js";
import type { BotContext, BotConversation, ConversationContext } from "../context.js";
import type { BotFeature } from "../deps.js";
import type { PrivateAnswers } from "../private-answers.js";
import type { RunPresenter } from "../presenters/run-presenter.js";
import { escapeHtml } from "../render/telegram-html.js";
import { runAbortButton, runDefaultButton, runHostButton, runPlaybookButton, runStartButton } from "../callback-data.js";
import { ADDHOST_USAGE } from "./hosts.js";
import { renderApprovalCard, renderRunHeader } from "../render/playbook-run.js";

export const RUN_CONVERSATION = "playbook-run";

export interface PlaybookRunFeatureDeps {
  jobs: Pick<JobStore, "get" | "transition" | "transitionIf" | "patchData">;
  /** The hosts each user may run on (HostAccess): offered in the dialogue and checked again at Start. */
  hosts: RunDialogueDeps["hosts"];
  runner: Pick<PlaybookRunner, "start">;
  /** Shows the run in the approval card's message once Start is pressed (the runner feeds it events). */
  presenter: Pick<RunPresenter, "begin">;
  /** Private answers, held in memory only (the same instance scrubs the conversations' stored state). */
  privateAnswers: PrivateAnswers;
  /** How long the dialogue waits for an answer (default 30 min). */
  dialogueTimeoutMs?: number;
}

type Answer<T> = { value: T; ctx: ConversationContext } | null;

export function playbookRunFeature(deps: PlaybookRunFeatureDeps): BotFeature {
  const composer = new Composer<BotContext>();
  const steps = new RunDialogueSteps(deps);

  composer.callbackQuery(runPlaybookButton.filter, async (ctx) => {
    const jobId = Number(runPlaybookButton.unpack(ctx.callbackQuery.data)!.jobId);
    const permission = steps.mayRun(jobId, ctx.from.id);
    if (!permission.allowed && permission.reason === "not-owner") {
      ctx.logger.info({ job_id: jobId }, "run press refused: not the job's owner");
      return void (await ctx.answerCallbackQuery({ text: "Only the person who sent this playbook can run it." }));
    }
    if (!permission.allowed) {
      return void (await ctx.answerCallbackQuery({ text: `Job #${jobId} is ${permission.state}; send the playbook again to run it once more.` }));
    }
    await ctx.answerCallbackQuery();
    // A dialogue left open for another job gives way to this one.
    await ctx.conversation.exit(RUN_CONVERSATION);
    await ctx.conversation.enter(RUN_CONVERSATION, jobId);
  });

  // The plugin replays this function on every update: each side effect on the job stays inside conversation.external.
  async function dialogue(conversation: BotConversation, ctx: ConversationContext, jobId: number): Promise<void> {
    const job = await conversation.external(() => steps.facts(jobId));
    if (!job) return void (await ctx.reply(`Job #${jobId} cannot be run now.`));
    if (job.hosts.length === 0) {
      await ctx.reply(`You have no host to run it on yet: add your own with /addhost, or ask a host's owner to share theirs (/hosts).\n${ADDHOST_USAGE}`);
      return;
    }
    // Private answers are references here (see PrivateAnswers); the values never enter the conversation's state.
    const answers: Record<string, string> = {};
    const leave = async () => {
      await conversation.external(() => (deps.privateAnswers.forget(Object.values(answers)), steps.leave(jobId)));
      await ctx.reply(`Left the run of job #${jobId}; nothing ran. Press ▶️ Run… on its summary to start again.`);
    };

    const host = await askHost(conversation, ctx, jobId, job);
    if (!host) return leave();
    const chosen = await conversation.external(() => steps.chooseHost(jobId, host));
    if (!chosen.ok) {
      // Unshared or removed since the list was shown: nothing ran; back to analysed if an earlier dialogue had moved it.
      await conversation.external(() => steps.leave(jobId));
      return void (await ctx.reply(`Not run: ${chosen.message}. Press ▶️ Run… on the summary to choose again.`));
    }

    if (!(await askQuestions(conversation, ctx, jobId, job, job.questions, answers, deps.privateAnswers))) return leave();
    await conversation.external(() => steps.recordAnswers(jobId));

    for (;;) {
      const card = await ctx.reply(
        renderApprovalCard({
          jobId, fileName: job.fileName, entry: job.entry, host: host.name, hostAddress: host.address,
          venv: job.venv, collections: job.collections, roles: job.roles, packages: job.packages,
          answers: job.questions.map((q) => ({ name: q.name, value: q.private ? null : answers[q.name]! })),
        }),
        { parse_mode: "HTML", reply_markup: new InlineKeyboard().text("▶️ Start", runStartButton.pack({ jobId })).text("Cancel", runAbortButton.pack({ jobId })) },
      );
      const go = await waitAnswer(conversation, jobId, job.ownerId, (c) => (c.callbackQuery?.data === runStartButton.pack({ jobId }) ? true : undefined));
      if (!go) {
        await ctx.api.editMessageReplyMarkup(card.chat.id, card.message_id).catch(() => undefined);
        return leave();
      }
      const showProgress = () => deps.presenter.begin(jobId, card.chat.id, card.message_id, renderRunHeader(jobId, job.entry, host.name));
      // Only names come back out of this external: its result is stored with the conversation.
      const outcome = await conversation.external(() => startRun(steps, deps.privateAnswers, { jobId, questions: job.questions, answers, messageId: card.message_id, showProgress }));
      if ("started" in outcome) return void (await answerStart(go.ctx, card, jobId, outcome));
      await go.ctx.answerCallbackQuery({ text: "Please answer the private questions again." });
      await ctx.api.editMessageReplyMarkup(card.chat.id, card.message_id).catch(() => undefined);
      await ctx.reply("The bot restarted since you answered, and private answers live only in its memory: I need them again.");
      const forgotten = job.questions.filter((q) => outcome.forgotten.includes(q.name));
      if (!(await askQuestions(conversation, ctx, jobId, job, forgotten, answers, deps.privateAnswers))) return leave();
    }
  }

  return {
    name: "playbook-run",
    composer,
    conversations: [{ id: RUN_CONVERSATION, builder: dialogue, maxMillisecondsToWait: deps.dialogueTimeoutMs ?? 30 * 60_000 }],
  };
}

/** One button per host; the chosen host, or null when the owner leaves. */
async function askHost(conversation: BotConversation, ctx: ConversationContext, jobId: number, job: RunDialogueFacts): Promise<HostChoice | null> {
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
  if (!picked) return null;
  await picked.ctx.answerCallbackQuery();
  await ctx.api.editMessageText(asked.chat.id, asked.message_id, `Job #${jobId} runs on <b>${escapeHtml(picked.value.name)}</b>.`, { parse_mode: "HTML" });
  return picked.value;
}

/** Start's answer: started, already started or left, or refused because the host is no longer the user's to use. */
async function answerStart(ctx: ConversationContext, card: { chat: { id: number }; message_id: number }, jobId: number, outcome: ApproveOutcome): Promise<void> {
  if (outcome.started) return void (await ctx.answerCallbackQuery({ text: "Started" }));
  if (outcome.reason === "not-answered") return void (await ctx.answerCallbackQuery({ text: `Job #${jobId} was already started or left.` }));
  await ctx.answerCallbackQuery({ text: "Not started: the host is not yours to use any more.", show_alert: true });
  await ctx.api.editMessageReplyMarkup(card.chat.id, card.message_id).catch(() => undefined);
  await ctx.reply(`Job #${jobId} did not start: ${outcome.message}. Press ▶️ Run… on its summary to choose a host again.`);
}

/**
 * Starts the run with the answers as values: private ones are revealed from memory, and dropped from it once the
 * runner has them. Those this process does not hold (a restart since they were given) are named, and nothing starts.
 */
function startRun(
  steps: RunDialogueSteps,
  privateAnswers: PrivateAnswers,
  r: { jobId: number; questions: VarsPrompt[]; answers: Record<string, string>; messageId: number; showProgress: () => void },
): ApproveOutcome | { forgotten: string[] } {
  const values: Record<string, string> = {};
  const forgotten: string[] = [];
  for (const q of r.questions) {
    const given = r.answers[q.name]!;
    const value = q.private && privateAnswers.isRef(given) ? privateAnswers.reveal(given) : given;
    if (value === undefined) forgotten.push(q.name);
    else values[q.name] = value;
  }
  if (forgotten.length) return { forgotten };
  const outcome = steps.approve(r.jobId, values, r.messageId, r.showProgress);
  privateAnswers.forget(Object.values(r.answers));
  return outcome;
}

/** Asks `questions` in order into `answers` (private ones as references); false when the owner leaves. */
async function askQuestions(
  conversation: BotConversation, ctx: ConversationContext, jobId: number, job: RunDialogueFacts,
  questions: VarsPrompt[], answers: Record<string, string>, privateAnswers: PrivateAnswers,
): Promise<boolean> {
  for (const q of questions) {
    const answer = await ask(conversation, ctx, jobId, job.ownerId, q, job.questions.indexOf(q) + 1, job.questions.length, privateAnswers);
    if (answer === null) return false;
    answers[q.name] = answer;
  }
  return true;
}

/**
 * One vars_prompt question; a private answer is deleted from the chat as soon as it is read, and what comes back for
 * it is the reference PrivateAnswers keeps it under (on every replay too, so the stored update is scrubbed).
 */
async function ask(
  conversation: BotConversation, ctx: ConversationContext, jobId: number, ownerId: number, q: VarsPrompt, n: number, of: number, privateAnswers: PrivateAnswers,
): Promise<string | null> {
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
    const message = got.ctx.message!;
    const ref = privateAnswers.keep(message.chat.id, message.message_id, got.value);
    await got.ctx.deleteMessage().catch(() => ctx.reply("I could not delete your answer; please delete it yourself."));
    return ref;
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
