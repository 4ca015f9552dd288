import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { isNotModifiedError, ProgressMessage, retryAfterSeconds } from "../../src/bot/message-editor.js";

interface Markup {
  inline_keyboard: { text: string; callback_data: string }[][];
}
const CANCEL: Markup = { inline_keyboard: [[{ text: "Cancel", callback_data: "cancel:1" }]] };

/** The shape grammY's GrammyError has for a flood wait (error_code, description, parameters.retry_after). */
function floodError(retryAfter: number): Error {
  return Object.assign(new Error(`Call to 'editMessageText' failed! (429: Too Many Requests: retry after ${retryAfter})`), {
    ok: false,
    error_code: 429,
    description: `Too Many Requests: retry after ${retryAfter}`,
    parameters: { retry_after: retryAfter },
    method: "editMessageText",
  });
}

function notModifiedError(): Error {
  return Object.assign(
    new Error("Call to 'editMessageText' failed! (400: Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message)"),
    { ok: false, error_code: 400, description: "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message" },
  );
}

/** A recording edit function; `fail` queues errors for the next calls. */
function recorder() {
  const calls: { at: number; text: string; markup?: Markup }[] = [];
  const failures: unknown[] = [];
  let delayMs = 0;
  const edit = async (text: string, markup?: Markup) => {
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    calls.push({ at: Date.now(), text, markup });
    const f = failures.shift();
    if (f !== undefined) throw f;
  };
  return { calls, failures, edit, setDelay: (ms: number) => void (delayMs = ms) };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

const T0 = 1_000_000;

describe("ProgressMessage", () => {
  it("edits at once, then coalesces updates to at most one edit per interval, keeping the latest", async () => {
    const r = recorder();
    const msg = new ProgressMessage<Markup>({ edit: r.edit, minIntervalMs: 3000 });
    msg.update("1%", CANCEL);
    await vi.advanceTimersByTimeAsync(0);
    msg.update("2%", CANCEL);
    msg.update("3%", CANCEL);
    await vi.advanceTimersByTimeAsync(1000);
    msg.update("4%", CANCEL);
    expect(r.calls.map((c) => c.text)).toEqual(["1%"]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(r.calls.map((c) => [c.text, c.at - T0])).toEqual([["1%", 0], ["4%", 3000]]);
    expect(r.calls[1]?.markup).toEqual(CANCEL);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(r.calls).toHaveLength(2);
  });

  it("skips an edit when text and markup are unchanged, but not when only the markup changes", async () => {
    const r = recorder();
    const msg = new ProgressMessage<Markup>({ edit: r.edit, minIntervalMs: 1000 });
    msg.update("same", CANCEL);
    await vi.advanceTimersByTimeAsync(5000);
    msg.update("same", CANCEL);
    await vi.advanceTimersByTimeAsync(5000);
    expect(r.calls).toHaveLength(1);
    msg.update("same");
    await vi.advanceTimersByTimeAsync(0);
    expect(r.calls.map((c) => [c.text, c.markup])).toEqual([["same", CANCEL], ["same", undefined]]);
    // Back and forth within one interval ends where it started: nothing to send.
    msg.update("other");
    msg.update("same");
    await vi.advanceTimersByTimeAsync(5000);
    expect(r.calls).toHaveLength(2);
  });

  it("treats Telegram's 'message is not modified' as success", async () => {
    const r = recorder();
    const onError = vi.fn();
    const msg = new ProgressMessage<Markup>({ edit: r.edit, minIntervalMs: 1000, onError });
    r.failures.push(notModifiedError());
    msg.update("a");
    await vi.advanceTimersByTimeAsync(5000);
    msg.update("a");
    await vi.advanceTimersByTimeAsync(5000);
    r.failures.push(notModifiedError());
    msg.update("b");
    await expect(msg.flush()).resolves.toBeUndefined();
    expect(r.calls.map((c) => c.text)).toEqual(["a", "b"]);
    expect(onError).not.toHaveBeenCalled();
  });

  it("waits retry_after after a 429, then sends the newest state", async () => {
    const r = recorder();
    const msg = new ProgressMessage<Markup>({ edit: r.edit, minIntervalMs: 1000 });
    r.failures.push(floodError(7));
    msg.update("10%");
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(6000);
    expect(r.calls.map((c) => c.text)).toEqual(["10%"]);
    msg.update("20%");
    await vi.advanceTimersByTimeAsync(999);
    expect(r.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.calls.map((c) => [c.text, c.at - T0])).toEqual([["10%", 0], ["20%", 7000]]);
  });

  it("retries the same state after a 429 when nothing newer came", async () => {
    const r = recorder();
    const msg = new ProgressMessage<Markup>({ edit: r.edit, minIntervalMs: 1000 });
    r.failures.push(floodError(3));
    msg.update("only");
    await vi.advanceTimersByTimeAsync(10_000);
    expect(r.calls.map((c) => [c.text, c.at - T0])).toEqual([["only", 0], ["only", 3000]]);
  });

  it("flush sends the final state at once, awaiting the edit in flight, but honours a flood wait", async () => {
    const r = recorder();
    r.setDelay(500);
    const msg = new ProgressMessage<Markup>({ edit: r.edit, minIntervalMs: 10_000 });
    msg.update("50%", CANCEL);
    await vi.advanceTimersByTimeAsync(100); // the first edit is in flight
    msg.update("99%", CANCEL);
    msg.update("done");
    const flushed = msg.flush();
    await vi.advanceTimersByTimeAsync(1000);
    await flushed;
    expect(r.calls.map((c) => [c.text, c.at - T0])).toEqual([["50%", 500], ["done", 1000]]);

    r.setDelay(0);
    r.failures.push(floodError(4));
    msg.update("after");
    const second = msg.flush();
    let settled = false;
    void second.then(() => (settled = true));
    await vi.advanceTimersByTimeAsync(3999);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await second;
    expect(r.calls.slice(2).map((c) => [c.text, c.at - T0])).toEqual([["after", 1100], ["after", 5100]]);
  });

  it("reports other errors, retries on the next update, and flush rejects with them", async () => {
    const r = recorder();
    const errors: unknown[] = [];
    const msg = new ProgressMessage<Markup>({ edit: r.edit, minIntervalMs: 1000, onError: (e) => errors.push(e) });
    const boom = Object.assign(new Error("Bad Request: message to edit not found"), { error_code: 400 });
    r.failures.push(boom);
    msg.update("x");
    await vi.advanceTimersByTimeAsync(5000);
    expect(errors).toEqual([boom]);
    msg.update("x"); // not shown yet, so it is sent again
    await vi.advanceTimersByTimeAsync(5000);
    expect(r.calls.map((c) => c.text)).toEqual(["x", "x"]);
    r.failures.push(boom);
    msg.update("y");
    await vi.advanceTimersByTimeAsync(0);
    msg.update("z"); // inside the interval: waits for the throttle, or for flush
    r.failures.push(boom);
    await expect(msg.flush()).rejects.toBe(boom);
  });

  it("close() drops what is pending and ignores later updates", async () => {
    const r = recorder();
    const msg = new ProgressMessage<Markup>({ edit: r.edit, minIntervalMs: 1000 });
    msg.update("a");
    await vi.advanceTimersByTimeAsync(0);
    msg.update("b");
    msg.close();
    msg.update("c");
    await vi.advanceTimersByTimeAsync(10_000);
    await msg.flush();
    expect(r.calls.map((c) => c.text)).toEqual(["a"]);
  });

  it("works with an injected clock and timer", async () => {
    let now = 0;
    const timers: { at: number; fn: () => void }[] = [];
    const texts: string[] = [];
    const msg = new ProgressMessage<Markup>({
      edit: async (t) => void texts.push(t),
      minIntervalMs: 2000,
      now: () => now,
      setTimer: (fn, ms) => {
        const t = { at: now + ms, fn };
        timers.push(t);
        return () => timers.splice(timers.indexOf(t), 1);
      },
    });
    msg.update("one");
    await vi.advanceTimersByTimeAsync(0);
    msg.update("two");
    expect(timers.map((t) => t.at)).toEqual([2000]);
    now = 2000;
    timers.shift()?.fn();
    await vi.advanceTimersByTimeAsync(0);
    expect(texts).toEqual(["one", "two"]);
  });
});

describe("error shapes", () => {
  it("recognises grammY's errors", () => {
    expect(isNotModifiedError(notModifiedError())).toBe(true);
    expect(isNotModifiedError({ description: "Bad Request: message is not modified" })).toBe(true);
    expect(isNotModifiedError(new Error("Bad Request: message to edit not found"))).toBe(false);
    expect(isNotModifiedError(null)).toBe(false);
    expect(retryAfterSeconds(floodError(12))).toBe(12);
    expect(retryAfterSeconds({ error_code: 429 })).toBe(5);
    expect(retryAfterSeconds(new Error("socket hang up"))).toBeNull();
  });
});
