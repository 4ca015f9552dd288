// End to end: a multi-file torrent's first file is pulled to the bot and verified while the droplet's aria2 is still
// downloading the last one (issue 13, "Overlap what can overlap"); the droplet is destroyed once the last byte is
// verified. The world makes the order certain: aria2 picks BitTorrent pieces at random among equally rare ones
// (measured), so the droplet's aria2 is told to take the first MiB of every file first (--bt-prioritize-piece, through
// ARIA2_EXTRA_OPTIONS as an operator would) — the small file is whole long before the big one, which the seeder's upload
// limit makes last ~12 s.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALICE, buttonData, fetchEveryFile, isCard, lastMessageId, linksMessageOf, linksOf, nextBotMessage, startWorld, type World } from "./harness.js";
import { DROPLET_SWARM_ARIA2_OPTIONS } from "../world/swarm.js";
import type { PulledFile, TorrentJobData } from "../../src/jobs/torrent/torrent-job.js";

const MIB = 1024 * 1024;
let world: World;

beforeAll(async () => {
  world = await startWorld();
  await world.startApp({ ARIA2_EXTRA_OPTIONS: [...DROPLET_SWARM_ARIA2_OPTIONS, "--bt-prioritize-piece=head=1M"].join(" ") });
  // Both files, without the file picker's pause after the metadata.
  await fetchEveryFile(world);
}, 180_000);

afterAll(async () => {
  await world?.stop();
});

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("a multi-file magnet", () => {
  it("has its first file pulled and verified on the bot's disk before the last one is downloaded on the droplet", async () => {
    const t = await world.swarm.addTorrent({
      name: "early pulls",
      files: [
        { path: "01 small.bin", size: 512 * 1024 },
        { path: "02 big.bin", size: 24 * MIB },
      ],
      uploadLimitBytesPerSecond: 2 * MIB,
    });
    const [small, big] = t.files;
    const before = lastMessageId(world, ALICE.id);
    world.telegram.sendText(ALICE, t.magnet);
    const card = await nextBotMessage(world, ALICE.id, before, isCard);
    const data = buttonData(card, /Start/);
    const jobId = Number(data.split(":").pop());
    world.telegram.pressButton(ALICE, card, data);
    const app = world.app!;
    const droplet = await poll(() => world.digitalOcean.droplets().find((d) => d.tags.includes(`dropship-job-${jobId}`)), "the job's droplet");

    // The small file is verified on the bot's disk and recorded in the job…
    const pulled = await poll(() => {
      const job = app.jobs.get<unknown, TorrentJobData>(jobId)!;
      if (job.state === "failed") throw new Error(`job failed: ${job.error}`);
      return job.data.pulled?.find((f) => f.path === small!.path);
    }, "the small file pulled and verified");
    // …while the job is still downloading and the big file on the droplet is not whole yet.
    const atThatMoment = app.jobs.get(jobId)!.state;
    // The droplet's disk is its own tmpfs on /root: read it through the droplet's namespace.
    const bigOnDroplet = readIfThere(path.join(droplet.host!.rootfs()!, "root", "dropship", `job-${jobId}`, big!.aria2Path));
    expect(atThatMoment).toBe("downloading");
    expect(bigOnDroplet === null || sha256(bigOnDroplet) !== big!.sha256).toBe(true);
    const localSmall = path.join(world.dir, "data", "downloads", String(jobId), ...small!.path.split("/"));
    expect(sha256(fs.readFileSync(localSmall))).toBe(small!.sha256);
    expect(pulled).toMatchObject<Partial<PulledFile>>({ size: small!.size, sha256: small!.sha256 });

    const links = await poll(() => {
      const job = app.jobs.get(jobId)!;
      if (job.state === "failed") throw new Error(`job failed: ${job.error}`);
      return linksMessageOf(world, ALICE.id, { jobId, cardId: card.message_id });
    }, "the links message", 180_000);

    // The timestamps the job recorded say the same: verified before aria2 reported the torrent complete.
    const events = app.jobs.events(jobId);
    const downloadedAt = events.find((e) => e.state === "downloaded")!.at;
    expect(pulled.verifiedAt).toBeLessThan(downloadedAt);
    expect(events.map((e) => e.state)).toEqual([
      "estimated", "approved", "droplet_requested", "droplet_active", "ssh_ready", "provisioned",
      "downloading", "downloaded", "transferring", "transferred", "droplet_destroyed", "done",
    ]);

    // Both files arrived whole, once each; the early one was not pulled again.
    const job = app.jobs.get<unknown, TorrentJobData>(jobId)!;
    expect(job.data.files!.map((f) => [f.path, f.sha256])).toEqual(t.files.map((f) => [f.path, f.sha256]));
    expect(job.data.pulled!.find((f) => f.path === small!.path)!.verifiedAt).toBe(pulled.verifiedAt);
    expect(linksOf(links).some((u) => u.includes(encodeURIComponent("02 big.bin")))).toBe(true);
    expect(world.digitalOcean.droplets().filter((d) => !d.destroyed && d.tags.includes(`dropship-job-${jobId}`))).toEqual([]);

    // The card said so while the big file still downloaded.
    await app.presenter.idle();
    const progress = world.telegram.messages(ALICE.id).find((m) => m.message_id === card.message_id)!;
    const seen = [...progress.edits.map((e) => e.text), progress.text].join("\n---\n");
    expect(seen).toContain("1 of 2 files already saved by the bot");
  }, 240_000);
});

function readIfThere(file: string): Buffer | null {
  try {
    return fs.readFileSync(file);
  } catch {
    return null;
  }
}

async function poll<T>(check: () => T | null | undefined, what: string, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = check();
    if (v !== null && v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}
