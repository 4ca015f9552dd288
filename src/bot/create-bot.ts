// The bot factory: builds the grammY bot with its middleware and features; nothing starts until start().
import { Bot, Composer, GrammyError, type MiddlewareFn } from "grammy";
import { autoRetry, type AutoRetryOptions } from "@grammyjs/auto-retry";
import { conversations, createConversation, type ConversationData, type VersionedState } from "@grammyjs/conversations";
import { run, sequentialize, type RunnerHandle } from "@grammyjs/runner";
import type { Config } from "../config.js";
import { accessControl } from "./access.js";
import { apiErrorLog } from "./api-error-log.js";
import { BUILTIN_COMMANDS, assertValidCommands, mergeCommands } from "./commands.js";
import type { BotContext, ConversationContext } from "./context.js";
import type { BotCommandSpec, BotDeps, BotFeature } from "./deps.js";
import { handleBotError } from "./error-boundary.js";
import { groupChats } from "./group-chats.js";
import { rememberNames } from "./user-names.js";
import { PrivateAnswers } from "./private-answers.js";
import { cancelFeature } from "./features/cancel.js";
import { fallbackFeature } from "./features/fallback.js";
import { helpFeature } from "./features/help.js";
import { jobsFeature } from "./features/jobs.js";
import { startFeature } from "./features/start.js";
import { TelegramPacer } from "./telegram-pacer.js";
import { updateLogger } from "./update-logger.js";

export interface CreateBotOptions {
  /** auto-retry settings for bot.api and inside conversations (defaults: 5 attempts, waits up to 60 s). */
  retry?: Partial<AutoRetryOptions>;
  /** getUpdates long-poll timeout in seconds (default 30). */
  pollTimeoutSeconds?: number;
  /** How long start() may take to reach Telegram (default 15 s). */
  startTimeoutMs?: number;
  /** How long stop() waits for handlers still running (default 30 s). */
  drainTimeoutMs?: number;
  /**
   * Paces outgoing messages under Telegram's flood limits; pass the process's one pacer so the bot and the job
   * runners share its counts (default: a pacer of its own). `false` sends unpaced: only for tests that show what
   * Telegram does to a bot without it, and the benchmark of handling cost.
   */
  pacer?: TelegramPacer | false;
}

export interface DropshipBot {
  bot: Bot<BotContext>;
  /** Built-in and feature commands, as shown in /help and registered with setMyCommands. */
  commands: BotCommandSpec[];
  /** Checks the token (getMe), registers the command list and starts long polling with the runner. */
  start(): Promise<void>;
  /** Stops polling, waits for handlers in flight, and confirms the handled updates with Telegram. */
  stop(): Promise<void>;
  isRunning(): boolean;
}

const DEFAULT_RETRY: Partial<AutoRetryOptions> = { maxRetryAttempts: 5, maxDelaySeconds: 60 };

export function createBot(config: Config, deps: BotDeps, options: CreateBotOptions = {}): DropshipBot {
  const logger = deps.logger.child({ component: "bot" });
  const retry = { ...DEFAULT_RETRY, ...options.retry };
  const features: BotFeature[] = (deps.features ?? []).map((f, i) =>
    f instanceof Composer ? { name: `feature-${i + 1}`, composer: f } : f,
  );
  const commands = mergeCommands([BUILTIN_COMMANDS, ...features.map((f) => f.commands ?? [])]);
  assertValidCommands(commands);

  const pacer = options.pacer === undefined ? new TelegramPacer() : options.pacer;
  const paced = pacer ? [pacer.transformer] : [];
  const bot = new Bot<BotContext>(config.telegram.token, {
    // Conversations copy these options into their own Api, so the pacer's buildUrl reaches them too.
    client: { apiRoot: config.telegram.apiRoot, ...(pacer ? { buildUrl: pacer.buildUrl } : {}) },
  });
  // The error log first, so it sits inside auto-retry and sees every failed attempt; the pacer last, outside
  // auto-retry, so a retried message keeps its place in its chat's queue.
  bot.api.config.use(apiErrorLog(logger), autoRetry(retry), ...paced);

  const tracker = inFlightTracker();
  bot.use(tracker.middleware);
  bot.use(accessControl<BotContext>(config.access, logger));
  if (deps.knownUsers) bot.use(rememberNames(deps.knownUsers, config.access.ownerId));
  bot.use(groupChats<BotContext>(config.access.groupMode, logger));
  // One update at a time per chat (conversations need it); different chats run in parallel.
  bot.use(sequentialize<BotContext>((ctx) => (ctx.chat?.id ?? ctx.from?.id)?.toString()));
  bot.use(updateLogger(logger));

  const guarded = bot.errorBoundary(handleBotError(logger));
  guarded.use(
    conversations<BotContext, ConversationContext>({
      // Stored scrubbed: a private answer's text never reaches the kv table, only a reference to it in memory.
      storage: { type: "key", version: 1, adapter: (deps.privateAnswers ?? new PrivateAnswers()).scrubbing(deps.kv<VersionedState<ConversationData>>("conversations")) },
      // Conversations build fresh context objects with a fresh Api: bot.api's transformers do not reach them.
      plugins: [conversationPlugin(logger, retry, pacer)],
    }),
  );
  for (const f of features) {
    for (const c of f.conversations ?? []) {
      guarded.use(createConversation<BotContext, ConversationContext>(c.builder, { id: c.id, maxMillisecondsToWait: c.maxMillisecondsToWait }));
    }
  }
  guarded.use(startFeature(), helpFeature(commands), jobsFeature(deps.jobs), cancelFeature(deps));
  for (const f of features) guarded.use(f.composer);
  guarded.use(fallbackFeature());
  // Errors outside the boundary (access control, logging) are only logged: a stranger hears nothing more.
  bot.catch((err) => logger.error({ err: err.error, update_id: err.ctx.update.update_id }, "middleware failed outside the error boundary"));

  let handle: RunnerHandle | undefined;

  return {
    bot,
    commands,
    isRunning: () => handle?.isRunning() ?? false,
    async start() {
      if (handle) throw new Error("the bot is already running");
      await reachTelegram(bot, config.telegram.apiRoot, options.startTimeoutMs ?? 15_000);
      // A webhook left over from another deployment makes getUpdates fail with 409.
      await bot.api.deleteWebhook();
      await bot.api.setMyCommands(commands.map(({ command, description }) => ({ command, description })));
      // silent: failed polls are logged by apiErrorLog instead of the runner's console output.
      handle = run(bot, { runner: { fetch: { timeout: options.pollTimeoutSeconds ?? 30 }, silent: true } });
      handle.task()?.catch((err: unknown) => logger.fatal({ err }, "polling Telegram stopped with an error"));
      logger.info({ username: bot.botInfo.username, commands: commands.length }, "bot started");
    },
    async stop() {
      if (!handle) return;
      const h = handle;
      handle = undefined;
      await h.stop();
      const drained = await tracker.drain(options.drainTimeoutMs ?? 30_000);
      if (!drained) logger.warn({ in_flight: tracker.size() }, "stopped while handlers were still running");
      // The runner confirms a batch only with the next getUpdates; confirm now so a restart does not replay it.
      const last = tracker.lastUpdateId();
      if (last !== undefined) {
        await bot.api.getUpdates({ offset: last + 1, limit: 1, timeout: 0 }, deadline(5000)).catch((err: unknown) => {
          logger.warn({ err }, "could not confirm the last handled update; it may be handled again after a restart");
        });
      }
      logger.info("bot stopped");
    },
  };
}

/** Installed in every conversation: on its Api what bot.api has (error log, auto-retry, pacer); a per-update logger. */
function conversationPlugin(logger: BotDeps["logger"], retry: Partial<AutoRetryOptions>, pacer: TelegramPacer | false): MiddlewareFn<ConversationContext> {
  return async (ctx, next) => {
    ctx.api.config.use(apiErrorLog(logger), autoRetry(retry), ...(pacer ? [pacer.transformer] : []));
    ctx.logger = logger.child({ update_id: ctx.update.update_id, chat_id: ctx.chat?.id, user_id: ctx.from?.id, in: "conversation" });
    await next();
  };
}

/** An abort signal that fires after `ms`, typed as grammY's Node shim expects. */
const deadline = (ms: number) => AbortSignal.timeout(ms) as unknown as NonNullable<Parameters<Bot["init"]>[0]>;

/** getMe with a deadline, turning failures into messages that say what to fix. */
async function reachTelegram(bot: Bot<BotContext>, apiRoot: string, timeoutMs: number): Promise<void> {
  try {
    await bot.init(deadline(timeoutMs));
  } catch (err) {
    if (err instanceof GrammyError && err.error_code === 401) {
      throw new Error("Telegram refused the bot token (401 Unauthorized): check TELEGRAM_BOT_TOKEN (copy it again from @BotFather)");
    }
    const why = err instanceof GrammyError ? `${err.error_code} ${err.description}` : (err as Error).message;
    throw new Error(`cannot reach the Telegram Bot API at ${apiRoot} (${why}); check TELEGRAM_API_ROOT and the network`);
  }
}

/** Counts updates being handled so stop() can wait for them, and remembers the highest update id seen. */
function inFlightTracker(): {
  middleware: MiddlewareFn<BotContext>;
  drain(timeoutMs: number): Promise<boolean>;
  size(): number;
  lastUpdateId(): number | undefined;
} {
  const running = new Set<Promise<void>>();
  let last: number | undefined;
  return {
    middleware: async (ctx, next) => {
      last = Math.max(last ?? 0, ctx.update.update_id);
      const p = next();
      running.add(p);
      try {
        await p;
      } finally {
        running.delete(p);
      }
    },
    async drain(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (running.size > 0 && Date.now() < deadline) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.allSettled([...running]),
          new Promise((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now())))),
        ]);
        clearTimeout(timer);
      }
      return running.size === 0;
    },
    size: () => running.size,
    lastUpdateId: () => last,
  };
}
