// End to end, the real bot against fake Telegram and fake DigitalOcean: ten Starts pressed at once fit the monthly budget
// only as far as it reaches; once the files are verified, a failing destroy or a late Cancel leaves them and the links;
// a download directory without room refuses the pull before it starts.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { startApp, type App } from "../../src/app/start-app.js";
import { createLogger } from "../../src/shared/logger.js";
import { ALICE, BOT_TOKEN, DO_TOKEN, SIGNING_KEY, buttonData, isCard, lastMessageId, linksMessageOf, linksOf, startWorld, type World } from "./harness.js";
import type { SentMessage } from "../world/fake-telegram.js";

let world: World;

beforeAll(async () => {
  world = await startWorld();
}, 180_000);

afterAll(async () => {
  await world?.stop();
});

// A test that failed half-way must not hand its injected faults to the next one.
afterEach(() => world?.digitalOcean.clearFaults());

/** The app with its own data directory (so spending starts at zero) and short DigitalOcean retries. */
async function restartApp(name: string, env: Record<string, string> = {}): Promise<App> {
  await world.app?.stop();
  const config = loadConfig(await world.env({ DATA_DIR: path.join(world.dir, name), ...env }));
  const logger = createLogger({ level: "debug", secrets: [BOT_TOKEN, DO_TOKEN, SIGNING_KEY], destination: { write: (l: string) => void world.logLines.push(l) } });
  world.app = await startApp(config, { logger, cloudRetry: { retries: 1, minDelayMs: 20, maxDelayMs: 50 } });
  return world.app;
}

const jobIdOf = (card: SentMessage) => Number(buttonData(card, /Start/).split(":").pop());
const liveDroplets = (jobId: number) => world.digitalOcean.droplets().filter((d) => !d.destroyed && d.tags.includes(`dropship-job-${jobId}`));
const messageNow = (id: number) => world.telegram.messages(ALICE.id).find((m) => m.message_id === id)!;

function waitEnded(jobId: number, timeoutMs = 120_000) {
  return world.telegram.waitFor(() => {
    const j = world.app!.jobs.get(jobId)!;
    return ["done", "failed", "cancelled"].includes(j.state) ? j : null;
  }, timeoutMs, `job ${jobId} to end`);
}

async function startedJob(name: string, content: string): Promise<{ jobId: number; card: SentMessage }> {
  const t = await world.swarm.addTorrent({ name, files: [{ path: name, content }] });
  return startedJobFrom(t.magnet);
}

async function startedJobFrom(magnet: string): Promise<{ jobId: number; card: SentMessage }> {
  const before = lastMessageId(world, ALICE.id);
  world.telegram.sendText(ALICE, magnet);
  const card = await world.telegram.waitFor(() => world.telegram.messages(ALICE.id).find((m) => m.message_id > before && isCard(m)), 15_000);
  world.telegram.pressButton(ALICE, card, buttonData(card, /Start/));
  return { jobId: jobIdOf(card), card };
}

describe("ten Starts pressed at once", () => {
  it("start exactly as many jobs as the monthly budget fits; the others are refused with the numbers", async () => {
    // Each small torrent is estimated at DigitalOcean's minimum charge, $0.01: $0.035 fits three.
    const app = await restartApp("data-ten", { BUDGET_PER_JOB_USD: "0.01", BUDGET_MONTHLY_USD: "0.035", MAX_DROPLETS: "10", MAX_DROPLETS_PER_USER: "10" });
    // One at a time: each reloads the tracker's whitelist with a SIGHUP.
    const torrents = [];
    for (let i = 0; i < 10; i++) torrents.push(await world.swarm.addTorrent({ name: `ten-${i}.txt`, files: [{ path: `ten-${i}.txt`, content: `file ${i}\n` }] }));
    const before = lastMessageId(world, ALICE.id);
    world.telegram.sendText(ALICE, torrents.map((t) => t.magnet).join("\n"));
    const cards = await world.telegram.waitFor(() => {
      const found = world.telegram.messages(ALICE.id).filter((m) => m.message_id > before && isCard(m));
      return found.length === 10 ? found : null;
    }, 30_000, "ten cards");
    const jobIds = cards.map(jobIdOf);
    for (const id of jobIds) expect(app.jobs.get(id)!.data).toMatchObject({ estimateUsd: 0.01 });

    const answeredBefore = world.telegram.answeredCallbacks.length;
    const pressIds = cards.map((card) => world.telegram.pressButton(ALICE, card, buttonData(card, /Start/)));
    const answers = await world.telegram.waitFor(() => {
      const mine = world.telegram.answeredCallbacks.slice(answeredBefore).filter((a) => pressIds.includes(a.callback_query_id));
      return mine.length === 10 ? mine : null;
    }, 30_000, "ten answers");
    const started = answers.filter((a) => a.text === "Starting…");
    const refused = answers.filter((a) => a.text?.startsWith("Not started:"));
    expect(started).toHaveLength(3);
    expect(refused).toHaveLength(7);
    for (const a of refused) {
      expect(a.text).toBe(
        "Not started: this month: $0.00 spent + $0.0300 reserved by 3 running jobs + $0.0100 for this job = $0.0400, over the monthly budget of $0.0350 (BUDGET_MONTHLY_USD)",
      );
    }

    const running = jobIds.filter((id) => app.jobs.get(id)!.state !== "estimated");
    expect(running).toHaveLength(3);
    for (const id of running) expect((await waitEnded(id)).state).toBe("done");
    // Only the three ever asked DigitalOcean for a droplet; the seven cards still wait, their buttons still there.
    for (const id of jobIds) expect(app.ledger.forJob(id)).toHaveLength(running.includes(id) ? 1 : 0);
    expect(jobIds.filter((id) => app.jobs.get(id)!.state === "estimated")).toHaveLength(7);
    // The reservations became real costs: three minimum charges, and the fourth Start is still refused.
    const spent = running.reduce((n, id) => n + (app.jobs.spendForJob(id).actual ?? 0), 0);
    expect(spent).toBeCloseTo(0.03, 6);
  }, 240_000);
});

describe("after the files are verified", () => {
  it("a destroy that keeps failing ends the job done with a warning and the links; the reaper destroys it later and books the cost", async () => {
    const app = await restartApp("data-verified");
    const rule = world.digitalOcean.injectFault("DELETE /v2/droplets/*", { status: 500, message: "destroy is broken" }, 1000);
    const { jobId, card } = await startedJob("kept.txt", "kept even though the droplet lives\n");
    const job = await waitEnded(jobId);
    expect(rule.hits).toBeGreaterThan(0);
    expect(job.state).toBe("done");
    expect(job.data).toMatchObject({ warning: expect.stringMatching(/the droplet could not be destroyed yet \(.*\); it will be retried and its cost booked/) });
    const file = path.join(app.config.downloads.dir, String(jobId), "kept.txt");
    expect(fs.readFileSync(file, "utf8")).toBe("kept even though the droplet lives\n");
    const done = await world.telegram.waitFor(() => linksMessageOf(world, ALICE.id, { jobId, cardId: card.message_id }), 20_000);
    expect(done.text).toMatch(/⚠️ the droplet could not be destroyed yet/);
    expect(done.text).not.toMatch(/The droplet is gone/);
    expect(await (await fetch(linksOf(done).find((u) => u.includes("kept.txt"))!)).text()).toBe("kept even though the droplet lives\n");
    expect(liveDroplets(jobId)).toHaveLength(1);
    const bookedAtEnd = app.jobs.spendForJob(jobId).actual!;
    expect(bookedAtEnd).toBeGreaterThanOrEqual(0.01);

    // DigitalOcean works again: the reaper destroys the droplet and books what its job has not paid for yet.
    world.digitalOcean.clearFaults();
    await app.reaper.reap();
    expect(liveDroplets(jobId)).toEqual([]);
    expect(app.ledger.forJob(jobId).map((d) => d.state)).toEqual(["destroyed"]);
    expect(app.jobs.spendForJob(jobId).actual).toBeGreaterThanOrEqual(bookedAtEnd);
    expect(fs.existsSync(file)).toBe(true);
  }, 180_000);

  it("a Cancel pressed while the droplet is being destroyed keeps the files and the job done", async () => {
    const app = await restartApp("data-late-cancel");
    // Hold the destroy so the job sits between "transferred" and its end long enough to press Cancel.
    world.digitalOcean.injectFault("DELETE /v2/droplets/*", { delayMs: 3000 });
    const { jobId, card } = await startedJob("late.txt", "saved before the cancel\n");
    await world.telegram.waitFor(() => app.jobs.get(jobId)!.state === "transferred", 120_000, "transferred");
    world.telegram.pressButton(ALICE, messageNow(card.message_id), `t:cancel:${jobId}`, { force: true });
    const job = await waitEnded(jobId);
    expect(job.state).toBe("done");
    expect(job.data).toMatchObject({ warning: expect.stringMatching(/^Cancel arrived after your files were saved and verified: they are kept$/) });
    const file = path.join(app.config.downloads.dir, String(jobId), "late.txt");
    expect(fs.readFileSync(file, "utf8")).toBe("saved before the cancel\n");
    expect(liveDroplets(jobId)).toEqual([]);
    const done = await world.telegram.waitFor(() => linksMessageOf(world, ALICE.id, { jobId, cardId: card.message_id }), 20_000);
    expect(done.text).toMatch(/Cancel arrived after your files were saved and verified: they are kept/);
    expect(await (await fetch(linksOf(done).find((u) => u.includes("late.txt"))!)).text()).toBe("saved before the cancel\n");
  }, 180_000);
});

describe("a download directory without room", () => {
  it("refuses the pull with the numbers, destroys the droplet and leaves nothing; a known size is refused before any droplet", async () => {
    // A small disk of its own for DOWNLOAD_DIR (the tests run as root): 8 MiB, of which 4 MiB must stay free.
    const disk = path.join(world.dir, "small-disk");
    fs.mkdirSync(disk);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", disk]);
    try {
      const app = await restartApp("data-disk", { DOWNLOAD_DIR: disk, DOWNLOAD_MIN_FREE_MB: "4" });
      const t = await world.swarm.addTorrent({ name: "six.bin", files: [{ path: "six.bin", size: 6 * 1024 * 1024 }] });
      const refusal = /^not enough free disk on the bot's host for the files: they need 6 MiB and 4 MiB must stay free \(DOWNLOAD_MIN_FREE_MB\), but \S+small-disk has [\d.]+ MiB free; free some space there or point DOWNLOAD_DIR at a bigger disk$/;

      // Without xl the size is known only once the droplet has the torrent: the check comes before the first pull,
      // which may start while aria2 still downloads (a file it has whole is pulled at once).
      const unsized = await startedJobFrom(t.magnet.replace(/&xl=\d+/, ""));
      const failed = await waitEnded(unsized.jobId);
      expect(failed.state).toBe("failed");
      expect(failed.error).toMatch(refusal);
      expect(app.jobs.events(unsized.jobId).map((e) => e.state)).toContain("downloading");
      expect(app.jobs.events(unsized.jobId).map((e) => e.state)).not.toContain("transferring");
      expect(liveDroplets(unsized.jobId)).toEqual([]);
      expect(fs.readdirSync(disk)).toEqual([]);
      const notice = await world.telegram.waitFor(() => world.telegram.messages(ALICE.id).find((m) => m.message_id > unsized.card.message_id && !m.deleted && m.text.includes("six.bin") && m.text.includes("failed")), 20_000);
      expect(notice.text).toContain("DOWNLOAD_MIN_FREE_MB");

      // With xl the same torrent is refused before a droplet is asked for.
      const sized = await startedJobFrom(t.magnet);
      expect((await waitEnded(sized.jobId)).error).toMatch(refusal);
      expect(app.ledger.forJob(sized.jobId)).toEqual([]);
    } finally {
      await world.app?.stop();
      world.app = null;
      execFileSync("umount", [disk]);
    }
  }, 180_000);
});

describe("a magnet whose xl= understates its size", () => {
  // A pricey size and a slow assumed speed make the estimate follow the size: the claimed 100 kB fits the per-job
  // budget ($0.01), the real 16 MiB does not (about $0.08), so the job stops after the metadata and asks.
  const env = { DO_SIZE: "g-8vcpu-32gb", TORRENT_SPEED_MBPS: "0.05", BUDGET_PER_JOB_USD: "0.05" };
  const REAL = 16 * 1024 * 1024;
  /** The swarm's magnet says the true size; this one claims 100 kB. */
  const understate = (magnet: string) => {
    const claimed = magnet.replace(/([?&])xl=\d+/, "$1xl=100000");
    return claimed.includes("xl=100000") ? claimed : `${magnet}&xl=100000`;
  };

  async function jobWaitingForAnswer(name: string) {
    const t = await world.swarm.addTorrent({ name, files: [{ path: name, size: REAL }] });
    const { jobId, card } = await startedJobFrom(understate(t.magnet));
    const asked = await world.telegram
      .waitFor(() => (messageNow(card.message_id).text.includes("breaks a budget") ? messageNow(card.message_id) : null), 90_000, "the size question")
      .catch((err: Error) => {
        throw new Error(`${err.message}\ncard: ${messageNow(card.message_id).text.replace(/\n/g, " / ")}\nreplies: ${world.telegram.messages(ALICE.id).filter((m) => m.message_id > card.message_id).map((m) => m.text).join(" | ")}`);
      });
    return { t, jobId, card, asked };
  }

  it("pauses after the metadata with the real size and the new estimate; Continue downloads it", async () => {
    const app = await restartApp("xl-continue", env);
    const { t, jobId, card, asked } = await jobWaitingForAnswer("understated.bin");
    expect(asked.text).toContain("The torrent is 16 MiB in 1 file");
    expect(asked.text).toMatch(/not 9\d(\.\d)? KiB as the link said/);
    expect(asked.text).toMatch(/over the per-job budget of \$0\.05/);
    // Nothing of the content has been fetched: aria2 holds the download until the answer.
    expect(app.jobs.get(jobId)!.state).toBe("downloading");
    expect(app.jobs.get<unknown, { estimateUsd: number }>(jobId)!.data.estimateUsd).toBeGreaterThan(0.05);
    world.telegram.pressButton(ALICE, asked, buttonData(asked, /Continue/));
    const ended = await waitEnded(jobId);
    expect(ended.state).toBe("done");
    const files = (ended.data as { files: { sha256: string }[] }).files;
    expect(files.map((f) => f.sha256)).toEqual([t.files[0]!.sha256]);
    expect(liveDroplets(jobId)).toEqual([]);
    void card;
  }, 240_000);

  it("Cancel ends it there: droplet destroyed, nothing kept, the cost booked", async () => {
    const app = await restartApp("xl-cancel", env);
    const { jobId, asked } = await jobWaitingForAnswer("understated-2.bin");
    world.telegram.pressButton(ALICE, asked, buttonData(asked, /Cancel/));
    const ended = await waitEnded(jobId);
    expect(ended.state).toBe("cancelled");
    expect(liveDroplets(jobId)).toEqual([]);
    expect(fs.existsSync(path.join(app.config.downloads.dir, String(jobId)))).toBe(false);
    expect(app.jobs.spendForJob(jobId).actual).toBeGreaterThanOrEqual(0.01);
  }, 240_000);
});
