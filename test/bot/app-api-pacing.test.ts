// The composition root's own Api (job runners, presenters, restart notices) against the fake Telegram's flood
// control: paced like bot.api, and a 429 on a progress edit is left to ProgressMessage, which sends the newest state.
import { afterEach, describe, expect, it } from "vitest";
import { wireTelegramApi } from "../../src/app/wire-services.js";
import { RunPresenter } from "../../src/bot/presenters/run-presenter.js";
import { TelegramPacer } from "../../src/bot/telegram-pacer.js";
import { loadConfig } from "../../src/config.js";
import { emptyProgress } from "../../src/jobs/playbook/run-progress.js";
import { createLogger } from "../../src/shared/logger.js";
import { startFakeTelegram, type FakeTelegram } from "../world/fake-telegram.js";

const TOKEN = "7000002:AAtest-token-for-app-api-tests_0123456";
let tg: FakeTelegram | undefined;
afterEach(async () => {
  await tg?.stop();
  tg = undefined;
});

async function appApi() {
  tg = await startFakeTelegram({ token: TOKEN });
  const config = loadConfig({
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_ROOT: tg.apiRoot,
    OWNER_ID: "1",
    DO_TOKEN: "dop_v1_test_token_not_used_here",
    LINK_SIGNING_KEY: "k".repeat(40),
  });
  return { tg, api: wireTelegramApi(config, new TelegramPacer()) };
}

const refused = (t: FakeTelegram) => t.calls.filter((c) => c.response?.error_code === 429);

describe("the app's own Api", () => {
  it("is paced: six results to one chat and one to each of 35 others, all at once, without a 429 and in order", async () => {
    const { tg, api } = await appApi();
    const users = Array.from({ length: 36 }, (_, i) => ({ id: 3000 + i, first_name: `U${i}` }));
    for (const u of users) tg.sendText(u, "hi"); // the fake knows a chat once someone wrote in it
    const [busy, ...others] = users;
    await Promise.all([
      ...[1, 2, 3, 4, 5, 6].map((i) => api.sendMessage(busy!.id, `result ${i}`)),
      ...others.map((u) => api.sendMessage(u.id, "done")),
    ]);
    expect(refused(tg)).toEqual([]);
    expect(tg.messages(busy!.id).map((m) => m.text)).toEqual([1, 2, 3, 4, 5, 6].map((i) => `result ${i}`));
  }, 20_000);

  it("a 429 on a progress edit is not resent stale: after retry_after the newest state goes out", async () => {
    const { tg, api } = await appApi();
    const user = { id: 4000, first_name: "Olga" };
    tg.sendText(user, "run it");
    const card = await api.sendMessage(user.id, "Run job #1?");
    const logger = createLogger({ level: "silent" });
    const presenter = new RunPresenter(api, 1000, logger);
    tg.failNext("editMessageText", { error_code: 429, retry_after: 2 });
    presenter.begin(1, user.id, card.message_id, "<b>Job #1</b>");
    await tg.waitFor(() => refused(tg).length === 1, 5000, "the 429");
    presenter.handle({ kind: "step", jobId: 1, text: "installing the virtualenv" });
    presenter.handle({ kind: "finished", jobId: 1, state: "done", progress: emptyProgress(), log: "PLAY RECAP", error: null, used: null });
    await presenter.idle();

    const edits = tg.calls.filter((c) => c.method === "editMessageText");
    const [limited, next] = edits;
    expect(limited!.response?.error_code).toBe(429);
    expect(String(limited!.params.text)).toContain("starting");
    // The stale "starting" was dropped for what was newest when the wait ended.
    expect(edits.slice(1).map((c) => String(c.params.text))).not.toContainEqual(expect.stringContaining("starting"));
    expect(next!.at - limited!.at).toBeGreaterThanOrEqual(1900);
    expect(refused(tg)).toHaveLength(1);
    expect(tg.messages(user.id).at(-1)?.document).toBeDefined();
  }, 20_000);
});
