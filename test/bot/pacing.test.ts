// Outgoing pacing against the fake Telegram's flood control (3 messages in any 3 s per chat, 30 in any 1 s overall;
// 429 with retry_after past that). The fake's own counts decide: a test passes only if Telegram never had to refuse.
import { afterEach, describe, expect, it } from "vitest";
import { Composer } from "grammy";
import type { BotContext } from "../../src/bot/context.js";
import type { BotFeature } from "../../src/bot/deps.js";
import type { FakeTelegram } from "../world/fake-telegram.js";
import { owner, startBotWorld, type BotWorld } from "./bot-world.js";

let world: BotWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const refused = (tg: FakeTelegram) => tg.calls.filter((c) => c.response?.error_code === 429);
const texts = (tg: FakeTelegram, chatId: number) => tg.messages(chatId).map((m) => m.text);

/** Answers every text message with one message naming it, so order per chat can be checked. */
function echo(): Composer<BotContext> {
  const c = new Composer<BotContext>();
  c.on("message:text", (ctx) => ctx.reply(`answer to ${ctx.msg.text}`));
  return c;
}

const USERS = [101, 102, 103, 104, 105].map((id) => ({ id, first_name: `User${id}` }));
const PER_USER = 20;

/** Each of the five users sends PER_USER messages, all within two seconds, all five at once. */
async function burst(tg: FakeTelegram): Promise<void> {
  for (let i = 1; i <= PER_USER; i++) {
    for (const u of USERS) tg.sendText(u, `m${i}`);
    await sleep(2000 / PER_USER);
  }
}

describe("outgoing pacing", () => {
  it("20 messages in 2 s from each of 5 users at once: no 429, every answer arrives, in order per chat", async () => {
    world = await startBotWorld({ features: [echo()], allowedUserIds: USERS.map((u) => u.id) });
    const { tg } = world;
    const started = Date.now();
    await burst(tg);
    await tg.waitFor(() => USERS.every((u) => tg.messages(u.id).length === PER_USER), 60_000, "every answer");
    const tookMs = Date.now() - started;
    expect(refused(tg)).toEqual([]);
    const expected = Array.from({ length: PER_USER }, (_, i) => `answer to m${i + 1}`);
    for (const u of USERS) expect(texts(tg, u.id)).toEqual(expected);
    // One a second per chat: twenty answers take about twenty seconds, the five chats side by side.
    expect(tookMs).toBeLessThan(35_000);
  }, 60_000);

  it("the same burst unpaced gets 429s from the fake (so the test above can fail)", async () => {
    world = await startBotWorld({ features: [echo()], allowedUserIds: USERS.map((u) => u.id), pacer: false });
    const { tg } = world;
    for (let i = 1; i <= 8; i++) tg.sendText(USERS[0]!, `m${i}`);
    await tg.waitFor(() => refused(tg).length > 0, 10_000, "a 429");
    expect(refused(tg)[0]!.response?.description).toMatch(/^Too Many Requests: retry after \d+$/);
  }, 30_000);

  it("answers to 40 people at once stay under 30 a second overall; unpaced they do not", async () => {
    // Strangers: each message gets one refusal, so 40 of them at once are 40 replies in 40 chats.
    const strangers = Array.from({ length: 40 }, (_, i) => ({ id: 5000 + i, first_name: `S${i}` }));
    world = await startBotWorld();
    for (const s of strangers) world.tg.sendText(s, "hello");
    await world.tg.waitFor(() => strangers.every((s) => world!.tg.messages(s.id).length === 1), 15_000, "40 refusals");
    expect(refused(world.tg)).toEqual([]);
    await world.close();

    world = await startBotWorld({ pacer: false });
    for (const s of strangers) world.tg.sendText(s, "hello");
    await world.tg.waitFor(() => refused(world!.tg).length > 0, 10_000, "a 429");
  }, 40_000);

  it("inside a conversation: paced, and replaying its earlier calls on the next update sends and waits for nothing", async () => {
    const composer = new Composer<BotContext>();
    composer.command("chatty", (ctx) => ctx.conversation.enter("chatty"));
    const feature: BotFeature = {
      name: "chatty",
      composer,
      conversations: [
        {
          id: "chatty",
          builder: async (conversation, ctx) => {
            for (let i = 1; i <= 5; i++) await ctx.reply(`before ${i}`);
            const answer = await conversation.waitFor("message:text");
            for (let i = 1; i <= 5; i++) await answer.reply(`after ${i}`);
          },
        },
      ],
    };
    world = await startBotWorld({ features: [feature] });
    const { tg } = world;
    tg.sendText(owner, "/chatty");
    await tg.waitFor(() => tg.messages(owner.id).length === 5, 15_000, "five messages before the question");
    // Past the one-second spacing, so any wait before the next answer is the replay's, not Telegram's.
    await sleep(1200);
    const answeredAt = Date.now();
    tg.sendText(owner, "go on");
    await tg.waitFor(() => tg.messages(owner.id).length === 10, 15_000, "five messages after the answer");
    expect(refused(tg)).toEqual([]);
    expect(texts(tg, owner.id)).toEqual([1, 2, 3, 4, 5].map((i) => `before ${i}`).concat([1, 2, 3, 4, 5].map((i) => `after ${i}`)));
    // Paced like live sends, the five replayed ones would hold the first new reply back for four seconds or more.
    const firstAfter = tg.calls.find((c) => c.method === "sendMessage" && c.params.text === "after 1")!;
    expect(firstAfter.at - answeredAt).toBeLessThan(2000);
  }, 40_000);
});
