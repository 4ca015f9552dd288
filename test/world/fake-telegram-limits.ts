// Telegram's behavioural limits for the fake Bot API: flood control (429 with retry_after) and group privacy
// mode. On by default, so the local world refuses what the real Telegram refuses; a test relaxes them
// explicitly (`limits: { floodControl: false }`) and says why.
import type { FakeChat } from "./fake-telegram-state.js";

/** At most `limit` messages in any `windowMs` (a sliding window). */
export interface FloodRule {
  limit: number;
  windowMs: number;
}

export interface FloodRules {
  /** Every chat, private or group. */
  chat: FloodRule;
  /** Groups and supergroups, on top of the per-chat rule. */
  group: FloodRule;
  /** All chats together. */
  global: FloodRule;
}

/**
 * Telegram's Bots FAQ ("My bot is hitting limits, how do I avoid this?"): avoid more than one message per second
 * in a chat (short bursts pass, longer ones get 429), at most 20 messages per minute in a group, about 30 messages
 * per second overall; edits count as messages. grammY's flood-limit page adds that the real limits are not fixed
 * numbers; these are the documented ones as sliding windows:
 * - chat: 3 in any 3 s — one a second on average, with room for a reply of two or three messages; 8 messages to
 *   one chat within a second get 429s;
 * - group: 20 in any 60 s;
 * - global: 30 in any 1 s.
 * retry_after is whole seconds (at least 1), as Telegram sends it: until the oldest message leaves the fullest window.
 */
export const TELEGRAM_FLOOD_RULES: FloodRules = {
  chat: { limit: 3, windowMs: 3000 },
  group: { limit: 20, windowMs: 60_000 },
  global: { limit: 30, windowMs: 1000 },
};

/** Methods that post or change a message in a chat; these count against the flood limits. */
const COUNTED_METHODS = new Set([
  "sendmessage",
  "senddocument",
  "sendphoto",
  "sendvideo",
  "sendaudio",
  "sendvoice",
  "sendanimation",
  "sendsticker",
  "sendmediagroup",
  "sendlocation",
  "sendpoll",
  "forwardmessage",
  "copymessage",
  "editmessagetext",
  "editmessagecaption",
  "editmessagereplymarkup",
  "editmessagemedia",
]);

export const countsAsMessage = (methodKey: string): boolean => COUNTED_METHODS.has(methodKey);

class Window {
  private readonly times: number[] = [];

  constructor(private readonly rule: FloodRule) {}

  /** How long until one more message fits (0: now). */
  waitMs(now: number): number {
    while (this.times.length > 0 && this.times[0]! <= now - this.rule.windowMs) this.times.shift();
    if (this.times.length < this.rule.limit) return 0;
    return this.times[this.times.length - this.rule.limit]! + this.rule.windowMs - now;
  }

  add(now: number): void {
    this.times.push(now);
  }
}

/** Per-chat, per-group and global windows; `retryAfter` before a counted call, `record` after it succeeded. */
export class FloodControl {
  private readonly chats = new Map<number, Window>();
  private readonly groups = new Map<number, Window>();
  private readonly global: Window;

  constructor(
    private readonly rules: FloodRules,
    private readonly now: () => number,
  ) {
    this.global = new Window(rules.global);
  }

  private windowsFor(chat: FakeChat): Window[] {
    const get = (map: Map<number, Window>, rule: FloodRule) => {
      let w = map.get(chat.id);
      if (!w) map.set(chat.id, (w = new Window(rule)));
      return w;
    };
    const out = [this.global, get(this.chats, this.rules.chat)];
    if (chat.type === "group" || chat.type === "supergroup") out.push(get(this.groups, this.rules.group));
    return out;
  }

  /** Seconds to wait before this chat may get another message, or 0 when it may now. */
  retryAfter(chat: FakeChat): number {
    const now = this.now();
    const waitMs = Math.max(...this.windowsFor(chat).map((w) => w.waitMs(now)));
    return waitMs <= 0 ? 0 : Math.max(1, Math.ceil(waitMs / 1000));
  }

  record(chat: FakeChat): void {
    const now = this.now();
    for (const w of this.windowsFor(chat)) w.add(now);
  }
}

export interface PrivacySettings {
  /** BotFather's /setprivacy for the bot (Telegram's default: on). */
  enabled: boolean;
  /** Per-chat overrides (a test's stand-in for re-adding the bot after changing the setting, or for one group). */
  perChat: Map<number, boolean>;
}

/**
 * Whether a bot sees a user's group message. Telegram's Bots FAQ and BotFather: with privacy mode on (the default),
 * a bot in a group gets only commands meant for it (`/cmd@this_bot`, or a bare `/cmd` — Telegram delivers bare
 * commands to the last bot that posted, and the fake has one bot), replies to its own messages, and messages that
 * mention it by username; an admin bot, or one with privacy off, gets everything. Private chats are never filtered.
 * Service messages and other raw updates come through `injectUpdate`, which is not filtered.
 */
export function botSeesGroupMessage(
  message: { chat: FakeChat; text?: unknown; caption?: unknown; reply_to_message?: { from?: { id?: number } } },
  bot: { id: number; username: string },
  privacyOn: boolean,
  botIsAdmin: boolean,
): boolean {
  if (message.chat.type !== "group" && message.chat.type !== "supergroup") return true;
  if (!privacyOn || botIsAdmin) return true;
  if (message.reply_to_message?.from?.id === bot.id) return true;
  const text = typeof message.text === "string" ? message.text : typeof message.caption === "string" ? message.caption : "";
  const name = bot.username.toLowerCase();
  const command = /^\/[a-zA-Z0-9_]{1,32}(?:@([a-zA-Z0-9_]{3,32}))?(?![a-zA-Z0-9_@])/.exec(text);
  if (command) return command[1] === undefined || command[1].toLowerCase() === name;
  return new RegExp(`(^|[^a-zA-Z0-9_])@${name}(?![a-zA-Z0-9_])`, "i").test(text);
}
