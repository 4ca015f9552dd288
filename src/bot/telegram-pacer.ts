// Paces outgoing messages under Telegram's documented flood limits (Bots FAQ: about one message a second per chat,
// 20 a minute per group, about 30 a second overall; edits count), so Telegram does not have to answer 429 and
// lengthen the bot's waits. One pacer serves every Api the process has: bot.api, each conversation's, the app's own.
import { AsyncLocalStorage } from "node:async_hooks";
import type { ApiClientOptions, Transformer } from "grammy";

export interface WindowRule {
  limit: number;
  windowMs: number;
}

export interface PacingRules {
  /** Least time from the end of one message to a chat to the start of the next one there. */
  chatIntervalMs: number;
  /** Groups and supergroups (negative chat ids), on top of the per-chat interval. */
  group: WindowRule;
  /** All chats together. */
  global: WindowRule;
}

export const TELEGRAM_PACING: PacingRules = {
  chatIntervalMs: 1000,
  group: { limit: 20, windowMs: 60_000 },
  global: { limit: 30, windowMs: 1000 },
};

/** Methods that post or change a message in a chat: the ones Telegram counts. Chat actions, callback answers,
 *  deletions, getFile and polling are not paced. */
const COUNTED = /^(send(?!ChatAction)|edit|copyMessage|forwardMessage)/;

interface Target {
  /** null: no chat (an inline message's edit), only the global rule applies. */
  chat: string | null;
  group: boolean;
}

interface Lane {
  /** A message to this chat is on its way: the next waits, so a chat's messages go out in call order. */
  busy: boolean;
  notBefore: number;
  /** End times of recent messages, for the group rule. */
  sent: number[];
}

/** The part of an abort signal the pacer uses (grammY hands over its own AbortSignal type). */
interface AbortSignalLike {
  readonly aborted: boolean;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

interface Waiter {
  target: Target;
  admit(): void;
}

function targetOf(method: string, payload: unknown): Target | null {
  if (!COUNTED.test(method)) return null;
  const chatId = (payload as { chat_id?: unknown } | undefined)?.chat_id;
  if (typeof chatId !== "number" && typeof chatId !== "string") return { chat: null, group: false };
  return { chat: String(chatId), group: typeof chatId === "number" && chatId < 0 };
}

/** When one more message fits a sliding window of end times (pruned in place), `inFlight` counting as sent. */
function windowFreeAt(ends: number[], inFlight: number, rule: WindowRule, now: number): number {
  while (ends.length > 0 && ends[0]! <= now - rule.windowMs) ends.shift();
  const excess = inFlight + ends.length - rule.limit;
  if (excess < 0) return now;
  // Every slot is held by a message still in flight: only its end frees one.
  return excess < ends.length ? ends[excess]! + rule.windowMs : Infinity;
}

/**
 * Spacing is measured from the *end* of a request (its answer arrived), and a message in flight holds its slot, so
 * the times Telegram counts are spaced at least as far apart as ours, whatever the network's delay.
 */
export class TelegramPacer {
  /** Set by buildUrl: grammY builds a URL only for a request that really goes out (see buildUrl). */
  private readonly reached = new AsyncLocalStorage<{ reached: boolean }>();
  private readonly lanes = new Map<string, Lane>();
  private readonly waiting: Waiter[] = [];
  private readonly recentEnds: number[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;

  constructor(
    private readonly rules: PacingRules = TELEGRAM_PACING,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The API transformer. Install it last (outermost, outside auto-retry) on every Api: a retried message keeps its
   * place in its chat's queue, and a 429 that auto-retry gave up on holds the chat for retry_after.
   */
  readonly transformer: Transformer = async (prev, method, payload, signal) => {
    const target = targetOf(method, payload);
    if (!target) return prev(method, payload, signal);
    await this.admit(target, signal);
    const call = { reached: false };
    let retryAfter: number | undefined;
    try {
      const res = await this.reached.run(call, () => prev(method, payload, signal));
      if (!res.ok) retryAfter = res.parameters?.retry_after;
      return res;
    } finally {
      this.release(target, call.reached, retryAfter);
    }
  };

  /**
   * grammY client option, the same URL grammY builds. A conversation replays its earlier API calls from its log on
   * every update, through the plugin's transformers but without a request: only calls that build a URL count, so a
   * replay spends no one's quota and delays nothing after it.
   */
  readonly buildUrl: NonNullable<ApiClientOptions["buildUrl"]> = (root, token, method, env) => {
    const call = this.reached.getStore();
    if (call) call.reached = true;
    return `${root}/bot${token}/${env === "test" ? "test/" : ""}${method}`;
  };

  /** Calls waiting for their turn (for logs and tests). */
  queued(): number {
    return this.waiting.length;
  }

  private admit(target: Target, signal: AbortSignalLike | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(new Error("the API call was aborted while waiting for Telegram's flood limits"));
      const onAbort = () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new Error("the API call was aborted while waiting for Telegram's flood limits"));
      };
      const waiter: Waiter = {
        target,
        admit: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(waiter);
      this.pump();
    });
  }

  private release(target: Target, reached: boolean, retryAfterSeconds: number | undefined): void {
    const end = this.now();
    this.inFlight--;
    const lane = target.chat === null ? null : this.lane(target.chat);
    if (lane) lane.busy = false;
    if (reached) {
      this.recentEnds.push(end);
      if (lane) {
        lane.notBefore = Math.max(lane.notBefore, end + this.rules.chatIntervalMs);
        if (target.group) lane.sent.push(end);
      }
    }
    // auto-retry gave up on this 429 (too long a wait, or too many): the chat stays quiet as Telegram asked.
    if (lane && retryAfterSeconds !== undefined) lane.notBefore = Math.max(lane.notBefore, end + retryAfterSeconds * 1000);
    this.pump();
  }

  /** Admits every waiter whose chat and the global window allow it, in arrival order; a chat's later calls wait. */
  private pump(): void {
    const now = this.now();
    const held = new Set<string>();
    let nextAt = Infinity;
    for (let i = 0; i < this.waiting.length; ) {
      const w = this.waiting[i]!;
      const chat = w.target.chat;
      if (chat !== null && held.has(chat)) {
        i++;
        continue;
      }
      const at = this.readyAt(w.target, now);
      if (at <= now) {
        this.waiting.splice(i, 1);
        this.inFlight++;
        if (chat !== null) this.lane(chat).busy = true;
        w.admit();
        continue;
      }
      if (chat !== null) held.add(chat);
      nextAt = Math.min(nextAt, at);
      i++;
    }
    this.forgetIdleLanes(now);
    this.wakeAt(nextAt, now);
  }

  private readyAt(target: Target, now: number): number {
    let at = windowFreeAt(this.recentEnds, this.inFlight, this.rules.global, now);
    if (target.chat !== null) {
      const lane = this.lane(target.chat);
      if (lane.busy) return Infinity;
      at = Math.max(at, lane.notBefore);
      if (target.group) at = Math.max(at, windowFreeAt(lane.sent, 0, this.rules.group, now));
    }
    return at;
  }

  private lane(chat: string): Lane {
    let lane = this.lanes.get(chat);
    if (!lane) this.lanes.set(chat, (lane = { busy: false, notBefore: 0, sent: [] }));
    return lane;
  }

  private forgetIdleLanes(now: number): void {
    for (const [chat, lane] of this.lanes) {
      const groupQuiet = lane.sent.length === 0 || lane.sent[lane.sent.length - 1]! <= now - this.rules.group.windowMs;
      if (!lane.busy && lane.notBefore <= now && groupQuiet) this.lanes.delete(chat);
    }
  }

  /** One timer for the earliest moment a waiter may go; releases pump too, so Infinity needs none. */
  private wakeAt(at: number, now: number): void {
    if (at === Infinity || this.waiting.length === 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.timerAt = Infinity;
      return;
    }
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      this.pump();
    }, Math.max(0, at - now));
  }
}
