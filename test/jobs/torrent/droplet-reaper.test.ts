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
import { VolumeLedger } from "../../../src/jobs/torrent/volume-ledger.js";
import { JobVolumes } from "../../../src/jobs/torrent/job-volumes.js";
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
  it("destroys the droplets of jobs no process runs (even one whose create answer was never recorded), books them, and spares running jobs", async () => {
    const jobs = new JobStore(db);
    const ledger = new DropletLedger(db);
    const mk = (state: string) => jobs.create({ kind: "torrent", ownerId: 1, chatId: 1, state, input: {} });
    // Job A failed between recording its intent and hearing back from the create call.
    const a = mk("failed");
    ledger.recordIntent({ jobId: a.id, name: `dropship-job-${a.id}`, region: "fra1", size: "s-1vcpu-1gb", priceHourly: 0.00893, hostKeyPublic: "k" });
    await createTagged(a.id);
    // Job B was cancelled but its destroy failed, with everything recorded.
    const b = mk("cancelled");
    const recB = ledger.recordIntent({ jobId: b.id, name: `dropship-job-${b.id}`, region: "fra1", size: "s-1vcpu-1gb", priceHourly: 0.00893, hostKeyPublic: "k" });
    ledger.markCreated(recB.id, (await createTagged(b.id)).id);
    // Job C is running in this process; card D was never started.
    const c = mk("downloading");
    await createTagged(c.id);
    const d = mk("estimated");
    const reaper = new DropletReaper({ cloud, ledger, store: jobs, runningJobIds: () => [c.id], logger });

    const report = await reaper.reap();

    expect(alive()).toEqual([`dropship-job-${c.id}`]);
    expect(report.destroyed).toHaveLength(2);
    // The reaper only destroys: what the jobs are is theirs to say.
    expect(jobs.get(a.id)!.state).toBe("failed");
    expect(jobs.get(c.id)!.state).toBe("downloading");
    expect(jobs.get(d.id)!.state).toBe("estimated");
    expect(ledger.live()).toEqual([]);
    // B was billed for its lifetime (at least DigitalOcean's minimum), and so was A, from the droplet's own creation time.
    expect(jobs.spendForJob(b.id).actual).toBeGreaterThanOrEqual(0.01);
    expect(jobs.spendForJob(a.id).actual).toBeGreaterThanOrEqual(0.01);
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

describe("volumes never outlive their job", () => {
  const volumePort = (c: CloudProvider) => ({
    create: async (spec: Parameters<CloudProvider["createVolume"]>[0]) => {
      const v = await c.createVolume(spec);
      return { id: v.id, createdAt: v.createdAt.getTime() };
    },
    find: async (name: string, region: string) => {
      const v = await c.findVolume(name, region);
      return v ? { id: v.id, createdAt: v.createdAt.getTime() } : null;
    },
    attach: (id: string, droplet: number, region: string, o: { timeoutMs: number }) => c.attachVolume(id, droplet, region, o),
    delete: (id: string) => c.deleteVolume(id),
  });
  const volumesOf = (jobId: number) => fake.volumes().filter((v) => v.tags.includes(jobTag(jobId)));

  it("a restarted job carries on with the volume its lost create made, and the job's destroy deletes it after the droplet", async () => {
    const jobs = new JobStore(db);
    const vledger = new VolumeLedger(db);
    const job = jobs.create({ kind: "torrent", ownerId: 1, chatId: 1, state: "downloading", input: {} });
    const droplet = await createTagged(job.id);
    await cloud.waitUntilActive(droplet.id, { timeoutMs: 10_000 });
    // The earlier process recorded the intent and sent the create, whose answer never reached the ledger.
    const rec = vledger.recordIntent({ jobId: job.id, name: `dropship-job-${job.id}-lost01`, region: "fra1", sizeGib: 1, priceHourly: 0.1 / 672 });
    await cloud.createVolume({ name: rec.name, region: "fra1", sizeGib: 1, tags: ["dropship", jobTag(job.id)] });
    const volumes = new JobVolumes({ volumes: volumePort(cloud), ledger: vledger });
    const got = await volumes.provide(job.id, { sizeGib: 1, region: "fra1", priceHourly: 0.1 / 672, dropletDoId: droplet.id, timeoutMs: 10_000 });
    expect(got).toMatchObject({ id: rec.id, state: "attached", dropletDoId: droplet.id });
    expect(volumesOf(job.id).map((v) => [v.name, v.dropletIds])).toEqual([[rec.name, [droplet.id]]]);
    // Asked again (a restart after the attach): nothing new is made.
    expect((await volumes.provide(job.id, { sizeGib: 1, region: "fra1", priceHourly: 0.1 / 672, dropletDoId: droplet.id, timeoutMs: 10_000 })).id).toBe(rec.id);
    expect(volumesOf(job.id)).toHaveLength(1);
    await cloud.destroyDroplet(droplet.id);
    await volumes.deleteAll(job.id);
    expect(volumesOf(job.id)).toEqual([]);
    expect(vledger.get(rec.id)!.state).toBe("deleted");
    expect(volumes.allDeleted(job.id)).toBe(true);
    expect(volumes.costUsd(job.id)).toBe(0.01);
  });

  it("the reaper deletes ended jobs' volumes (one whose create never answered, found by name), books them, and spares a running job's", async () => {
    const jobs = new JobStore(db);
    const ledger = new DropletLedger(db);
    const vledger = new VolumeLedger(db);
    const mk = (state: string) => jobs.create({ kind: "torrent", ownerId: 1, chatId: 1, state, input: {} });
    const price = 0.1 / 672;
    // Job A failed and could not destroy its droplet; its volume is still attached to it.
    const a = mk("downloading");
    const dropletA = await createTagged(a.id);
    const recA = ledger.recordIntent({ jobId: a.id, name: `dropship-job-${a.id}`, region: "fra1", size: "s-1vcpu-1gb", priceHourly: 0.00893, hostKeyPublic: "k" });
    ledger.markCreated(recA.id, dropletA.id);
    await cloud.waitUntilActive(dropletA.id, { timeoutMs: 10_000 });
    const volA = vledger.recordIntent({ jobId: a.id, name: `dropship-job-${a.id}-aaaaaa`, region: "fra1", sizeGib: 1, priceHourly: price });
    const madeA = await cloud.createVolume({ name: volA.name, region: "fra1", sizeGib: 1, tags: ["dropship", jobTag(a.id)] });
    vledger.markCreated(volA.id, madeA.id);
    await cloud.attachVolume(madeA.id, dropletA.id, "fra1", { timeoutMs: 10_000 });
    vledger.markAttached(volA.id, dropletA.id);
    jobs.transition(a.id, "failed", { error: "x" });
    jobs.recordSpend({ jobId: a.id, userId: 1, kind: "actual", usd: 0.01 });
    // Job B ended while its volume's create was unanswered: the ledger has the name, DigitalOcean the volume.
    const b = mk("downloading");
    const volB = vledger.recordIntent({ jobId: b.id, name: `dropship-job-${b.id}-bbbbbb`, region: "fra1", sizeGib: 2, priceHourly: 2 * price });
    await cloud.createVolume({ name: volB.name, region: "fra1", sizeGib: 2, tags: ["dropship", jobTag(b.id)] });
    jobs.transition(b.id, "failed", { error: "x" });
    // Job C runs: its volume stays. Job D ended with a create that made nothing.
    const c = mk("downloading");
    await cloud.createVolume({ name: `dropship-job-${c.id}-cccccc`, region: "fra1", sizeGib: 1, tags: ["dropship", jobTag(c.id)] });
    const d = mk("downloading");
    const volD = vledger.recordIntent({ jobId: d.id, name: `dropship-job-${d.id}-dddddd`, region: "fra1", sizeGib: 1, priceHourly: price });
    jobs.transition(d.id, "failed", { error: "x" });

    const reaper = new DropletReaper({ cloud, ledger, volumes: vledger, store: jobs, runningJobIds: () => [c.id], logger });
    const report = await reaper.reap();
    expect(report.destroyed).toContain(dropletA.id);
    expect(report.volumesDeleted).toHaveLength(2);
    expect(volumesOf(a.id)).toEqual([]);
    expect(volumesOf(b.id)).toEqual([]);
    expect(volumesOf(c.id)).toHaveLength(1);
    expect(vledger.get(volA.id)!.state).toBe("deleted");
    expect(vledger.get(volB.id)).toMatchObject({ state: "deleted", doId: expect.any(String) });
    expect(vledger.get(volD.id)!.state).toBe("failed");
    expect(vledger.live().filter((r) => r.jobId !== c.id)).toEqual([]);
    // A: its droplet was booked at $0.01 already; the volume's minimum comes on top. B: its volume's minimum. D: nothing.
    expect(jobs.spendForJob(a.id).actual).toBeCloseTo(0.02, 6);
    expect(jobs.spendForJob(b.id).actual).toBeCloseTo(0.01, 6);
    expect(jobs.spendForJob(d.id).actual).toBeNull();
    for (const v of volumesOf(c.id)) await cloud.deleteVolume(v.id);
  });
});

/** Promise.withResolvers (Node 22) for Node 20. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

let nextFleetId = 7_000_000;

/** A fleet in memory whose listing (and destroying) waits on gates the test opens: DigitalOcean slow, or retrying. */
class SlowFleet {
  droplets: { id: number; name: string; tags: string[]; createdAt: Date }[] = [];
  destroyed: number[] = [];
  listGate: Promise<void> = Promise.resolve();
  destroyGate: Promise<void> = Promise.resolve();
  listing = deferred();
  destroying = deferred();

  add(jobId: number | null, createdAt = new Date()): number {
    const id = nextFleetId++;
    const tags = jobId === null ? ["dropship"] : ["dropship", jobTag(jobId)];
    this.droplets.push({ id, name: `dropship-job-${jobId}`, tags, createdAt });
    return id;
  }

  async listDropletsByTag(tag: string) {
    this.listing.resolve();
    await this.listGate;
    // What the listing returns is read at its end, as a later page (or a retry) sees droplets made meanwhile.
    return this.droplets.filter((d) => d.tags.includes(tag));
  }

  async listVolumesByTag() {
    return [];
  }

  async deleteVolume(): Promise<void> {}

  async destroyDroplet(id: number): Promise<void> {
    this.destroying.resolve();
    await this.destroyGate;
    this.destroyed.push(id);
    this.droplets = this.droplets.filter((d) => d.id !== id);
  }
}

describe("DropletReaper against jobs starting while it works", () => {
  const priceHourly = 0.00893;
  let jobs: JobStore;
  let ledger: DropletLedger;
  /** How far in the past the ledger records what happens (jobs that ran before the reap began). */
  let pastMs = 0;
  beforeAll(() => {
    const raceDb = openDatabase(path.join(dir, "race.sqlite"));
    jobs = new JobStore(raceDb);
    ledger = new DropletLedger(raceDb, () => Date.now() - pastMs);
  });
  const startJob = (running: Set<number>) => {
    const job = jobs.create({ kind: "torrent", ownerId: 1, chatId: 1, state: "droplet_requested", input: {} });
    running.add(job.id);
    const rec = ledger.recordIntent({ jobId: job.id, name: `dropship-job-${job.id}`, region: "fra1", size: "s-1vcpu-1gb", priceHourly, hostKeyPublic: "k" });
    return { job, rec };
  };

  it("spares the droplet of a job that started during a slow listing", async () => {
    const fleet = new SlowFleet();
    const running = new Set<number>();
    const stray = fleet.add(null);
    const gate = deferred();
    fleet.listGate = gate.promise;
    const reaper = new DropletReaper({ cloud: fleet, ledger, store: jobs, runningJobIds: () => [...running], logger });
    const began = Date.now();
    const reaping = reaper.reap();
    await fleet.listing.promise;
    // While DigitalOcean is slow to list, a job starts and its droplet is created and recorded. DigitalOcean's
    // created_at has one-second precision: made just after the listing began, it can read as made before.
    const { job, rec } = startJob(running);
    const id = fleet.add(job.id, new Date(Math.floor(began / 1000) * 1000));
    ledger.markCreated(rec.id, id);
    gate.resolve();
    expect(await reaping).toEqual({ destroyed: [stray] });
    expect(fleet.destroyed).toEqual([stray]);
    expect(ledger.get(rec.id)!.state).toBe("created");
  });

  it("leaves the ledger row of a job that started during the listing, whose droplet lists do not show yet", async () => {
    const fleet = new SlowFleet();
    const running = new Set<number>();
    const gate = deferred();
    fleet.listGate = gate.promise;
    const reaper = new DropletReaper({ cloud: fleet, ledger, store: jobs, runningJobIds: () => [...running], logger });
    const reaping = reaper.reap();
    await fleet.listing.promise;
    const { rec } = startJob(running); // its create call has not answered yet
    gate.resolve();
    await reaping;
    expect(ledger.get(rec.id)!.state).toBe("requested");
    expect(ledger.get(rec.id)!.destroyedAt).toBeNull();
  });

  it("spares a listed droplet whose job starts (resumes) while another orphan is slowly destroyed", async () => {
    const fleet = new SlowFleet();
    const running = new Set<number>();
    // A job an earlier process ran, with its droplet alive; it is not running when the listing is taken.
    const { job, rec } = startJob(running);
    running.delete(job.id);
    const id = fleet.add(job.id);
    ledger.markCreated(rec.id, id);
    const stray = fleet.add(null, new Date(Date.now() - 60_000));
    fleet.droplets.reverse(); // the stray one first
    const gate = deferred();
    fleet.destroyGate = gate.promise;
    const reaper = new DropletReaper({ cloud: fleet, ledger, store: jobs, runningJobIds: () => [...running], logger });
    const reaping = reaper.reap();
    await fleet.destroying.promise;
    running.add(job.id);
    gate.resolve();
    expect(await reaping).toEqual({ destroyed: [stray] });
    expect(fleet.droplets.map((d) => d.id)).toEqual([id]);
  });

  it("books to its job a droplet the ledger never had an id for: a lost create's, and a duplicate", async () => {
    const fleet = new SlowFleet();
    const running = new Set<number>();
    pastMs = 60_000;
    // Job A's create never answered; the job failed and found nothing (lists lag), then its droplet showed up.
    const a = startJob(running);
    running.delete(a.job.id);
    jobs.transition(a.job.id, "failed", { error: "DigitalOcean had a server error" });
    ledger.markDestroyed(a.rec.id);
    const lost = fleet.add(a.job.id, new Date(Date.now() - 30_000));
    // Job B is done and paid for its droplet; a duplicate from a repeated create is still there.
    const b = startJob(running);
    running.delete(b.job.id);
    ledger.markCreated(b.rec.id, fleet.add(b.job.id));
    fleet.droplets.pop();
    ledger.markDestroyed(b.rec.id);
    jobs.transition(b.job.id, "done");
    jobs.recordSpend({ jobId: b.job.id, userId: 1, kind: "actual", usd: 0.01 });
    const duplicate = fleet.add(b.job.id, new Date(Date.now() - 20_000));
    pastMs = 0;

    const reaper = new DropletReaper({ cloud: fleet, ledger, store: jobs, runningJobIds: () => [...running], logger });
    expect((await reaper.reap()).destroyed.sort()).toEqual([lost, duplicate].sort());
    expect(ledger.get(a.rec.id)).toMatchObject({ doId: lost, state: "destroyed" });
    expect(ledger.forJob(b.job.id).map((r) => [r.doId === duplicate, r.state])).toEqual([[false, "destroyed"], [true, "destroyed"]]);
    // DigitalOcean's minimum charge per droplet: A's one droplet, and B's second on top of its first.
    expect(jobs.spendForJob(a.job.id).actual).toBe(0.01);
    expect(jobs.spendForJob(b.job.id).actual).toBe(0.02);
    expect(ledger.live()).toEqual([]);
  });
});
