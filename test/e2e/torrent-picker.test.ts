// End to end, the file picker (issue 15): a magnet without xl= for a 12-file torrent in nested folders pauses after
// its metadata with the real size and a picker; two files of one folder are chosen and only they are fetched on the
// droplet, pulled, verified and linked, at the cost the picker showed. A .torrent of 200 files has its picker on the
// card before Start, every page within Telegram's limits, and Start fetches only what was chosen there.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatBytes, formatUsd } from "../../src/bot/render/format.js";
import { ALICE, buttonData, isCard, lastMessageId, linksMessageOf, linksOf, nextBotMessage, startWorld, type World } from "./harness.js";
import { dropletDiskBeforeDestroy, expectWithinTelegramLimits, keyboardOf, lastAnswer, messageNow, pollFor, press } from "./picker-helpers.js";
import type { SwarmTorrent } from "../world/swarm.js";

let world: World;
/** A pricey size and a slow assumed speed make the estimate follow the bytes chosen (above DigitalOcean's $0.01
 * minimum), so the picker's running total is worth comparing with what the job reserves. */
const ENV = { DO_SIZE: "g-8vcpu-32gb", TORRENT_SPEED_MBPS: "0.05" };

beforeAll(async () => {
  world = await startWorld();
  await world.startApp(ENV);
}, 180_000);

afterAll(async () => {
  await world?.stop();
});

const jobIdOf = (data: string) => Number(data.split(":")[2]);
const liveDroplets = (jobId: number) => world.digitalOcean.droplets().filter((d) => !d.destroyed && d.tags.includes(`dropship-job-${jobId}`));

function waitEnded(jobId: number, timeoutMs = 180_000) {
  return pollFor(() => {
    const j = world.app!.jobs.get(jobId)!;
    return ["done", "failed", "cancelled"].includes(j.state) ? j : null;
  }, timeoutMs, `job ${jobId} to end`);
}

/** Sizes that are no multiple of the 256 KiB piece: pieces straddle files, as in real torrents. */
const size = (i: number) => 200_000 + i * 7919;

describe("a magnet without xl= for a 12-file torrent in nested folders", () => {
  it("shows size unknown, then the real size and a picker; only the two chosen files are fetched, pulled, verified and linked", async () => {
    const paths = [
      "S01/S01E01.mkv", "S01/S01E02.mkv", "S01/S01E03.mkv", "S01/subs/S01E01.srt", "S01/subs/S01E02.srt", "S01/subs/S01E03.srt",
      "S02/S02E01.mkv", "S02/S02E02.mkv", "extras/making-of.mp4", "extras/poster.jpg", "README.txt", "sample.mkv",
    ];
    const t = await world.swarm.addTorrent({ name: "Show Pack", files: paths.map((p, i) => ({ path: p, size: size(i) })) });
    const magnet = t.magnet.replace(/&xl=\d+/, "");
    expect(magnet).not.toContain("xl=");
    const before = lastMessageId(world, ALICE.id);
    world.telegram.sendText(ALICE, magnet);
    const card = await nextBotMessage(world, ALICE.id, before, isCard);
    expect(card.text).toContain("Size: unknown until the metadata arrives");
    const jobId = jobIdOf(buttonData(card, /Start/));
    world.telegram.pressButton(ALICE, card, buttonData(card, /Start/));

    // After the metadata: the real torrent on the card, and the picker; nothing fetched yet.
    const picker = await pollFor(() => (messageNow(world, card.message_id).text.includes("Choose the files to fetch") ? messageNow(world, card.message_id) : null), 150_000, "the picker");
    const total = t.files.reduce((n, f) => n + f.size, 0);
    expect(picker.text).toContain("Show Pack");
    expect(picker.text).toMatch(new RegExp(`📦 ${escapeRe(formatBytes(total))} in 12 files · estimate ~[^,]+, about \\$`));
    expect(picker.text).toContain("12 of 12");
    expect(picker.text).toContain("Page 1 of 2");
    const estimateOfAll = /Estimate for these: ~[^,]+, about \$([\d.]+)/.exec(picker.text)?.[1];
    expectWithinTelegramLimits(picker);
    expect(world.app!.jobs.get(jobId)!.state).toBe("downloading");

    // None, then the two episodes of S02 (folders first, natural order: they are on page 2).
    let shown = await press(world, card.message_id, /^None$/);
    expect(shown.text).toContain("0 of 12");
    shown = await press(world, card.message_id, /Next/);
    expect(shown.text).toContain("Page 2 of 2");
    expectWithinTelegramLimits(shown);
    shown = await press(world, card.message_id, /S02E01\.mkv/);
    expect(shown.text).toContain("1 of 12");
    shown = await press(world, card.message_id, /S02E02\.mkv/);
    expect(shown.text).toMatch(/☑️ 📁 S02\/ ·/);
    // Back to page 1: the choice stays.
    shown = await press(world, card.message_id, /Previous/);
    expect(shown.text).toContain("Page 1 of 2");
    const chosen = t.files.filter((f) => /S02E0[12]\.mkv$/.test(f.path));
    expect(shown.text).toContain(`2 of 12 · ${formatBytes(chosen[0]!.size + chosen[1]!.size)}`);
    const estimate = /Estimate for these: ~[^,]+, about \$([\d.]+)/.exec(shown.text)?.[1];
    expect(estimate).toBeDefined();
    expect(Number(estimate)).toBeLessThan(Number(estimateOfAll));

    const disk = dropletDiskBeforeDestroy(world, jobId);
    await press(world, card.message_id, /Fetch 2 files/, { changes: false });
    expect(lastAnswer(world).text).toMatch(/^Fetching 2 files/);

    // On the droplet, before it is destroyed: only the two chosen files, whole.
    expect(await disk).toEqual(Object.fromEntries(chosen.map((f) => [f.aria2Path, f.size])));
    // The estimate the picker showed is what the job reserved against the budgets once the files were chosen.
    expect(formatUsd(world.app!.jobs.get<unknown, { estimateUsd: number }>(jobId)!.data.estimateUsd)).toBe(`$${estimate}`);
    const ended = await waitEnded(jobId);
    expect(ended.state).toBe("done");
    const delivered = (ended.data as { files: { path: string; sha256: string }[] }).files;
    expect(delivered.map((f) => f.path).sort()).toEqual(chosen.map((f) => f.aria2Path).sort());
    for (const f of chosen) expect(delivered.find((d) => d.path === f.aria2Path)!.sha256).toBe(f.sha256);
    const root = path.join(world.app!.config.downloads.dir, String(jobId));
    expect(listFiles(root).sort()).toEqual(chosen.map((f) => f.aria2Path).sort());
    const links = await world.telegram.waitFor(() => linksMessageOf(world, ALICE.id, { jobId, cardId: card.message_id }), 30_000, "the links");
    expect(linksOf(links).filter((u) => u.includes(`/d/${jobId}/`))).toHaveLength(3); // the index and two files
    // The cost in the links message is the one booked.
    expect(links.text).toContain(formatUsd(world.app!.jobs.spendForJob(jobId).actual!));
    expect(liveDroplets(jobId)).toEqual([]);
  }, 300_000);
});

describe("a picker open when the bot restarts", () => {
  it("comes back on the card with the same selection and a fresh deadline; the choice then holds", async () => {
    const paths = ["one/a.bin", "one/b.bin", "two/c.bin", "d.bin"];
    const t = await world.swarm.addTorrent({ name: "Restart Pack", files: paths.map((p, i) => ({ path: p, size: size(i) })) });
    const before = lastMessageId(world, ALICE.id);
    world.telegram.sendText(ALICE, t.magnet.replace(/&xl=\d+/, ""));
    const card = await nextBotMessage(world, ALICE.id, before, isCard);
    const jobId = jobIdOf(buttonData(card, /Start/));
    world.telegram.pressButton(ALICE, card, buttonData(card, /Start/));
    await pollFor(() => messageNow(world, card.message_id).text.includes("Choose the files to fetch"), 150_000, "the picker");
    await press(world, card.message_id, /^None$/);
    const chosen = await press(world, card.message_id, /c\.bin/);
    expect(chosen.text).toContain("1 of 4");
    const firstDeadline = world.app!.jobs.get<unknown, { pickerDeadline: number }>(jobId)!.data.pickerDeadline;

    // ON_SHUTDOWN=detach (the default): the job stays on its droplet, aria2 holding the download.
    await world.app!.stop();
    const editsBefore = messageNow(world, card.message_id).edits.length;
    await world.startApp(ENV);
    const back = await pollFor(() => {
      const m = messageNow(world, card.message_id);
      return m.edits.length > editsBefore && m.text.includes("Choose the files to fetch") && m.text.includes("Resumed after a restart") ? m : null;
    }, 60_000, "the picker after the restart");
    expect(back.text).toContain("1 of 4");
    expect(world.app!.jobs.get<unknown, { pickerDeadline: number }>(jobId)!.data.pickerDeadline).toBeGreaterThan(firstDeadline);
    expect(world.app!.jobs.get(jobId)!.state).toBe("downloading");

    const disk = dropletDiskBeforeDestroy(world, jobId);
    await press(world, card.message_id, /Fetch 1 file/, { changes: false });
    const file = t.files.find((f) => f.path.endsWith("two/c.bin"))!;
    expect(await disk).toEqual({ [file.aria2Path]: file.size });
    const ended = await waitEnded(jobId);
    expect(ended.state).toBe("done");
    expect((ended.data as { files: { path: string; sha256: string }[] }).files.map((f) => [f.path, f.sha256])).toEqual([[file.aria2Path, file.sha256]]);
    expect(liveDroplets(jobId)).toEqual([]);
  }, 300_000);
});

describe("a .torrent of 200 files", () => {
  let t: SwarmTorrent;

  beforeAll(async () => {
    // 10 folders of 20 small files: 210 rows, 21 pages.
    const files = Array.from({ length: 200 }, (_, i) => ({ path: `disc ${String(Math.floor(i / 20) + 1).padStart(2, "0")}/track ${String((i % 20) + 1).padStart(2, "0")}.flac`, size: 3000 + i }));
    t = await world.swarm.addTorrent({ name: "Big Box", files });
  }, 60_000);

  it("has a paginated picker on the card before Start, every page within Telegram's limits; Start fetches only what was chosen", async () => {
    const before = lastMessageId(world, ALICE.id);
    world.telegram.sendDocument(ALICE, { fileName: "big-box.torrent", mimeType: "application/x-bittorrent", bytes: t.torrentFile });
    const card = await nextBotMessage(world, ALICE.id, before, isCard);
    const jobId = jobIdOf(buttonData(card, /Start/));
    expect(card.text).toContain("200 of 200");
    expect(card.text).toContain("Page 1 of 21");
    expect(card.text).toContain("Estimate for the chosen files");

    // Every page, forward: each within the limits; together they show every file once.
    const seen: string[] = [];
    let page = card;
    for (let n = 1; ; n++) {
      expectWithinTelegramLimits(page);
      expect(page.text).toContain(`Page ${n} of 21`);
      seen.push(...keyboardOf(page).flat().map((b) => /track \d\d\.flac/.exec(b.text)?.[0]).filter((x): x is string => x !== undefined));
      if (n === 21) break;
      page = await press(world, card.message_id, /Next/);
    }
    expect(seen).toHaveLength(200);
    expect(keyboardOf(page).flat().some((b) => /Next/.test(b.text))).toBe(false);

    // Nothing chosen: Start is refused. Then two tracks of the last disc.
    page = await press(world, card.message_id, /^None$/);
    expect(page.text).toContain("0 of 200");
    world.telegram.pressButton(ALICE, page, buttonData(page, /Start/));
    await pollFor(() => lastAnswer(world).text?.includes("Choose at least one file"), 20_000, "Start refused");
    expect(world.app!.jobs.get(jobId)!.state).toBe("estimated");
    page = await press(world, card.message_id, /Previous/);
    expect(page.text).toContain("Page 20 of 21");
    page = await press(world, card.message_id, /track 01\.flac/);
    page = await press(world, card.message_id, /track 02\.flac/);
    expect(page.text).toContain("2 of 200");
    const chosen = t.files.filter((f) => /disc 10\/track 0[12]\.flac$/.test(f.path));
    expect(chosen).toHaveLength(2);
    expect(world.app!.jobs.get<unknown, { selectedBytes: number }>(jobId)!.data.selectedBytes).toBe(chosen[0]!.size + chosen[1]!.size);

    const disk = dropletDiskBeforeDestroy(world, jobId);
    world.telegram.pressButton(ALICE, page, buttonData(page, /Start/));
    expect(await disk).toEqual(Object.fromEntries(chosen.map((f) => [f.aria2Path, f.size])));
    const ended = await waitEnded(jobId);
    expect(ended.state).toBe("done");
    const delivered = (ended.data as { files: { path: string; sha256: string }[] }).files;
    expect(delivered.map((f) => [f.path, f.sha256]).sort()).toEqual(chosen.map((f) => [f.aria2Path, f.sha256]).sort());
    expect(liveDroplets(jobId)).toEqual([]);
  }, 300_000);
});

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && !e.name.startsWith(".")).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
