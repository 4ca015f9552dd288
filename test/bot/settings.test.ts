// /settings and the store behind it: each user's choices about a torrent's files, in SQLite, each falling back to
// the default on its own; buttons set what they say (a stale press is harmless), survive a restart, and are per user.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserSettings, DEFAULT_FILE_CHOICE } from "../../src/jobs/user-settings.js";
import { settingsFeature } from "../../src/bot/features/settings.js";
import { friend, owner, startBotWorld, type BotWorld } from "./bot-world.js";
import type { FakeUser, SentMessage } from "../world/fake-telegram.js";

let world: BotWorld;

function buttonData(m: SentMessage, label: RegExp): string {
  const rows = (m.reply_markup as { inline_keyboard?: { text: string; callback_data?: string }[][] } | undefined)?.inline_keyboard ?? [];
  const b = rows.flat().find((x) => label.test(x.text));
  if (!b?.callback_data) throw new Error(`no button ${label}: ${JSON.stringify(rows)}`);
  return b.callback_data;
}
let settings: UserSettings;

beforeAll(async () => {
  world = await startBotWorld({
    features: (db) => {
      settings = new UserSettings(db, { sendFiles: true });
      return [settingsFeature({ settings, ownerId: owner.id, pickerTimeoutSeconds: 180 })];
    },
  });
});

afterAll(async () => {
  await world?.close();
});

async function openSettings(userId: number = owner.id, user: FakeUser = owner): Promise<SentMessage> {
  const before = world.tg.messages(userId).length;
  world.tg.sendText(user, "/settings");
  return world.tg.waitFor(() => world.tg.messages(userId).slice(before).find((m) => m.text.includes("Your settings")), 10_000);
}

async function pressAndWait(m: SentMessage, label: RegExp, user: FakeUser = owner): Promise<SentMessage> {
  const id = world.tg.pressButton(user, m, buttonData(m, label));
  await world.tg.waitFor(() => world.tg.answeredCallbacks.find((a) => a.callback_query_id === id), 10_000);
  return world.tg.waitFor(() => {
    const now = world.tg.messages(user.id).find((x) => x.message_id === m.message_id)!;
    return now.edits.length > m.edits.length ? now : null;
  }, 10_000);
}

describe("UserSettings file choices", () => {
  it("default to ask / fetch all; each choice is stored on its own and the other keeps the default", () => {
    const store = new UserSettings(world.db, { sendFiles: false });
    expect(store.fileChoice(424242)).toEqual(DEFAULT_FILE_CHOICE);
    expect(DEFAULT_FILE_CHOICE).toEqual({ afterMetadata: "ask", onPickerTimeout: "all" });
    store.setFileChoice(424242, "user", { onPickerTimeout: "cancel" });
    expect(store.fileChoice(424242)).toEqual({ afterMetadata: "ask", onPickerTimeout: "cancel" });
    store.setFileChoice(424242, "user", { afterMetadata: "all" });
    expect(store.fileChoice(424242)).toEqual({ afterMetadata: "all", onPickerTimeout: "cancel" });
    // The /files choice on the same row is left alone, and vice versa.
    store.setSendFiles(424242, "user", true);
    expect(store.fileChoice(424242)).toEqual({ afterMetadata: "all", onPickerTimeout: "cancel" });
    expect(store.sendFiles(424242)).toBe(true);
    const row = world.db.prepare("SELECT after_metadata, picker_timeout, send_files FROM users WHERE telegram_id = ?").get(424242);
    expect(row).toEqual({ after_metadata: "all", picker_timeout: "cancel", send_files: 1 });
  });

  it("refuses a value the column does not allow", () => {
    expect(() => world.db.prepare("UPDATE users SET picker_timeout = 'maybe' WHERE telegram_id = 424242").run()).toThrow(/CHECK constraint/);
  });
});

describe("/settings", () => {
  it("shows the choices with the current one marked, and a button sets what it says", async () => {
    const m = await openSettings();
    expect(m.text).toContain("the download waits while you choose the files to fetch.");
    expect(m.text).toContain("When the file picker gets no answer for 3 min:\nevery file is fetched.");
    expect(buttonData(m, /✅ Ask me/)).toBe("set:meta:ask");
    let now = await pressAndWait(m, /No answer: cancel/);
    expect(now.text).toContain("the job is cancelled and its droplet destroyed.");
    expect(buttonData(now, /✅ No answer: cancel/)).toBe("set:timeout:cancel");
    expect(settings.fileChoice(owner.id)).toEqual({ afterMetadata: "ask", onPickerTimeout: "cancel" });

    now = await pressAndWait(now, /Fetch all/);
    expect(now.text).toContain("every file is fetched at once.");
    expect(settings.fileChoice(owner.id)).toEqual({ afterMetadata: "all", onPickerTimeout: "cancel" });
    // A stale press of the same value again changes nothing and breaks nothing.
    const id = world.tg.pressButton(owner, now, "set:meta:all");
    expect((await world.tg.waitFor(() => world.tg.answeredCallbacks.find((a) => a.callback_query_id === id), 10_000)).text).toBe("Saved.");
    expect(settings.fileChoice(owner.id)).toEqual({ afterMetadata: "all", onPickerTimeout: "cancel" });
  });

  it("keeps the choices over a restart, and each user has their own", async () => {
    await world.restart();
    const again = await openSettings();
    expect(again.text).toContain("every file is fetched at once.");
    const friends = await openSettings(friend.id, friend);
    expect(friends.text).toContain("the download waits while you choose the files to fetch.");
    expect(settings.fileChoice(friend.id)).toEqual(DEFAULT_FILE_CHOICE);
  });

  it("sets the default seeding policy with a button, and keeps it over a restart", async () => {
    const m = await openSettings();
    expect(m.text).toContain("leave the swarm at once (no seeding).");
    expect(buttonData(m, /✅ Seed: None/)).toBe("set:seed:n");
    const now = await pressAndWait(m, /Seed: Ratio 2\.0/);
    expect(now.text).toContain("seed until ratio 2.0; the files come home meanwhile, and the per-job budget stops it.");
    expect(buttonData(now, /✅ Seed: Ratio 2\.0/)).toBe("set:seed:r2.0");
    expect(settings.seedPolicyCode(owner.id)).toBe("r2.0");
    await world.restart();
    expect((await openSettings()).text).toContain("seed until ratio 2.0");
    expect(settings.seedPolicyCode(friend.id)).toBeNull();
  });
});
