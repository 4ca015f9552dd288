// /settings: a user's standing choices about a torrent's files — after a magnet's metadata, ask which files to fetch
// or fetch them all; when the picker gets no answer in time, fetch them all or cancel — and how long a torrent seeds
// after its download unless its card says otherwise. One message with buttons; each button sets the value it names
// (not a toggle), so a stale or double press does what it says.
import { Composer, InlineKeyboard } from "grammy";
import type { FileChoiceSettings, UserSettings } from "../../jobs/user-settings.js";
import type { BotContext } from "../context.js";
import type { BotFeature } from "../deps.js";
import { seedSettingButton, settingButton } from "../callback-data.js";
import { decodeSeedPolicy, describeSeedPolicy, encodeSeedPolicy, SEED_CHOICES, seedChoiceLabel, seedPolicyOf } from "../../jobs/torrent/seeding-policy.js";
import { showInPlace } from "../message-editor.js";

export interface SettingsFeatureDeps {
  settings: Pick<UserSettings, "fileChoice" | "setFileChoice" | "sendFiles" | "seedPolicyCode" | "setSeedPolicyCode">;
  ownerId: number;
  /** How long the picker waits (TORRENT_PICKER_TIMEOUT_SECONDS), for the text. */
  pickerTimeoutSeconds: number;
}

export function settingsFeature(deps: SettingsFeatureDeps): BotFeature {
  const composer = new Composer<BotContext>();
  composer.command("settings", async (ctx) => {
    const view = settingsMessage(deps, ctx.from!.id);
    await ctx.reply(view.text, { parse_mode: "HTML", reply_markup: view.keyboard });
  });
  composer.callbackQuery(settingButton.filter, async (ctx) => {
    const press = settingButton.unpack(ctx.callbackQuery.data)!;
    const userId = ctx.from.id;
    const choice = toChoice(press.setting, press.value);
    if (!choice) {
      await ctx.answerCallbackQuery({ text: "This button is not valid any more." });
      return;
    }
    deps.settings.setFileChoice(userId, userId === deps.ownerId ? "owner" : "user", choice);
    await ctx.answerCallbackQuery({ text: "Saved." });
    const view = settingsMessage(deps, userId);
    await showInPlace((text, other) => ctx.editMessageText(text, other), view);
  });
  composer.callbackQuery(seedSettingButton.filter, async (ctx) => {
    const policy = decodeSeedPolicy(seedSettingButton.unpack(ctx.callbackQuery.data)!.code);
    if (!policy) {
      await ctx.answerCallbackQuery({ text: "This button is not valid any more." });
      return;
    }
    const userId = ctx.from.id;
    deps.settings.setSeedPolicyCode(userId, userId === deps.ownerId ? "owner" : "user", encodeSeedPolicy(policy));
    await ctx.answerCallbackQuery({ text: "Saved." });
    const view = settingsMessage(deps, userId);
    await showInPlace((text, other) => ctx.editMessageText(text, other), view);
  });
  return {
    name: "settings",
    composer,
    commands: [
      {
        command: "settings",
        description: "How a torrent's files are chosen, how long it seeds",
        usage: "/settings — ask which files to fetch, or fetch them all; what a picker left unanswered does; the default seeding after a download",
      },
    ],
  };
}

function toChoice(setting: string, value: string): Partial<FileChoiceSettings> | null {
  if (setting === "meta" && (value === "ask" || value === "all")) return { afterMetadata: value };
  if (setting === "timeout" && (value === "all" || value === "cancel")) return { onPickerTimeout: value };
  return null;
}

function settingsMessage(deps: SettingsFeatureDeps, userId: number): { text: string; keyboard: InlineKeyboard } {
  const c = deps.settings.fileChoice(userId);
  const seed = seedPolicyOf(deps.settings.seedPolicyCode(userId));
  const wait = deps.pickerTimeoutSeconds >= 60 ? `${Math.round(deps.pickerTimeoutSeconds / 60)} min` : `${deps.pickerTimeoutSeconds} s`;
  const mark = (on: boolean, label: string) => (on ? `✅ ${label}` : label);
  const text = [
    "⚙️ <b>Your settings</b>",
    "",
    "<b>When a magnet's metadata arrives</b> and the torrent has several files:",
    c.afterMetadata === "ask" ? "the download waits while you choose the files to fetch." : "every file is fetched at once.",
    "",
    `<b>When the file picker gets no answer</b> for ${wait}:`,
    c.onPickerTimeout === "all" ? "every file is fetched." : "the job is cancelled and its droplet destroyed.",
    "",
    "<b>After a download</b>, unless the card says otherwise:",
    seed.kind === "none" ? "leave the swarm at once (no seeding)." : `${describeSeedPolicy(seed)}; the files come home meanwhile, and the per-job budget stops it.`,
    "",
    `A .torrent's card always lets you choose its files before Start. Documents in the chat: ${deps.settings.sendFiles(userId) ? "on" : "off"} (/files).`,
  ].join("\n");
  const keyboard = new InlineKeyboard()
    .text(mark(c.afterMetadata === "ask", "Ask me"), settingButton.pack({ setting: "meta", value: "ask" }))
    .text(mark(c.afterMetadata === "all", "Fetch all"), settingButton.pack({ setting: "meta", value: "all" }))
    .row()
    .text(mark(c.onPickerTimeout === "all", "No answer: fetch all"), settingButton.pack({ setting: "timeout", value: "all" }))
    .text(mark(c.onPickerTimeout === "cancel", "No answer: cancel"), settingButton.pack({ setting: "timeout", value: "cancel" }))
    .row();
  for (const p of SEED_CHOICES) {
    const code = encodeSeedPolicy(p);
    keyboard.text(mark(code === encodeSeedPolicy(seed), `Seed: ${seedChoiceLabel(p)}`), seedSettingButton.pack({ code }));
  }
  return { text, keyboard };
}
