// The Bot API methods the fake Telegram serves (all but getUpdates, which the server long-polls itself).
import fs from "node:fs";
import path from "node:path";
import {
  ApiError,
  LIMITS,
  bad,
  checkMarkup,
  formatText,
  json,
  type Params,
  type ReplyMarkup,
  type SentMessage,
  type StoredFile,
  type TelegramState,
  type Upload,
} from "./fake-telegram-state.js";

type Method = (s: TelegramState, p: Params, uploads: Map<string, Upload>) => unknown;

const sameMarkup = (a?: ReplyMarkup, b?: ReplyMarkup) =>
  JSON.stringify(a?.inline_keyboard ?? null) === JSON.stringify(b?.inline_keyboard ?? null);

function replyTo(p: Params): number | undefined {
  const rp = json(p.reply_parameters) as { message_id?: unknown } | undefined;
  const id = rp?.message_id ?? p.reply_to_message_id;
  return id === undefined ? undefined : Number(id);
}

function sendMessage(s: TelegramState, p: Params): unknown {
  const chat = s.chatFor(p);
  return storeBotMessage(s, chat.id, p, formatText(p.text, p.parse_mode, p.entities, "text"));
}

/** A message the bot sent (text or document), stored as the chat will show it. */
function storeBotMessage(s: TelegramState, chatId: number, p: Params, extra: Partial<SentMessage>): unknown {
  const m = s.storeMessage({
    message_id: s.newMessageId(chatId),
    chat_id: chatId,
    from_bot: true,
    date: Math.floor(s.nowMs() / 1000),
    text: "",
    entities: [],
    ...extra,
    reply_markup: checkMarkup(p.reply_markup),
    reply_to_message_id: replyTo(p),
    edits: [],
    deleted: false,
  });
  return s.apiMessage(m);
}

function messageToEdit(s: TelegramState, p: Params): SentMessage {
  if (p.inline_message_id !== undefined) throw bad("inline messages are not supported by the fake Telegram");
  const chat = s.chatFor(p);
  const m = s.findMessage(chat.id, Number(p.message_id));
  if (!m) throw bad("message to edit not found");
  if (!m.from_bot) throw bad("message can't be edited");
  return m;
}

const NOT_MODIFIED =
  "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message";

function applyEdit(s: TelegramState, m: SentMessage, next: Pick<SentMessage, "text" | "entities" | "source" | "parse_mode" | "reply_markup">): unknown {
  const same =
    next.text === m.text && JSON.stringify(next.entities) === JSON.stringify(m.entities) && sameMarkup(next.reply_markup, m.reply_markup);
  if (same) throw bad(NOT_MODIFIED);
  m.edits.push({ at: s.nowMs(), text: m.text, entities: m.entities, reply_markup: m.reply_markup });
  Object.assign(m, next);
  return s.apiMessage(m);
}

function editMessageText(s: TelegramState, p: Params): unknown {
  const m = messageToEdit(s, p);
  if (m.document) throw bad("there is no text in the message to edit");
  // Like Telegram, an edit without reply_markup removes the inline keyboard.
  return applyEdit(s, m, { ...formatText(p.text, p.parse_mode, p.entities, "text"), reply_markup: checkMarkup(p.reply_markup) });
}

function editMessageCaption(s: TelegramState, p: Params): unknown {
  const m = messageToEdit(s, p);
  if (!m.document) throw bad("there is no caption in the message to edit");
  return applyEdit(s, m, { ...formatText(p.caption, p.parse_mode, p.caption_entities, "caption"), reply_markup: checkMarkup(p.reply_markup) });
}

function editMessageReplyMarkup(s: TelegramState, p: Params): unknown {
  const m = messageToEdit(s, p);
  const { text, entities, source, parse_mode } = m;
  return applyEdit(s, m, { text, entities, source, parse_mode, reply_markup: checkMarkup(p.reply_markup) });
}

/**
 * The Bot API's deleteMessage rules: only messages sent less than 48 hours ago; the bot's own messages anywhere;
 * users' messages in private chats; other users' messages in a group only as an admin (in a supergroup or channel,
 * an admin with can_delete_messages). Telegram's refusals seen in bots' issue trackers: "message can't be deleted"
 * for too old ones (eternnoir/pyTelegramBotAPI#1544), "message can't be deleted for everyone" for other users'
 * group messages without the right (backmeupplz/DeleteNudesBot#4, eternnoir/pyTelegramBotAPI#1337).
 */
function deleteMessage(s: TelegramState, p: Params): true {
  const chat = s.chatFor(p);
  const m = s.findMessage(chat.id, Number(p.message_id));
  if (!m) throw bad("message to delete not found");
  if (s.nowMs() - m.date * 1000 >= LIMITS.deleteWindowMs) throw bad("message can't be deleted");
  if (!m.from_bot && chat.type !== "private") {
    const admin = s.botAdmin.get(chat.id);
    const allowed = chat.type === "group" ? admin !== undefined : admin?.can_delete_messages === true;
    if (!allowed) throw bad("message can't be deleted for everyone");
  }
  m.deleted = true;
  return true;
}

function sendDocument(s: TelegramState, p: Params, uploads: Map<string, Upload>): unknown {
  const chat = s.chatFor(p);
  const ref = p.document;
  // Uploads arrive as multipart parts; the server maps each to an attach:// reference.
  const upload = typeof ref === "string" && ref.startsWith("attach://") ? uploads.get(ref.slice("attach://".length)) : undefined;
  let file;
  if (upload) {
    if (upload.data.length > s.uploadLimitBytes()) throw new ApiError(413, "Request Entity Too Large");
    if (upload.data.length === 0) throw bad("file must be non-empty");
    file = s.storeFile(upload.data, { file_name: upload.filename, mime_type: mimeOf(upload) });
  } else if (typeof ref === "string" && ref.startsWith(FILE_URI)) {
    file = localFile(s, ref);
  } else if (typeof ref === "string" && s.files.has(ref)) {
    file = s.files.get(ref)!;
  } else if (ref === undefined) {
    throw bad("parameter \"document\" is required");
  } else {
    throw bad("wrong file identifier/HTTP URL specified");
  }
  return storeBotMessage(s, chat.id, p, { ...formatText(p.caption, p.parse_mode, p.caption_entities, "caption"), document: file });
}

const FILE_URI = "file:/";

/**
 * A `file:` URI as a local server reads it (Client::get_input_file and get_local_file_path in tdlib/telegram-bot-api):
 * "file:/" off, then "/localhost" or one "/", then percent-decoding; the document is named after the file.
 * Telegram's own server takes the string for a file_id and refuses it (tdlib/telegram-bot-api#467). The refusals
 * for a missing or oversized local file are this fake's wording.
 */
function localFile(s: TelegramState, uri: string): StoredFile {
  if (!s.local) throw bad("wrong remote file identifier specified: Wrong character in the string");
  let rest = uri.slice(FILE_URI.length);
  if (rest.startsWith("/")) rest = rest.slice(rest.startsWith("/localhost") ? "/localhost".length : 1);
  const filePath = path.resolve(percentDecode(rest));
  const stat = fs.statSync(filePath, { throwIfNoEntry: false });
  if (!stat?.isFile()) throw bad(`file not found: ${filePath}`);
  if (stat.size > LIMITS.localUploadBytes) throw bad("file is too big");
  if (stat.size === 0) throw bad("file must be non-empty");
  const name = path.basename(filePath);
  return s.storeFile(fs.readFileSync(filePath), { file_name: name, mime_type: mimeOf({ filename: name, data: Buffer.alloc(0) }) });
}

/** Percent-decoding that leaves a malformed escape as it is (td::url_decode does), '+' included. */
function percentDecode(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; ) {
    const hex = text[i] === "%" ? text.slice(i + 1, i + 3) : "";
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 3;
      continue;
    }
    const ch = String.fromCodePoint(text.codePointAt(i)!);
    bytes.push(...Buffer.from(ch, "utf8"));
    i += ch.length;
  }
  return Buffer.from(bytes).toString("utf8");
}

function mimeOf(u: Upload): string {
  if (u.contentType && u.contentType !== "application/octet-stream") return u.contentType;
  const ext = /\.([a-z0-9]+)$/i.exec(u.filename)?.[1]?.toLowerCase();
  const known: Record<string, string> = {
    txt: "text/plain",
    log: "text/plain",
    json: "application/json",
    zip: "application/zip",
    gz: "application/gzip",
    yml: "application/x-yaml",
    yaml: "application/x-yaml",
    torrent: "application/x-bittorrent",
  };
  return (ext && known[ext]) ?? "application/octet-stream";
}

const TRUE = () => true;

export const METHODS: Record<string, Method> = {
  getme: (s) => ({ ...s.me }),
  logout: TRUE,
  close: TRUE,
  deletewebhook: TRUE,
  setwebhook: () => {
    throw bad("the fake Telegram only supports getUpdates");
  },
  getwebhookinfo: (s) => ({ url: "", has_custom_certificate: false, pending_update_count: s.updates.length }),
  sendmessage: sendMessage,
  editmessagetext: editMessageText,
  editmessagecaption: editMessageCaption,
  editmessagereplymarkup: editMessageReplyMarkup,
  deletemessage: deleteMessage,
  senddocument: sendDocument,
  answercallbackquery: (s, p) => s.answerCallback(p),
  getfile: (s, p) => s.getFile(p),
  setmycommands: (s, p) => s.setCommands(p),
  getmycommands: (s, p) => s.getCommands(p),
  deletemycommands: (s, p) => s.setCommands(p, true),
  setmydescription: TRUE,
  setmyshortdescription: TRUE,
  sendchataction: (s, p) => s.chatAction(p),
  getchat: (s, p) => ({ ...s.chatFor(p) }),
};
