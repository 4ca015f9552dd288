// End to end: Cancel on the card creates nothing; Cancel mid-download destroys the droplet; Cancel mid-transfer also
// removes the partial local files; a dead torrent destroys the droplet.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALICE, BOB, buttonData, isCard, lastMessageId, nextBotMessage, startWorld, type World } from "./harness.js";
import type { SentMessage } from "../world/fake-telegram.js";

let world: World;

beforeAll(async () => {
  world = await startWorld();
  // A short stall timeout so the dead torrent gives up quickly; long enough for a healthy magnet's metadata gap.
  await world.startApp({ TORRENT_STALL_TIMEOUT_SECONDS: "10", TORRENT_METADATA_TIMEOUT_SECONDS: "20" });
}, 180_000);

afterAll(async () => {
  await world?.stop();
});

async function cardFor(magnet: string): Promise<SentMessage> {
  const before = lastMessageId(world, ALICE.id);
  world.telegram.sendText(ALICE, magnet);
  return nextBotMessage(world, ALICE.id, before, isCard);
}

const jobIdOf = (card: SentMessage) => Number(buttonData(card, /Start/).split(":").pop());
const liveDroplets = (jobId: number) =>
  world.digitalOcean.droplets().filter((d) => !d.destroyed && d.tags.includes(`dropship-job-${jobId}`));

describe("Cancel", () => {
  it("on the card creates nothing and turns the card into a short note", async () => {
    const t = await world.swarm.addTorrent({ name: "never.bin", files: [{ path: "never.bin", size: 1024 }] });
    const card = await cardFor(t.magnet);
    const jobId = jobIdOf(card);
    const creates = () => world.digitalOcean.requests.filter((r) => r.method === "POST" && r.path === "/v2/droplets").length;
    const createsBefore = creates();
    world.telegram.pressButton(ALICE, card, buttonData(card, /Cancel/));
    await world.telegram.waitFor(() => world.app!.jobs.get(jobId)!.state === "cancelled", 10_000);
    const edited = await world.telegram.waitFor(() => {
      const m = world.telegram.messages(ALICE.id).find((x) => x.message_id === card.message_id)!;
      return m.text.includes("cancelled") ? m : null;
    }, 10_000);
    expect(edited.text).toContain("Nothing was created");
    expect(creates()).toBe(createsBefore);
    expect(world.app!.ledger.forJob(jobId)).toEqual([]);
    // The buttons are gone, and a late Start press (forged from the old card) starts nothing.
    world.telegram.pressButton(ALICE, card, `t:start:${jobId}`, { force: true });
    await world.telegram.waitFor(() => world.telegram.answeredCallbacks.some((a) => /expired/i.test(a.text ?? "")), 10_000);
    expect(world.app!.jobs.get(jobId)!.state).toBe("cancelled");
    expect(creates()).toBe(createsBefore);
  });

  // The local job directory only exists from the transfer step on, so this one cannot show the partial files going:
  // the next test does.
  it("during the download destroys the droplet and leaves no local job directory", async () => {
    // Slow enough to catch mid-download: a big file whose seeder we stop halfway keeps the job downloading.
    const t = await world.swarm.addTorrent({ name: "slow.bin", files: [{ path: "slow.bin", size: 200 * 1024 * 1024 }] });
    await world.swarm.stopSeeding(t);
    const card = await cardFor(t.magnet);
    const jobId = jobIdOf(card);
    world.telegram.pressButton(ALICE, card, buttonData(card, /Start/));
    await world.telegram.waitFor(() => world.app!.jobs.get(jobId)!.state === "downloading", 60_000, "downloading");
    // The progress message carries a Cancel button while the job runs.
    const progress = await world.telegram.waitFor(() => {
      const m = world.telegram.messages(ALICE.id).find((x) => x.message_id === card.message_id)!;
      return JSON.stringify(m.reply_markup ?? {}).includes(`t:cancel:${jobId}`) ? m : null;
    }, 20_000);
    const droplet = liveDroplets(jobId)[0]!;
    expect(droplet).toBeDefined();
    world.telegram.pressButton(ALICE, progress, `t:cancel:${jobId}`);
    await world.telegram.waitFor(() => world.app!.jobs.get(jobId)!.state === "cancelled", 30_000, "cancelled");
    expect(liveDroplets(jobId)).toEqual([]);
    expect(world.app!.ledger.forJob(jobId).map((d) => d.state)).toEqual(["destroyed"]);
    expect(fs.existsSync(path.join(world.dir, "data", "downloads", String(jobId)))).toBe(false);
    const final = await world.telegram.waitFor(() => {
      const m = world.telegram.messages(ALICE.id).find((x) => x.message_id === card.message_id)!;
      return m.text.includes("cancelled") ? m : null;
    }, 10_000);
    expect(final.text).toMatch(/\$0\.0\d/);
    expect(world.app!.jobs.spendForJob(jobId).actual).toBeGreaterThanOrEqual(0.01);
  });
  it("during the transfer destroys the droplet and removes the partial local files", async () => {
    const size = 200 * 1024 * 1024;
    const t = await world.swarm.addTorrent({ name: "pulling.bin", files: [{ path: "pulling.bin", size }] });
    const card = await cardFor(t.magnet);
    const jobId = jobIdOf(card);
    world.telegram.pressButton(ALICE, card, buttonData(card, /Start/));
    const jobDir = path.join(world.dir, "data", "downloads", String(jobId));
    const partial = path.join(jobDir, "pulling.bin");
    // Wait for the transfer step to be recorded and for real bytes to have landed locally.
    await world.telegram.waitFor(
      () => world.app!.jobs.get(jobId)!.state === "transferring" && fs.existsSync(partial) && fs.statSync(partial).size > 0,
      120_000,
      "a partial local file",
    );
    const pulled = fs.statSync(partial).size;
    expect(pulled).toBeGreaterThan(0);
    expect(pulled).toBeLessThan(size);
    expect(liveDroplets(jobId)).toHaveLength(1);
    const progress = world.telegram.messages(ALICE.id).find((x) => x.message_id === card.message_id)!;
    world.telegram.pressButton(ALICE, progress, `t:cancel:${jobId}`);
    const job = await world.telegram.waitFor(() => {
      const j = world.app!.jobs.get(jobId)!;
      return ["cancelled", "done", "failed"].includes(j.state) ? j : null;
    }, 30_000, "the job to end");
    // Had the pull finished before the press was handled, this would say "done": the test did not cancel mid-transfer.
    expect(job.state).toBe("cancelled");
    expect(fs.existsSync(partial)).toBe(false);
    expect(fs.existsSync(jobDir)).toBe(false);
    expect(liveDroplets(jobId)).toEqual([]);
    expect(world.app!.ledger.forJob(jobId).map((d) => d.state)).toEqual(["destroyed"]);
  }, 180_000);
});

describe("/cancel <id>", () => {
  it("stops a running torrent job, destroys its droplet and says what it cost; other users cannot", async () => {
    const t = await world.swarm.addTorrent({ name: "cmd.bin", files: [{ path: "cmd.bin", size: 4096 }] });
    await world.swarm.stopSeeding(t);
    const card = await cardFor(t.magnet);
    const jobId = jobIdOf(card);
    world.telegram.pressButton(ALICE, card, buttonData(card, /Start/));
    await world.telegram.waitFor(() => liveDroplets(jobId).length === 1, 60_000, "the droplet");
    let before = lastMessageId(world, BOB.id);
    world.telegram.sendText(BOB, `/cancel ${jobId}`);
    await nextBotMessage(world, BOB.id, before, (m) => m.text.includes(`You have no job ${jobId}`));
    expect(world.app!.runner.isRunning(jobId)).toBe(true);
    before = lastMessageId(world, ALICE.id);
    world.telegram.sendText(ALICE, `/cancel ${jobId}`);
    const reply = await nextBotMessage(world, ALICE.id, before, (m) => m.text.startsWith(`Job ${jobId} cancelled`), 30_000);
    expect(reply.text).toMatch(/droplet is destroyed\. It cost \$0\.0\d+/);
    expect(liveDroplets(jobId)).toEqual([]);
    expect(world.app!.jobs.get(jobId)!.state).toBe("cancelled");
  });
});

describe("DigitalOcean refusing the droplet", () => {
  it("fails the job with DigitalOcean's reason worded as what to change, and creates nothing", async () => {
    const t = await world.swarm.addTorrent({ name: "full.bin", files: [{ path: "full.bin", size: 4096 }] });
    const card = await cardFor(t.magnet);
    const jobId = jobIdOf(card);
    world.digitalOcean.injectFault("POST /v2/droplets", { status: 422, availableRegions: ["lon1", "tor1"] });
    world.telegram.pressButton(ALICE, card, buttonData(card, /Start/));
    const notice = await nextBotMessage(world, ALICE.id, card.message_id, (m) => !m.deleted && m.text.includes("full.bin") && m.text.includes("failed"), 30_000);
    expect(notice.text).toMatch(/not offered in fra1 — try .*DO_REGION=lon1/);
    expect(liveDroplets(jobId)).toEqual([]);
    expect(world.app!.ledger.forJob(jobId).map((d) => d.state)).toEqual(["destroyed"]);
    // Nothing was created, so nothing was charged.
    expect(world.app!.jobs.spendForJob(jobId).actual).toBeNull();
  });
});

describe("a magnet with no seeders", () => {
  it("fails after the stall timeout with a clear message and its droplet is destroyed", async () => {
    const t = await world.swarm.addTorrent({ name: "dead.bin", files: [{ path: "dead.bin", size: 4096 }], seed: false });
    const card = await cardFor(t.magnet);
    const jobId = jobIdOf(card);
    world.telegram.pressButton(ALICE, card, buttonData(card, /Start/));
    const job = await world.telegram.waitFor(() => {
      const j = world.app!.jobs.get(jobId)!;
      return j.state === "failed" ? j : null;
    }, 90_000, "the job to fail");
    expect(job.error).toMatch(/metadata|dead|no peer/i);
    expect(liveDroplets(jobId)).toEqual([]);
    const notice = await nextBotMessage(world, ALICE.id, card.message_id, (m) => !m.deleted && m.text.includes("dead.bin") && m.text.includes("failed"), 10_000);
    expect(notice.text).toMatch(/destroyed/);
  });
});
