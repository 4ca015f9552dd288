// /jobs lists the user's jobs from the JobStore with state and cost; /cancel reaches the job engine.
import { afterEach, describe, expect, it } from "vitest";
import { CANCEL_USAGE } from "../../src/bot/features/cancel.js";
import { cancelJobButton } from "../../src/bot/callback-data.js";
import { friend, owner, startBotWorld, type BotWorld } from "./bot-world.js";

let world: BotWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe("/jobs and /cancel", () => {
  it("lists only the user's recent jobs with state and cost", async () => {
    world = await startBotWorld();
    const { tg, jobs } = world;
    tg.sendText(owner, "/jobs");
    expect((await tg.nextMessage(owner.id)).text).toMatch(/no jobs yet/);

    const a = jobs.create({ kind: "torrent", ownerId: owner.id, chatId: owner.id, state: "parsed", input: { name: "debian <12>.iso" } });
    jobs.recordSpend({ jobId: a.id, userId: owner.id, kind: "estimate", usd: 0.034 });
    jobs.transition(a.id, "downloading");
    const b = jobs.create({ kind: "playbook", ownerId: owner.id, chatId: owner.id, state: "received", input: { fileName: "site.yml" } });
    jobs.recordSpend({ jobId: b.id, userId: owner.id, kind: "estimate", usd: 0.5 });
    jobs.recordSpend({ jobId: b.id, userId: owner.id, kind: "actual", usd: 0.02 });
    jobs.transition(b.id, "done");
    jobs.create({ kind: "torrent", ownerId: friend.id, chatId: friend.id, state: "parsed", input: { name: "friends-file" } });

    tg.sendText(owner, "/jobs");
    const list = await tg.nextMessage(owner.id);
    expect(list.text).toContain(`#${a.id} torrent · downloading · est. $0.03`);
    expect(list.text).toContain("debian <12>.iso");
    expect(list.text).toContain(`#${b.id} playbook · done · $0.02`);
    expect(list.text).toContain("site.yml");
    expect(list.text).not.toContain("friends-file");
    expect(list.text.indexOf(`#${b.id}`)).toBeLessThan(list.text.indexOf(`#${a.id}`)); // newest first
  });

  it("/cancel <id> calls cancelJob and shows its answer; bad input gets the usage", async () => {
    world = await startBotWorld({ cancelJob: async (id) => ({ kind: "finished", message: `Job #${id} already finished.` }) });
    const { tg } = world;
    tg.sendText(owner, "/cancel 42");
    expect((await tg.nextMessage(owner.id)).text).toBe("Job #42 already finished.");
    expect(world.cancelCalls).toEqual([{ jobId: 42, userId: owner.id }]);
    tg.sendText(owner, "/cancel soon");
    expect((await tg.nextMessage(owner.id)).text).toBe(CANCEL_USAGE);
    expect(world.cancelCalls).toHaveLength(1);
  });

  it("/cancel alone lists running jobs with Cancel buttons that work", async () => {
    world = await startBotWorld();
    const { tg, jobs } = world;
    tg.sendText(owner, "/cancel");
    expect((await tg.nextMessage(owner.id)).text).toMatch(/no running jobs/);
    const running = jobs.create({ kind: "torrent", ownerId: owner.id, chatId: owner.id, state: "downloading", input: {} });
    const done = jobs.create({ kind: "torrent", ownerId: owner.id, chatId: owner.id, state: "parsed", input: {} });
    jobs.transition(done.id, "cancelled");
    tg.sendText(owner, "/cancel");
    const list = await tg.nextMessage(owner.id);
    expect(list.text).toContain(`#${running.id} torrent — downloading`);
    expect(list.text).not.toContain(`#${done.id}`);
    const queryId = tg.pressButton(owner, list, cancelJobButton.pack({ jobId: running.id }));
    const answer = await tg.waitFor(() => tg.answeredCallbacks.find((a) => a.callback_query_id === queryId));
    expect(answer.text).toBe(`Job #${running.id} is being cancelled.`);
    expect(world.cancelCalls).toEqual([{ jobId: running.id, userId: owner.id }]);
  });

  it("answers a stale button instead of leaving the user's spinner running", async () => {
    world = await startBotWorld();
    const { tg } = world;
    tg.sendText(owner, "/help");
    const help = await tg.nextMessage(owner.id);
    const id = tg.pressButton(owner, help, "old:button:data", { force: true });
    const answer = await tg.waitFor(() => tg.answeredCallbacks.find((a) => a.callback_query_id === id));
    expect(answer.text).toBe("This button no longer works.");
  });
});
