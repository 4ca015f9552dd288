// What the bot needs from the rest of Dropship, injected by the composition root (src/app/wire-bot.ts) or a test.
import type { Composer } from "grammy";
import type { ConversationBuilder } from "@grammyjs/conversations";
import type { CancelOutcome } from "../jobs/cancel-job.js";
import type { JobStore } from "../jobs/job-store.js";
import type { KnownUsers } from "../jobs/known-users.js";
import type { Logger } from "../shared/logger.js";
import type { KeyValueStore } from "../storage/kv-store.js";
import type { BotContext, ConversationContext } from "./context.js";
import type { PrivateAnswers } from "./private-answers.js";

/** A command shown in /help and registered with Telegram (setMyCommands). */
export interface BotCommandSpec {
  command: string;
  description: string;
  /** Longer line for /help, e.g. "/cancel <id> — stop a job and destroy its droplet". */
  usage?: string;
}

/** A conversation a feature enters with `ctx.conversation.enter(id, ...args)`. */
export interface ConversationDefinition {
  id: string;
  builder: ConversationBuilder<BotContext, ConversationContext>;
  /** Leave the conversation when the user has not answered for this long. */
  maxMillisecondsToWait?: number;
}

/** One area of the bot (torrents, playbooks): its handlers, conversations and commands. */
export interface BotFeature {
  name: string;
  composer: Composer<BotContext>;
  conversations?: ConversationDefinition[];
  commands?: BotCommandSpec[];
}

export interface BotDeps {
  logger: Logger;
  /** Persistent key-value namespaces; "conversations" keeps conversations across restarts. */
  kv: <T>(namespace: string) => KeyValueStore<T>;
  jobs: Pick<JobStore, "listRecent" | "spendForJob">;
  /** Cancels a job on behalf of a user; `message` is shown to them as is. */
  cancelJob(jobId: number, userId: number): Promise<Pick<CancelOutcome, "kind" | "message">>;
  /**
   * Private answers held in memory; conversations' stored state is scrubbed of them. Give features that read
   * private answers the same instance (default: a fresh one).
   */
  privateAnswers?: PrivateAnswers;
  /** Where the names of the bot's users are kept as Telegram shows them (for lists of people, e.g. host shares). */
  knownUsers?: Pick<KnownUsers, "remember">;
  /** Extra features, run after the built-in commands and before the catch-all hint, in this order. */
  features?: (BotFeature | Composer<BotContext>)[];
}
