// The bot's context types, declared once: what every handler and every conversation can rely on.
import type { Context } from "grammy";
import type { Conversation, ConversationFlavor } from "@grammyjs/conversations";
import type { Logger } from "../shared/logger.js";

/** A child logger bound to the update being handled (update_id, chat, user). */
export interface LoggerFlavor {
  logger: Logger;
}

/** Context of the main middleware tree. */
export type BotContext = ConversationFlavor<Context & LoggerFlavor>;

/**
 * Context inside conversations. The conversations plugin builds these objects afresh on every replay, so
 * they carry only what its `plugins` option installs (our logger and auto-retry), not the outer middleware.
 */
export type ConversationContext = Context & LoggerFlavor;

/** The `conversation` handle a conversation builder receives. */
export type BotConversation = Conversation<BotContext, ConversationContext>;
