// End to end: a finished torrent job leaves its result in the chat once — one message with the summary and links
// in place of its card (deleted, or a one-line pointer when Telegram will not delete it) — and a failed one leaves
// one message saying why. With a local Bot API server (telegram-bot-api --local) a 120 MiB file arrives as a document,
// sent by its path.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALICE, buttonData, isCard, lastMessageId, linksMessageOf, linksOf, nextBotMessage, startWorld, type World } from "./harness.js";
import { TORRENT_FLOW } from "../../src/jobs/torrent/torrent-states.js";
import type { SentMessage } from "../world/fake-telegram.js";
import type { SwarmTorrent } from "../world/swarm.js";

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const jobIdOf = (card: SentMessage) => Number(buttonData(card, /Start/).split(":").pop());
const buttonsOf = (m: SentMessage) => ((m.reply_markup as { inline_keyboard?: unknown[][] } | undefined)?.inline_keyboard ?? []).flat();

/** Every text a bot message in the chat has shown — now, before an edit, or before it was deleted. */
function everShown(world: World, match: (text: string) => boolean): SentMessage[] {
  return world.telegram.messages(ALICE.id).filter((m) => [m.text, ...m.edits.map((e) => e.text)].some(match));
}

async function cardFromTorrentFile(world: World, t: SwarmTorrent): Promise<SentMessage> {
  const before = lastMessageId(world, ALICE.id);
  world.telegram.sendDocument(ALICE, { fileName: `${t.name}.torrent`, mimeType: "application/x-bittorrent", bytes: t.torrentFile });
  return nextBotMessage(world, ALICE.id, before, isCard);
}

function messageNow(world: World, messageId: number): SentMessage {
  return world.telegram.messages(ALICE.id).find((m) => m.message_id === messageId)!;
}

async function linksFor(world: World, card: SentMessage, timeoutMs = 120_000): Promise<SentMessage> {
  const jobId = jobIdOf(card);
  return world.telegram.waitFor(
    () => {
      const job = world.app!.jobs.get(jobId);
      if (job?.state === "failed") throw new Error(`job ${jobId} failed: ${job.error}`);
      return linksMessageOf(world, ALICE.id, { jobId, cardId: card.message_id });
    },
    timeoutMs,
    `job ${jobId}'s links message`,
  );
}

describe("with Telegram's own Bot API", () => {
  let world: World;

  beforeAll(async () => {
    world = await startWorld();
    await world.startApp();
  }, 180_000);

  afterAll(async () => {
    await world?.stop();
  });

  it("a finished job leaves one message with the summary and links, in place of its card", async () => {
    const t = await world.swarm.addTorrent({ name: "one-message", files: [{ path: "alpha.txt", content: "alpha\n" }, { path: "beta.txt", content: "beta\n" }] });
    const card = await cardFromTorrentFile(world, t);
    expect(card.text).toContain("📎 All 2 files also arrive in this chat as documents.");
    world.telegram.pressButton(ALICE, card, buttonData(card, /Start/));
    const links = await linksFor(world, card);
    const docs = await world.telegram.waitFor(() => {
      const d = world.telegram.messages(ALICE.id).filter((m) => m.document && m.message_id > links.message_id);
      return d.length === 2 ? d : null;
    }, 20_000, "the two documents");
    await world.app!.presenter.idle();

    // The summary was shown once in the whole chat: no edit of the card, no second copy, nothing deleted carried it.
    const summaries = everShown(world, (text) => text.includes("All files") && text.includes("one-message"));
    expect(summaries.map((m) => m.message_id)).toEqual([links.message_id]);
    expect(links.deleted).toBe(false);
    expect(links.edits).toEqual([]);
    // A new message (it notifies; an edit does not), not a reply to the card it replaces.
    expect(links.message_id).toBeGreaterThan(card.message_id);
    expect(links.reply_to_message_id).toBeUndefined();
    // The card showed the progress and then went.
    const cardNow = messageNow(world, card.message_id);
    expect(cardNow.deleted).toBe(true);
    expect(cardNow.edits.map((e) => e.text).join("\n")).toContain("▶️ Downloading");
    expect(world.telegram.calls.filter((c) => c.method === "deleteMessage" && Number(c.params.message_id) === card.message_id).map((c) => c.response?.ok)).toEqual([true]);

    // It says which files follow as documents, and they do, after it.
    expect(links.text).toMatch(/^📎 one-message\/alpha\.txt · 6 B$/m);
    expect(links.text).toMatch(/^📎 one-message\/beta\.txt · 5 B$/m);
    expect(links.text).toContain("📎 All 2 files also follow as documents.");
    expect(docs.map((d) => d.document!.file_name).sort()).toEqual(["alpha.txt", "beta.txt"]);
    expect(await (await fetch(linksOf(links).find((u) => u.includes("alpha.txt"))!)).text()).toBe("alpha\n");
  }, 180_000);

  it("after a restart, a job whose files were verified gets its links in place of its card; a card Telegram will not delete becomes a one-line pointer", async () => {
    const t = await world.swarm.addTorrent({ name: "old-card.txt", files: [{ path: "old-card.txt", content: "kept\n" }], seed: false });
    const before = lastMessageId(world, ALICE.id);
    world.telegram.sendText(ALICE, t.magnet);
    const card = await nextBotMessage(world, ALICE.id, before, isCard);
    const jobId = jobIdOf(card);
    // As a crash right after the pull leaves it: the job recorded "transferred" and its file is on disk.
    const first = world.app!;
    for (const state of TORRENT_FLOW.slice(1, TORRENT_FLOW.indexOf("transferred") + 1)) first.jobs.transition(jobId, state);
    first.jobs.patchData(jobId, { files: [{ path: "old-card.txt", size: 5, sha256: "x", resumes: 0 }] });
    fs.mkdirSync(path.join(first.config.downloads.dir, String(jobId)), { recursive: true });
    fs.writeFileSync(path.join(first.config.downloads.dir, String(jobId), "old-card.txt"), "kept\n");
    await first.stop();
    // Telegram's refusal for a message 48 hours old or older (the fake answers the same when its clock says so).
    world.telegram.failNext("deleteMessage", { error_code: 400, description: "Bad Request: message can't be deleted" });
    await world.startApp();

    const links = await linksFor(world, card, 30_000);
    const pointer = await world.telegram.waitFor(() => {
      const m = messageNow(world, card.message_id);
      return m.text.includes("in the message below") ? m : null;
    }, 20_000, "the card's pointer");
    await world.app!.presenter.idle();
    expect(links.text).toMatch(/the bot restarted after your files were saved and verified: they are kept/);
    expect(await (await fetch(linksOf(links).find((u) => u.includes("old-card.txt"))!)).text()).toBe("kept\n");
    expect(pointer.deleted).toBe(false);
    expect(pointer.text).toBe("✅ old-card.txt: done, the links are in the message below.");
    expect(buttonsOf(pointer)).toEqual([]);
    expect(everShown(world, (text) => text.includes("All files") && text.includes("old-card.txt")).map((m) => m.message_id)).toEqual([links.message_id]);
  }, 120_000);

  it("a failed job leaves one message saying why, in place of its card", async () => {
    const t = await world.swarm.addTorrent({ name: "refused.bin", files: [{ path: "refused.bin", size: 4096 }] });
    const card = await cardFromTorrentFile(world, t);
    const jobId = jobIdOf(card);
    world.digitalOcean.injectFault("POST /v2/droplets", { status: 422, availableRegions: ["lon1"] });
    try {
      world.telegram.pressButton(ALICE, card, buttonData(card, /Start/));
      const notice = await nextBotMessage(world, ALICE.id, card.message_id, (m) => !m.deleted && m.text.includes("refused.bin") && m.text.includes("failed"), 30_000);
      await world.telegram.waitFor(() => messageNow(world, card.message_id).deleted, 10_000, "the card to go");
      await world.app!.presenter.idle();

      expect(world.app!.jobs.get(jobId)!.state).toBe("failed");
      expect(notice.text).toMatch(/DO_REGION=lon1/);
      expect(notice.reply_to_message_id).toBeUndefined();
      expect(everShown(world, (text) => text.includes("refused.bin") && text.includes("failed")).map((m) => m.message_id)).toEqual([notice.message_id]);
    } finally {
      world.digitalOcean.clearFaults();
    }
  });
});

describe("with a local Bot API server (telegram-bot-api --local, TELEGRAM_LOCAL_BOT_API=true)", () => {
  const SIZE = 120 * 1024 * 1024;
  let world: World;

  beforeAll(async () => {
    world = await startWorld({ telegramLocalMode: true });
    await world.startApp();
  }, 180_000);

  afterAll(async () => {
    await world?.stop();
  });

  it("delivers a 120 MiB file as a document, sent by its path, after the .torrent came through the server's disk", async () => {
    const t = await world.swarm.addTorrent({ name: "big-local.bin", files: [{ path: "big-local.bin", size: SIZE }] });
    // The .torrent itself: getFile answers with an absolute path, which the bot reads from disk.
    const card = await cardFromTorrentFile(world, t);
    expect(card.text).toContain("📎 The file also arrives in this chat as a document.");
    const jobId = jobIdOf(card);
    const started = performance.now();
    world.telegram.pressButton(ALICE, card, buttonData(card, /Start/));
    const links = await linksFor(world, card, 240_000);
    const doc = await world.telegram.waitFor(
      () => world.telegram.messages(ALICE.id).find((m) => m.document?.file_name === "big-local.bin"),
      120_000,
      "the 120 MiB document",
    );
    const seconds = (performance.now() - started) / 1000;
    await world.app!.presenter.idle();
    // Reported, not asserted (the machine is shared): the wall time and where it went, seconds after Start.
    const events = world.app!.jobs.events(jobId);
    const phases = events.map((e) => `${e.state} ${((e.at - events[0]!.at) / 1000).toFixed(1)}`).join(", ");
    console.log(`torrent-result: 120 MiB job, Start → document in the chat ${seconds.toFixed(1)} s (${phases})`);

    // What the fake Telegram received is the torrent's file, byte for byte.
    expect(doc.document!.file_size).toBe(SIZE);
    expect(sha256(doc.document!.bytes)).toBe(t.files[0]!.sha256);
    // Sent as a file:// path, not streamed as a multipart upload.
    const send = world.telegram.calls.find((c) => c.method === "sendDocument" && c.response?.ok)!;
    const onDisk = path.join(world.app!.config.downloads.dir, String(jobId), "big-local.bin");
    expect(send.params.document).toBe(pathToFileURL(onDisk).href);
    expect(send.files).toEqual([]);
    expect(links.text).toMatch(/^📎 big-local\.bin · 120 MiB$/m);
    expect(links.text).toContain("📎 The file also follows as a document.");
    expect(messageNow(world, card.message_id).deleted).toBe(true);
  }, 300_000);
});
