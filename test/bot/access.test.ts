// Access control: a stranger gets one short refusal and nothing else happens — no job, no download, no button.
import { afterEach, describe, expect, it } from "vitest";
import { Composer } from "grammy";
import type { BotContext } from "../../src/bot/context.js";
import { REFUSAL } from "../../src/bot/access.js";
import { cancelJobButton } from "../../src/bot/callback-data.js";
import { callsSince, eventually, owner, stranger, startBotWorld, type BotWorld } from "./bot-world.js";

let world: BotWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** A feature that would start a job and download a document: what a stranger must never reach. */
function eagerFeature(w: () => BotWorld): Composer<BotContext> {
  const c = new Composer<BotContext>();
  c.on("message:document", async (ctx) => {
    await ctx.getFile();
    w().jobs.create({ kind: "playbook", ownerId: ctx.from.id, chatId: ctx.chat.id, state: "received", input: {} });
    await ctx.reply("got your file");
  });
  c.hears(/magnet:/, async (ctx) => {
    w().jobs.create({ kind: "torrent", ownerId: ctx.from!.id, chatId: ctx.chat.id, state: "parsed", input: {} });
    await ctx.reply("job created");
  });
  return c;
}

const jobRows = (w: BotWorld) => (w.db.prepare("SELECT COUNT(*) AS n FROM jobs").get() as { n: number }).n;

describe("access control", () => {
  it("refuses a stranger's messages once each and does nothing else", async () => {
    world = await startBotWorld({ features: [eagerFeature(() => world!)] });
    const { tg } = world;
    const from = tg.calls.length;
    tg.sendText(stranger, "/start");
    tg.sendText(stranger, "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567");
    tg.sendDocument(stranger, { fileName: "site.yml", bytes: Buffer.from("- hosts: all\n") });
    await tg.waitFor(() => tg.messages(stranger.id).length === 3);
    // Let anything else the bot might do happen before asserting it did not.
    tg.sendText(owner, "/help");
    await tg.nextMessage(owner.id);
    expect(tg.messages(stranger.id).map((m) => m.text)).toEqual([REFUSAL, REFUSAL, REFUSAL]);
    expect(callsSince(tg, from)).toEqual(["sendMessage", "sendMessage", "sendMessage", "sendMessage"]);
    expect(jobRows(world)).toBe(0);
  });

  it("answers a stranger's button press with the refusal only, even a forged one on the owner's message", async () => {
    world = await startBotWorld();
    const { tg, jobs } = world;
    const job = jobs.create({ kind: "torrent", ownerId: owner.id, chatId: owner.id, state: "downloading", input: {} });
    tg.sendText(owner, "/cancel");
    const list = await tg.nextMessage(owner.id);
    expect(list.reply_markup?.inline_keyboard?.[0]?.[0]?.callback_data).toBe(cancelJobButton.pack({ jobId: job.id }));

    const from = tg.calls.length;
    const queryId = tg.pressButton(stranger, list, cancelJobButton.pack({ jobId: job.id }), { force: true });
    await tg.waitFor(() => tg.answeredCallbacks.find((a) => a.callback_query_id === queryId));
    expect(tg.answeredCallbacks.at(-1)!.text).toBe(REFUSAL);
    expect(world.cancelCalls).toEqual([]);
    expect(callsSince(tg, from)).toEqual(["answerCallbackQuery"]);
    expect(tg.messages(stranger.id)).toEqual([]);

    // The owner's press of the same button does reach the job engine.
    tg.pressButton(owner, list, cancelJobButton.pack({ jobId: job.id }));
    await tg.waitFor(() => world!.cancelCalls.length === 1);
    expect(world.cancelCalls).toEqual([{ jobId: job.id, userId: owner.id }]);
  });

  it("ignores updates without a sender and a stranger's group chatter", async () => {
    world = await startBotWorld();
    const { tg } = world;
    const from = tg.calls.length;
    const post = tg.injectUpdate({ channel_post: { message_id: 1, chat: { id: -100123, type: "channel", title: "News" }, date: 1, text: "/start" } });
    tg.sendText(stranger, { id: -4242, type: "group", title: "Chat" }, "/help@dropship_test_bot");
    tg.sendText(owner, "/help");
    await tg.nextMessage(owner.id);
    // Chats run in parallel, so the owner's answer says nothing about the other two: wait until the bot has
    // finished with each of them (access control logs the drop as its last act) rather than sleeping.
    const ignored = await eventually(() => {
      const lines = world!.logs.filter((l) => l.msg === "ignored an update from outside the allowlist");
      return lines.length === 2 ? lines : null;
    });
    expect(ignored.map((l) => l.kind).sort()).toEqual(["channel_post", "message"]);
    expect(ignored.map((l) => l.update_id)).toContain(post.update_id);
    expect(callsSince(tg, from)).toEqual(["sendMessage"]);
    expect(tg.messages(-4242)).toEqual([]);
  });
});
