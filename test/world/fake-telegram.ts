// A fake Telegram Bot API on 127.0.0.1: real HTTP, real long polling, Telegram's limits and error shapes,
// plus a test-side API to act as users (messages, documents, button presses) and read what the bot sent.
import http from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { boundaryOf, parseMultipart } from "./fake-telegram-multipart.js";
import { METHODS } from "./fake-telegram-methods.js";
import { FloodControl, TELEGRAM_FLOOD_RULES, botSeesGroupMessage, countsAsMessage, type FloodRules, type PrivacySettings } from "./fake-telegram-limits.js";
import {
  ApiError,
  LIMITS,
  TelegramState,
  detectEntities,
  type AnsweredCallback,
  type FakeChat,
  type FakeUser,
  type Params,
  type SentMessage,
  type StoredFile,
  type Upload,
} from "./fake-telegram-state.js";

export type { AnsweredCallback, FakeChat, FakeUser, SentMessage, StoredFile };
export type { InlineButton, MessageEntity, ReplyMarkup } from "./fake-telegram-state.js";
export { LIMITS, TELEGRAM_FLOOD_RULES };
export type { FloodRules };

/**
 * Telegram's behavioural limits, all on by default. A test that needs to go faster than Telegram allows turns one
 * off explicitly and says why, e.g. `limits: { floodControl: false } // this test measures throughput`.
 */
export interface FakeTelegramLimits {
  /** Flood control (429 with retry_after): true (default) for Telegram's rules, false for none, or other rules. */
  floodControl?: boolean | Partial<FloodRules>;
  /** Group privacy mode, as BotFather's /setprivacy (default true); `setPrivacy` changes it while running. */
  privacyMode?: boolean;
}

export interface FakeTelegramOptions {
  token: string;
  /** How long a callback query may wait for its answer (Telegram: about 15 s). */
  callbackQueryTimeoutMs?: number;
  botUsername?: string;
  /** The clock for message dates, callback expiry, the 48-hour delete window and flood buckets. */
  now?: () => number;
  limits?: FakeTelegramLimits;
  /**
   * Plays a self-hosted `telegram-bot-api --local` (tdlib/telegram-bot-api README, "Usage") instead of
   * api.telegram.org: uploads up to 2000 MB, sendDocument takes `file://` URIs of files on this machine, getFile
   * answers with absolute paths (files written to `localDir`) and has no size limit, and /file/ serves nothing.
   */
  localMode?: boolean;
}

export interface ApiCall {
  method: string;
  params: Params;
  files: { field: string; filename: string; size: number }[];
  at: number;
  /** Filled in when the answer is sent; undefined while a long poll is held. */
  response?: { ok: boolean; error_code?: number; description?: string };
}

export type Fault = { error_code: 429; retry_after: number; description?: string } | { error_code: number; description?: string };

export interface DocumentInput {
  fileName: string;
  mimeType?: string;
  bytes: Buffer | Uint8Array | string;
  caption?: string;
}

export type MessageRef = SentMessage | { chat_id: number; message_id: number };

export interface FakeTelegram {
  apiRoot: string;
  token: string;
  /** In local mode, the server's working directory (getFile's files are there); null otherwise. Removed by stop(). */
  localDir: string | null;
  me: { id: number; is_bot: true; first_name: string; username: string; can_read_all_group_messages: boolean };
  /** Every API call the bot made, in arrival order. */
  calls: ApiCall[];
  answeredCallbacks: AnsweredCallback[];
  /**
   * A user's text message (Telegram adds bot_command and url entities); chat defaults to the private chat.
   * In a group with privacy mode on, the bot gets it only if Telegram would deliver it (see botSeesGroupMessage);
   * the message is in the chat either way.
   */
  sendText(user: FakeUser, text: string): Record<string, unknown>;
  sendText(user: FakeUser, chat: FakeChat, text: string, opts?: { replyTo?: MessageRef }): Record<string, unknown>;
  /** A user's document; the file is then reachable through getFile and /file/bot<token>/... Privacy mode applies. */
  sendDocument(user: FakeUser, doc: DocumentInput, chat?: FakeChat): Record<string, unknown>;
  /** Presses an inline button; refuses a button the message does not show unless `force` (to forge presses). */
  pressButton(user: FakeUser, message: MessageRef, callbackData: string, opts?: { force?: boolean }): string;
  /** Any raw update (channel posts, edits, member changes); update_id is assigned. Never filtered by privacy mode. */
  injectUpdate(update: Record<string, unknown>): Record<string, unknown>;
  /** The bot's messages in a chat as they stand now (with edit history); `includeUser` adds the users' own. */
  messages(chatId: number, opts?: { includeUser?: boolean }): SentMessage[];
  /** The next bot message in this chat not yet returned by nextMessage. */
  nextMessage(chatId: number, timeoutMs?: number): Promise<SentMessage>;
  /** Resolves with the first truthy value of `check`, re-checked on every change (API call, injected update). */
  waitFor<T>(check: () => T | undefined | null | false, timeoutMs?: number, what?: string): Promise<T>;
  /** Calls `listener` after every change (API call, answer, user action); returns the function that unsubscribes. */
  onChange(listener: () => void): () => void;
  failNext(method: string, fault: Fault, times?: number): void;
  commands(opts?: { scope?: Record<string, unknown>; language_code?: string }): { command: string; description: string }[];
  /**
   * Changes limits while running, for one test in a file that shares a world; restore them when it ends
   * (`onTestFinished`). Turning flood control back on starts with empty windows.
   */
  setLimits(limits: FakeTelegramLimits): void;
  /** BotFather's /setprivacy for the bot, or (with chatId) for one group only. */
  setPrivacy(enabled: boolean, chatId?: number): void;
  /** Makes the bot an admin of a group (false: an ordinary member again); admins see every message. */
  setBotAdmin(chatId: number, rights: { can_delete_messages: boolean } | false): void;
  /** The user blocks the bot: sends to their chat fail with 403 Forbidden. */
  blockBot(userId: number, blocked?: boolean): void;
  file(fileId: string): StoredFile | undefined;
  pendingUpdates(): number;
  stop(): Promise<void>;
}

/** Room for a request's other parts on top of the largest upload. */
const BODY_OVERHEAD = 2 * 1024 * 1024;

export async function startFakeTelegram(opts: FakeTelegramOptions): Promise<FakeTelegram> {
  const botId = Number(opts.token.split(":")[0]) || 100000001;
  const username = opts.botUsername ?? "dropship_test_bot";
  const me = {
    id: botId,
    is_bot: true as const,
    first_name: "Dropship Test",
    username,
    can_join_groups: true,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
    can_connect_to_business: false,
    has_main_web_app: false,
  };
  const localDir = opts.localMode ? fs.mkdtempSync(path.join(os.tmpdir(), "fake-telegram-local-")) : null;
  const state = new TelegramState(me, opts.callbackQueryTimeoutMs ?? 15_000, opts.now, localDir ? { dir: localDir } : null);
  const makeFlood = (opt: FakeTelegramLimits["floodControl"] = true) =>
    opt === false ? null : new FloodControl({ ...TELEGRAM_FLOOD_RULES, ...(opt === true ? {} : opt) }, () => state.nowMs());
  const limits = { flood: makeFlood(opts.limits?.floodControl), makeFlood };
  const privacy: PrivacySettings = { enabled: opts.limits?.privacyMode ?? true, perChat: new Map() };
  me.can_read_all_group_messages = !privacy.enabled;
  const calls: ApiCall[] = [];
  const faults = new Map<string, Fault[]>();
  const polls: PollRegistry = { state, held: null, stoppers: new Set() };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) reply(res, 500, { ok: false, error_code: 500, description: `Internal Server Error: ${String(err)}` });
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const fileRoute = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    const apiRoute = /^\/bot([^/]*)\/([A-Za-z]+)\/?$/.exec(url.pathname);
    if (fileRoute) return serveFile(res, fileRoute[1]!, decodeURIComponent(fileRoute[2]!));
    if (!apiRoute) return reply(res, 404, { ok: false, error_code: 404, description: "Not Found" });
    const body = await readBody(req, state.uploadLimitBytes() + BODY_OVERHEAD);
    if (apiRoute[1] !== opts.token) return reply(res, 401, { ok: false, error_code: 401, description: "Unauthorized" });
    const methodName = apiRoute[2]!;
    const key = methodName.toLowerCase();
    if (body === "too large") return reply(res, 413, { ok: false, error_code: 413, description: "Request Entity Too Large" });
    let params: Params;
    let uploads: Map<string, Upload>;
    try {
      ({ params, uploads } = parseParams(url, req.headers["content-type"] ?? "", body));
    } catch (err) {
      return reply(res, 400, { ok: false, error_code: 400, description: `Bad Request: ${(err as Error).message}` });
    }
    const call: ApiCall = {
      method: methodName,
      params,
      files: [...uploads].map(([field, u]) => ({ field, filename: u.filename, size: u.data.length })),
      at: Date.now(),
    };
    calls.push(call);
    state.changed();
    const answer = (status: number, payload: Record<string, unknown>) => {
      call.response = { ok: payload.ok as boolean, error_code: payload.error_code as number | undefined, description: payload.description as string | undefined };
      reply(res, status, payload);
      state.changed();
    };
    const fault = takeFault(key);
    if (fault) return answer(fault.error_code, faultBody(fault));
    if (key === "getupdates") return longPoll(polls, params, res, answer);
    const method = METHODS[key];
    if (!method) return answer(404, { ok: false, error_code: 404, description: "Not Found" });
    try {
      const flood = limits.flood;
      const floodChat = flood && countsAsMessage(key) ? chatOrNull(params) : null;
      const wait = flood && floodChat ? flood.retryAfter(floodChat) : 0;
      if (wait > 0) return answer(429, faultBody({ error_code: 429, retry_after: wait }));
      const result = method(state, params, uploads);
      if (flood && floodChat) flood.record(floodChat); // only messages Telegram accepted count
      answer(200, { ok: true, result });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      answer(err.error_code, { ok: false, error_code: err.error_code, description: err.description, ...(err.parameters ? { parameters: err.parameters } : {}) });
    }
  }

  /** The chat a counted call targets; unknown chats are left for the method to refuse. */
  function chatOrNull(params: Params): FakeChat | null {
    try {
      return state.chatFor(params);
    } catch {
      return null;
    }
  }

  function takeFault(key: string): Fault | undefined {
    const list = faults.get(key);
    const f = list?.shift();
    if (list && list.length === 0) faults.delete(key);
    return f;
  }

  function serveFile(res: http.ServerResponse, token: string, filePath: string): void {
    // A local server leaves files to the bot, which reads the paths getFile gives (tdlib/telegram-bot-api#381).
    const file = token === opts.token && !state.local ? state.filesByPath.get(filePath) : undefined;
    if (!file) return reply(res, 404, { ok: false, error_code: 404, description: "Not Found" });
    res.writeHead(200, { "content-type": file.mime_type ?? "application/octet-stream", "content-length": file.bytes.length });
    res.end(file.bytes);
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return buildTestApi({ apiRoot: `http://127.0.0.1:${port}`, token: opts.token, me, state, calls, faults, server, stoppers: polls.stoppers, privacy, limits, localDir });
}

interface PollRegistry {
  state: TelegramState;
  /** The getUpdates request being held, if any: Telegram allows one at a time. */
  held: { conflict: () => void } | null;
  /** Ends every held poll (the server is stopping). */
  stoppers: Set<() => void>;
}

type Answer = (status: number, payload: Record<string, unknown>) => void;

/** getUpdates with real long polling: answers at once when updates are pending, else holds until one arrives. */
function longPoll(polls: PollRegistry, params: Params, res: http.ServerResponse, answer: Answer): void {
  const { state } = polls;
  const offset = params.offset === undefined ? undefined : Number(params.offset);
  const limit = Math.min(100, Math.max(1, Number(params.limit ?? 100)));
  const timeoutMs = Math.max(0, Number(params.timeout ?? 0)) * 1000;
  polls.held?.conflict(); // the older request is told it was terminated, as Telegram does
  const first = state.takeUpdates(offset, limit);
  if (first.length > 0 || timeoutMs === 0) return answer(200, { ok: true, result: first });
  let done = false;
  const finish = (status: number, payload: Record<string, unknown> | null) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    state.off("change", onChange);
    polls.stoppers.delete(onStop);
    if (polls.held === poll) polls.held = null;
    if (payload && !res.destroyed) answer(status, payload);
  };
  const onChange = () => {
    const got = state.takeUpdates(offset, limit);
    if (got.length > 0) finish(200, { ok: true, result: got });
  };
  const onStop = () => finish(200, { ok: true, result: [] });
  const timer = setTimeout(() => finish(200, { ok: true, result: state.takeUpdates(offset, limit) }), timeoutMs);
  const poll = {
    conflict: () =>
      finish(409, {
        ok: false,
        error_code: 409,
        description: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
      }),
  };
  polls.held = poll;
  state.on("change", onChange);
  polls.stoppers.add(onStop);
  res.on("close", () => finish(0, null)); // the client gave up (bot stopping)
}

function reply(res: http.ServerResponse, status: number, payload: unknown): void {
  const text = JSON.stringify(payload);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function faultBody(f: Fault): Record<string, unknown> {
  if ("retry_after" in f) {
    return {
      ok: false,
      error_code: 429,
      description: f.description ?? `Too Many Requests: retry after ${f.retry_after}`,
      parameters: { retry_after: f.retry_after },
    };
  }
  const description = f.description ?? (f.error_code >= 500 ? "Internal Server Error" : `Error ${f.error_code}`);
  return { ok: false, error_code: f.error_code, description };
}

function readBody(req: http.IncomingMessage, maxBody: number): Promise<Buffer | "too large"> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= maxBody) chunks.push(c); // past the limit, drain without keeping
    });
    req.on("end", () => resolve(size > maxBody ? "too large" : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** Query string, JSON, urlencoded or multipart, all merged as Telegram does; file parts become attach:// refs. */
function parseParams(url: URL, contentType: string, body: Buffer): { params: Params; uploads: Map<string, Upload> } {
  const params: Params = Object.fromEntries(url.searchParams);
  const uploads = new Map<string, Upload>();
  const ct = contentType.toLowerCase();
  if (body.length === 0) return { params, uploads };
  if (ct.startsWith("application/json")) {
    const parsed = JSON.parse(body.toString("utf8")) as unknown;
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("can't parse JSON object");
    Object.assign(params, parsed);
  } else if (ct.startsWith("application/x-www-form-urlencoded")) {
    Object.assign(params, Object.fromEntries(new URLSearchParams(body.toString("utf8"))));
  } else if (ct.startsWith("multipart/form-data")) {
    const boundary = boundaryOf(contentType);
    if (!boundary) throw new Error("multipart/form-data without a boundary");
    for (const part of parseMultipart(body, boundary)) {
      if (part.filename === undefined) {
        params[part.name] = part.data.toString("utf8");
      } else {
        uploads.set(part.name, { filename: part.filename, contentType: part.contentType, data: part.data });
        if (params[part.name] === undefined) params[part.name] = `attach://${part.name}`;
      }
    }
  }
  return { params, uploads };
}

interface Internals {
  apiRoot: string;
  token: string;
  me: FakeTelegram["me"];
  state: TelegramState;
  calls: ApiCall[];
  faults: Map<string, Fault[]>;
  server: http.Server;
  stoppers: Set<() => void>;
  privacy: PrivacySettings;
  limits: { flood: FloodControl | null; makeFlood: (opt?: FakeTelegramLimits["floodControl"]) => FloodControl | null };
  localDir: string | null;
}

function privateChat(user: FakeUser): FakeChat {
  return { id: user.id, type: "private", first_name: user.first_name, ...(user.username ? { username: user.username } : {}) };
}

function buildTestApi(x: Internals): FakeTelegram {
  const { state } = x;
  const cursors = new Map<number, number>();
  const snapshot = (m: SentMessage): SentMessage => ({ ...m, entities: [...m.entities], edits: [...m.edits] });

  function waitFor<T>(check: () => T | undefined | null | false, timeoutMs = 5000, what = "condition"): Promise<T> {
    return new Promise((resolve, reject) => {
      const first = check();
      if (first) return resolve(first);
      const onChange = () => {
        const v = check();
        if (!v) return;
        cleanup();
        resolve(v);
      };
      const timer = setTimeout(() => {
        cleanup();
        const recent = x.calls.slice(-8).map((c) => `${c.method}${c.response && !c.response.ok ? ` (${c.response.error_code} ${c.response.description})` : ""}`);
        reject(new Error(`fake Telegram: timed out after ${timeoutMs} ms waiting for ${what}; last calls: ${recent.join(", ") || "none"}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        state.off("change", onChange);
      };
      state.on("change", onChange);
    });
  }

  function botMessages(chatId: number): SentMessage[] {
    return (state.messages.get(chatId) ?? []).filter((m) => m.from_bot);
  }

  function setPrivacy(enabled: boolean, chatId?: number): void {
    if (chatId === undefined) {
      x.privacy.enabled = enabled;
      x.me.can_read_all_group_messages = !enabled; // getMe reports it, as Telegram does
    } else {
      x.privacy.perChat.set(chatId, enabled);
    }
  }

  /** A user's message becomes an update only if Telegram would deliver it to the bot (group privacy mode). */
  function deliver(message: Record<string, unknown>): void {
    const chat = message.chat as FakeChat;
    const privacyOn = x.privacy.perChat.get(chat.id) ?? x.privacy.enabled;
    if (botSeesGroupMessage(message as Parameters<typeof botSeesGroupMessage>[0], x.me, privacyOn, state.botAdmin.has(chat.id))) {
      state.pushUpdate({ message });
    }
  }

  /** The reply_to_message Telegram puts in a reply. */
  function repliedMessage(ref: MessageRef): Record<string, unknown> {
    const m = state.findMessage(ref.chat_id, ref.message_id);
    if (!m) throw new Error(`fake Telegram: no message ${ref.chat_id}/${ref.message_id} to reply to`);
    if (m.from_bot) return state.apiMessage(m);
    return { message_id: m.message_id, chat: state.chats.get(m.chat_id), date: m.date, ...(m.text ? { text: m.text } : {}) };
  }

  return {
    apiRoot: x.apiRoot,
    token: x.token,
    localDir: x.localDir,
    me: x.me,
    calls: x.calls,
    answeredCallbacks: state.answeredCallbacks,
    sendText(user: FakeUser, a: FakeChat | string, b?: string, opts: { replyTo?: MessageRef } = {}) {
      const chat = typeof a === "string" ? privateChat(user) : a;
      const text = typeof a === "string" ? a : (b ?? "");
      const entities = detectEntities(text);
      const reply = opts.replyTo ? { reply_to_message: repliedMessage(opts.replyTo) } : {};
      const message = state.userMessage(user, chat, { text, ...(entities.length ? { entities } : {}), ...reply });
      deliver(message);
      return message;
    },
    sendDocument(user, doc, chat = privateChat(user)) {
      const bytes = typeof doc.bytes === "string" ? Buffer.from(doc.bytes) : Buffer.from(doc.bytes);
      const file = state.storeFile(bytes, { file_name: doc.fileName, mime_type: doc.mimeType ?? "application/octet-stream" });
      const document = { file_id: file.file_id, file_unique_id: file.file_unique_id, file_name: doc.fileName, mime_type: file.mime_type, file_size: bytes.length };
      const message = state.userMessage(user, chat, { document, ...(doc.caption ? { caption: doc.caption } : {}) });
      deliver(message);
      return message;
    },
    pressButton(user, ref, callbackData, opts = {}) {
      const m = state.findMessage(ref.chat_id, ref.message_id);
      const shown = m?.reply_markup?.inline_keyboard?.some((row) => row.some((b) => b.callback_data === callbackData));
      if (!opts.force && !shown) {
        throw new Error(`fake Telegram: message ${ref.chat_id}/${ref.message_id} shows no button with callback_data ${JSON.stringify(callbackData)}`);
      }
      const id = randomBytes(8).toString("hex");
      const chat = state.chats.get(ref.chat_id) ?? { id: ref.chat_id, type: "private" };
      const message = m ? state.apiMessage(m) : { message_id: ref.message_id, chat, date: Math.floor(Date.now() / 1000) };
      state.callbackQueries.set(id, { id, from: user, chat_id: ref.chat_id, message_id: ref.message_id, data: callbackData, at: state.nowMs(), answered: false });
      state.pushUpdate({
        callback_query: { id, from: { is_bot: false, ...user }, message, chat_instance: String(ref.chat_id), data: callbackData },
      });
      return id;
    },
    injectUpdate: (update) => state.pushUpdate(update),
    messages: (chatId, opts = {}) => (opts.includeUser ? state.messages.get(chatId) ?? [] : botMessages(chatId)).map(snapshot),
    nextMessage(chatId, timeoutMs = 5000) {
      return waitFor(
        () => {
          const i = cursors.get(chatId) ?? 0;
          const m = botMessages(chatId)[i];
          if (!m) return undefined;
          cursors.set(chatId, i + 1);
          return snapshot(m);
        },
        timeoutMs,
        `the bot's next message in chat ${chatId}`,
      );
    },
    waitFor,
    onChange(listener) {
      state.on("change", listener);
      return () => void state.off("change", listener);
    },
    failNext(method, fault, times = 1) {
      const key = method.toLowerCase();
      const list = x.faults.get(key) ?? [];
      for (let i = 0; i < times; i++) list.push(fault);
      x.faults.set(key, list);
    },
    commands: (opts = {}) => state.getCommands({ scope: opts.scope, language_code: opts.language_code }),
    setLimits(limits) {
      if (limits.floodControl !== undefined) x.limits.flood = x.limits.makeFlood(limits.floodControl);
      if (limits.privacyMode !== undefined) setPrivacy(limits.privacyMode);
    },
    setPrivacy,
    setBotAdmin(chatId, rights) {
      if (rights === false) state.botAdmin.delete(chatId);
      else state.botAdmin.set(chatId, { ...rights });
    },
    blockBot(userId, blocked = true) {
      if (blocked) state.blocked.add(userId);
      else state.blocked.delete(userId);
    },
    file: (fileId) => state.files.get(fileId),
    pendingUpdates: () => state.updates.length,
    async stop() {
      for (const s of [...x.stoppers]) s();
      x.server.closeAllConnections();
      await new Promise<void>((resolve) => x.server.close(() => resolve()));
      state.removeAllListeners();
      if (x.localDir) fs.rmSync(x.localDir, { recursive: true, force: true });
    },
  };
}
