// How often the provider asks DigitalOcean for a droplet's status while it waits (boot, destroy), and the one budget all
// of those polls share. DigitalOcean allows 250 requests a minute and 5,000 an hour per token (shared/design/FACTS.md);
// the polls of every droplet at once (MAX_DROPLETS boots together) take at most `perMinute` of them, evenly spaced, so
// creates, destroys, the reaper's lists and retries always have the rest.
import { abortableSleep } from "../shared/abortable-sleep.js";

export interface BootPollSchedule {
  /** The interval while the boot is young (default 500 ms): a boot is noticed within this of becoming active. */
  fastMs: number;
  /** How long the fast interval is kept (default 5 s): the local world's and the odd quick real boot. */
  fastForMs: number;
  /** The longest interval, reached by ×1.5 steps after the fast phase (default 3 s: a real 30–60 s boot is noticed
   * within 3 s while it bills, at 20 polls a minute per droplet). */
  maxMs: number;
}

export const DEFAULT_BOOT_POLLS: BootPollSchedule = { fastMs: 500, fastForMs: 5000, maxMs: 3000 };

/** The interval before the next status poll of a boot that started `elapsedMs` ago, after an interval of `previousMs`. */
export function nextBootPollMs(s: BootPollSchedule, elapsedMs: number, previousMs: number | null): number {
  if (previousMs === null || elapsedMs < s.fastForMs) return s.fastMs;
  return Math.min(s.maxMs, Math.round(previousMs * 1.5));
}

/** Spaces status polls (of all droplets together) at least 60 s / `perMinute` apart: at most `perMinute` a minute. */
export interface PollPacer {
  /** Waits `desiredMs`, or longer when other polls hold the turns around then; `signal` cuts it short. */
  wait(desiredMs: number, signal?: AbortSignal): Promise<void>;
  readonly perMinute: number;
}

/** Half the token's 250 requests a minute by default; at 500 ms apart one droplet's fast polls are never held back. */
export const DEFAULT_POLLS_PER_MINUTE = 120;

export function createPollPacer(
  o: { perMinute?: number; now?: () => number; sleep?: (ms: number, signal?: AbortSignal) => Promise<void> } = {},
): PollPacer {
  const perMinute = o.perMinute ?? DEFAULT_POLLS_PER_MINUTE;
  if (!(perMinute > 0)) throw new Error(`polls per minute must be positive, got ${perMinute}`);
  const spacing = 60_000 / perMinute;
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? abortableSleep;
  /** Turns given out and not yet a spacing in the past, ascending. */
  const turns: number[] = [];

  /** The earliest time from `earliest` on that is a spacing away from every turn already given. */
  function book(earliest: number): number {
    while (turns.length > 0 && turns[0]! <= now() - spacing) turns.shift();
    let at = earliest;
    let i = 0;
    for (; i < turns.length; i++) {
      const given = turns[i]!;
      if (at + spacing <= given) break; // fits before this turn (and after the ones before it)
      if (at < given + spacing) at = given + spacing;
    }
    turns.splice(i, 0, at);
    return at;
  }

  return {
    perMinute,
    async wait(desiredMs, signal) {
      signal?.throwIfAborted();
      const at = book(now() + desiredMs);
      try {
        await sleep(Math.max(0, at - now()), signal);
      } catch (err) {
        // A cancelled wait gives its turn back.
        const i = turns.indexOf(at);
        if (i >= 0) turns.splice(i, 1);
        throw err;
      }
    },
  };
}
