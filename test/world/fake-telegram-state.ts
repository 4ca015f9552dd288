// The fake Telegram's world: chats, messages, files, callback queries and the update queue, and the Bot API
// methods over them, each enforcing the documented limits with Telegram's own error descriptions.
import { createHash, randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import fs from "node:fs";
import path from "node:path";
import { detectEntities, parseHtml, parseMarkdownV2, type MessageEntity } from "./fake-telegram-entities.js";

export type { MessageEntity };

export interface FakeUser {
  id: number;
  first_name: string;
  username?: string;
  last_name?: string;
  language_code?: string;
}

export interface FakeChat {
  id: number;
  type: "private" | "group" | "supergroup" | "channel";
  title?: string;
  first_name?: string;
  username?: string;
}

export interface InlineButton {
  text: string;
  callback_data?: string;
  url?: string;
  [key: string]: unknown;
}

export interface ReplyMarkup {
  inline_keyboard?: InlineButton[][];
  [key: string]: unknown;
}

export interface StoredFile {
  file_id: string;
  file_unique_id: string;
  file_name?: string;
  mime_type?: string;
  file_size: number;
  bytes: Buffer;
  file_path?: string;
}

/** One message as it stands now, plus its history; `text` is what the user sees (caption for documents). */
export interface SentMessage {
  message_id: number;
  chat_id: number;
  from_bot: boolean;
  date: number;
  text: string;
  /** The source text as the bot sent it when it used a parse_mode (HTML or MarkdownV2). */
  source?: string;
  parse_mode?: string;
  entities: MessageEntity[];
  reply_markup?: ReplyMarkup;
  document?: StoredFile;
  reply_to_message_id?: number;
  edits: { at: number; text: string; entities: MessageEntity[]; reply_markup?: ReplyMarkup }[];
  deleted: boolean;
}

export interface CallbackQueryRecord {
  id: string;
  from: FakeUser;
  chat_id: number;
  message_id: number;
  data: string;
  at: number;
  answered: boolean;
}

export interface AnsweredCallback {
  callback_query_id: string;
  text?: string;
  show_alert?: boolean;
  at: number;
}

export class ApiError extends Error {
  constructor(
    readonly error_code: number,
    readonly description: string,
    readonly parameters?: Record<string, unknown>,
  ) {
    super(description);
  }
}

export const bad = (what: string) => new ApiError(400, `Bad Request: ${what}`);

export const LIMITS = {
  textLength: 4096,
  /** Inline keyboards: 8 buttons a row, 100 in all (tginfo/Telegram-Limits; beyond: "reply markup is too long"). */
  inlineButtonsPerRow: 8,
  inlineButtons: 100,
  /** deleteMessage works only on messages sent less than 48 hours ago (Bot API docs, deleteMessage). */
  deleteWindowMs: 48 * 3600 * 1000,
  captionLength: 1024,
  callbackDataBytes: 64,
  uploadBytes: 50 * 1024 * 1024,
  /** With a self-hosted `telegram-bot-api --local`: uploads up to 2000 MB, downloads without a limit (its README). */
  localUploadBytes: 2000 * 1024 * 1024,
  downloadBytes: 20 * 1024 * 1024,
  callbackAnswerLength: 200,
};

const CHAT_ACTIONS = new Set([
  "typing",
  "upload_photo",
  "record_video",
  "upload_video",
  "record_voice",
  "upload_voice",
  "upload_document",
  "choose_sticker",
  "find_location",
  "record_video_note",
  "upload_video_note",
]);

export type Params = Record<string, unknown>;
export interface Upload {
  filename: string;
  contentType?: string;
  data: Buffer;
}

/** Telegram's world state; every change emits "change" so tests can wait on it. */
export class TelegramState extends EventEmitter {
  readonly chats = new Map<number, FakeChat>();
  readonly blocked = new Set<number>();
  readonly messages = new Map<number, SentMessage[]>();
  readonly files = new Map<string, StoredFile>();
  readonly filesByPath = new Map<string, StoredFile>();
  readonly callbackQueries = new Map<string, CallbackQueryRecord>();
  readonly answeredCallbacks: AnsweredCallback[] = [];
  readonly commands = new Map<string, { command: string; description: string }[]>();
  /** Chats where the bot is an administrator (set by the test); absent: an ordinary member. */
  readonly botAdmin = new Map<number, { can_delete_messages: boolean }>();
  updates: Record<string, unknown>[] = [];
  private nextUpdateId = 1;
  private readonly nextMessageId = new Map<number, number>();
  private fileCounter = 0;

  constructor(
    readonly me: { id: number; is_bot: true; first_name: string; username: string; [k: string]: unknown },
    private readonly callbackTimeoutMs: number,
    private readonly now: () => number = Date.now,
    /** Set when the fake plays a `telegram-bot-api --local` server: its working directory, where getFile puts files. */
    readonly local: { dir: string } | null = null,
  ) {
    super();
    this.setMaxListeners(0);
  }

  /** The most one upload may hold: 50 MB, or 2000 MB for a local server. */
  uploadLimitBytes(): number {
    return this.local ? LIMITS.localUploadBytes : LIMITS.uploadBytes;
  }

  changed(): void {
    this.emit("change");
  }

  pushUpdate(update: Record<string, unknown>): Record<string, unknown> {
    const full = { update_id: this.nextUpdateId++, ...update };
    this.updates.push(full);
    this.changed();
    return full;
  }

  /** getUpdates: confirms everything below `offset`, then returns up to `limit` pending updates. */
  takeUpdates(offset: number | undefined, limit: number): Record<string, unknown>[] {
    if (offset !== undefined && offset > 0) this.updates = this.updates.filter((u) => (u.update_id as number) >= offset);
    if (offset !== undefined && offset < 0) this.updates = this.updates.slice(offset);
    return this.updates.slice(0, limit);
  }

  newMessageId(chatId: number): number {
    const id = this.nextMessageId.get(chatId) ?? 1;
    this.nextMessageId.set(chatId, id + 1);
    return id;
  }

  storeMessage(m: SentMessage): SentMessage {
    const list = this.messages.get(m.chat_id) ?? [];
    list.push(m);
    this.messages.set(m.chat_id, list);
    return m;
  }

  findMessage(chatId: number, messageId: number): SentMessage | undefined {
    return this.messages.get(chatId)?.find((m) => m.message_id === messageId && !m.deleted);
  }

  storeFile(bytes: Buffer, meta: { file_name?: string; mime_type?: string }): StoredFile {
    const n = ++this.fileCounter;
    const file: StoredFile = {
      file_id: `BQACAgIAAxkBAAI${n}${randomBytes(12).toString("base64url")}`,
      file_unique_id: `AgAD${createHash("sha256").update(bytes).digest("base64url").slice(0, 12)}`,
      file_size: bytes.length,
      bytes,
      ...meta,
    };
    this.files.set(file.file_id, file);
    return file;
  }

  userMessage(user: FakeUser, chat: FakeChat, fields: Record<string, unknown>): Record<string, unknown> {
    this.chats.set(chat.id, chat);
    const message_id = this.newMessageId(chat.id);
    const message = { message_id, from: { is_bot: false, ...user }, chat, date: Math.floor(this.now() / 1000), ...fields };
    this.storeMessage({
      message_id,
      chat_id: chat.id,
      from_bot: false,
      date: message.date,
      text: String(fields.text ?? fields.caption ?? ""),
      entities: (fields.entities as MessageEntity[] | undefined) ?? [],
      edits: [],
      deleted: false,
    });
    return message;
  }

  /** The message object the Bot API returns for a message the bot sent. */
  apiMessage(m: SentMessage): Record<string, unknown> {
    const chat = this.chats.get(m.chat_id);
    const out: Record<string, unknown> = { message_id: m.message_id, from: { ...this.me }, chat, date: m.date };
    const textKey = m.document ? "caption" : "text";
    if (m.text !== "" || !m.document) out[textKey] = m.text;
    if (m.entities.length > 0) out[m.document ? "caption_entities" : "entities"] = m.entities;
    if (m.reply_markup?.inline_keyboard) out.reply_markup = { inline_keyboard: m.reply_markup.inline_keyboard };
    if (m.document) {
      const { file_id, file_unique_id, file_name, mime_type, file_size } = m.document;
      out.document = { file_id, file_unique_id, file_name, mime_type, file_size };
    }
    if (m.edits.length > 0) out.edit_date = Math.floor(m.edits.at(-1)!.at / 1000);
    return out;
  }

  chatFor(params: Params): FakeChat {
    const raw = params.chat_id;
    if (raw === undefined || raw === "") throw bad("chat_id is empty");
    const chat =
      typeof raw === "string" && raw.startsWith("@")
        ? [...this.chats.values()].find((c) => c.username === raw.slice(1))
        : this.chats.get(Number(raw));
    if (!chat) throw bad("chat not found");
    if (this.blocked.has(chat.id)) throw new ApiError(403, "Forbidden: bot was blocked by the user");
    return chat;
  }

  /** Validates and records one callback query answer. */
  answerCallback(params: Params): true {
    const id = String(params.callback_query_id ?? "");
    const q = this.callbackQueries.get(id);
    if (!q || q.answered || this.now() - q.at > this.callbackTimeoutMs) {
      throw bad("query is too old and response timeout expired or query ID is invalid");
    }
    const text = params.text === undefined ? undefined : String(params.text);
    if (text !== undefined && text.length > LIMITS.callbackAnswerLength) throw bad("MESSAGE_TOO_LONG");
    q.answered = true;
    this.answeredCallbacks.push({ callback_query_id: id, text, show_alert: bool(params.show_alert), at: this.now() });
    return true;
  }

  setCommands(params: Params, remove = false): true {
    const key = commandsKey(params);
    if (remove) {
      this.commands.delete(key);
      return true;
    }
    const list = json(params.commands) as { command?: unknown; description?: unknown }[] | undefined;
    if (!Array.isArray(list)) throw bad("parameter \"commands\" is required");
    if (list.length > 100) throw bad("BOT_COMMANDS_TOO_MUCH");
    const clean = list.map((c) => {
      const command = String(c.command ?? "");
      const description = String(c.description ?? "");
      if (!/^[a-z0-9_]{1,32}$/.test(command)) throw bad("BOT_COMMAND_INVALID");
      if (description.length < 1 || description.length > 256) throw bad("BOT_COMMAND_DESCRIPTION_INVALID");
      return { command, description };
    });
    this.commands.set(key, clean);
    return true;
  }

  getCommands(params: Params): { command: string; description: string }[] {
    return this.commands.get(commandsKey(params)) ?? [];
  }

  chatAction(params: Params): true {
    this.chatFor(params);
    if (!CHAT_ACTIONS.has(String(params.action))) throw bad("wrong parameter action in request");
    return true;
  }

  getFile(params: Params): Record<string, unknown> {
    const file = this.files.get(String(params.file_id ?? ""));
    if (!file) throw bad("invalid file_id");
    if (!this.local && file.file_size > LIMITS.downloadBytes) throw bad("file is too big");
    if (!file.file_path) {
      const ext = /\.([A-Za-z0-9]{1,8})$/.exec(file.file_name ?? "")?.[1];
      const relative = `documents/file_${this.filesByPath.size}${ext ? `.${ext}` : ""}`;
      // A local server answers with the absolute path of the file on its disk, and serves no /file/ downloads.
      file.file_path = this.local ? path.join(this.local.dir, relative) : relative;
      if (this.local) {
        fs.mkdirSync(path.dirname(file.file_path), { recursive: true });
        fs.writeFileSync(file.file_path, file.bytes);
      }
      this.filesByPath.set(file.file_path, file);
    }
    const { file_id, file_unique_id, file_size, file_path } = file;
    return { file_id, file_unique_id, file_size, file_path };
  }

  nowMs(): number {
    return this.now();
  }
}

function commandsKey(params: Params): string {
  const scope = (json(params.scope) as Record<string, unknown> | undefined) ?? { type: "default" };
  return `${JSON.stringify(scope)}|${String(params.language_code ?? "")}`;
}

/** Values from query strings and forms arrive as strings; objects are JSON there. */
export function json(v: unknown): unknown {
  if (typeof v !== "string") return v;
  const t = v.trim();
  if (!t.startsWith("{") && !t.startsWith("[")) return v;
  try {
    return JSON.parse(t);
  } catch {
    throw bad("can't parse JSON object");
  }
}

export function bool(v: unknown): boolean | undefined {
  if (v === undefined) return undefined;
  return v === true || v === "true" || v === "1" || v === 1;
}

/** Text after parse_mode, with the length limit for messages or captions. */
export function formatText(
  raw: unknown,
  parseMode: unknown,
  entities: unknown,
  kind: "text" | "caption",
): { text: string; entities: MessageEntity[]; source?: string; parse_mode?: string } {
  const source = raw === undefined || raw === null ? "" : String(raw);
  let text = source;
  let ents = (json(entities) as MessageEntity[] | undefined) ?? [];
  const mode = parseMode === undefined || parseMode === "" ? undefined : String(parseMode);
  if (mode !== undefined) {
    const parsed =
      mode.toLowerCase() === "html"
        ? parseHtml(source)
        : mode === "MarkdownV2"
          ? parseMarkdownV2(source)
          : mode === "Markdown"
            ? { ok: true as const, text: source, entities: [] as MessageEntity[] }
            : ({ ok: false, error: "Bad Request: unsupported parse_mode" } as const);
    if (!parsed.ok) throw new ApiError(400, parsed.error);
    text = parsed.text;
    ents = parsed.entities;
  }
  if (kind === "text" && text.trim() === "") throw bad("message text is empty");
  if (kind === "text" && text.length > LIMITS.textLength) throw bad("message is too long");
  if (kind === "caption" && text.length > LIMITS.captionLength) throw bad("message caption is too long");
  return mode === undefined ? { text, entities: ents } : { text, entities: ents, source, parse_mode: mode };
}

/** Validates an inline keyboard the way Telegram does; other markups are stored as given. */
export function checkMarkup(raw: unknown): ReplyMarkup | undefined {
  const markup = json(raw) as ReplyMarkup | undefined;
  if (markup === undefined || markup === null) return undefined;
  if (typeof markup !== "object") throw bad("can't parse reply keyboard markup JSON object");
  if (markup.inline_keyboard === undefined) return markup;
  if (!Array.isArray(markup.inline_keyboard) || !markup.inline_keyboard.every(Array.isArray)) {
    throw bad("field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array of Arrays");
  }
  const rows = markup.inline_keyboard;
  const total = rows.reduce((n, row) => n + row.length, 0);
  if (total > LIMITS.inlineButtons || rows.some((row) => row.length > LIMITS.inlineButtonsPerRow)) throw bad("reply markup is too long");
  for (const row of rows) {
    for (const b of row) {
      if (typeof b.text !== "string" || b.text === "") throw bad("BUTTON_TEXT_EMPTY");
      if (b.callback_data !== undefined) {
        const n = Buffer.byteLength(String(b.callback_data), "utf8");
        if (n < 1 || n > LIMITS.callbackDataBytes) throw bad("BUTTON_DATA_INVALID");
      } else if (b.url !== undefined) {
        if (!/^(https?|tg):\/\/\S+$/i.test(String(b.url))) throw bad("inline keyboard button URL is invalid");
      } else if (!Object.keys(b).some((k) => k !== "text")) {
        throw bad("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard");
      }
    }
  }
  return markup;
}

export { detectEntities };
