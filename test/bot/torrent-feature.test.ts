// The torrent feature's chat rules, with the real bot on the fake Telegram API and a clock the test moves:
// cards per magnet, precise errors, owner-only buttons, one job per double press, expiry, budget checks.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, type Db } from "../../src/storage/database.js";
import { JobStore } from "../../src/jobs/job-store.js";
import { JobCanceller } from "../../src/jobs/cancel-job.js";
import { torrentCancellation } from "../../src/jobs/torrent/torrent-job.js";
import { TorrentBudget } from "../../src/jobs/torrent/torrent-budget.js";
import { TorrentQuoter } from "../../src/jobs/torrent/torrent-quote.js";
import type { CloudSize } from "../../src/cloud/cloud-provider.js";
import { torrentFeature } from "../../src/bot/features/torrent.js";
import { friend, owner, startBotWorld, type BotWorld } from "./bot-world.js";
import type { SentMessage } from "../world/fake-telegram.js";

const HASH_A = "0123456789abcdef0123456789abcdef01234567";
const HASH_B = "89abcdef0123456789abcdef0123456789abcdef";
const SIZE: CloudSize = {
  slug: "s-1vcpu-1gb", priceHourly: 0.00893, priceMonthly: 6, transferTb: 1, regions: ["fra1"], available: true,
  vcpus: 1, memoryMb: 1024, diskGb: 25, description: "Basic",
};

let world: BotWorld;
let db: Db;
let jobs: JobStore;
let clock = Date.now();
const started: number[] = [];
const attached: number[] = [];
let monthlyBudget = 20;
/** DigitalOcean's size catalog failing (null: it answers). */
let catalogDown: Error | null = null;

beforeAll(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "torrent-feature-"));
  db = openDatabase(path.join(dir, "jobs.sqlite"));
  jobs = new JobStore(db, () => clock);
  const quoter = new TorrentQuoter({
    // The size catalog is the DigitalOcean adapter's job (tested against the fake API elsewhere); here, one size.
    sizes: {
      getSize: async (slug) => {
        if (catalogDown) throw catalogDown;
        return slug === SIZE.slug ? SIZE : null;
      },
      sizeProblem: async () => null,
    },
    store: jobs,
    settings: { size: SIZE.slug, region: "fra1", speedBytesPerSecond: 50e6 },
    budget: new TorrentBudget({
      db,
      jobs,
      settings: { perJobUsd: 1, get monthlyUsd() { return monthlyBudget; }, monthlyPerUserUsd: null, maxDroplets: 1000, maxDropletsPerUser: 1000 },
      now: () => clock,
    }),
  });
  const running = new Set<number>();
  const runner = { start: (id: number) => void (started.push(id), running.add(id)), cancel: async (id: number) => running.delete(id), isRunning: (id: number) => running.has(id), answerSizeQuestion: () => false, pickFiles: async () => ({ kind: "not-waiting" as const }), applySeedPolicy: async () => undefined, stopSeeding: () => false };
  world = await startBotWorld({
    features: [
      torrentFeature({
        jobs,
        quoter,
        canceller: new JobCanceller(jobs, { torrent: torrentCancellation(runner, jobs) }),
        runner,
        presenter: { attach: (id) => void attached.push(id) },
        delivery: { uploadLimitBytes: 50_000_000, sendsDocuments: () => true },
        fetchTelegramFile: async () => Buffer.alloc(0),
        cardTtlMs: 60_000,
        now: () => clock,
      }),
    ],
  });
});

afterAll(async () => {
  await world?.close();
  db?.close();
});

beforeEach(() => {
  clock = Date.now();
  started.length = 0;
  attached.length = 0;
  monthlyBudget = 20;
  catalogDown = null;
});

async function botSays(userId: number, match: (m: SentMessage) => boolean): Promise<SentMessage> {
  return world.tg.waitFor(() => world.tg.messages(userId).find(match), 10_000);
}

const cardsFor = (userId: number) => world.tg.messages(userId).filter((m) => m.text.includes("Press Start"));
const jobOf = (card: SentMessage) => Number(/t:start:(\d+)/.exec(JSON.stringify(card.reply_markup))![1]);

async function answerTo(queryId: string): Promise<string | undefined> {
  return world.tg.waitFor(() => world.tg.answeredCallbacks.find((a) => a.callback_query_id === queryId), 10_000).then((a) => a.text);
}

describe("torrent feature", () => {
  it("answers every magnet in a message with its own card, and a broken one with a precise error", async () => {
    const before = cardsFor(owner.id).length;
    world.tg.sendText(owner, `two: magnet:?xt=urn:btih:${HASH_A}&dn=first&xl=1000000 and magnet:?xt=urn:btih:${HASH_B}&dn=second ` + `broken: magnet:?xt=urn:btih:${HASH_A.slice(1)}`);
    await world.tg.waitFor(() => cardsFor(owner.id).length === before + 2, 10_000);
    const [first, second] = cardsFor(owner.id).slice(before);
    expect(first!.text).toContain("first");
    expect(first!.text).toContain("Size: 977 KiB");
    expect(second!.text).toContain("second");
    expect(second!.text).toMatch(/size unknown/i);
    // What arrives in the chat besides the links: a 1 MB magnet fits Telegram's limit whole; an unsized one may not.
    expect(first!.text).toContain("📎 Its files also arrive in this chat as documents (at most 10), besides the links.");
    expect(second!.text).toContain("📎 Files up to 50 MB also arrive in this chat as documents (at most 10); larger ones only as links.");
    const err = await botSays(owner.id, (m) => m.text.includes("broken"));
    expect(err.text).toContain("39 hex digits, expected 40");
  });

  it("says DigitalOcean could not price the card, with its reason, and records nothing when the size catalog fails", async () => {
    catalogDown = new Error("DigitalOcean could not be reached (ECONNREFUSED)");
    const before = jobs.listRecentIn("torrent", "estimated", 1000).length;
    world.tg.sendText(owner, `magnet:?xt=urn:btih:${HASH_B}&dn=unpriced&xl=1000000`);
    const reply = await botSays(owner.id, (m) => m.text.includes("unpriced"));
    expect(reply.text).toBe(
      "⚠️ No card for unpriced: DigitalOcean did not answer when asked for the droplet's price (DigitalOcean could not be reached (ECONNREFUSED)). Nothing was started or charged; send the link again in a minute.",
    );
    expect(reply.reply_markup).toBeUndefined();
    expect(jobs.listRecentIn("torrent", "estimated", 1000).length).toBe(before);
  });

  it("lets only the sender press the buttons, and a double press starts one job", async () => {
    world.tg.sendText(friend, `magnet:?xt=urn:btih:${HASH_A}&dn=friends`);
    const card = await botSays(friend.id, (m) => m.text.includes("friends"));
    const jobId = jobOf(card);
    expect(await answerTo(world.tg.pressButton(owner, card, `t:start:${jobId}`, { force: true }))).toMatch(/Only the person who sent this torrent/);
    expect(started).toEqual([]);
    const q1 = world.tg.pressButton(friend, card, `t:start:${jobId}`);
    const q2 = world.tg.pressButton(friend, card, `t:start:${jobId}`, { force: true });
    expect([await answerTo(q1), await answerTo(q2)].sort()).toEqual(["Already started.", "Starting…"]);
    expect(started).toEqual([jobId]);
    expect(attached).toEqual([jobId]);
    expect(jobs.get(jobId)!.state).toBe("approved");
  });

  it("starts the job even when Telegram refuses the answer to Start (a press answered too late)", async () => {
    world.tg.sendText(owner, `magnet:?xt=urn:btih:${HASH_B}&dn=late-answer`);
    const card = await botSays(owner.id, (m) => m.text.includes("late-answer"));
    const jobId = jobOf(card);
    world.tg.failNext("answerCallbackQuery", { error_code: 400, description: "Bad Request: query is too old and response timeout expired or query ID is invalid" });
    world.tg.pressButton(owner, card, `t:start:${jobId}`);
    await world.tg.waitFor(() => started.includes(jobId), 10_000);
    expect(attached).toEqual([jobId]);
    expect(jobs.get(jobId)!.state).toBe("approved");
  });

  it("says a card has expired once its time is up, and starts nothing", async () => {
    world.tg.sendText(owner, `magnet:?xt=urn:btih:${HASH_B}&dn=stale`);
    const card = await botSays(owner.id, (m) => m.text.includes("stale"));
    const jobId = jobOf(card);
    clock += 61_000;
    expect(await answerTo(world.tg.pressButton(owner, card, `t:start:${jobId}`))).toMatch(/expired/);
    expect(started).toEqual([]);
    expect(jobs.get(jobId)!.state).toBe("cancelled");
  });

  it("refuses Start when the month's budget would be passed, and keeps the card", async () => {
    world.tg.sendText(owner, `magnet:?xt=urn:btih:${HASH_A}&dn=pricey&xl=1000000`);
    const card = await botSays(owner.id, (m) => m.text.includes("pricey"));
    const jobId = jobOf(card);
    jobs.recordSpend({ jobId: null, userId: owner.id, kind: "actual", usd: 0.5 });
    monthlyBudget = 0.5;
    expect(await answerTo(world.tg.pressButton(owner, card, `t:start:${jobId}`))).toMatch(/monthly budget of \$0\.50/);
    expect(jobs.get(jobId)!.state).toBe("estimated");
    monthlyBudget = 20;
    expect(await answerTo(world.tg.pressButton(owner, card, `t:start:${jobId}`))).toBe("Starting…");
  });

  it("leaves text without a magnet to the rest of the bot", async () => {
    const before = world.tg.messages(owner.id).length;
    world.tg.sendText(owner, "hello there");
    const hint = await world.tg.waitFor(() => world.tg.messages(owner.id).slice(before).find((m) => /magnet link/.test(m.text)), 10_000);
    expect(hint.text).toMatch(/did not recognise/);
  });
});
