// End to end, a disk that fits (issue 15, Done-when 4): the fake's droplets have 1 MiB of disk per GiB of their size,
// so s-1vcpu-1gb's 25 GiB is a 25 MiB disk on which a 40 MiB torrent cannot fit. A magnet (no xl=) for it gets a
// block storage volume after its metadata, completes on it, and the volume is deleted after the droplet, its cost
// booked; with a per-job budget that the volume would break, the same magnet is refused with the numbers before a
// byte of it is downloaded, and its droplet destroyed.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { startApp, type App } from "../../src/app/start-app.js";
import { createLogger } from "../../src/shared/logger.js";
import { billDropletSeconds, billVolumeSeconds } from "../../src/jobs/torrent/pricing.js";
import { ALICE, BOT_TOKEN, DO_TOKEN, SIGNING_KEY, buttonData, isCard, lastMessageId, linksMessageOf, startWorld, type World } from "./harness.js";
import type { SentMessage } from "../world/fake-telegram.js";

const MIB = 1024 * 1024;
let world: World;

beforeAll(async () => {
  world = await startWorld({ dropletDiskBytesPerGib: MIB });
}, 180_000);

afterAll(async () => {
  await world?.stop();
});

async function restartApp(name: string, env: Record<string, string> = {}): Promise<App> {
  await world.app?.stop();
  const config = loadConfig(await world.env({ DATA_DIR: path.join(world.dir, name), ...env }));
  const logger = createLogger({ level: "debug", secrets: [BOT_TOKEN, DO_TOKEN, SIGNING_KEY], destination: { write: (l: string) => void world.logLines.push(l) } });
  world.app = await startApp(config, { logger });
  return world.app;
}

/** A 40 MiB torrent's magnet without its xl=: the size is known only once the droplet has the metadata. */
async function bigMagnet(name: string) {
  const t = await world.swarm.addTorrent({ name, files: [{ path: name, size: 40 * MIB }] });
  return { t, magnet: t.magnet.replace(/&xl=\d+/, "") };
}

async function start(magnet: string): Promise<{ jobId: number; card: SentMessage }> {
  const before = lastMessageId(world, ALICE.id);
  world.telegram.sendText(ALICE, magnet);
  const card = await world.telegram.waitFor(() => world.telegram.messages(ALICE.id).find((m) => m.message_id > before && isCard(m)), 15_000);
  expect(card.text).toContain("Size: unknown until the metadata arrives");
  const data = buttonData(card, /Start/);
  world.telegram.pressButton(ALICE, card, data);
  return { jobId: Number(data.split(":").pop()), card };
}

function waitEnded(jobId: number, timeoutMs = 180_000) {
  return world.telegram.waitFor(() => {
    const j = world.app!.jobs.get(jobId)!;
    return ["done", "failed", "cancelled"].includes(j.state) ? j : null;
  }, timeoutMs, `job ${jobId} to end`);
}

const texts = (m: SentMessage) => [...m.edits.map((e) => e.text), m.text];

describe("a magnet bigger than the droplet's disk", () => {
  it("gets a volume after its metadata, completes on it, and the volume goes after the droplet with its cost booked", async () => {
    const app = await restartApp("data-volume");
    const { t, magnet } = await bigMagnet("too-big-for-the-disk.bin");
    const { jobId, card } = await start(magnet);
    const job = await waitEnded(jobId);
    expect(job.error ?? null).toBeNull();
    expect(job.state).toBe("done");

    // The file came whole, through the volume: the droplet's own disk holds 25 MiB.
    const file = path.join(app.config.downloads.dir, String(jobId), "too-big-for-the-disk.bin");
    expect(createHash("sha256").update(fs.readFileSync(file)).digest("hex")).toBe(t.files[0]!.sha256);
    const [droplet] = world.digitalOcean.history().filter((d) => d.tags.includes(`dropship-job-${jobId}`));
    expect(droplet).toBeDefined();
    const volumes = world.digitalOcean.volumeHistory().filter((v) => v.tags.includes(`dropship-job-${jobId}`));
    expect(volumes).toHaveLength(1);
    expect(volumes[0]!.name).toMatch(new RegExp(`^dropship-job-${jobId}-[a-z0-9]{6}$`));
    expect(volumes[0]!.sizeGib).toBe(1); // 40 MiB + 5% + 64 MiB, on ext4 at 88%
    // Deleted, and only once its droplet was destroyed; nothing of the job is left at DigitalOcean.
    expect(volumes[0]!.deletedAt).toBeInstanceOf(Date);
    expect(volumes[0]!.deletedAt!.getTime()).toBeGreaterThanOrEqual(droplet!.destroyedAt!.getTime());
    expect(world.digitalOcean.volumes().filter((v) => v.tags.includes(`dropship-job-${jobId}`))).toEqual([]);
    expect(world.digitalOcean.droplets().filter((d) => !d.destroyed && d.tags.includes(`dropship-job-${jobId}`))).toEqual([]);

    // The ledger knew it before it existed and has its life; the cost booked is droplet and volume by the second.
    const [rec] = app.volumes.forJob(jobId);
    expect(rec).toMatchObject({ state: "deleted", sizeGib: 1, name: volumes[0]!.name });
    expect(rec!.requestedAt).toBeLessThanOrEqual(volumes[0]!.createdAt.getTime());
    const [drop] = app.ledger.forJob(jobId);
    const expected = billDropletSeconds(app.ledger.lifetimeSeconds(drop!), drop!.priceHourly) + billVolumeSeconds(app.volumes.lifetimeSeconds(rec!), rec!.priceHourly);
    expect(app.jobs.spendForJob(jobId).actual).toBeCloseTo(expected, 6);
    expect(expected).toBeGreaterThanOrEqual(0.02); // two of DigitalOcean's minimum charges

    // The card said why the volume came and showed it; the summary shows its share of the cost.
    const shown = texts(world.telegram.messages(ALICE.id).find((m) => m.message_id === card.message_id)!).join("\n");
    expect(shown).toMatch(/💾 Adding a 1 GiB volume: the droplet's disk has 2\d(\.\d)? MiB free and the torrent needs 106 MiB \(40 MiB and the margin\)\./);
    expect(shown).toMatch(/💾 1 GiB volume attached \(\$0\.0001\d*\/h, in the cost\); it goes with the droplet\./);
    const links = await world.telegram.waitFor(() => linksMessageOf(world, ALICE.id, { jobId, cardId: card.message_id }), 20_000, "the links message");
    expect(links.text).toMatch(/cost \$0\.0\d+ \(droplet \$0\.01\d* \+ 1 GiB volume \$0\.01\d*\)/);
  }, 300_000);
});

describe("a .torrent bigger than the droplet's disk", () => {
  it("gets its volume before aria2 starts, keeps it through a restart of the bot, and completes on it", async () => {
    // Nobody seeds until the bot has restarted: the job waits on the volume, aria2 holding the download.
    const env = { TORRENT_STALL_TIMEOUT_SECONDS: "240" };
    const app = await restartApp("data-torrent-file", env);
    const since = Date.now();
    const t = await world.swarm.addTorrent({ name: "kept-through-a-restart.bin", files: [{ path: "kept-through-a-restart.bin", size: 40 * MIB }], seed: false });
    const before = lastMessageId(world, ALICE.id);
    world.telegram.sendDocument(ALICE, { fileName: `${t.name}.torrent`, mimeType: "application/x-bittorrent", bytes: t.torrentFile });
    const card = await world.telegram.waitFor(() => world.telegram.messages(ALICE.id).find((m) => m.message_id > before && isCard(m)), 15_000);
    // By the catalogue 40 MiB fits s-1vcpu-1gb's 25 GiB; only the droplet itself says how small its disk is.
    expect(card.text).toContain("💾 Disk: 106 MiB of the droplet's 25 GiB.");
    const data = buttonData(card, /Start/);
    world.telegram.pressButton(ALICE, card, data);
    const jobId = Number(data.split(":").pop());
    await world.telegram.waitFor(() => {
      const j = app.jobs.get(jobId)!;
      if (["failed", "cancelled", "done"].includes(j.state)) throw new Error(`job ended ${j.state}: ${j.error}`);
      return j.state === "downloading" && (j.data as { volume?: unknown }).volume ? j : null;
    }, 180_000, "the job downloading onto its volume");
    const [volume] = world.digitalOcean.volumes().filter((v) => v.createdAt.getTime() >= since);
    expect(volume).toBeDefined();
    const droplet = world.digitalOcean.droplets().find((d) => !d.destroyed && d.tags.includes(`dropship-job-${jobId}`))!;
    // The droplet has it mounted where aria2 downloads (its own mount table, seen from outside).
    const mounts = fs.readFileSync(path.join(droplet.host!.rootfs()!, "..", "mountinfo"), "utf8");
    expect(mounts).toMatch(new RegExp(`/root/dropship/job-${jobId} \\S+ .* ext4 /dev/loop\\d+`));

    // The bot stops (its jobs stay on their droplets) and starts again on the same data; then the seeder comes.
    await world.app!.stop();
    const linesBefore = world.logLines.length;
    const again = await restartApp("data-torrent-file", env);
    await world.swarm.seed(t);
    const job = await waitEnded(jobId);
    expect(job.error ?? null).toBeNull();
    expect(job.state).toBe("done");
    // Resumed on the same droplet, its volume carried on rather than asked for again.
    const after = world.logLines.slice(linesBefore).filter((l) => l.includes(`"job":${jobId}`));
    expect(after.some((l) => l.includes("resuming a job an earlier process left unfinished"))).toBe(true);
    expect(after.some((l) => l.includes("attaching a volume"))).toBe(false);
    const file = path.join(again.config.downloads.dir, String(jobId), "kept-through-a-restart.bin");
    expect(createHash("sha256").update(fs.readFileSync(file)).digest("hex")).toBe(t.files[0]!.sha256);
    // The same volume all along, deleted with the one droplet, and booked once.
    const made = world.digitalOcean.volumeHistory().filter((v) => v.createdAt.getTime() >= since);
    expect(made.map((v) => v.id)).toEqual([volume!.id]);
    expect(made[0]!.deletedAt).toBeInstanceOf(Date);
    expect(world.digitalOcean.history().filter((d) => d.createdAt.getTime() >= since)).toHaveLength(1);
    expect(again.volumes.forJob(jobId).map((r) => r.state)).toEqual(["deleted"]);
    const [drop] = again.ledger.forJob(jobId);
    const [rec] = again.volumes.forJob(jobId);
    const expected = billDropletSeconds(again.ledger.lifetimeSeconds(drop!), drop!.priceHourly) + billVolumeSeconds(again.volumes.lifetimeSeconds(rec!), rec!.priceHourly);
    expect(again.jobs.spendForJob(jobId).actual).toBeCloseTo(expected, 6);
  }, 420_000);
});

describe("a magnet no affordable option fits", () => {
  it("is refused with the numbers before the download; its droplet is destroyed and no volume is made", async () => {
    // $0.015 a job: the droplet's estimate (DigitalOcean's $0.01 minimum; the pull's 40 MiB stay within the outbound
    // allowance the droplet accrues) fits, but a volume's own $0.01 minimum would not.
    const app = await restartApp("data-refused", { BUDGET_PER_JOB_USD: "0.015" });
    // Job ids start at 1 in each data directory: this app's job shares its tag with the first test's.
    const since = Date.now();
    const { magnet } = await bigMagnet("refused-for-its-size.bin");
    const { jobId } = await start(magnet);
    const job = await waitEnded(jobId);
    expect(job.state).toBe("failed");
    expect(job.error).toMatch(
      /^refused before the download: the droplet's disk has 2\d(\.\d)? MiB free and the torrent needs 106 MiB \(40 MiB and the margin\), so it needs a 1 GiB volume \(about \$0\.0100\), and with it the new estimate \$0\.0200 is over the per-job budget of \$0\.0150 \(BUDGET_PER_JOB_USD\)$/,
    );
    expect(world.digitalOcean.volumeHistory().filter((v) => v.createdAt.getTime() >= since)).toEqual([]);
    expect(app.volumes.forJob(jobId)).toEqual([]);
    expect(world.digitalOcean.droplets().filter((d) => !d.destroyed && d.tags.includes(`dropship-job-${jobId}`))).toEqual([]);
    // Not a byte of the torrent came home, and the droplet's minute is booked.
    expect(fs.existsSync(path.join(app.config.downloads.dir, String(jobId)))).toBe(false);
    expect(app.jobs.spendForJob(jobId).actual).toBeCloseTo(0.01, 6);
    const failure = world.telegram.messages(ALICE.id).find((m) => m.text.includes("refused before the download"));
    expect(failure?.text).toMatch(/over the per-job budget of \$0\.0150/);
  }, 300_000);
});
