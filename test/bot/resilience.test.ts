// Telegram trouble and our own bugs: 429 and 5xx are retried; a failing handler gets the error boundary's short
// message; stop() waits for handlers in flight.
import { afterEach, describe, expect, it } from "vitest";
import { Composer } from "grammy";
import type { BotContext } from "../../src/bot/context.js";
import { eventually, owner, startBotWorld, type BotWorld } from "./bot-world.js";

let world: BotWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const sendCalls = (w: BotWorld) => w.tg.calls.filter((c) => c.method === "sendMessage");

describe("resilience", () => {
  it("waits out a 429 for retry_after seconds and then answers", async () => {
    world = await startBotWorld();
    const { tg } = world;
    tg.failNext("sendMessage", { error_code: 429, retry_after: 1 });
    tg.sendText(owner, "/help");
    const help = await tg.nextMessage(owner.id, 5000);
    expect(help.text).toContain("/jobs");
    const [limited, retried] = sendCalls(world);
    expect(limited!.response).toMatchObject({ ok: false, error_code: 429 });
    expect(retried!.response?.ok).toBe(true);
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(950);
  });

  it("retries a 500 (after auto-retry's 3 s backoff): the user just gets the answer", async () => {
    world = await startBotWorld();
    const { tg } = world;
    tg.failNext("sendMessage", { error_code: 500 });
    tg.sendText(owner, "/start");
    const hello = await tg.nextMessage(owner.id, 8000);
    expect(hello.text).toContain("Dropship");
    expect(sendCalls(world).map((c) => c.response?.error_code ?? 200)).toEqual([500, 200]);
    expect(tg.messages(owner.id)).toHaveLength(1);
  });

  it("keeps polling after getUpdates fails with a 5xx", async () => {
    world = await startBotWorld({ retry: { rethrowInternalServerErrors: true } });
    const { tg } = world;
    tg.failNext("getUpdates", { error_code: 502 });
    // The held poll answers with this update; the next poll gets the 502.
    tg.sendText(owner, "/help");
    await tg.nextMessage(owner.id);
    await tg.waitFor(() => tg.calls.some((c) => c.method === "getUpdates" && c.response?.error_code === 502));
    tg.sendText(owner, "/start");
    expect((await tg.nextMessage(owner.id)).text).toContain("Dropship");
    await eventually(() => world!.logs.some((l) => l.msg === "Telegram refused an API call" && l.method === "getUpdates" && l.error_code === 502));
  });

  it("a failing handler gets a short message with an error id, logged with the update id", async () => {
    world = await startBotWorld({
      cancelJob: async () => {
        throw new Error("database is locked at /secret/path");
      },
    });
    const { tg } = world;
    const sent = tg.sendText(owner, "/cancel 7");
    const reply = await tg.nextMessage(owner.id);
    const m = /^Something went wrong; the error was logged as ([0-9a-f]{8})\.$/.exec(reply.text);
    expect(m).not.toBeNull();
    expect(reply.text).not.toContain("secret");
    const logged = world.logs.find((l) => l.error_id === m![1]);
    expect(logged).toMatchObject({ level: 50, chat_id: owner.id });
    expect(logged!.update_id).toBeTypeOf("number");
    expect(JSON.stringify(logged)).toContain("database is locked");
    expect(sent.message_id).toBeGreaterThan(0);
  });

  it("stop() lets a running handler finish and confirms its update, so a restart does not replay it", async () => {
    let started = 0;
    const slow = new Composer<BotContext>();
    slow.command("slow", async (ctx) => {
      started++;
      await new Promise((r) => setTimeout(r, 400));
      await ctx.reply("slow done");
    });
    world = await startBotWorld({ features: [slow] });
    const { tg } = world;
    tg.sendText(owner, "/slow");
    await tg.waitFor(() => started === 1);
    await world.app.stop();
    expect(tg.messages(owner.id).map((m) => m.text)).toEqual(["slow done"]);
    expect(tg.pendingUpdates()).toBe(0);
    await world.restart();
    tg.sendText(owner, "/help");
    await tg.waitFor(() => tg.messages(owner.id).length === 2);
    expect(started).toBe(1);
  });
});
