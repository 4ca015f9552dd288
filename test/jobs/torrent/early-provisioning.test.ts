// When a torrent job starts ansible-playbook: once DigitalOcean has made its droplet — so that the playbook's slow
// start overlaps the boot — and never for a job whose create fails (each start costs a Python process seconds of CPU;
// a burst of failing jobs once starved a loaded host). A boot that fails after the start ends the playbook. The runner
// with real SQLite and stand-ins for DigitalOcean, SSH and Ansible (their real behaviour is tested in test/e2e).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, type Db } from "../../../src/storage/database.js";
import { JobStore } from "../../../src/jobs/job-store.js";
import { DropletLedger } from "../../../src/jobs/torrent/droplet-ledger.js";
import { torrentMayMove } from "../../../src/jobs/torrent/torrent-states.js";
import { TorrentJobRunner, type TorrentJobEvent } from "../../../src/jobs/torrent/torrent-job.js";
import type { DropletPort, DropletSession, ProvisionTarget } from "../../../src/jobs/torrent/torrent-ports.js";
import { createLogger } from "../../../src/shared/logger.js";

let dir: string;
let db: Db;
let jobs: JobStore;
let ledger: DropletLedger;
let events: TorrentJobEvent[];
/** What happened, in order: DigitalOcean's calls and the playbook's start, end and target. */
let log: string[];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "early-prov-"));
  db = openDatabase(path.join(dir, "j.sqlite"));
  jobs = new JobStore(db, Date.now, { torrent: torrentMayMove });
  ledger = new DropletLedger(db, Date.now);
  events = [];
  log = [];
});

afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function runner(cloud: Partial<DropletPort>): TorrentJobRunner {
  const session = { close: async () => undefined, droppedConnections: () => 0 } as unknown as DropletSession;
  return new TorrentJobRunner({
    store: jobs,
    ledger,
    cloud: {
      priceHourly: async () => 0.01,
      ensureSshKey: async () => 1,
      create: async () => (log.push("create answered"), { id: 4242 }),
      waitUntilActive: async () => (log.push("active"), { ip: "198.18.0.9" }),
      destroy: async () => void log.push("destroyed"),
      listByTag: async () => [],
      ...cloud,
    },
    cloudInit: { generateHostKey: () => ({ privateKey: "p", publicKey: "ssh-ed25519 AAAA" }), userData: () => "" },
    ssh: { connect: async () => (log.push("ssh answered"), session) },
    provisioner: {
      provision: async ({ target }, { signal }) => {
        log.push("playbook started");
        signal?.addEventListener("abort", () => log.push("playbook stopped"));
        const t: ProvisionTarget = await target;
        log.push(`playbook told ${t.ip}`);
        // Ends the test's job here: the download is not what this file is about.
        throw new Error("provisioning stops here");
      },
    },
    torrents: {
      download: async () => Promise.reject(new Error("not reached")),
      seed: async () => Promise.reject(new Error("not reached")),
      applySeedPolicy: async () => Promise.reject(new Error("not reached")),
    },
    settings: { region: "fra1", size: "s-1vcpu-1gb", image: "debian-12-x64", bootTimeoutMs: 1000, downloadsDir: path.join(dir, "downloads"), perJobBudgetUsd: 1, minFreeBytes: 0 },
    logger: createLogger({ level: "silent" }),
    onEvent: (e) => void events.push(e),
    freeSpace: async () => 1e12,
  });
}

function approvedJob(): number {
  return jobs.create({ kind: "torrent", ownerId: 5, chatId: 5, state: "approved", input: { infoHash: "x", name: "t", sizeBytes: 1000, magnetUri: "magnet:?", torrentFile: null } }).id;
}

async function ended(jobId: number): Promise<TorrentJobEvent> {
  for (let i = 0; i < 500; i++) {
    const e = events.find((x) => x.jobId === jobId && ["failed", "cancelled", "done"].includes(x.state));
    if (e) return e;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`job ${jobId} never ended; last state ${jobs.get(jobId)!.state}`);
}

describe("a torrent job's early provisioning", () => {
  it("starts the playbook once the droplet is made, before it is active, and tells it the address once SSH answers", async () => {
    const r = runner({});
    const jobId = approvedJob();
    r.start(jobId);
    const end = await ended(jobId);
    expect(end.error).toBe("provisioning stops here");
    expect(log.slice(0, 5)).toEqual(["create answered", "playbook started", "active", "ssh answered", "playbook told 198.18.0.9"]);
  });

  it("starts no playbook for a job whose create fails", async () => {
    const r = runner({ create: () => Promise.reject(new Error("DigitalOcean refused the droplet")) });
    const jobId = approvedJob();
    r.start(jobId);
    const end = await ended(jobId);
    expect(end.error).toBe("DigitalOcean refused the droplet");
    expect(log).not.toContain("playbook started");
  });

  it("stops the playbook when the boot fails after it started", async () => {
    const r = runner({ waitUntilActive: () => Promise.reject(new Error("the droplet never became active")) });
    const jobId = approvedJob();
    r.start(jobId);
    const end = await ended(jobId);
    expect(end.error).toBe("the droplet never became active");
    expect(log).toEqual(["create answered", "playbook started", "playbook stopped", "destroyed"]);
  });
});
