// The per-job budget holds in every phase, not only while aria2 reports progress: a droplet whose provisioning hangs
// is stopped once its lifetime at its price passes BUDGET_PER_JOB_USD. The runner with real SQLite (job store, ledger)
// and a clock the test moves; DigitalOcean, SSH and Ansible are stand-ins here because the rule under test is the
// runner's own (their real behaviour is tested in test/e2e).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, type Db } from "../../../src/storage/database.js";
import { JobStore } from "../../../src/jobs/job-store.js";
import { DropletLedger } from "../../../src/jobs/torrent/droplet-ledger.js";
import { torrentMayMove } from "../../../src/jobs/torrent/torrent-states.js";
import { TorrentJobRunner, torrentCancellation, type TorrentJobEvent } from "../../../src/jobs/torrent/torrent-job.js";
import { cleanupLine } from "../../../src/bot/render/failure.js";
import type { DropletPort, DropletSession } from "../../../src/jobs/torrent/torrent-ports.js";
import { createLogger } from "../../../src/shared/logger.js";

let dir: string;
let db: Db;
let clock: number;
let jobs: JobStore;
let ledger: DropletLedger;
let destroyed: number[];
/** What DigitalOcean answers to a destroy: null deletes it. */
let destroyRefusal: Error | null;
let events: TorrentJobEvent[];
let provisioning: Promise<void>;
let provisionStarted: () => void;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "job-budget-"));
  db = openDatabase(path.join(dir, "j.sqlite"));
  clock = Date.UTC(2026, 5, 1);
  jobs = new JobStore(db, () => clock, { torrent: torrentMayMove });
  ledger = new DropletLedger(db, () => clock);
  destroyed = [];
  destroyRefusal = null;
  events = [];
  provisioning = new Promise((r) => (provisionStarted = r));
});

afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** aria2 on the droplet while it seeds: reports `uploaded` of 6 MiB and never meets the policy by itself. */
let seeding: { uploaded: number; connects: number; started: Promise<void>; markStarted: () => void };

beforeEach(() => {
  let markStarted = () => undefined as void;
  const started = new Promise<void>((r) => (markStarted = r));
  seeding = { uploaded: 0, connects: 0, started, markStarted };
});

function runner(freeBytes = 1e12): TorrentJobRunner {
  // $3.60 an hour: a tenth of a cent a second.
  const cloud: DropletPort = {
    priceHourly: async () => 3.6,
    ensureSshKey: async () => 1,
    create: async () => ({ id: 4242 }),
    waitUntilActive: async () => ({ ip: "198.18.0.9" }),
    destroy: async (id) => {
      if (destroyRefusal) throw destroyRefusal;
      destroyed.push(id);
    },
    listByTag: async () => [],
  };
  const session = { close: async () => undefined, droppedConnections: () => 0 } as unknown as DropletSession;
  return new TorrentJobRunner({
    store: jobs,
    ledger,
    cloud,
    cloudInit: { generateHostKey: () => ({ privateKey: "p", publicKey: "ssh-ed25519 AAAA" }), userData: () => "" },
    ssh: {
      connect: async () => {
        seeding.connects++;
        return session;
      },
    },
    // A provisioning run that never finishes by itself once the droplet answers: only its signal ends it.
    provisioner: {
      provision: async ({ target }, { signal }) => {
        await target;
        return new Promise((_resolve, reject) => {
          provisionStarted();
          signal!.addEventListener("abort", () => reject(signal!.reason as Error));
        });
      },
    },
    torrents: {
      download: async () => Promise.reject(new Error("not reached")),
      seed: async (_session, { signal, onProgress, met }) => {
        const p = { uploadedBytes: seeding.uploaded, sizeBytes: 6 * MiB, uploadSpeed: 1024, connections: 1 };
        onProgress(p);
        if (met(p)) return { how: "met", uploadedBytes: p.uploadedBytes, sizeBytes: p.sizeBytes };
        seeding.markStarted();
        return new Promise((_resolve, reject) => signal!.addEventListener("abort", () => reject(signal!.reason as Error)));
      },
      applySeedPolicy: async () => Promise.reject(new Error("not reached")),
    },
    settings: { region: "fra1", size: "s-big", image: "debian-12-x64", bootTimeoutMs: 1000, downloadsDir: path.join(dir, "downloads"), perJobBudgetUsd: 1, minFreeBytes: 0, budgetCheckMs: 10 },
    logger: createLogger({ level: "silent" }),
    onEvent: (e) => void events.push(e),
    now: () => clock,
    freeSpace: async () => freeBytes,
  });
}

function approvedJob(sizeBytes: number | null = 1000): number {
  const job = jobs.create({ kind: "torrent", ownerId: 5, chatId: 5, state: "approved", input: { infoHash: "x", name: "t", sizeBytes, magnetUri: "magnet:?", torrentFile: null } });
  return job.id;
}

const MiB = 1024 * 1024;

/**
 * A job an earlier process left seeding (ratio 1.0): its one 6 MiB file verified at home, droplet 4242 up for
 * `aliveMinutes` at $3.60/h, aria2 on it still seeding.
 */
function jobLeftSeeding(aliveMinutes: number): number {
  const jobId = approvedJob(6 * MiB);
  for (const s of ["droplet_requested", "droplet_active", "ssh_ready", "provisioned", "downloading", "downloaded", "transferring", "transferred", "seeding"] as const) jobs.transition(jobId, s);
  const created = clock - aliveMinutes * 60_000;
  const rec = ledger.recordIntent({ jobId, name: `dropship-job-${jobId}`, region: "fra1", size: "s-big", priceHourly: 3.6, hostKeyPublic: "ssh-ed25519 AAAA" });
  ledger.markCreated(rec.id, 4242, created);
  ledger.markActive(rec.id, "198.18.0.9");
  const local = path.join(dir, "downloads", String(jobId), "t.bin");
  fs.mkdirSync(path.dirname(local), { recursive: true });
  fs.writeFileSync(local, "x");
  jobs.patchData(jobId, {
    startedAt: created,
    seedPolicy: "r1.0",
    allBytesAt: clock - 60_000,
    costAtTransferUsd: 0.01,
    downloadSeconds: 10,
    files: [{ path: "t.bin", size: 6 * MiB, sha256: "0".repeat(64) }],
  });
  return jobId;
}

async function ended(jobId: number): Promise<TorrentJobEvent> {
  for (let i = 0; i < 500; i++) {
    const e = events.find((x) => x.jobId === jobId && ["failed", "cancelled", "done"].includes(x.state));
    if (e) return e;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`job ${jobId} never ended; last state ${jobs.get(jobId)!.state}`);
}

describe("the per-job budget", () => {
  it("stops a job whose provisioning outlasts it, destroys the droplet and books the cost", async () => {
    const r = runner();
    const jobId = approvedJob();
    r.start(jobId);
    await provisioning;
    expect(jobs.get(jobId)!.state).toBe("ssh_ready");
    // Twenty minutes of provisioning at $3.60/h is $1.20: over the $1.00 budget.
    clock += 20 * 60_000;
    const end = await ended(jobId);
    expect(end.state).toBe("failed");
    expect(end.error).toBe("stopped: the droplet has cost $1.2000, over the job's budget of $1.00 (BUDGET_PER_JOB_USD)");
    expect(jobs.events(jobId).map((e) => e.state).slice(-2)).toEqual(["ssh_ready", "failed"]);
    expect(destroyed).toEqual([4242]);
    expect(jobs.spendForJob(jobId).actual).toBeCloseTo(1.2, 6);
  });

  it("leaves a job within its budget running", async () => {
    const r = runner();
    const jobId = approvedJob();
    r.start(jobId);
    await provisioning;
    clock += 10 * 60_000; // $0.60
    await new Promise((res) => setTimeout(res, 100));
    expect(jobs.get(jobId)!.state).toBe("ssh_ready");
    await r.cancel(jobId);
    expect(jobs.get(jobId)!.state).toBe("cancelled");
  });
});

describe("the per-job budget while seeding", () => {
  it("ends the seeding of a job resumed after a restart, destroys the droplet and keeps the files: the job is done", async () => {
    const r = runner();
    const jobId = jobLeftSeeding(5);
    seeding.uploaded = 3 * MiB;
    r.resume(jobId);
    await seeding.started;
    // Reattached to the droplet left seeding (no new droplet), still within the budget: it seeds on.
    expect(seeding.connects).toBe(1);
    expect(jobs.get(jobId)!.state).toBe("seeding");
    expect(destroyed).toEqual([]);
    // Twenty minutes on at $3.60/h: $1.50 in all, over the $1.00 budget.
    clock += 20 * 60_000;
    const end = await ended(jobId);
    expect(end.state).toBe("done");
    expect(destroyed).toEqual([4242]);
    const seeded = jobs.get<unknown, { seeded: { ratio: number; endedBy: string; uploadedBytes: number } }>(jobId)!.data.seeded;
    expect(seeded.endedBy).toBe("the droplet reached the job's budget of $1.00 (BUDGET_PER_JOB_USD)");
    expect(seeded.ratio).toBeCloseTo(0.5, 6);
    expect(seeded.uploadedBytes).toBe(3 * MiB);
    expect(end.result!.seeding).toMatchObject({ endedBy: seeded.endedBy, usd: 1.49 });
    expect(end.result!.actualUsd).toBeCloseTo(1.5, 6);
    expect(jobs.spendForJob(jobId).actual).toBeCloseTo(1.5, 6);
    expect(jobs.events(jobId).map((e) => e.state).slice(-3)).toEqual(["seeding", "droplet_destroyed", "done"]);
    expect(fs.existsSync(path.join(dir, "downloads", String(jobId), "t.bin"))).toBe(true);
  });

  it("lets a resumed seeding within the budget run until its policy is met", async () => {
    const r = runner();
    const jobId = jobLeftSeeding(5);
    seeding.uploaded = 6 * MiB;
    r.resume(jobId);
    const end = await ended(jobId);
    expect(end.state).toBe("done");
    expect(jobs.get<unknown, { seeded: { endedBy: string } }>(jobId)!.data.seeded.endedBy).toBe("the policy was met");
    expect(destroyed).toEqual([4242]);
  });
});

describe("what a failed or cancelled job says of its droplet", () => {
  it("a Cancel whose destroy DigitalOcean refuses records why and does not claim the droplet is destroyed", async () => {
    const r = runner();
    const jobId = approvedJob();
    r.start(jobId);
    await provisioning;
    destroyRefusal = new Error("DigitalOcean answered 500 to deleting droplet 4242");
    await r.cancel(jobId);
    const end = await ended(jobId);
    expect(end.state).toBe("cancelled");
    expect(end.cleanup).toEqual({ dropletCreated: true, dropletDestroyed: false, destroyError: "DigitalOcean answered 500 to deleting droplet 4242" });
    expect(jobs.get(jobId)!.error).toBe("cancelled, but the droplet could not be destroyed yet: DigitalOcean answered 500 to deleting droplet 4242; it will be retried");
    expect(ledger.live().map((d) => d.doId)).toEqual([4242]);
    expect(cleanupLine(end.cleanup)).toMatch(/^The droplet could not be destroyed yet \(DigitalOcean answered 500 .*\): Dropship keeps trying/);
    expect(torrentCancellation(r, jobs).describeStopped(jobId)).toMatch(/^its droplet could not be destroyed yet \(DigitalOcean answered 500/);
  });

  it("a failure whose destroy succeeds says so; one before any droplet says none was made", async () => {
    const r = runner();
    const jobId = approvedJob();
    r.start(jobId);
    await provisioning;
    clock += 20 * 60_000;
    const end = await ended(jobId);
    expect(end.cleanup).toEqual({ dropletCreated: true, dropletDestroyed: true });
    expect(cleanupLine(end.cleanup)).toBe("The droplet is destroyed and partial files are removed.");

    const small = runner(1);
    const refused = approvedJob(60 * 1024 * 1024);
    small.start(refused);
    const early = await ended(refused);
    expect(early.cleanup).toEqual({ dropletCreated: false, dropletDestroyed: true });
    expect(cleanupLine(early.cleanup)).toBe("No droplet was created; partial files are removed.");
  });
});

describe("the free-space check", () => {
  it("refuses a torrent of known size before any droplet is asked for", async () => {
    const r = runner(50 * 1024 * 1024);
    const jobId = approvedJob(60 * 1024 * 1024);
    r.start(jobId);
    const end = await ended(jobId);
    expect(end.error).toMatch(/^not enough free disk on the bot's host for the files: they need 60 MiB and 0 B must stay free \(DOWNLOAD_MIN_FREE_MB\), but .*downloads has 50 MiB free/);
    expect(ledger.forJob(jobId)).toEqual([]);
  });
});
