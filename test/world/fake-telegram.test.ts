// The fake Telegram Bot API behaves like the real one over real HTTP: plain fetch and a real grammY Bot.
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Api, Bot, GrammyError, InputFile } from "grammy";
import { startFakeTelegram, type FakeTelegram, type FakeTelegramOptions } from "./fake-telegram.js";

const TOKEN = "123456:TEST-token-for-the-fake-api_xyz";
const alice = { id: 1001, first_name: "Alice", username: "alice" };
const bob = { id: 1002, first_name: "Bob" };

let tg: FakeTelegram;
let bots: Bot[] = [];

beforeEach(async () => {
  tg = await startFakeTelegram({ token: TOKEN, callbackQueryTimeoutMs: 300 });
});
afterEach(async () => {
  for (const b of bots) if (b.isRunning()) await b.stop();
  bots = [];
  await tg.stop();
});

async function api(method: string, body?: unknown, token = TOKEN): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${tg.apiRoot}/bot${token}/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body ?? {}),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Replaces the fake that beforeEach started with one built from these options. */
async function useTelegram(opts: Omit<FakeTelegramOptions, "token">): Promise<void> {
  await tg.stop();
  tg = await startFakeTelegram({ token: TOKEN, callbackQueryTimeoutMs: 300, ...opts });
}

function newBot(): Bot {
  const bot = new Bot(TOKEN, { client: { apiRoot: tg.apiRoot } });
  bots.push(bot);
  return bot;
}

describe("fake Telegram over plain HTTP", () => {
  it("checks the token and the method", async () => {
    expect(await api("getMe", {}, "1:wrong")).toEqual({ status: 401, json: { ok: false, error_code: 401, description: "Unauthorized" } });
    expect((await api("noSuchMethod")).json).toEqual({ ok: false, error_code: 404, description: "Not Found" });
    const me = await api("getMe");
    expect(me.json).toMatchObject({ ok: true, result: { id: 123456, is_bot: true } });
  });

  it("accepts query-string and urlencoded parameters like the real API", async () => {
    tg.sendText(alice, "hi");
    const q = await fetch(`${tg.apiRoot}/bot${TOKEN}/sendMessage?chat_id=${alice.id}&text=from%20query`);
    expect(((await q.json()) as { ok: boolean }).ok).toBe(true);
    const form = await fetch(`${tg.apiRoot}/bot${TOKEN}/sendMessage`, {
      method: "POST",
      body: new URLSearchParams({ chat_id: String(alice.id), text: "from form", reply_markup: JSON.stringify({ inline_keyboard: [[{ text: "x", callback_data: "x" }]] }) }),
    });
    expect(((await form.json()) as { ok: boolean }).ok).toBe(true);
    const msgs = tg.messages(alice.id);
    expect(msgs.map((m) => m.text)).toEqual(["from query", "from form"]);
    expect(msgs[1]!.reply_markup?.inline_keyboard?.[0]?.[0]?.callback_data).toBe("x");
  });

  it("long-polls getUpdates: holds until an update arrives, confirms by offset, honours limit", async () => {
    const started = Date.now();
    const pending = api("getUpdates", { timeout: 5 });
    setTimeout(() => tg.sendText(alice, "wake up"), 150);
    const first = await pending;
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    const updates = first.json.result as { update_id: number; message: { text: string } }[];
    expect(updates.map((u) => u.message.text)).toEqual(["wake up"]);

    tg.sendText(alice, "a");
    tg.sendText(alice, "b");
    const limited = (await api("getUpdates", { offset: updates[0]!.update_id + 1, limit: 1 })).json.result as { update_id: number }[];
    expect(limited).toHaveLength(1);
    const rest = (await api("getUpdates", { offset: limited[0]!.update_id + 1 })).json.result as unknown[];
    expect(rest).toHaveLength(1);
    expect(tg.pendingUpdates()).toBe(1);

    const t0 = Date.now();
    const empty = await api("getUpdates", { offset: 9999, timeout: 1 });
    expect(empty.json.result).toEqual([]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
  });

  it("tells the older of two concurrent long polls that it conflicts", async () => {
    const older = api("getUpdates", { timeout: 5 });
    await tg.waitFor(() => tg.calls.some((c) => c.method === "getUpdates"));
    const newer = api("getUpdates", { timeout: 0 });
    expect((await older).json).toMatchObject({ ok: false, error_code: 409 });
    expect((await newer).json.ok).toBe(true);
  });

  it("enforces text limits, entity parsing and keyboard limits with Telegram's descriptions", async () => {
    await useTelegram({ limits: { floodControl: false } }); // checks a dozen refusals in a row, not pacing
    tg.sendText(alice, "hi");
    const send = (extra: Record<string, unknown>) => api("sendMessage", { chat_id: alice.id, text: "ok", ...extra });
    expect((await send({ text: "x".repeat(4097) })).json).toEqual({ ok: false, error_code: 400, description: "Bad Request: message is too long" });
    expect((await send({ text: "x".repeat(4096) })).json.ok).toBe(true);
    // The limit counts the text after entity parsing, not the markup.
    expect((await send({ text: `<b>${"x".repeat(4096)}</b>`, parse_mode: "HTML" })).json.ok).toBe(true);
    expect((await send({ text: "<b>open", parse_mode: "HTML" })).json.description).toMatch(/^Bad Request: can't parse entities: Can't find end tag/);
    expect((await send({ text: "a <foo>b</foo>", parse_mode: "HTML" })).json.description).toMatch(/Unsupported start tag "foo"/);
    expect((await send({ text: "<b><i>x</b></i>", parse_mode: "HTML" })).json.description).toMatch(/can't parse entities/);
    expect((await send({ text: "1 < 2", parse_mode: "HTML" })).json.description).toMatch(/can't parse entities/);
    expect((await send({ text: "&nbsp;", parse_mode: "HTML" })).json.description).toMatch(/Unsupported HTML entity/);
    expect((await send({ text: "Price: 1.5", parse_mode: "MarkdownV2" })).json.description).toBe(
      "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'",
    );
    expect((await send({ text: "*bold* 1\\.5", parse_mode: "MarkdownV2" })).json.ok).toBe(true);
    expect((await send({ text: "" })).json.description).toBe("Bad Request: message text is empty");
    const kb = (data: string) => ({ reply_markup: { inline_keyboard: [[{ text: "b", callback_data: data }]] } });
    expect((await send(kb("x".repeat(65)))).json.description).toBe("Bad Request: BUTTON_DATA_INVALID");
    expect((await send(kb("é".repeat(33)))).json.description).toBe("Bad Request: BUTTON_DATA_INVALID"); // 66 bytes
    expect((await send(kb("x".repeat(64)))).json.ok).toBe(true);
    const grid = (rows: number, perRow: number) => ({
      reply_markup: { inline_keyboard: Array.from({ length: rows }, (_, r) => Array.from({ length: perRow }, (_, c) => ({ text: "b", callback_data: `${r}:${c}` }))) },
    });
    expect((await send(grid(1, 9))).json.description).toBe("Bad Request: reply markup is too long"); // 8 a row
    expect((await send(grid(13, 8))).json.description).toBe("Bad Request: reply markup is too long"); // 104 > 100
    expect((await send(grid(10, 8))).json.ok).toBe(true);
    expect((await api("sendMessage", { chat_id: 424242, text: "x" })).json.description).toBe("Bad Request: chat not found");

    const html = (await send({ text: '<b>Job 1</b> &amp; <a href="https://example.com/x?a=1&amp;b=2">link</a>', parse_mode: "HTML" })).json
      .result as { entities: { type: string; url?: string }[] };
    expect(html.entities.map((e) => e.type)).toEqual(["bold", "text_link"]);
    expect(html.entities[1]!.url).toBe("https://example.com/x?a=1&b=2");
    const last = tg.messages(alice.id).at(-1)!;
    expect(last.text).toBe("Job 1 & link");
    expect(last.parse_mode).toBe("HTML");
  });

  it("edits: not modified, not found, and history", async () => {
    await useTelegram({ limits: { floodControl: false } }); // edits one message seven times in a row to check each answer
    tg.sendText(alice, "hi");
    const sent = (await api("sendMessage", { chat_id: alice.id, text: "v1" })).json.result as { message_id: number };
    const edit = (text: string, message_id = sent.message_id) => api("editMessageText", { chat_id: alice.id, message_id, text });
    expect((await edit("v1")).json.description).toBe(
      "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
    );
    expect((await edit("v2")).json.ok).toBe(true);
    expect((await edit("v3", 999)).json.description).toBe("Bad Request: message to edit not found");
    const markup = { inline_keyboard: [[{ text: "Cancel", callback_data: "c:1" }]] };
    expect((await api("editMessageReplyMarkup", { chat_id: alice.id, message_id: sent.message_id, reply_markup: markup })).json.ok).toBe(true);
    expect((await api("editMessageReplyMarkup", { chat_id: alice.id, message_id: sent.message_id, reply_markup: markup })).json.error_code).toBe(400);
    const m = tg.messages(alice.id)[0]!;
    expect(m.text).toBe("v2");
    expect(m.edits.map((e) => e.text)).toEqual(["v1", "v2"]);
    expect((await api("deleteMessage", { chat_id: alice.id, message_id: sent.message_id })).json.ok).toBe(true);
    expect((await api("deleteMessage", { chat_id: alice.id, message_id: sent.message_id })).json.description).toBe(
      "Bad Request: message to delete not found",
    );
  });

  it("callback queries: answered once, within the timeout, only for shown buttons unless forced", async () => {
    tg.sendText(alice, "hi");
    const sent = (await api("sendMessage", { chat_id: alice.id, text: "pick", reply_markup: { inline_keyboard: [[{ text: "A", callback_data: "a" }]] } }))
      .json.result as { message_id: number };
    const ref = { chat_id: alice.id, message_id: sent.message_id };
    expect(() => tg.pressButton(alice, ref, "zzz")).toThrow(/no button/);
    const id = tg.pressButton(alice, ref, "a");
    expect((await api("answerCallbackQuery", { callback_query_id: id, text: "done" })).json.ok).toBe(true);
    const tooOld = "Bad Request: query is too old and response timeout expired or query ID is invalid";
    expect((await api("answerCallbackQuery", { callback_query_id: id })).json.description).toBe(tooOld);
    const late = tg.pressButton(alice, ref, "forged", { force: true });
    await new Promise((r) => setTimeout(r, 350));
    expect((await api("answerCallbackQuery", { callback_query_id: late })).json.description).toBe(tooOld);
    expect(tg.answeredCallbacks).toEqual([expect.objectContaining({ callback_query_id: id, text: "done" })]);
  });

  it("injects 429 with retry_after and 5xx faults", async () => {
    tg.failNext("getMe", { error_code: 429, retry_after: 3 });
    tg.failNext("getMe", { error_code: 502 }, 2);
    expect((await api("getMe")).json).toEqual({ ok: false, error_code: 429, description: "Too Many Requests: retry after 3", parameters: { retry_after: 3 } });
    expect((await api("getMe")).status).toBe(502);
    expect((await api("getMe")).json.error_code).toBe(502);
    expect((await api("getMe")).json.ok).toBe(true);
  });

  it("serves injected documents through getFile and /file/bot<token>/...", async () => {
    const bytes = Buffer.from([0, 1, 2, 3, 250, 251]);
    const msg = tg.sendDocument(alice, { fileName: "site.yml", mimeType: "application/x-yaml", bytes }) as { document: { file_id: string } };
    const file = (await api("getFile", { file_id: msg.document.file_id })).json.result as { file_path: string; file_size: number };
    expect(file.file_size).toBe(6);
    const res = await fetch(`${tg.apiRoot}/file/bot${TOKEN}/${file.file_path}`);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(bytes);
    expect((await fetch(`${tg.apiRoot}/file/bot1:bad/${file.file_path}`)).status).toBe(404);
    expect((await api("getFile", { file_id: "nope" })).json.description).toBe("Bad Request: invalid file_id");
    const big = tg.sendDocument(alice, { fileName: "big.bin", bytes: Buffer.alloc(20 * 1024 * 1024 + 1) }) as { document: { file_id: string } };
    expect((await api("getFile", { file_id: big.document.file_id })).json.description).toBe("Bad Request: file is too big");
  });

  it("takes a document as a direct multipart file part, as curl -F document=@file sends it", async () => {
    tg.sendText(alice, "hi");
    const form = new FormData();
    form.set("chat_id", String(alice.id));
    form.set("caption", "<i>log</i>");
    form.set("parse_mode", "HTML");
    form.set("document", new Blob([Buffer.from("line 1\n")], { type: "text/plain" }), "run.log");
    const res = await fetch(`${tg.apiRoot}/bot${TOKEN}/sendDocument`, { method: "POST", body: form });
    const json = (await res.json()) as { ok: boolean; result: { document: { file_name: string; mime_type: string }; caption_entities: unknown[] } };
    expect(json.ok).toBe(true);
    expect(json.result.document).toMatchObject({ file_name: "run.log", mime_type: "text/plain" });
    expect(json.result.caption_entities).toEqual([{ type: "italic", offset: 0, length: 3 }]);
    expect(tg.calls.at(-1)!.files).toEqual([{ field: "document", filename: "run.log", size: 7 }]);
    expect(tg.messages(alice.id)[0]!.document!.bytes.toString()).toBe("line 1\n");
  });

  it("parses pre blocks with a language and nested entities", async () => {
    tg.sendText(alice, "hi");
    const r = await api("sendMessage", {
      chat_id: alice.id,
      text: '<pre><code class="language-yaml">- hosts: all</code></pre>\n<b>bold <i>both</i></b> <span class="tg-spoiler">s</span>',
      parse_mode: "HTML",
    });
    const entities = (r.json.result as { entities: unknown[] }).entities;
    expect(entities).toEqual([
      { type: "pre", offset: 0, length: 12, language: "yaml" },
      { type: "bold", offset: 13, length: 9 },
      { type: "italic", offset: 18, length: 4 },
      { type: "spoiler", offset: 23, length: 1 },
    ]);
    expect((await api("sendMessage", { chat_id: alice.id, text: '<span class="x">s</span>', parse_mode: "HTML" })).json.description).toMatch(/tg-spoiler/);
  });
});

describe("fake Telegram with a real grammY bot", () => {
  it("polls, answers commands and buttons, uploads documents with odd names", async () => {
    const bot = newBot();
    bot.command("start", (ctx) => ctx.reply("<b>Hello</b>", { parse_mode: "HTML", reply_markup: { inline_keyboard: [[{ text: "Go", callback_data: "go" }]] } }));
    bot.callbackQuery("go", async (ctx) => {
      await ctx.answerCallbackQuery({ text: "going" });
      await ctx.editMessageText("gone");
    });
    bot.command("file", (ctx) => ctx.replyWithDocument(new InputFile(Buffer.from("héllo bytes"), 'my "report" ü.txt'), { caption: "here" }));
    void bot.start({ timeout: 1 });

    tg.sendText(alice, "/start");
    const hello = await tg.nextMessage(alice.id);
    expect(hello.text).toBe("Hello");
    expect(hello.entities).toEqual([{ type: "bold", offset: 0, length: 5 }]);
    tg.pressButton(alice, hello, "go");
    await tg.waitFor(() => tg.messages(alice.id)[0]!.text === "gone");
    expect(tg.answeredCallbacks[0]!.text).toBe("going");
    expect(tg.messages(alice.id)[0]!.reply_markup).toBeUndefined(); // an edit without markup drops the keyboard

    tg.sendText(alice, "/file");
    const doc = await tg.nextMessage(alice.id);
    expect(doc.document?.file_name).toBe('my "report" ü.txt');
    expect(doc.document?.bytes.toString()).toBe("héllo bytes");
    expect(doc.text).toBe("here");
  });

  it("refuses uploads over 50 MB with 413 and surfaces Telegram errors as GrammyError", async () => {
    const bot = newBot();
    tg.sendText(alice, "hi");
    const err = await bot.api.sendDocument(alice.id, new InputFile(Buffer.alloc(50 * 1024 * 1024 + 10), "big.bin")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GrammyError);
    expect((err as GrammyError).error_code).toBe(413);
    expect((err as GrammyError).description).toBe("Request Entity Too Large");
    const ok = await bot.api.sendDocument(alice.id, new InputFile(Buffer.alloc(1024), "small.bin"));
    expect(ok.document.file_size).toBe(1024);
    await bot.api.setMyCommands([{ command: "help", description: "Help" }]);
    expect(tg.commands()).toEqual([{ command: "help", description: "Help" }]);
    await expect(bot.api.setMyCommands([{ command: "Bad-Cmd", description: "x" }])).rejects.toThrow(/BOT_COMMAND_INVALID/);
  });
});

describe("a local Bot API server (telegram-bot-api --local)", () => {
  const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-telegram-test-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("api.telegram.org takes a file:// document for a file_id and refuses it", async () => {
    const file = path.join(dir, "a.txt");
    fs.writeFileSync(file, "a");
    tg.sendText(alice, "hi");
    const err = await newBot().api.sendDocument(alice.id, pathToFileURL(file).href).catch((e: unknown) => e);
    expect((err as GrammyError).description).toBe("Bad Request: wrong remote file identifier specified: Wrong character in the string");
    expect(tg.localDir).toBeNull();
  });

  it("sends a file by its file:// URI (percent-decoded, named after the file), over 50 MB, and uploads up to 2000 MB", async () => {
    await useTelegram({ localMode: true, limits: { floodControl: false } }); // six sends in a row: this checks files, not pacing
    const bot = newBot();
    tg.sendText(alice, "hi");
    const big = path.join(dir, "movie ä 100%.bin");
    const bytes = Buffer.alloc(51 * 1024 * 1024, 7);
    fs.writeFileSync(big, bytes);
    const sent = await bot.api.sendDocument(alice.id, pathToFileURL(big).href);
    expect(sent.document).toMatchObject({ file_name: "movie ä 100%.bin", file_size: bytes.length });
    const stored = tg.messages(alice.id).at(-1)!.document!;
    expect(sha256(stored.bytes)).toBe(sha256(bytes));
    expect(tg.calls.at(-1)!.files).toEqual([]); // a path, not an upload
    // file://localhost/ is the same file; a multipart upload over 50 MB is accepted too.
    await bot.api.sendDocument(alice.id, `file://localhost${pathToFileURL(big).pathname}`);
    expect((await bot.api.sendDocument(alice.id, new InputFile(bytes, "up.bin"))).document.file_size).toBe(bytes.length);

    const missing = await bot.api.sendDocument(alice.id, pathToFileURL(path.join(dir, "nope.bin")).href).catch((e: unknown) => e);
    expect((missing as GrammyError).description).toMatch(/^Bad Request: file not found/);
    const huge = path.join(dir, "huge.bin");
    fs.closeSync(fs.openSync(huge, "w"));
    fs.truncateSync(huge, 2000 * 1024 * 1024 + 1); // sparse: nothing is written
    expect(((await bot.api.sendDocument(alice.id, pathToFileURL(huge).href).catch((e: unknown) => e)) as GrammyError).description).toBe("Bad Request: file is too big");
  });

  it("answers getFile with an absolute path on its disk, without the 20 MB limit, and serves no /file/ downloads", async () => {
    await useTelegram({ localMode: true });
    const bytes = Buffer.alloc(21 * 1024 * 1024, 3);
    const msg = tg.sendDocument(alice, { fileName: "big.torrent", bytes }) as { document: { file_id: string } };
    const file = (await api("getFile", { file_id: msg.document.file_id })).json.result as { file_path: string };
    expect(path.isAbsolute(file.file_path)).toBe(true);
    expect(file.file_path.startsWith(tg.localDir!)).toBe(true);
    expect(sha256(fs.readFileSync(file.file_path))).toBe(sha256(bytes));
    expect((await fetch(`${tg.apiRoot}/file/bot${TOKEN}/${file.file_path}`)).status).toBe(404);
    const localDir = tg.localDir!;
    await tg.stop();
    expect(fs.existsSync(localDir)).toBe(false);
    tg = await startFakeTelegram({ token: TOKEN }); // afterEach stops this one
  });
});

describe("Telegram's behavioural limits, on by default", () => {
  const tooMany = (n: number) => ({ ok: false, error_code: 429, description: `Too Many Requests: retry after ${n}`, parameters: { retry_after: n } });
  let clock = 0;
  /** A clock the test moves, so windows and ages are exact and nothing sleeps. */
  const withClock = (opts: Omit<FakeTelegramOptions, "token" | "now"> = {}) => {
    clock = Date.UTC(2026, 0, 1);
    return useTelegram({ ...opts, now: () => clock });
  };
  const send = (chat_id: number, text: string) => api("sendMessage", { chat_id, text });

  it("answers an unpaced sender (8 messages to one chat within a second, plain fetch) with 429 and retry_after", async () => {
    tg.sendText(alice, "hi");
    const started = Date.now();
    const results = [];
    for (let i = 0; i < 8; i++) results.push(await send(alice.id, `m${i}`));
    expect(Date.now() - started).toBeLessThan(1000); // the real clock: this is one second's burst
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 429, 429, 429, 429, 429]);
    for (const r of results.slice(3)) {
      const wait = (r.json.parameters as { retry_after: number }).retry_after;
      expect(wait).toBeGreaterThanOrEqual(1);
      expect(wait).toBeLessThanOrEqual(3);
      expect(r.json).toEqual(tooMany(wait));
    }
    expect(tg.messages(alice.id).map((m) => m.text)).toEqual(["m0", "m1", "m2"]);
  });

  it("rejects a bare grammY Api without auto-retry with GrammyError 429 carrying retry_after", async () => {
    tg.sendText(alice, "hi");
    const bare = new Api(TOKEN, { apiRoot: tg.apiRoot });
    const settled = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => bare.sendMessage(alice.id, `m${i}`)));
    expect(settled.filter((s) => s.status === "fulfilled")).toHaveLength(3);
    const errors = settled.flatMap((s) => (s.status === "rejected" ? [s.reason as GrammyError] : []));
    expect(errors).toHaveLength(5);
    for (const e of errors) {
      expect(e).toBeInstanceOf(GrammyError);
      expect(e.error_code).toBe(429);
      expect(e.parameters.retry_after).toBeGreaterThanOrEqual(1);
    }
  });

  it("per chat: retry_after is honest, other chats are unaffected, edits count", async () => {
    await withClock();
    tg.sendText(alice, "hi");
    tg.sendText(bob, "hi");
    const first = (await send(alice.id, "a1")).json.result as { message_id: number };
    await send(alice.id, "a2");
    clock += 1000;
    expect((await send(alice.id, "a3")).json.ok).toBe(true);
    expect((await send(alice.id, "a4")).json).toEqual(tooMany(2)); // a1 leaves the 3 s window at +3 s
    expect((await api("editMessageText", { chat_id: alice.id, message_id: first.message_id, text: "a1!" })).json).toEqual(tooMany(2));
    expect((await send(bob.id, "b1")).json.ok).toBe(true);
    clock += 1999;
    expect((await send(alice.id, "a4")).json).toEqual(tooMany(1));
    clock += 1;
    expect((await send(alice.id, "a4")).json.ok).toBe(true);
    expect(tg.messages(alice.id).map((m) => m.text)).toEqual(["a1", "a2", "a3", "a4"]);
  });

  it("per group: 20 messages a minute, even paced at one a second", async () => {
    await withClock();
    const group = { id: -1001, type: "supergroup" as const, title: "Team" };
    tg.sendText(alice, group, "/start@dropship_test_bot");
    for (let i = 0; i < 20; i++) {
      expect((await send(group.id, `g${i}`)).json.ok).toBe(true);
      clock += 1000;
    }
    expect((await send(group.id, "g20")).json).toEqual(tooMany(40)); // g0 (t=0) leaves the window at t=60 s; now t=20 s
    tg.sendText(alice, "hi");
    expect((await send(alice.id, "private")).json.ok).toBe(true); // the group's limit is the group's
    clock += 40_000;
    expect((await send(group.id, "g20")).json.ok).toBe(true);
  });

  it("overall: about 30 messages a second across chats", async () => {
    await withClock();
    const users = Array.from({ length: 31 }, (_, i) => ({ id: 5000 + i, first_name: `U${i}` }));
    for (const u of users) tg.sendText(u, "hi");
    for (const u of users.slice(0, 30)) expect((await send(u.id, "news")).json.ok).toBe(true);
    expect((await send(users[30]!.id, "news")).json).toEqual(tooMany(1));
    clock += 1000;
    expect((await send(users[30]!.id, "news")).json.ok).toBe(true);
  });

  it("can be relaxed per test, at start or while running (setLimits)", async () => {
    await useTelegram({ limits: { floodControl: false } }); // the point of this test: the switch works
    tg.sendText(alice, "hi");
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => send(alice.id, `m${i}`)));
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    tg.setLimits({ floodControl: true });
    const limited = [];
    for (let i = 0; i < 4; i++) limited.push((await send(alice.id, `n${i}`)).status);
    expect(limited).toEqual([200, 200, 200, 429]);
    tg.setLimits({ floodControl: false });
    expect((await send(alice.id, "n4")).status).toBe(200);
  });

  it("expires callback queries after 15 s by default", async () => {
    await withClock({ callbackQueryTimeoutMs: undefined });
    tg.sendText(alice, "hi");
    const sent = (await api("sendMessage", { chat_id: alice.id, text: "pick", reply_markup: { inline_keyboard: [[{ text: "A", callback_data: "a" }]] } }))
      .json.result as { message_id: number };
    const ref = { chat_id: alice.id, message_id: sent.message_id };
    const inTime = tg.pressButton(alice, ref, "a");
    clock += 14_000;
    expect((await api("answerCallbackQuery", { callback_query_id: inTime })).json.ok).toBe(true);
    const late = tg.pressButton(alice, ref, "a");
    clock += 15_001;
    expect((await api("answerCallbackQuery", { callback_query_id: late })).json).toEqual({
      ok: false,
      error_code: 400,
      description: "Bad Request: query is too old and response timeout expired or query ID is invalid",
    });
  });

  it("deleteMessage: 48 hours, and other users' group messages only as an admin", async () => {
    await withClock();
    const del = (chat_id: number, message_id: number) => api("deleteMessage", { chat_id, message_id }).then((r) => r.json);
    const botSays = async (chat_id: number) => {
      clock += 1000; // paced like a well-behaved bot
      return ((await send(chat_id, "bot says")).json.result as { message_id: number }).message_id;
    };
    const cantEveryone = { ok: false, error_code: 400, description: "Bad Request: message can't be deleted for everyone" };

    // Private chat: the bot deletes its own messages and the user's, while they are under 48 hours old.
    const mine = tg.sendText(alice, "secret") as { message_id: number };
    expect(await del(alice.id, mine.message_id)).toEqual({ ok: true, result: true });
    const recent = await botSays(alice.id);
    const old = await botSays(alice.id);
    clock += 48 * 3600 * 1000 - 1000; // `recent` is now 48 h old, `old` one second less
    expect(await del(alice.id, old)).toEqual({ ok: true, result: true });
    expect(await del(alice.id, recent)).toEqual({ ok: false, error_code: 400, description: "Bad Request: message can't be deleted" });

    // Basic group: own messages always; another user's only as an admin (any admin of a basic group may delete).
    const group = { id: -2001, type: "group" as const, title: "G" };
    const theirs = tg.sendText(alice, group, "/start") as { message_id: number };
    expect(await del(group.id, theirs.message_id)).toEqual(cantEveryone);
    expect(await del(group.id, await botSays(group.id))).toEqual({ ok: true, result: true });
    tg.setBotAdmin(group.id, { can_delete_messages: false });
    expect(await del(group.id, theirs.message_id)).toEqual({ ok: true, result: true });

    // Supergroup: an admin needs can_delete_messages.
    const sg = { id: -1002, type: "supergroup" as const, title: "S" };
    const post = tg.sendText(alice, sg, "/start") as { message_id: number };
    tg.setBotAdmin(sg.id, { can_delete_messages: false });
    expect(await del(sg.id, post.message_id)).toEqual(cantEveryone);
    tg.setBotAdmin(sg.id, { can_delete_messages: true });
    expect(await del(sg.id, post.message_id)).toEqual({ ok: true, result: true });
  });

  it("group privacy mode: the bot gets commands for it, replies to it and mentions; admins and privacy off get all", async () => {
    const group = { id: -3001, type: "supergroup" as const, title: "Team" };
    const texts = async () => {
      const got = (await api("getUpdates", { timeout: 0 })).json.result as { update_id: number; message: { text?: string; caption?: string } }[];
      if (got.length > 0) await api("getUpdates", { offset: got.at(-1)!.update_id + 1, timeout: 0 }); // confirm them
      return got.map((u) => u.message.text ?? u.message.caption ?? "(document)");
    };
    expect(((await api("getMe")).json.result as { can_read_all_group_messages: boolean }).can_read_all_group_messages).toBe(false);
    tg.sendText(alice, group, "hello everyone");
    tg.sendText(alice, group, "/help@other_bot");
    tg.sendText(alice, group, "/help@dropship_test_bot");
    tg.sendText(alice, group, "/jobs");
    tg.sendText(alice, group, "hey @Dropship_Test_Bot, look");
    tg.sendText(alice, group, "mail me at x@dropship_test_bots.org");
    tg.sendDocument(alice, { fileName: "a.yml", bytes: "- hosts: all\n" }, group);
    const botMsg = (await send(group.id, "Which host?")).json.result as { message_id: number };
    const theirs = tg.sendText(alice, group, "my own note") as { message_id: number };
    tg.sendText(alice, group, "web-1", { replyTo: { chat_id: group.id, message_id: botMsg.message_id } });
    tg.sendText(alice, group, "me too", { replyTo: { chat_id: group.id, message_id: theirs.message_id } });
    tg.sendText(alice, "private chatter");
    expect(await texts()).toEqual(["/help@dropship_test_bot", "/jobs", "hey @Dropship_Test_Bot, look", "web-1", "private chatter"]);
    expect(tg.messages(group.id, { includeUser: true }).filter((m) => !m.from_bot)).toHaveLength(10); // in the chat all the same

    tg.setPrivacy(false, group.id);
    tg.sendText(alice, group, "chatter with privacy off here");
    tg.setPrivacy(true, group.id);
    tg.setBotAdmin(group.id, { can_delete_messages: false });
    tg.sendText(alice, group, "chatter an admin bot sees");
    tg.setBotAdmin(group.id, false);
    tg.sendText(alice, group, "chatter nobody sees");
    tg.setPrivacy(false);
    tg.sendText(alice, { id: -3002, type: "group", title: "Other" }, "chatter with privacy off for the bot");
    expect(await texts()).toEqual(["chatter with privacy off here", "chatter an admin bot sees", "chatter with privacy off for the bot"]);
    expect(((await api("getMe")).json.result as { can_read_all_group_messages: boolean }).can_read_all_group_messages).toBe(true);
  });

  it("refuses a caption over 1024 characters", async () => {
    tg.sendText(alice, "hi");
    const form = (caption: string) => {
      const f = new FormData();
      f.set("chat_id", String(alice.id));
      f.set("caption", caption);
      f.set("document", new Blob([Buffer.from("x")]), "x.txt");
      return fetch(`${tg.apiRoot}/bot${TOKEN}/sendDocument`, { method: "POST", body: f }).then((r) => r.json());
    };
    expect(await form("c".repeat(1025))).toEqual({ ok: false, error_code: 400, description: "Bad Request: message caption is too long" });
    expect(await form("c".repeat(1024))).toMatchObject({ ok: true });
  });
});
