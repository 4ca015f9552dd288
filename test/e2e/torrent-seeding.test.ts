// End to end (issue 15, Done-when 5): "Seed after download: until ratio 1.0" chosen on the card. The droplet gets
// every byte from the swarm's seeder, which then leaves; a leecher (a plain aria2c) joins through the tracker, so the
// droplet is its only source. The files come home meanwhile; the droplet is destroyed once the leecher has taken a
// whole copy (ratio 1.0), and the summary says the ratio reached.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALICE, buttonData, isCard, lastMessageId, linksMessageOf, nextBotMessage, startWorld, type World } from "./harness.js";
import type { SentMessage } from "../world/fake-telegram.js";
import type { Leecher } from "../world/swarm.js";

let world: World;
let leecher: Leecher | null = null;

beforeAll(async () => {
  world = await startWorld();
  await world.startApp();
}, 180_000);

afterAll(async () => {
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

const cardNow = (id: number): SentMessage => world.telegram.messages(ALICE.id).find((m) => m.message_id === id)!;

describe("seeding until ratio 1.0", () => {
  it("gives a whole copy to a leecher after the seeder left, then destroys the droplet and reports the ratio", async () => {
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

    // The leecher gets a whole, verified copy, from the droplet alone (the seeder is gone).
    expect(await Promise.race([leecher.exited, new Promise((r) => setTimeout(() => r("timeout"), 120_000))])).toBe(0);
    const got = fs.readFileSync(path.join(leecher.dir, "give-back.bin"));
    expect(createHash("sha256").update(got).digest("hex")).toBe(t.files[0]!.sha256);

    const links = await world.telegram.waitFor(() => linksMessageOf(world, ALICE.id, { jobId, cardId: card.message_id }), 120_000, "the links message");
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
