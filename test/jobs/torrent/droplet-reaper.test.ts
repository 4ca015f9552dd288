// The reaper against the fake DigitalOcean API through the real adapter: nothing Dropship created outlives its job.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../../src/shared/logger.js";
import { openDatabase, type Db } from "../../../src/storage/database.js";
import { JobStore } from "../../../src/jobs/job-store.js";
import { DropletLedger, jobTag } from "../../../src/jobs/torrent/droplet-ledger.js";
import { DropletReaper } from "../../../src/jobs/torrent/droplet-reaper.js";
import { createDigitalOceanClient } from "../../../src/cloud/digitalocean-client.js";
import { createDigitalOceanProvider } from "../../../src/cloud/digitalocean-provider.js";
import type { CloudProvider } from "../../../src/cloud/cloud-provider.js";
import { buildUserData, generateHostKeyPair } from "../../../src/cloud/cloud-init.js";
import { generateEd25519OpenSsh } from "../../../src/shared/ed25519-openssh.js";
import { startFakeDigitalOcean, type FakeDigitalOcean } from "../../world/fake-digitalocean.js";

const TOKEN = "dop_v1_reaper_test_0123456789abcdef01234";
const botKey = generateEd25519OpenSsh("dropship-bot");
let dir: string;
let fake: FakeDigitalOcean;
let cloud: CloudProvider;
let db: Db;
const logger = createLogger({ level: "silent" });

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "reaper-"));
  // No list lag: the droplets here stand for ones created well before the reaper runs (a crash, an orphan), which
  // real lists show; hiding brand-new droplets from lists is tested with the provider (digitalocean-provider.test.ts).
  fake = await startFakeDigitalOcean({ token: TOKEN, dir, activeDelayMs: 50, listLagMs: 0 });
  cloud = createDigitalOceanProvider({
    client: createDigitalOceanClient({ token: TOKEN, apiUrl: fake.url, logger, retry: { retries: 2, minDelayMs: 20, maxDelayMs: 50 } }),
    logger,
    pollInitialMs: 20,
    pollMaxMs: 50,
  });
  db = openDatabase(path.join(dir, "db.sqlite"));
});

afterAll(async () => {
  db?.close();
  await fake?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function createTagged(jobId: number) {
  const hostKey = generateHostKeyPair();
  return cloud.createDroplet({
    name: `dropship-job-${jobId}`,
    region: "fra1",
    size: "s-1vcpu-1gb",
    image: "debian-12-x64",
    tags: ["dropship", jobTag(jobId)],
    sshKeyIds: [],
    userData: buildUserData({ hostKey, authorizedKeys: [botKey.publicKey] }),
  });
}

const alive = () => fake.droplets().filter((d) => !d.destroyed).map((d) => d.name).sort();

describe("DropletReaper", () => {
  it("after a crash, destroys droplets of interrupted jobs (even one whose create answer was never recorded) and spares running jobs", async () => {
    const jobs = new JobStore(db);
    const ledger = new DropletLedger(db);
    const mk = (state: string) => jobs.create({ kind: "torrent", ownerId: 1, chatId: 1, state, input: {} });
    // Job A crashed between recording its intent and hearing back from the create call.
    const a = mk("droplet_requested");
    ledger.recordIntent({ jobId: a.id, name: `dropship-job-${a.id}`, region: "fra1", size: "s-1vcpu-1gb", priceHourly: 0.00893, hostKeyPublic: "k" });
    await createTagged(a.id);
    // Job B crashed while downloading, with everything recorded.
    const b = mk("downloading");
    const recB = ledger.recordIntent({ jobId: b.id, name: `dropship-job-${b.id}`, region: "fra1", size: "s-1vcpu-1gb", priceHourly: 0.00893, hostKeyPublic: "k" });
    ledger.markCreated(recB.id, (await createTagged(b.id)).id);
    // Job C is running in this process; a stray droplet carries only the dropship tag; card D was never started.
    const c = mk("downloading");
    await createTagged(c.id);
    const d = mk("estimated");
    const reaper = new DropletReaper({ cloud, ledger, store: jobs, runningJobIds: () => [c.id], logger });

    const report = await reaper.recoverAfterRestart();

    expect(alive()).toEqual([`dropship-job-${c.id}`]);
    expect(report.destroyed).toHaveLength(2);
    // Each interrupted job comes back with its chat and the reason its owner is told.
    expect(report.interrupted.map((j) => j.jobId).sort()).toEqual([a.id, b.id].sort());
    for (const j of report.interrupted) expect(j).toMatchObject({ chatId: jobs.get(j.jobId)!.chatId, message: expect.stringMatching(/restarted/) });
    expect(jobs.get(a.id)!.state).toBe("failed");
    expect(jobs.get(b.id)!.error).toMatch(/restarted/);
    expect(jobs.get(c.id)!.state).toBe("downloading");
    expect(jobs.get(d.id)!.state).toBe("estimated");
    expect(ledger.live()).toEqual([]);
    // B was billed for its lifetime (at least DigitalOcean's minimum); A's create answer was never recorded, so no lifetime is known.
    expect(jobs.spendForJob(b.id).actual).toBeGreaterThanOrEqual(0.01);
  });

  it("on schedule, destroys a droplet tagged dropship that no job owns, and keeps a running job's", async () => {
    const jobs = new JobStore(db);
    const ledger = new DropletLedger(db);
    const running = jobs.create({ kind: "torrent", ownerId: 1, chatId: 1, state: "downloading", input: {} });
    await createTagged(running.id);
    await createTagged(999_999);
    const reaper = new DropletReaper({ cloud, ledger, store: jobs, runningJobIds: () => [running.id], logger });
    await reaper.reap();
    // The stray one and the first test's leftover (its job no longer runs) are gone; the running job's stays.
    expect(alive()).toEqual([`dropship-job-${running.id}`]);
  });
});
