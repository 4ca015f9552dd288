// End to end (issue 15, Done-when 5): "Seed after download: until ratio 1.0" chosen on the card. The droplet gets
// every byte from the swarm's seeder, which then leaves; a leecher (a plain aria2c) joins through the tracker, so the
// droplet is its only source. The files come home meanwhile; the droplet is destroyed once it has given the leecher a
// whole copy's worth (ratio 1.0), and the summary says the ratio reached. Then the same with the real bot process SIGKILLed
// while its job seeds: the next start reattaches to the droplet's aria2 (no new droplet) and seeds on until the ratio.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BotProcesses, expectGone, killGroup, readBotDb, waitForOutput } from "./bot-process.js";
import { ALICE, buttonData, dropletAria2RpcPort, isCard, lastMessageId, linksMessageOf, nextBotMessage, startWorld, type World } from "./harness.js";
import type { SentMessage } from "../world/fake-telegram.js";
import type { Leecher, SwarmTorrent } from "../world/swarm.js";

let world: World;
let leecher: Leecher | null = null;
const bots = new BotProcesses();

beforeAll(async () => {
  world = await startWorld();
  await world.startApp();
}, 180_000);

afterAll(async () => {
  await bots.cleanUp();
  await leecher?.kill();
  await world?.stop();
});

const MiB = 1024 * 1024;

async function poll<T>(check: () => T | null | undefined | false, what: string, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = check();
    if (v !== null && v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Bytes of the seed's file the leecher holds, compared in aria2's 16 KiB blocks (the content is random: a block the
 * leecher lacks is zeros or missing, never equal by chance).
 */
function leecherHas(l: Leecher, t: SwarmTorrent): number {
  const f = t.files[0]!;
  const mine = path.join(l.dir, f.aria2Path);
  if (!fs.existsSync(mine)) return 0;
  const got = fs.readFileSync(mine);
  const seed = fs.readFileSync(path.join(t.dataDir, f.aria2Path));
  let same = 0;
  for (let at = 0; at < seed.length; at += 16 * 1024) {
    const end = Math.min(at + 16 * 1024, seed.length);
    if (end <= got.length && got.subarray(at, end).equals(seed.subarray(at, end))) same += end - at;
  }
  return same;
}

/**
 * What the leecher took from the droplet, its only source once the seeder left. aria2 counts an upload when it sends
 * it and the droplet stops at ratio 1.0 as counted, so what was still in flight then may never arrive (seen: 0.2–1 MiB
 * of 6): the leecher holds most of the file, byte for byte the seed's, and often all of it.
 */
function expectLeecherTookMostOf(l: Leecher, t: SwarmTorrent): void {
  const has = leecherHas(l, t);
  expect(has, `the leecher holds ${has} of ${t.totalSize} bytes; its log:\n${l.logTail()}`).toBeGreaterThanOrEqual((2 / 3) * t.totalSize);
}

const cardNow = (id: number): SentMessage => world.telegram.messages(ALICE.id).find((m) => m.message_id === id)!;

describe("seeding until ratio 1.0", () => {
  it("gives a leecher a whole copy's worth after the seeder left, then destroys the droplet and reports the ratio", async () => {
    const t = await world.swarm.addTorrent({ name: "give-back.bin", files: [{ path: "give-back.bin", size: 6 * MiB }] });
    const before = lastMessageId(world, ALICE.id);
    world.telegram.sendText(ALICE, t.magnet);
    const card = await nextBotMessage(world, ALICE.id, before, isCard);
    expect(card.text).toContain("Seed after download: no");

    // The owner chooses ratio 1.0 on the card: the card says what it may cost.
    world.telegram.pressButton(ALICE, card, buttonData(card, /Ratio 1\.0/));
    const priced = await poll(() => (cardNow(card.message_id).text.includes("until ratio 1.0") ? cardNow(card.message_id) : null), "the card with ratio 1.0");
    expect(priced.text).toMatch(/adds at most the per-job budget \(\$\d/);
    expect(buttonData(priced, /✅ Ratio 1\.0/)).toMatch(/^sd:\d+:r1\.0$/);

    const start = buttonData(priced, /Start/);
    const jobId = Number(start.split(":").pop());
    world.telegram.pressButton(ALICE, priced, start);
    const app = world.app!;
    const data = () => app.jobs.get<unknown, { allBytesAt?: number; seeded?: { ratio: number; uploadedBytes: number; sizeBytes: number; endedBy: string; seconds: number } }>(jobId)!;

    // aria2 on the droplet has every byte and stays in the swarm; the original seeder leaves, the leecher joins.
    await poll(() => {
      const job = data();
      if (job.state === "failed") throw new Error(`job failed: ${job.error}`);
      return job.data.allBytesAt !== undefined;
    }, "the droplet to have every byte");
    await world.swarm.stopSeeding(t);
    const droplet = world.digitalOcean.droplets().find((d) => d.tags.includes(`dropship-job-${jobId}`))!;
    expect(droplet.destroyed).toBe(false);
    leecher = await world.swarm.leech(t);

    // The files come home while the droplet seeds; the job waits in "seeding" with the droplet alive.
    await poll(() => data().state === "seeding", "the job to be seeding");
    expect(world.digitalOcean.droplets().find((d) => d.id === droplet.id)!.destroyed).toBe(false);
    await poll(() => cardNow(card.message_id).text.includes("▶️ Seeding"), "the card's Seeding phase");
    expect(cardNow(card.message_id).text).toMatch(/Ratio \d\.\d\d of 1\.0 · .* uploaded/);
    expect(buttonData(cardNow(card.message_id), /Stop seeding/)).toBe(`sd:stop:${jobId}`);

    const links = await world.telegram.waitFor(() => linksMessageOf(world, ALICE.id, { jobId, cardId: card.message_id }), 120_000, "the links message");
    // The leecher took the file from the droplet alone (the seeder is gone).
    expectLeecherTookMostOf(leecher, t);
    const seeded = data().data.seeded!;
    expect(seeded.sizeBytes).toBe(6 * MiB);
    expect(seeded.uploadedBytes).toBeGreaterThanOrEqual(6 * MiB);
    expect(seeded.ratio).toBeGreaterThanOrEqual(1.0);
    expect(seeded.endedBy).toBe("the policy was met");
    expect(links.text).toMatch(/🌱 Seeded to ratio (1\.\d\d|[2-9]\.\d\d) \(.* uploaded of 6 MiB\) for .*, adding \$\d+\.\d+ \(seed until ratio 1\.0; ended: the policy was met\)/);

    // The droplet is destroyed once the ratio is met (the fake DigitalOcean says so), and the state machine went
    // through "seeding" between the files' verification and the destroy.
    expect(droplet.destroyed).toBe(true);
    expect(world.digitalOcean.droplets().filter((d) => !d.destroyed && d.tags.includes(`dropship-job-${jobId}`))).toEqual([]);
    expect(app.ledger.forJob(jobId).map((d) => d.state)).toEqual(["destroyed"]);
    expect(app.jobs.events(jobId).map((e) => e.state).slice(-5)).toEqual(["transferring", "transferred", "seeding", "droplet_destroyed", "done"]);
    expect(app.jobs.spendForJob(jobId).actual).toBeGreaterThanOrEqual(0.01);
  }, 300_000);
});

describe("a restart while seeding", () => {
  it("reattaches to the droplet's aria2 after a SIGKILL and seeds on to the ratio: one droplet, one cost, the files kept", async () => {
    // The in-process bot stops; the real one runs as a process of its own, on the same fake Telegram and DigitalOcean.
    await world.app?.stop();
    world.app = null;
    await leecher?.kill();
    leecher = null;
    const env = await world.env({ DATA_DIR: path.join(world.dir, "data-restart"), LOG_LEVEL: "info" });
    const dataDir = env.DATA_DIR!;
    const job = (jobId: number) =>
      readBotDb(dataDir, (db) => {
        const row = db.prepare<[number], { state: string; data: string }>("SELECT state, data FROM jobs WHERE id = ?").get(jobId)!;
        const booked = db.prepare<[number], { usd: number | null }>("SELECT SUM(usd) AS usd FROM spend WHERE job_id = ? AND kind = 'actual'").get(jobId)!.usd ?? 0;
        return { state: row.state, data: JSON.parse(row.data) as { seeded?: { ratio: number; endedBy: string }; allBytesAt?: number }, booked };
      });

    // Job ids count from 1 in each data directory: the job's droplets are those made from here on with its tag.
    const madeBefore = world.digitalOcean.history().length;
    let bot = bots.start(env);
    await waitForOutput(bot, /Dropship started/);
    const t = await world.swarm.addTorrent({ name: "kept-seeding.bin", files: [{ path: "kept-seeding.bin", size: 6 * MiB }] });
    const before = lastMessageId(world, ALICE.id);
    world.telegram.sendText(ALICE, t.magnet);
    const card = await nextBotMessage(world, ALICE.id, before, isCard, 30_000);
    world.telegram.pressButton(ALICE, card, buttonData(card, /Ratio 1\.0/));
    const priced = await poll(() => (cardNow(card.message_id).text.includes("until ratio 1.0") ? cardNow(card.message_id) : null), "the card with ratio 1.0");
    const start = buttonData(priced, /Start/);
    const jobId = Number(start.split(":").pop());
    world.telegram.pressButton(ALICE, priced, start);

    // Seeding, with nobody to seed to yet (the only other peer is the seeder): the bot is killed there.
    await poll(() => {
      const j = job(jobId);
      if (j.state === "failed") throw new Error("the job failed");
      return j.state === "seeding";
    }, "the job to be seeding");
    killGroup(bot, "SIGKILL");
    await bot.exited;
    expectGone(bot);
    // Every droplet DigitalOcean made for the job (the fake's list forgets one soon after its destroy; its history keeps it).
    const ours = () => world.digitalOcean.history().slice(madeBefore).filter((d) => d.tags.includes(`dropship-job-${jobId}`));
    expect(ours()).toHaveLength(1);
    const droplet = world.digitalOcean.droplets().find((d) => d.id === ours()[0]!.id)!;
    expect(droplet.destroyed).toBe(false);
    // aria2 on the droplet outlives the bot: it is what the next start reattaches to.
    expect(dropletAria2RpcPort(droplet)).not.toBeNull();

    await world.swarm.stopSeeding(t);
    bot = bots.start(env);
    await waitForOutput(bot, /Dropship started/);
    leecher = await world.swarm.leech(t);
    const links = await world.telegram.waitFor(() => linksMessageOf(world, ALICE.id, { jobId, cardId: card.message_id }), 120_000, "the links message");
    expectLeecherTookMostOf(leecher, t);
    expect(links.text).toContain("the bot restarted after your files were saved and verified: they are kept");
    expect(links.text).toMatch(/🌱 Seeded to ratio (1\.\d\d|[2-9]\.\d\d) .*ended: the policy was met/);
    const end = await poll(() => (job(jobId).state === "done" ? job(jobId) : null), "the job to be done");
    expect(end.data.seeded!.ratio).toBeGreaterThanOrEqual(1.0);
    // One droplet for the job, destroyed, its cost booked once (it lived under an hour: DigitalOcean's $0.01).
    expect(ours()).toHaveLength(1);
    expect(droplet.destroyed).toBe(true);
    expect(ours()[0]!.destroyedAt).not.toBeNull();
    expect(end.booked).toBeCloseTo(0.01, 6);
    const local = path.join(dataDir, "downloads", String(jobId), "kept-seeding.bin");
    expect(createHash("sha256").update(fs.readFileSync(local)).digest("hex")).toBe(t.files[0]!.sha256);
    process.kill(bot.pid, "SIGTERM");
    await bot.exited;
  }, 300_000);
});
