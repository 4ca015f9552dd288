// Runs one hostile case against the world and judges it: the expected refusal was given, once, to the sender only,
// and nothing changed (database rows and job states, DATA_DIR, DigitalOcean, other chats).
import { isDeepStrictEqual } from "node:util";
import type { FakeChat, FakeUser } from "../world/fake-telegram.js";
import { FRIEND, LANES, OWNER, STRANGERS, handledUpdate, snapshot, type HostileWorld, type WorldSnapshot } from "./hostile-world.js";

/** Jobs and files the cases point at, made through the real bot before the cases run. */
export interface Fixtures {
  /** A torrent card (job in "estimated") of the owner's, of the friend's; one the friend cancelled. */
  ownerCard: number;
  friendCard: number;
  cancelledCard: number;
  /** The friend's analysed playbook (its summary has Run…), and a refused upload of theirs (job "failed"). */
  friendPlaybook: number;
  failedPlaybook: number;
  /** Download links: a job directory with files, another job's, and a fresh valid link's parts for each. */
  links: { jobA: string; jobB: string; sign(jobId: string, relPath: string, expiresAtSec: number): string };
}

type Dynamic<T> = T | ((f: Fixtures) => T);

export type HostileInput =
  | { text: Dynamic<string>; group?: boolean }
  /** An edited_message update (a message edited after it was sent). */
  | { edit: string }
  | { document: { fileName: string; bytes: Buffer | (() => Promise<Buffer>); caption?: string; mimeType?: string } }
  | { press: Dynamic<string> }
  | { http: { path: Dynamic<string>; method?: string } };

export type Area = "stranger" | "chat" | "command" | "host" | "button" | "document" | "caption" | "archive" | "link";

export interface HostileCase {
  area: Area;
  name: string;
  /** Who sends it (default: one of the allowed lane users, in turn). */
  as?: "owner" | "friend" | "lane" | "stranger";
  input: HostileInput;
  /** The refusal: the reply's text, the button's answer, or the HTTP body. */
  refusal: RegExp;
  /** Text that must appear literally in the reply (markup sent by the user shown as text, not applied). */
  literal?: string;
  /** For links: the HTTP status of the refusal. */
  status?: number;
  /**
   * The one record a refusal may leave: a refused upload is kept as a playbook job in "failed" (so /jobs shows it),
   * with the refusal as its error. Nothing else may change.
   */
  records?: "failed-upload";
  /** Extra checks after the case (e.g. that no file appeared outside the upload's folder); returns problems. */
  check?: (w: HostileWorld) => string[];
}

export interface CaseResult {
  case: HostileCase;
  answer: string;
  problems: string[];
}

const TO_CHAT = /^(send|edit|delete|forward|copy|pin)/;
let lane = 0;
let ownerChat = 0;

/**
 * The owner's cases take turns between the private chat and groups the owner is in (owner-only commands work
 * there too), since Telegram lets the bot write to one chat once a second.
 */
const OWNER_CHATS: FakeChat[] = [
  { id: OWNER.id, type: "private", first_name: OWNER.first_name },
  ...[1, 2, 3, 4].map((i) => ({ id: -5000 - i, type: "group" as const, title: `owner's group ${i}` })),
];

function chatOf(c: HostileCase, user: FakeUser): FakeChat {
  if (c.as === "owner") return OWNER_CHATS[ownerChat++ % OWNER_CHATS.length]!;
  if ("text" in c.input && c.input.group) return { id: -4242, type: "group", title: "hostile" };
  return { id: user.id, type: "private", first_name: user.first_name };
}

/** Builds every document's bytes up front, in parallel (gzip runs on libuv's threads), instead of case by case. */
export async function prepareCases(cases: HostileCase[]): Promise<void> {
  await Promise.all(
    cases.map(async (c) => {
      if ("document" in c.input && typeof c.input.document.bytes === "function") c.input.document.bytes = await c.input.document.bytes();
    }),
  );
}

function actorOf(c: HostileCase): FakeUser {
  switch (c.as) {
    case "owner":
      return OWNER;
    case "friend":
      return FRIEND;
    case "stranger":
      return STRANGERS[lane++ % STRANGERS.length]!;
    default:
      return LANES[lane++ % LANES.length]!;
  }
}

const resolve = <T>(v: Dynamic<T>, f: Fixtures): T => (typeof v === "function" ? (v as (f: Fixtures) => T)(f) : v);

export async function runCase(w: HostileWorld, f: Fixtures, c: HostileCase): Promise<CaseResult> {
  const before = snapshot(w);
  if ("http" in c.input) return judgeHttp(w, c, before, await fetchAs(w, resolve(c.input.http.path, f), c.input.http.method));
  const user = actorOf(c);
  const chat = chatOf(c, user);
  const callsFrom = w.tg.calls.length;
  const lastSeen = Math.max(0, ...w.tg.messages(chat.id, { includeUser: true }).map((m) => m.message_id));
  const logsFrom = w.logs.length;
  const stranger = c.as === "stranger";
  let queryId: string | undefined;
  if ("text" in c.input) {
    const text = resolve(c.input.text, f);
    w.tg.sendText(user, chat, text);
  } else if ("edit" in c.input) {
    const now = Math.floor(Date.now() / 1000);
    const chat = { id: user.id, type: "private", first_name: user.first_name };
    w.tg.injectUpdate({ edited_message: { message_id: 1, from: { is_bot: false, ...user }, chat, date: now - 60, edit_date: now, text: c.input.edit } });
  } else if ("document" in c.input) {
    const d = c.input.document;
    const bytes = typeof d.bytes === "function" ? await d.bytes() : d.bytes;
    w.tg.sendDocument(user, { fileName: d.fileName, bytes, ...(d.caption ? { caption: d.caption } : {}), ...(d.mimeType ? { mimeType: d.mimeType } : {}) }, chat);
  } else {
    const ref = { chat_id: chat.id, message_id: Math.max(1, lastSeen) };
    queryId = w.tg.pressButton(user, ref, resolve(c.input.press, f), { force: true });
  }
  const problems: string[] = [];
  try {
    if (stranger) await strangerDone(w, user, callsFrom, "group" in c.input && c.input.group === true);
    else await until(() => handledUpdate(w, logsFrom, user.id), 20_000, `the bot to handle case ${c.name}`);
  } catch (err) {
    problems.push((err as Error).message);
  }
  let answer: string;
  if (queryId !== undefined) {
    const a = w.tg.answeredCallbacks.find((x) => x.callback_query_id === queryId);
    answer = a ? (a.text ?? "(answered without text)") : "(not answered)";
  } else {
    const replies = w.tg.messages(chat.id).filter((m) => m.message_id > lastSeen && !m.deleted);
    answer = replies.map((m) => m.text).join("\n---\n");
    const expected = ("group" in c.input && c.input.group && c.as === "stranger") || "edit" in c.input ? 0 : 1;
    if (replies.length !== expected) problems.push(`expected ${expected} reply, got ${replies.length}`);
    if (c.literal && !replies.some((m) => m.text.includes(c.literal!))) {
      problems.push(`reply does not show ${JSON.stringify(c.literal)} as text`);
    }
  }
  if (!c.refusal.test(answer)) problems.push(`answer does not match ${c.refusal}`);
  problems.push(...otherChats(w, callsFrom, chat.id), ...stateProblems(c, before, snapshot(w), w), ...(c.check?.(w) ?? []));
  if (stranger) problems.push(...strangerExtras(w, callsFrom, user.id));
  return { case: c, answer, problems };
}

/** Polls: log lines do not wake the fake Telegram's waitFor. */
async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A stranger's update is done once the refusal (or, in a group, the ignoring) is logged and answered. */
async function strangerDone(w: HostileWorld, user: FakeUser, callsFrom: number, group: boolean): Promise<void> {
  if (group) {
    const logged = w.logs.length;
    await until(() => w.logs.slice(logged - 5).some((l) => l.msg === "ignored an update from outside the allowlist" && l.user_id === user.id), 10_000, "the group update to be ignored");
  } else {
    await until(
      () => w.tg.calls.slice(callsFrom).some((c) => /^(sendMessage|answerCallbackQuery)$/.test(c.method) && c.response !== undefined),
      10_000,
      "the stranger's refusal",
    );
  }
  // Anything the bot would wrongly do next happens within the same update; give it a moment to show.
  await new Promise((r) => setTimeout(r, 150));
}

/** Strangers get one answer and nothing else: no file fetched, no chat action, no second message. */
function strangerExtras(w: HostileWorld, callsFrom: number, userId: number): string[] {
  const calls = w.tg.calls.slice(callsFrom).filter((c) => c.method !== "getUpdates");
  const extra = calls.filter((c) => !(/^(sendMessage|answerCallbackQuery)$/.test(c.method)));
  const answers = calls.length - extra.length;
  const problems = extra.map((c) => `a stranger's update made the bot call ${c.method}`);
  if (answers > 1) problems.push(`a stranger got ${answers} answers`);
  if (calls.some((c) => c.method === "sendMessage" && c.params.chat_id !== userId)) problems.push("the refusal went to another chat");
  return problems;
}

function otherChats(w: HostileWorld, callsFrom: number, chatId: number): string[] {
  return w.tg.calls
    .slice(callsFrom)
    .filter((c) => TO_CHAT.test(c.method) && c.params.chat_id !== undefined && Number(c.params.chat_id) !== chatId)
    .map((c) => `${c.method} to another chat (${String(c.params.chat_id)})`);
}

function stateProblems(c: HostileCase, before: WorldSnapshot, after: WorldSnapshot, w: HostileWorld): string[] {
  const problems: string[] = [];
  const expectedRows = { ...before.rows };
  const expectedStates = { ...before.jobStates };
  if (c.records === "failed-upload") {
    const added = Object.keys(after.jobStates).map(Number).filter((id) => !(id in before.jobStates));
    if (added.length !== 1) problems.push(`a refused upload should record one failed job, recorded ${added.length}`);
    for (const id of added) {
      const job = w.app.jobs.get(id)!;
      expectedStates[id] = "failed";
      if (job.kind !== "playbook") problems.push(`job ${id} is a ${job.kind} job`);
      expectedRows.jobs! += 1;
      expectedRows.job_events! += (w.app.db.prepare("SELECT count(*) AS n FROM job_events WHERE job_id = ?").get(id) as { n: number }).n;
    }
  }
  if (!isDeepStrictEqual(after.rows, expectedRows)) problems.push(`rows changed: ${JSON.stringify(diff(expectedRows, after.rows))}`);
  if (!isDeepStrictEqual(after.jobStates, expectedStates)) problems.push(`job states changed: ${JSON.stringify(diff(expectedStates, after.jobStates))}`);
  const added = after.dataDir.filter((p) => !before.dataDir.includes(p));
  const removed = before.dataDir.filter((p) => !after.dataDir.includes(p));
  if (added.length || removed.length) problems.push(`DATA_DIR changed: +${JSON.stringify(added)} -${JSON.stringify(removed)}`);
  if (after.cloudWrites !== before.cloudWrites) problems.push(`${after.cloudWrites - before.cloudWrites} DigitalOcean writes`);
  return problems;
}

function diff<T>(a: Record<string, T>, b: Record<string, T>): Record<string, [T | undefined, T | undefined]> {
  const out: Record<string, [T | undefined, T | undefined]> = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) if (!isDeepStrictEqual(a[k], b[k])) out[k] = [a[k], b[k]];
  return out;
}

async function fetchAs(w: HostileWorld, urlPath: string, method = "GET"): Promise<{ status: number; body: string }> {
  // node's fetch normalises "..", so the request goes out raw over http.
  const http = await import("node:http");
  return new Promise((resolveReq, reject) => {
    const req = http.request(`${w.baseUrl}/`, { method, path: urlPath }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolveReq({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

function judgeHttp(w: HostileWorld, c: HostileCase, before: WorldSnapshot, res: { status: number; body: string }): CaseResult {
  const problems: string[] = [];
  if (c.status !== undefined && res.status !== c.status) problems.push(`HTTP ${res.status}, expected ${c.status}`);
  if (!c.refusal.test(res.body)) problems.push(`body does not match ${c.refusal}`);
  problems.push(...stateProblems(c, before, snapshot(w), w), ...(c.check?.(w) ?? []));
  return { case: c, answer: `${res.status} ${res.body.trim()}`, problems };
}
