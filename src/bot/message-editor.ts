// Keeps one chat message showing the latest state: coalesced, throttled edits that survive Telegram's quirks.
// Independent of grammY: the caller passes an `edit` function (e.g. ctx.api.editMessageText bound to a message).

export type EditFn<M> = (text: string, replyMarkup?: M) => Promise<void>;
/** Schedules `fn` after `ms`; returns a function that cancels it. */
export type SetTimerFn = (fn: () => void, ms: number) => () => void;

export interface ProgressMessageOptions<M> {
  edit: EditFn<M>;
  /** Least time between two edits; Telegram allows about one message per second per chat, edits included. */
  minIntervalMs: number;
  now?: () => number;
  setTimer?: SetTimerFn;
  /**
   * Called with an edit's error that is neither "not modified" nor a flood wait; the next update retries. A flood
   * wait (429) reaches this class when the edit function's Api does not auto-retry it, as the app's Api does for edits
   * (src/app/wire-services.ts): then the newest state goes out after retry_after, not the one that was refused.
   */
  onError?: (err: unknown) => void;
}

interface Snapshot<M> {
  text: string;
  markup: M | undefined;
  key: string;
}

/** Telegram's 400 for an edit that changes nothing: the message already shows what we wanted. */
export function isNotModifiedError(err: unknown): boolean {
  const e = err as { description?: unknown; message?: unknown } | null;
  return [e?.description, e?.message].some((m) => typeof m === "string" && m.includes("message is not modified"));
}

/**
 * The pressed message shown anew with its buttons. A press that changes nothing (a stale "all" on an all-chosen card,
 * the setting it already had) leaves it as it is: Telegram's "message is not modified" is no error here.
 */
export async function showInPlace<M>(
  edit: (text: string, other: { parse_mode: "HTML"; reply_markup: M; link_preview_options: { is_disabled: true } }) => Promise<unknown>,
  view: { text: string; keyboard: M },
): Promise<void> {
  await edit(view.text, { parse_mode: "HTML", reply_markup: view.keyboard, link_preview_options: { is_disabled: true } }).catch((err: unknown) => {
    if (!isNotModifiedError(err)) throw err;
  });
}

/** Seconds to wait from a 429 (grammY's GrammyError carries `parameters.retry_after`), else null. */
export function retryAfterSeconds(err: unknown): number | null {
  const e = err as { error_code?: unknown; parameters?: { retry_after?: unknown } } | null;
  const s = e?.parameters?.retry_after;
  return typeof s === "number" && Number.isFinite(s) && s >= 0 ? s : e?.error_code === 429 ? 5 : null;
}

const defaultSetTimer: SetTimerFn = (fn, ms) => {
  const t = setTimeout(fn, ms);
  return () => clearTimeout(t);
};

export class ProgressMessage<M = unknown> {
  private readonly now: () => number;
  private readonly setTimer: SetTimerFn;
  private shown: Snapshot<M> | null = null;
  private pending: Snapshot<M> | null = null;
  private inFlight: Promise<void> | null = null;
  private cancelTimer: (() => void) | null = null;
  /** Earliest time the next edit may go out (the throttle, or a flood wait, whichever is later). */
  private notBefore = 0;
  /** Earliest time any edit may go out, flush included: set only by a 429's retry_after. */
  private floodUntil = 0;
  private closed = false;

  constructor(private readonly opts: ProgressMessageOptions<M>) {
    this.now = opts.now ?? Date.now;
    this.setTimer = opts.setTimer ?? defaultSetTimer;
  }

  /** Asks for the message to show `text` (and `markup`); only the latest of quick successive updates is sent. */
  update(text: string, markup?: M): void {
    if (this.closed) return;
    this.pending = { text, markup, key: JSON.stringify([text, markup ?? null]) };
    this.pump();
  }

  /** Sends the latest state now (ignoring the throttle, honouring a flood wait) and resolves once it is shown. */
  async flush(): Promise<void> {
    this.clearTimer();
    while (true) {
      if (this.inFlight) {
        await this.inFlight;
        continue;
      }
      if (this.pending === null || this.pending.key === this.shown?.key) {
        this.pending = null;
        return;
      }
      const wait = this.floodUntil - this.now();
      if (wait > 0) {
        await new Promise<void>((resolve) => this.setTimer(resolve, wait));
        continue;
      }
      const error = await this.send();
      if (error !== undefined) throw error;
    }
  }

  /** Stops scheduled edits; later updates are ignored. An edit already on its way still completes. */
  close(): void {
    this.closed = true;
    this.pending = null;
    this.clearTimer();
  }

  private pump(): void {
    if (this.inFlight || this.cancelTimer || this.closed) return;
    if (this.pending === null) return;
    if (this.pending.key === this.shown?.key) {
      this.pending = null;
      return;
    }
    const wait = Math.max(this.notBefore, this.floodUntil) - this.now();
    if (wait > 0) {
      this.cancelTimer = this.setTimer(() => {
        this.cancelTimer = null;
        this.pump();
      }, wait);
      return;
    }
    void this.send().then(() => this.pump());
  }

  /** Sends the pending snapshot; resolves to the error that should reach the caller, if any. */
  private async send(): Promise<unknown> {
    const snap = this.pending;
    if (snap === null) return undefined;
    this.pending = null;
    let failure: unknown = undefined;
    const attempt = (async () => {
      try {
        await this.opts.edit(snap.text, snap.markup);
        this.shown = snap;
      } catch (err) {
        failure = this.absorb(err, snap);
      } finally {
        this.notBefore = this.now() + this.opts.minIntervalMs;
      }
    })();
    this.inFlight = attempt;
    await attempt;
    this.inFlight = null;
    return failure;
  }

  /** Turns an edit error into state: not-modified is success, a 429 waits and retries; others are reported. */
  private absorb(err: unknown, snap: Snapshot<M>): unknown {
    if (isNotModifiedError(err)) {
      this.shown = snap;
      return undefined;
    }
    const retryAfter = retryAfterSeconds(err);
    if (retryAfter !== null) {
      this.floodUntil = this.now() + retryAfter * 1000;
      // Retry this state unless a newer one arrived meanwhile.
      if (this.pending === null) this.pending = snap;
      return undefined;
    }
    this.opts.onError?.(err);
    return err;
  }

  private clearTimer(): void {
    this.cancelTimer?.();
    this.cancelTimer = null;
  }
}
