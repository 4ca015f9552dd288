// The bot shell against the fake Telegram: /start, /help, the registered command list, feature order, logs.
import { afterEach, describe, expect, it } from "vitest";
import { Composer } from "grammy";
import type { BotContext } from "../../src/bot/context.js";
import { BUILTIN_COMMANDS, assertValidCommands, mergeCommands } from "../../src/bot/commands.js";
import { HINT, UNKNOWN_COMMAND, UNUSABLE_FILE } from "../../src/bot/features/fallback.js";
import { TOKEN, eventually, owner, friend, startBotWorld, type BotWorld } from "./bot-world.js";

let world: BotWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

function magnetFeature(): Composer<BotContext> {
  const c = new Composer<BotContext>();
  c.hears(/magnet:\?xt=/, (ctx) => ctx.reply("magnet seen"));
  return c;
}

describe("bot shell", () => {
  it("answers /start and /help and registers the same command list with Telegram", async () => {
    world = await startBotWorld({
      features: [{ name: "playbook", composer: new Composer<BotContext>(), commands: [{ command: "venvs", description: "Virtualenvs on your hosts" }] }],
    });
    const { tg } = world;
    expect(tg.commands().map((c) => c.command)).toEqual(["start", "help", "jobs", "cancel", "venvs"]);

    tg.sendText(owner, "/start");
    const hello = await tg.nextMessage(owner.id);
    expect(hello.text).toContain("Hi Olga!");
    expect(hello.text).toContain("/help");

    tg.sendText(friend, "/help");
    const help = await tg.nextMessage(friend.id);
    expect(help.parse_mode).toBe("HTML");
    for (const s of ["magnet:?xt=urn:btih:", ".torrent", "playbook", ".zip", "/jobs", "/cancel <id>", "/venvs — Virtualenvs on your hosts"]) {
      expect(help.text).toContain(s);
    }
  });

  it("merges feature commands after the built-ins and rejects names Telegram would refuse", () => {
    const merged = mergeCommands([BUILTIN_COMMANDS, [{ command: "help", description: "dup" }, { command: "venvs", description: "Venvs" }]]);
    expect(merged.map((c) => c.command)).toEqual(["start", "help", "jobs", "cancel", "venvs"]);
    expect(merged.find((c) => c.command === "help")!.description).not.toBe("dup");
    expect(() => assertValidCommands([{ command: "Venvs-List", description: "x" }])).toThrow(/lowercase letters, digits or underscores/);
    expect(() => assertValidCommands([{ command: "venvs", description: "" }])).toThrow(/1-256 characters/);
    expect(() => assertValidCommands(merged)).not.toThrow();
  });

  it("lets features handle messages before the catch-all hint", async () => {
    world = await startBotWorld({ features: [magnetFeature()] });
    const { tg } = world;
    tg.sendText(owner, "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567");
    expect((await tg.nextMessage(owner.id)).text).toBe("magnet seen");
    tg.sendText(owner, "hello there");
    expect((await tg.nextMessage(owner.id)).text).toBe(HINT);
    tg.sendText(owner, "/frobnicate now");
    expect((await tg.nextMessage(owner.id)).text).toBe(UNKNOWN_COMMAND);
    tg.sendDocument(owner, { fileName: "cat.jpg", mimeType: "image/jpeg", bytes: Buffer.from("jpeg") });
    expect((await tg.nextMessage(owner.id)).text).toBe(UNUSABLE_FILE);
    expect(tg.calls.some((c) => c.method === "getFile")).toBe(false);
  });

  it("logs every update with its id and never the token", async () => {
    world = await startBotWorld();
    const { tg } = world;
    const sent = tg.sendText(owner, "/help");
    await tg.nextMessage(owner.id);
    await eventually(() => world!.logs.some((l) => l.msg === "update handled"));
    const handled = world.logs.find((l) => l.msg === "update handled")!;
    expect(handled.update_id).toBeTypeOf("number");
    expect(handled.chat_id).toBe(owner.id);
    expect(sent.message_id).toBeTypeOf("number");
    expect(world.rawLogs.join("\n")).not.toContain(TOKEN.split(":")[1]);
  });
});
