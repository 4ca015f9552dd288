// The status polls' schedule and shared budget, on a virtual clock: how soon a boot is noticed, and how many requests
// boots at once cost against DigitalOcean's 250 a minute per token.
import { describe, expect, it } from "vitest";
import { createPollPacer, DEFAULT_BOOT_POLLS, DEFAULT_POLLS_PER_MINUTE, nextBootPollMs } from "../../src/cloud/status-polls.js";

/** A clock that only moves when every waiter is asleep: sleeps resolve in time order. */
function virtualClock() {
  let t = 0;
  const sleepers: { until: number; wake: () => void }[] = [];
  return {
    now: () => t,
    sleep: (ms: number) => new Promise<void>((wake) => sleepers.push({ until: t + ms, wake })),
    /** Runs until nothing sleeps or `until` is reached, waking sleepers one by one in time order. */
    async run(until: number) {
      for (;;) {
        await new Promise((r) => setImmediate(r)); // let woken waiters book their next turn
        if (sleepers.length === 0) return;
        sleepers.sort((a, b) => a.until - b.until);
        const next = sleepers.shift()!;
        if (next.until > until) return;
        t = Math.max(t, next.until);
        next.wake();
      }
    },
  };
}

/** One boot's polls as waitUntilActive makes them: a turn, a poll, the next interval; returns the poll times. */
async function boot(pacer: ReturnType<typeof createPollPacer>, clock: { now(): number }, activeAt: number, polls: number[]): Promise<number> {
  const started = clock.now();
  let interval: number | null = null;
  for (;;) {
    await pacer.wait(interval === null ? 0 : interval);
    polls.push(clock.now());
    if (clock.now() >= activeAt) return clock.now();
    interval = nextBootPollMs(DEFAULT_BOOT_POLLS, clock.now() - started, interval);
  }
}

function mostInAnyMinute(times: number[]): number {
  const s = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < s.length; i++) {
    while (s[i]! - s[j]! >= 60_000) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe("status polls", () => {
  it("poll a young boot every 500 ms, then back off by half up to 3 s", () => {
    const intervals: number[] = [];
    let elapsed = 0;
    let interval: number | null = null;
    while (elapsed < 30_000) {
      interval = nextBootPollMs(DEFAULT_BOOT_POLLS, elapsed, interval);
      intervals.push(interval);
      elapsed += interval;
    }
    expect(intervals.slice(0, 10)).toEqual(Array(10).fill(500));
    expect(intervals.slice(10, 15)).toEqual([750, 1125, 1688, 2532, 3000]);
    expect(new Set(intervals.slice(14))).toEqual(new Set([3000]));
  });

  it("notice a lone boot within 500 ms of it becoming active", async () => {
    const clock = virtualClock();
    for (const activeAt of [1000, 1234, 3999, 4700]) {
      const pacer = createPollPacer({ now: clock.now, sleep: clock.sleep });
      const polls: number[] = [];
      const start = clock.now();
      const done = boot(pacer, clock, start + activeAt, polls);
      await clock.run(Infinity);
      expect((await done) - (start + activeAt)).toBeLessThanOrEqual(500);
      expect(polls[0]).toBe(start); // the first poll goes at once
    }
  });

  it(`keep MAX_DROPLETS=3 boots, and 25, under ${DEFAULT_POLLS_PER_MINUTE} polls in any minute (DigitalOcean allows 250)`, async () => {
    for (const droplets of [3, 25]) {
      const clock = virtualClock();
      const pacer = createPollPacer({ now: clock.now, sleep: clock.sleep });
      const polls: number[] = [];
      // Each droplet boots again and again for ten minutes, boots of 20–60 s, all starting together.
      const loops = Array.from({ length: droplets }, async (_, i) => {
        let k = 0;
        while (clock.now() < 600_000) await boot(pacer, clock, clock.now() + 20_000 + ((i * 7919 + k++ * 104_729) % 40_000), polls);
      });
      await clock.run(600_000);
      expect(mostInAnyMinute(polls)).toBeLessThanOrEqual(DEFAULT_POLLS_PER_MINUTE);
      const sorted = [...polls].sort((a, b) => a - b);
      for (let i = 1; i < sorted.length; i++) expect(sorted[i]! - sorted[i - 1]!).toBeGreaterThanOrEqual(60_000 / DEFAULT_POLLS_PER_MINUTE);
      // Three boots together are hardly held back: each still polls at least every 1.5 s at first.
      if (droplets === 3) expect(mostInAnyMinute(polls)).toBeGreaterThan(60);
      void loops; // still booting past the ten minutes, asleep for good: nothing waits for them
    }
  });

  it("give a cancelled wait's turn back, and never book two turns closer than the spacing", async () => {
    const clock = virtualClock();
    const pacer = createPollPacer({ perMinute: 60, now: clock.now, sleep: (ms, signal) => (signal?.aborted ? Promise.reject(signal.reason) : clock.sleep(ms)) });
    const woke: number[] = [];
    const first = pacer.wait(0).then(() => woke.push(clock.now()));
    const ac = new AbortController();
    ac.abort(new Error("job cancelled"));
    await expect(pacer.wait(0, ac.signal)).rejects.toThrow("job cancelled");
    // A long wait books its own turn without holding back shorter ones asked for later.
    const long = pacer.wait(10_000).then(() => woke.push(clock.now()));
    const short = pacer.wait(0).then(() => woke.push(clock.now()));
    await clock.run(Infinity);
    await Promise.all([first, long, short]);
    expect(woke).toEqual([0, 1000, 10_000]);
  });
});
