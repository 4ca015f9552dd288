// A job resumed after its ending was cut short books its droplet's cost once: the restart table caught a job killed at
// droplet_destroyed (cost booked, "done" not yet written) booking it a second time when the next start finished it.
// The runner with real SQLite; DigitalOcean and SSH are stand-ins that must not be needed (the droplet is gone).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { openDatabase, type Db } from "../../../src/storage/database.js";
import { JobStore } from "../../../src/jobs/job-store.js";
import { DropletLedger } from "../../../src/jobs/torrent/droplet-ledger.js";
import { torrentMayMove } from "../../../src/jobs/torrent/torrent-states.js";
import { TorrentJobRunner, type TorrentJobEvent } from "../../../src/jobs/torrent/torrent-job.js";
import { createLogger } from "../../../src/shared/logger.js";

let dir: string;
let db: Db;
let clock: number;
let jobs: JobStore;
let ledger: DropletLedger;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "resume-booking-"));
  db = openDatabase(path.join(dir, "j.sqlite"));
  clock = Date.UTC(2026, 5, 1);
  jobs = new JobStore(db, () => clock, { torrent: torrentMayMove });
  ledger = new DropletLedger(db, () => clock);
});

afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const unused = () => Promise.reject(new Error("not needed: the droplet is gone"));

it("books the cost once when a job killed at droplet_destroyed is finished by the next start", async () => {
  const file = { path: "a.bin", size: 3, sha256: "x".repeat(64), resumes: 0 };
  const jobId = jobs.create({ kind: "torrent", ownerId: 5, chatId: 5, state: "droplet_destroyed", input: { infoHash: "x", name: "t", sizeBytes: 3, magnetUri: "magnet:?", torrentFile: null } }).id;
  jobs.patchData(jobId, { startedAt: clock, files: [file], downloadSeconds: 1 });
  // Its droplet lived ten minutes at $0.06 an hour ($0.01) and was destroyed; the ending booked that, then the process died.
  const rec = ledger.recordIntent({ jobId, name: `dropship-job-${jobId}`, region: "fra1", size: "s-1vcpu-1gb", priceHourly: 0.06, hostKeyPublic: "ssh-ed25519 AAAA" });
  ledger.markCreated(rec.id, 4242, clock);
  clock += 10 * 60_000;
  ledger.markDestroying(rec.id);
  ledger.markDestroyed(rec.id);
  jobs.recordSpend({ jobId, userId: 5, kind: "actual", usd: 0.01, detail: "droplet 600 s" });

  const events: TorrentJobEvent[] = [];
  const runner = new TorrentJobRunner({
    store: jobs,
    ledger,
    cloud: { priceHourly: unused, ensureSshKey: unused, create: unused, waitUntilActive: unused, destroy: unused, listByTag: unused },
    cloudInit: { generateHostKey: () => ({ privateKey: "p", publicKey: "ssh-ed25519 AAAA" }), userData: () => "" },
    ssh: { connect: unused },
    provisioner: { provision: unused },
    torrents: { download: unused, seed: unused, applySeedPolicy: unused },
    settings: { region: "fra1", size: "s-1vcpu-1gb", image: "debian-12-x64", bootTimeoutMs: 1000, downloadsDir: path.join(dir, "downloads"), perJobBudgetUsd: 1, minFreeBytes: 0 },
    logger: createLogger({ level: "silent" }),
    onEvent: (e) => void events.push(e),
    now: () => clock,
    freeSpace: async () => 1e12,
  });
  runner.resume(jobId);
  for (let i = 0; i < 200 && !events.some((e) => e.state === "done"); i++) await new Promise((r) => setTimeout(r, 10));
  expect(jobs.get(jobId)!.state).toBe("done");
  expect(events.find((e) => e.state === "done")!.result!.actualUsd).toBeCloseTo(0.01, 6);
  expect(jobs.spendForJob(jobId).actual).toBeCloseTo(0.01, 6);
});
