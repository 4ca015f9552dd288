// End to end: a dropped SSH connection mid-transfer resumes and verifies; two users at once keep to their own jobs.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALICE, BOB, MALLORY, buttonData, isCard, lastMessageId, linksMessageOf, linksOf, nextBotMessage, startWorld, type World } from "./harness.js";
import type { FakeUser, SentMessage } from "../world/fake-telegram.js";
import type { DeliveredFile } from "../../src/jobs/torrent/torrent-job.js";

let world: World;

beforeAll(async () => {
  world = await startWorld();
  await world.startApp();
}, 180_000);

afterAll(async () => {
  await world?.stop();
});

async function cardFor(user: FakeUser, magnet: string): Promise<SentMessage> {
  const before = lastMessageId(world, user.id);
  world.telegram.sendText(user, magnet);
  return nextBotMessage(world, user.id, before, isCard);
}

const jobIdOf = (card: SentMessage) => Number(buttonData(card, /Start/).split(":").pop());

function waitDone(jobId: number, timeoutMs = 120_000) {
  return world.telegram.waitFor(() => {
    const j = world.app!.jobs.get(jobId)!;
    if (j.state === "failed" || j.state === "cancelled") throw new Error(`job ${jobId} ${j.state}: ${j.error}`);
    return j.state === "done" ? j : null;
  }, timeoutMs, `job ${jobId} done`);
}

describe("a dropped SSH connection during the transfer", () => {
  it("resumes, and the file still verifies against the droplet's copy and the seed", async () => {
    const t = await world.swarm.addTorrent({ name: "resume.bin", files: [{ path: "resume.bin", size: 200 * 1024 * 1024 }] });
    const card = await cardFor(ALICE, t.magnet);
    const jobId = jobIdOf(card);
    world.telegram.pressButton(ALICE, card, buttonData(card, /Start/));
    const partial = path.join(world.dir, "data", "downloads", String(jobId), "resume.bin");
    // Wait until real bytes have arrived locally, then cut every SSH session of the droplet (sshd keeps listening).
    await world.telegram.waitFor(() => fs.existsSync(partial) && fs.statSync(partial).size > 8 * 1024 * 1024, 120_000, "a partial file");
    const droplet = world.digitalOcean.droplets().find((d) => !d.destroyed && d.tags.includes(`dropship-job-${jobId}`))!;
    const before = fs.statSync(partial).size;
    droplet.host!.killSessions();
    const job = await waitDone(jobId);
    const files = (job.data as { files: DeliveredFile[] }).files;
    expect(files).toHaveLength(1);
    expect(files[0]!.resumes).toBeGreaterThanOrEqual(1);
    expect(before).toBeLessThan(200 * 1024 * 1024);
    const bytes = fs.readFileSync(partial);
    expect(bytes.length).toBe(200 * 1024 * 1024);
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(t.files[0]!.sha256);
    expect(world.logLines.some((l) => l.includes("transfer resumed after dropped connections"))).toBe(true);
    // 200 MiB pulled twice over (part of it) on a loaded two-core machine: more than the default minute.
  }, 240_000);
});

describe("two users at the same time", () => {
  it("each get their own files, and only their own buttons work", async () => {
    // Bob wants links only; Alice keeps the default (files up to 50 MB also come as documents).
    const beforeFiles = lastMessageId(world, BOB.id);
    world.telegram.sendText(BOB, "/files off");
    await nextBotMessage(world, BOB.id, beforeFiles, (m) => m.text.startsWith("You get download links only"));
    const ta = await world.swarm.addTorrent({ name: "alice.txt", files: [{ path: "alice.txt", content: "for alice\n" }] });
    const tb = await world.swarm.addTorrent({ name: "bob.txt", files: [{ path: "bob.txt", content: "for bob\n" }] });
    const [cardA, cardB] = await Promise.all([cardFor(ALICE, ta.magnet), cardFor(BOB, tb.magnet)]);
    const [jobA, jobB] = [jobIdOf(cardA), jobIdOf(cardB)];

    // Bob presses Alice's Start (forged: he cannot see her card) and a stranger tries too: nothing starts.
    const answeredBefore = world.telegram.answeredCallbacks.length;
    world.telegram.pressButton(BOB, cardA, `t:start:${jobA}`, { force: true });
    world.telegram.pressButton(MALLORY, cardA, `t:start:${jobA}`, { force: true });
    await world.telegram.waitFor(() => world.telegram.answeredCallbacks.length >= answeredBefore + 2, 10_000);
    const answers = world.telegram.answeredCallbacks.slice(answeredBefore).map((a) => a.text);
    expect(answers).toEqual(expect.arrayContaining([expect.stringMatching(/Only the person who sent this torrent/), "This is a private bot."]));
    expect(world.app!.jobs.get(jobA)!.state).toBe("estimated");

    // Both start at once; Alice double-presses: one job each.
    world.telegram.pressButton(ALICE, cardA, buttonData(cardA, /Start/));
    world.telegram.pressButton(ALICE, cardA, buttonData(cardA, /Start/), { force: true });
    world.telegram.pressButton(BOB, cardB, buttonData(cardB, /Start/));
    await Promise.all([waitDone(jobA), waitDone(jobB)]);
    expect(world.app!.ledger.forJob(jobA)).toHaveLength(1);
    expect(world.app!.ledger.forJob(jobB)).toHaveLength(1);

    const linksIn = (user: FakeUser, jobId: number, card: SentMessage) =>
      world.telegram.waitFor(() => linksMessageOf(world, user.id, { jobId, cardId: card.message_id }), 20_000);
    const [la, lb] = await Promise.all([linksIn(ALICE, jobA, cardA), linksIn(BOB, jobB, cardB)]);
    const fetchText = async (m: SentMessage, name: string) => (await fetch(linksOf(m).find((u) => u.includes(name))!)).text();
    expect(await fetchText(la, "alice.txt")).toBe("for alice\n");
    expect(await fetchText(lb, "bob.txt")).toBe("for bob\n");
    expect(linksOf(la).some((u) => u.includes("bob.txt"))).toBe(false);
    await world.telegram.waitFor(() => world.telegram.messages(ALICE.id).some((m) => m.document?.file_name === "alice.txt"), 10_000, "Alice's document");
    expect(world.telegram.messages(BOB.id).filter((m) => m.document)).toEqual([]);
    // Alice's links do not open Bob's job: the signature covers the job id.
    const crossed = linksOf(la).find((u) => u.includes("alice.txt"))!.replace(`/d/${jobA}/`, `/d/${jobB}/`);
    expect((await fetch(crossed)).status).toBe(403);
  });
});
