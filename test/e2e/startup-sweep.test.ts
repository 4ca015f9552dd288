// End to end: the bot starts while DigitalOcean is down or refuses a destroy. It answers chat at once, tells the owner
// what it could not clean up yet, and finishes the sweep when DigitalOcean works again. A job whose files were verified
// before the restart keeps them and gets its links.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { startApp, type App } from "../../src/app/start-app.js";
import { createLogger } from "../../src/shared/logger.js";
import { createDigitalOceanClient } from "../../src/cloud/digitalocean-client.js";
import { createDigitalOceanProvider } from "../../src/cloud/digitalocean-provider.js";
import { buildUserData, generateHostKeyPair } from "../../src/cloud/cloud-init.js";
import { generateEd25519OpenSsh } from "../../src/shared/ed25519-openssh.js";
import { TORRENT_FLOW } from "../../src/jobs/torrent/torrent-states.js";
import { ALICE, BOT_TOKEN, DO_TOKEN, SIGNING_KEY, buttonData, isCard, lastMessageId, linksMessageOf, linksOf, nextBotMessage, startWorld, type World } from "./harness.js";

let world: World;
const logger = createLogger({ level: "silent" });

beforeAll(async () => {
  world = await startWorld();
}, 180_000);

afterAll(async () => {
  await world?.stop();
});

/** A droplet an earlier process left behind: tagged as Dropship's, owned by no job of this one. */
async function leftoverDroplet(jobId: number): Promise<number> {
  const cloud = createDigitalOceanProvider({ client: createDigitalOceanClient({ token: DO_TOKEN, apiUrl: world.digitalOcean.url, logger }), logger });
  const d = await cloud.createDroplet({
    name: `dropship-job-${jobId}`,
    region: "fra1",
    size: "s-1vcpu-1gb",
    image: "debian-12-x64",
    tags: ["dropship", `dropship-job-${jobId}`],
    sshKeyIds: [],
    userData: buildUserData({ hostKey: generateHostKeyPair(), authorizedKeys: [generateEd25519OpenSsh("earlier-bot").publicKey] }),
  });
  // DigitalOcean lists a new droplet only after a few seconds (digitalocean/api-v2#202); one left by an earlier
  // process is long listed.
  for (let i = 0; !(await cloud.listDropletsByTag("dropship")).some((x) => x.id === d.id); i++) {
    if (i > 100) throw new Error(`droplet ${d.id} never showed in the list`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return d.id;
}

/** Polls `check` (fake Telegram's waitFor re-checks only on Telegram calls; log lines are not). */
async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  for (const end = Date.now() + timeoutMs; !check(); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }
}

const alive = (id: number) => world.digitalOcean.droplets().some((d) => d.id === id && !d.destroyed);

async function startTimed(name: string): Promise<{ app: App; startMs: number }> {
  await world.app?.stop();
  const config = loadConfig(await world.env({ DATA_DIR: path.join(world.dir, name) }));
  const appLogger = createLogger({ level: "debug", secrets: [BOT_TOKEN, DO_TOKEN, SIGNING_KEY], destination: { write: (l: string) => void world.logLines.push(l) } });
  const t0 = Date.now();
  world.app = await startApp(config, {
    logger: appLogger,
    cloudRetry: { retries: 0 },
    sweepRetry: { minDelayMs: 200, maxDelayMs: 400 },
  });
  return { app: world.app, startMs: Date.now() - t0 };
}

async function answersHelp(): Promise<void> {
  const before = lastMessageId(world, ALICE.id);
  world.telegram.sendText(ALICE, "/help");
  await nextBotMessage(world, ALICE.id, before, (m) => m.text.includes("Dropship"));
}

const toldOwner = (re: RegExp, after: number) => nextBotMessage(world, ALICE.id, after, (m) => re.test(m.text), 20_000);

describe("starting while DigitalOcean fails", () => {
  it("with DigitalOcean unreachable: serves chat, tells the owner, and sweeps once it is back", async () => {
    const leftover = await leftoverDroplet(501);
    const before = lastMessageId(world, ALICE.id);
    const rule = world.digitalOcean.injectFault("GET /v2/droplets", { status: 503, message: "the API is down" }, 100_000);
    const { app, startMs } = await startTimed("data-down");
    expect(startMs).toBeLessThan(10_000);
    await answersHelp();
    const notice = await toldOwner(/could not clean up at DigitalOcean yet/, before);
    expect(notice.text).toMatch(/could not list Dropship's droplets at DigitalOcean: .*Chat and download links work/s);
    expect(rule.hits).toBeGreaterThan(0);
    expect(alive(leftover)).toBe(true);

    world.digitalOcean.clearFaults();
    expect(await app.startupSweep).toBe(true);
    expect(alive(leftover)).toBe(false);
    await toldOwner(/The start-up clean-up at DigitalOcean is done: 1 leftover droplet destroyed\./, notice.message_id);
  }, 120_000);

  it("with one droplet that cannot be destroyed: names it to the owner, keeps retrying, and destroys it later", async () => {
    const leftover = await leftoverDroplet(502);
    const before = lastMessageId(world, ALICE.id);
    world.digitalOcean.injectFault(`DELETE /v2/droplets/${leftover}`, { status: 500, message: "stuck" }, 100_000);
    const { app } = await startTimed("data-stuck");
    await answersHelp();
    const notice = await toldOwner(/could not clean up at DigitalOcean yet/, before);
    expect(notice.text).toContain(`could not destroy droplet ${leftover}`);
    // Several tries, one message: the owner is not told again on every retry.
    await until(() => world.logLines.filter((l) => l.includes("start-up droplet sweep failed")).length >= 3, 20_000, "three tries");
    expect(world.telegram.messages(ALICE.id).filter((m) => m.message_id > before && /could not clean up/.test(m.text))).toHaveLength(1);
    expect(alive(leftover)).toBe(true);

    world.digitalOcean.clearFaults();
    expect(await app.startupSweep).toBe(true);
    expect(alive(leftover)).toBe(false);
    await toldOwner(/clean-up at DigitalOcean is done: 1 leftover droplet destroyed/, notice.message_id);
  }, 120_000);

  it("a job whose files were verified before the restart ends done with its links, not failed", async () => {
    const first = (await startTimed("data-delivered")).app;
    const t = await world.swarm.addTorrent({ name: "before.txt", files: [{ path: "before.txt", content: "saved before the restart\n" }] });
    const before = lastMessageId(world, ALICE.id);
    world.telegram.sendText(ALICE, t.magnet);
    const card = await nextBotMessage(world, ALICE.id, before, isCard);
    const jobId = Number(buttonData(card, /Start/).split(":").pop());
    // As a crash right after the pull leaves it: the job recorded "transferred" and its file on disk.
    for (const state of TORRENT_FLOW.slice(1, TORRENT_FLOW.indexOf("transferred") + 1)) first.jobs.transition(jobId, state);
    const files = [{ path: "before.txt", size: 25, sha256: "x", resumes: 0 }];
    first.jobs.patchData(jobId, { files });
    fs.mkdirSync(path.join(first.config.downloads.dir, String(jobId)), { recursive: true });
    fs.writeFileSync(path.join(first.config.downloads.dir, String(jobId), "before.txt"), "saved before the restart\n");

    const { app } = await startTimed("data-delivered");
    expect(app.jobs.get(jobId)!.state).toBe("done");
    const links = await world.telegram.waitFor(() => linksMessageOf(world, ALICE.id, { jobId, cardId: card.message_id }), 15_000, "the links message");
    expect(links.text).toMatch(/the bot restarted after your files were saved and verified: they are kept/);
    expect(await (await fetch(linksOf(links).find((u) => u.includes("before.txt"))!)).text()).toBe("saved before the restart\n");
  }, 120_000);
});
