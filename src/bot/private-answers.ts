// Private vars_prompt answers live in the bot's memory only. The conversations plugin stores every update a
// conversation receives (the kv table) to replay it later; a private answer's message is stored with a reference in
// place of its text (scrub), and the value stays here until the run starts, the dialogue is left, or it expires.
// A restart forgets them all: the dialogue then asks those questions again.
import { randomBytes } from "node:crypto";
import type { KeyValueStore } from "../storage/kv-store.js";

const REF_PREFIX = "🔒private-answer:";

/** Longer than the dialogue's own 30-minute wait per question, so only an abandoned dialogue loses its answers. */
const DEFAULT_TTL_MS = 2 * 3_600_000;

interface Kept {
  ref: string;
  value: string | null;
  expiresAt: number;
}

export class PrivateAnswers {
  /** "chat:message" → the kept answer; the value is null once used or forgotten (the ref still scrubs). */
  private readonly byMessage = new Map<string, Kept>();
  private readonly byRef = new Map<string, Kept>();

  constructor(
    private readonly ttlMs = DEFAULT_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The reference standing for the answer in message `messageId` of `chatId`: a new one when `text` is the answer
   * itself, the same one when a replay hands back the stored message (whose text is then the reference).
   */
  keep(chatId: number, messageId: number, text: string): string {
    this.sweep();
    const key = `${chatId}:${messageId}`;
    const known = this.byMessage.get(key);
    if (known) return known.ref;
    // Stored by a process before a restart: its value died with that process.
    if (text.startsWith(REF_PREFIX)) return text;
    const kept: Kept = { ref: REF_PREFIX + randomBytes(16).toString("hex"), value: text, expiresAt: this.now() + this.ttlMs };
    this.byMessage.set(key, kept);
    this.byRef.set(kept.ref, kept);
    return kept.ref;
  }

  isRef(text: string): boolean {
    return text.startsWith(REF_PREFIX);
  }

  /** The answer behind a reference, or undefined when this process does not hold it (restart, expiry, used). */
  reveal(ref: string): string | undefined {
    this.sweep();
    return this.byRef.get(ref)?.value ?? undefined;
  }

  /** Drops the values (a run took them, or the dialogue was left); their messages stay scrubbed until expiry. */
  forget(refs: Iterable<string>): void {
    for (const ref of refs) {
      const kept = this.byRef.get(ref);
      if (kept) kept.value = null;
    }
  }

  /** How many answers are held (for tests and shutdown logs). */
  get size(): number {
    this.sweep();
    return [...this.byRef.values()].filter((k) => k.value !== null).length;
  }

  /**
   * A copy of `value` (JSON data) in which every Telegram message this holds an answer for has its text replaced by
   * the reference, wherever it sits (the update, a reply_to_message).
   */
  scrub<T>(value: T): T {
    if (this.byMessage.size === 0) return value;
    const json = JSON.stringify(value, (_key, v: unknown) => {
      const m = v as { message_id?: unknown; chat?: { id?: unknown }; text?: unknown } | null;
      if (!m || typeof m !== "object" || typeof m.message_id !== "number" || typeof m.text !== "string") return v;
      const kept = this.byMessage.get(`${String(m.chat?.id)}:${m.message_id}`);
      return kept ? { ...m, text: kept.ref } : v;
    });
    return JSON.parse(json) as T;
  }

  /** `store` with every written value scrubbed: what the conversations plugin persists. */
  scrubbing<T>(store: KeyValueStore<T>): KeyValueStore<T> {
    return {
      read: (key) => store.read(key),
      write: (key, value) => store.write(key, this.scrub(value)),
      delete: (key) => store.delete(key),
    };
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, kept] of this.byMessage) {
      if (kept.expiresAt > now) continue;
      this.byMessage.delete(key);
      this.byRef.delete(kept.ref);
    }
  }
}
