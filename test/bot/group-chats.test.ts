// Group chats through the fake Telegram (privacy mode, admin rights): with GROUP_MODE=private-only (the default) an
// allowed user's command in a group is answered there only with a pointer to the private chat, a button press with
// the same, and nothing else runs; GROUP_MODE=open runs features in groups as in private chats.
import { afterEach, describe, expect, it } from "vitest";
import { Composer } from "grammy";
import type { BotContext } from "../../src/bot/context.js";
import { cancelJobButton } from "../../src/bot/callback-data.js";
import { friend, owner, startBotWorld, stranger, type BotWorld } from "./bot-world.js";

const GROUP = { id: -4242, type: "group" as const, title: "Team" };
const NOTE = "I work in private chats only, so links, files, hosts and questions stay between us. Send it to me in a private chat.";

let world: BotWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** What must not run in a group: a "host list", and a job for every magnet. */
function revealingFeature(w: () => BotWorld): Composer<BotContext> {
  const c = new Composer<BotContext>();
  c.command("hosts", (ctx) => ctx.reply("web1 — root@203.0.113.5"));
  c.hears(/magnet:/, async (ctx) => {
    w().jobs.create({ kind: "torrent", ownerId: ctx.from!.id, chatId: ctx.chat.id, state: "parsed", input: {} });
    await ctx.reply("job created");
  });
  return c;
}

const jobRows = (w: BotWorld) => (w.db.prepare("SELECT COUNT(*) AS n FROM jobs").get() as { n: number }).n;

/** Waits until the bot has finished with a group update: the gate logs each as its last act. */
const settled = (w: BotWorld, n: number) => w.tg.waitFor(() => w.logs.filter((l) => l.chat_id === GROUP.id && /group/.test(String(l.msg))).length >= n, 5000, `${n} group updates handled`);

describe("GROUP_MODE=private-only (default)", () => {
  it("answers an allowed user's command in a group only with a pointer to the private chat", async () => {
    world = await startBotWorld({ features: [revealingFeature(() => world!)] });
    const { tg } = world;
    const asked = tg.sendText(friend, GROUP, "/hosts");
    const note = await tg.nextMessage(GROUP.id);
    expect(note.text).toBe(NOTE);
    expect(note.reply_to_message_id).toBe(asked.message_id);
    expect(note.reply_markup?.inline_keyboard?.[0]?.[0]).toEqual({ text: `Open a chat with @${tg.me.username}`, url: `https://t.me/${tg.me.username}` });

    // The same command addressed by name; then the private chat, where it works.
    tg.sendText(owner, GROUP, `/hosts@${tg.me.username}`);
    expect((await tg.nextMessage(GROUP.id)).text).toBe(NOTE);
    tg.sendText(friend, "/hosts");
    expect((await tg.nextMessage(friend.id)).text).toBe("web1 — root@203.0.113.5");
    expect(tg.messages(GROUP.id).map((m) => m.text)).toEqual([NOTE, NOTE]);
  });

  it("ignores a magnet, a command for another bot and a stranger's command in a group, even when it sees every message", async () => {
    world = await startBotWorld({ features: [revealingFeature(() => world!)] });
    const { tg } = world;
    tg.setBotAdmin(GROUP.id, { can_delete_messages: true }); // an admin bot sees every message of the group
    tg.sendText(friend, GROUP, "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567");
    tg.sendText(friend, GROUP, "/hosts@some_other_bot");
    tg.sendText(stranger, GROUP, "/hosts");
    await settled(world, 2);
    // The stranger's command is dropped by access control before the group rule; let the bot finish with it too.
    await tg.waitFor(() => world!.logs.some((l) => l.user_id === stranger.id && l.chat_id === GROUP.id), 5000);
    expect(tg.messages(GROUP.id)).toEqual([]);
    expect(jobRows(world)).toBe(0);
  });

  it("answers a button pressed in a group with the pointer, and the button does nothing", async () => {
    world = await startBotWorld();
    const { tg } = world;
    const job = world.jobs.create({ kind: "torrent", ownerId: friend.id, chatId: GROUP.id, state: "downloading", input: {} });
    const groupMessage = tg.sendText(friend, GROUP, "/start");
    await tg.nextMessage(GROUP.id);
    const pressed = tg.pressButton(friend, { chat_id: GROUP.id, message_id: groupMessage.message_id as number }, cancelJobButton.pack({ jobId: job.id }), { force: true });
    await tg.waitFor(() => tg.answeredCallbacks.find((a) => a.callback_query_id === pressed));
    expect(tg.answeredCallbacks.at(-1)).toMatchObject({ text: `I work in private chats only, so links, files, hosts and questions stay between us. Open a private chat with @${tg.me.username}.`, show_alert: true });
    expect(world.cancelCalls).toEqual([]);
  });
});

describe("GROUP_MODE=open", () => {
  it("runs features for allowed users in groups, as in a private chat", async () => {
    world = await startBotWorld({ groupMode: "open", features: [revealingFeature(() => world!)] });
    const { tg } = world;
    tg.sendText(friend, GROUP, "/hosts");
    expect((await tg.nextMessage(GROUP.id)).text).toBe("web1 — root@203.0.113.5");
  });
});
