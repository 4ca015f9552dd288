// End to end, the file picker left unanswered (issue 15): its deadline applies the owner's /settings — by default
// every file is fetched; set to cancel, the job is cancelled and its droplet destroyed, the card saying why.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALICE, buttonData, isCard, lastMessageId, nextBotMessage, startWorld, type World } from "./harness.js";
import { messageNow, pollFor, press } from "./picker-helpers.js";
import type { SwarmTorrent } from "../world/swarm.js";

let world: World;
let t: SwarmTorrent;

beforeAll(async () => {
  world = await startWorld();
  await world.startApp({ TORRENT_PICKER_TIMEOUT_SECONDS: "4" });
  const paths = ["a/one.bin", "a/two.bin", "b/three.bin", "b/c/four.bin", "five.bin"];
  t = await world.swarm.addTorrent({ name: "Quiet Pack", files: paths.map((p, i) => ({ path: p, size: 150_000 + i * 1009 })) });
}, 180_000);

afterAll(async () => {
  await world?.stop();
});

const liveDroplets = (jobId: number) => world.digitalOcean.droplets().filter((d) => !d.destroyed && d.tags.includes(`dropship-job-${jobId}`));

function waitEnded(jobId: number, timeoutMs = 180_000) {
  return pollFor(() => {
    const j = world.app!.jobs.get(jobId)!;
    return ["done", "failed", "cancelled"].includes(j.state) ? j : null;
  }, timeoutMs, `job ${jobId} to end`);
}

/** Sends the magnet (no xl=), presses Start, and waits for the picker on the card. */
async function jobAtPicker(): Promise<{ jobId: number; cardId: number; pickerAt: number }> {
  const before = lastMessageId(world, ALICE.id);
  world.telegram.sendText(ALICE, t.magnet.replace(/&xl=\d+/, ""));
  const card = await nextBotMessage(world, ALICE.id, before, isCard);
  const data = buttonData(card, /Start/);
  world.telegram.pressButton(ALICE, card, data);
  await pollFor(() => messageNow(world, card.message_id).text.includes("Choose the files to fetch"), 150_000, "the picker");
  return { jobId: Number(data.split(":")[2]), cardId: card.message_id, pickerAt: Date.now() };
}

describe("a file picker nobody answers", () => {
  it("fetches every file at its deadline by default", async () => {
    const { jobId, cardId, pickerAt } = await jobAtPicker();
    expect(messageNow(world, cardId).text).toMatch(/No choice by \d\d:\d\d:\d\d UTC: every file is fetched \(your \/settings\)\./);
    const ended = await waitEnded(jobId);
    expect(ended.state).toBe("done");
    const events = world.app!.jobs.events(jobId);
    expect(events.map((e) => e.state)).toContain("downloaded");
    // Nothing was fetched before the deadline: the download finished after it.
    expect(events.find((e) => e.state === "downloaded")!.at).toBeGreaterThanOrEqual(pickerAt + 3000);
    const files = (ended.data as { files: { path: string; sha256: string }[] }).files;
    expect(files.map((f) => [f.path, f.sha256]).sort()).toEqual(t.files.map((f) => [f.aria2Path, f.sha256]).sort());
    expect(liveDroplets(jobId)).toEqual([]);
  }, 300_000);

  it("cancels the job and destroys its droplet at the deadline when /settings say so", async () => {
    const before = lastMessageId(world, ALICE.id);
    world.telegram.sendText(ALICE, "/settings");
    const settings = await nextBotMessage(world, ALICE.id, before, (m) => m.text.includes("Your settings"));
    const saved = await press(world, settings.message_id, /No answer: cancel/);
    expect(saved.text).toContain("the job is cancelled and its droplet destroyed.");

    const { jobId, cardId } = await jobAtPicker();
    expect(messageNow(world, cardId).text).toContain("the job is cancelled and its droplet destroyed (your /settings).");
    const ended = await waitEnded(jobId);
    expect(ended.state).toBe("cancelled");
    expect(ended.data).toMatchObject({ cancelReason: "no files were chosen within 4 s, and your /settings say to cancel then" });
    expect(world.app!.jobs.events(jobId).map((e) => e.state)).not.toContain("downloaded");
    expect(liveDroplets(jobId)).toEqual([]);
    expect(world.app!.jobs.spendForJob(jobId).actual).toBeGreaterThanOrEqual(0.01);
    const card = await pollFor(() => (messageNow(world, cardId).text.startsWith("🛑") ? messageNow(world, cardId) : null), 20_000, "the cancelled card");
    expect(card.text).toContain("No files were chosen within 4 s, and your /settings say to cancel then.");
    expect(card.text).toContain("The droplet is destroyed");
  }, 300_000);
});
