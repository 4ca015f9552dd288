// Feature conversations are stored in SQLite: one started before a restart continues after it, and API calls
// made inside a conversation are retried on 429 (auto-retry installed through the conversations' plugins).
import { afterEach, describe, expect, it } from "vitest";
import { Composer } from "grammy";
import type { BotContext, BotConversation, ConversationContext } from "../../src/bot/context.js";
import type { BotFeature } from "../../src/bot/deps.js";
import { owner, startBotWorld, type BotWorld } from "./bot-world.js";

let world: BotWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function askName(conversation: BotConversation, ctx: ConversationContext): Promise<void> {
  await ctx.reply("What is the droplet's name?");
  const answer = await conversation.waitFor("message:text");
  await answer.reply("And its region?");
  const region = await conversation.waitFor("message:text");
  await region.reply(`Creating ${answer.message.text} in ${region.message.text}.`);
}

function namingFeature(): BotFeature {
  const composer = new Composer<BotContext>();
  composer.command("name", (ctx) => ctx.conversation.enter("ask-name"));
  return { name: "naming", composer, conversations: [{ id: "ask-name", builder: askName }] };
}

describe("conversations", () => {
  it("survive a bot restart, and retry a 429 inside the conversation", async () => {
    world = await startBotWorld({ features: [namingFeature()] });
    const { tg } = world;
    tg.sendText(owner, "/name");
    expect((await tg.nextMessage(owner.id)).text).toBe("What is the droplet's name?");
    tg.sendText(owner, "alpha");
    expect((await tg.nextMessage(owner.id)).text).toBe("And its region?");
    const stored = world.db.prepare("SELECT key FROM kv WHERE key LIKE 'conversations:%'").all() as { key: string }[];
    expect(stored.map((r) => r.key)).toEqual([`conversations:${owner.id}`]);

    await world.restart();
    tg.failNext("sendMessage", { error_code: 429, retry_after: 1 });
    tg.sendText(owner, "fra1");
    expect((await tg.nextMessage(owner.id, 6000)).text).toBe("Creating alpha in fra1.");
    const limited = tg.calls.filter((c) => c.method === "sendMessage" && c.response?.error_code === 429);
    expect(limited).toHaveLength(1);
    // Finished conversations leave nothing behind.
    tg.sendText(owner, "hello");
    expect((await tg.nextMessage(owner.id)).text).toMatch(/did not recognise/);
  });
});
