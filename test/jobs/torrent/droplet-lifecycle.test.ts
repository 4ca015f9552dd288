// A job's droplet lifecycle when DigitalOcean loses answers: a create whose answer never came, and a create repeated
// after such a loss that made a second droplet. The lifecycle with real SQLite (ledger) and a DigitalOcean stand-in
// whose lists lag, as DigitalOcean's do; the real client and provider against the fake API are tested end to end in
// test/e2e/torrent-faults.test.ts.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, type Db } from "../../../src/storage/database.js";
import { JobStore } from "../../../src/jobs/job-store.js";
import { DropletLedger } from "../../../src/jobs/torrent/droplet-ledger.js";
import { DropletLifecycle } from "../../../src/jobs/torrent/droplet-lifecycle.js";
import type { DropletPort } from "../../../src/jobs/torrent/torrent-ports.js";

const PRICE = 0.00893;
let dir: string;
let db: Db;
let ledger: DropletLedger;
let jobId: number;

/** DigitalOcean in memory: what it made, what it destroyed, and how the job listed the tag. */
class Cloud implements DropletPort {
  droplets: { id: number; tag: string; createdAt: string }[] = [];
  destroyed: number[] = [];
  lists: { tag: string; settleSince?: number }[] = [];
  /** What create does: make a droplet and answer, or make one (or none) and lose the answer. */
  createOutcome: "answer" | "lost" | "lost, nothing made" | "answer, earlier one made too" = "answer";
  private nextId = 900;

  priceHourly = async () => PRICE;
  ensureSshKey = async () => 1;
  async create(spec: { tags: string[] }): Promise<{ id: number; afterLostAnswer?: boolean }> {
    const make = () => {
      const d = { id: this.nextId++, tag: spec.tags.at(-1)!, createdAt: new Date().toISOString() };
      this.droplets.push(d);
      return d;
    };
    if (this.createOutcome === "lost, nothing made") throw new Error("DigitalOcean did not answer while creating the droplet");
    if (this.createOutcome === "lost") {
      make();
      throw new Error("DigitalOcean did not answer while creating the droplet");
    }
    if (this.createOutcome === "answer, earlier one made too") {
      make(); // the attempt whose answer was lost
      return { id: make().id, afterLostAnswer: true };
    }
    return { id: make().id };
  }
  waitUntilActive = async () => ({ ip: "198.18.0.9" });
  async destroy(id: number): Promise<void> {
    this.destroyed.push(id);
    this.droplets = this.droplets.filter((d) => d.id !== id);
  }
  async listByTag(tag: string, opts: { settleSince?: number } = {}) {
    this.lists.push({ tag, settleSince: opts.settleSince });
    // Lists lag: only a caller that waits the lag out (settleSince) sees a droplet made a moment ago.
    return this.droplets.filter((d) => d.tag === tag && opts.settleSince !== undefined).map((d) => ({ id: d.id, name: "x", createdAt: d.createdAt }));
  }
}

function lifecycle(cloud: Cloud): DropletLifecycle {
  return new DropletLifecycle({
    cloud,
    cloudInit: { generateHostKey: () => ({ privateKey: "p", publicKey: "ssh-ed25519 AAAA" }), userData: () => "" },
    ledger,
    settings: { region: "fra1", size: "s-1vcpu-1gb", image: "debian-12-x64", bootTimeoutMs: 1000 },
  });
}

const hooks = { onRequested: () => undefined, onCreated: () => undefined };

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "lifecycle-"));
  db = openDatabase(path.join(dir, "l.sqlite"));
  ledger = new DropletLedger(db);
  jobId = new JobStore(db).create({ kind: "torrent", ownerId: 1, chatId: 1, state: "approved", input: {} }).id;
});

afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("DropletLifecycle when DigitalOcean loses answers", () => {
  it("finds the droplet of a create whose answer was lost (waiting out the list lag), destroys it and counts its cost", async () => {
    const cloud = new Cloud();
    cloud.createOutcome = "lost";
    const d = lifecycle(cloud);
    await expect(d.create(jobId, new AbortController().signal, hooks)).rejects.toThrow(/did not answer/);
    expect(d.created).toBe(false);
    await d.destroy();
    expect(cloud.lists).toEqual([{ tag: `dropship-job-${jobId}`, settleSince: expect.any(Number) }]);
    expect(cloud.droplets).toEqual([]);
    const [row] = ledger.forJob(jobId);
    expect(row).toMatchObject({ doId: cloud.destroyed[0], state: "destroyed" });
    expect(d.created).toBe(true);
    expect(d.destroyed).toBe(true);
    expect(d.costUsd()).toBe(0.01);
  });

  it("destroys and counts a duplicate a repeated create made, besides its own droplet", async () => {
    const cloud = new Cloud();
    cloud.createOutcome = "answer, earlier one made too";
    const d = lifecycle(cloud);
    await d.create(jobId, new AbortController().signal, hooks);
    const own = ledger.forJob(jobId)[0]!.doId!;
    await d.destroy();
    expect(cloud.droplets).toEqual([]);
    expect(cloud.destroyed[0]).toBe(own);
    expect(cloud.destroyed).toHaveLength(2);
    expect(ledger.forJob(jobId).map((r) => [r.doId, r.state])).toEqual(cloud.destroyed.map((id) => [id, "destroyed"]));
    expect(d.destroyed).toBe(true);
    // DigitalOcean's minimum charge, once per droplet.
    expect(d.costUsd()).toBe(0.02);
  });

  it("after a clean create, destroys its droplet without looking for others", async () => {
    const cloud = new Cloud();
    const d = lifecycle(cloud);
    await d.create(jobId, new AbortController().signal, hooks);
    await d.destroy();
    expect(cloud.lists).toEqual([]);
    expect(cloud.destroyed).toHaveLength(1);
    expect(d.costUsd()).toBe(0.01);
  });

  it("when nothing was made, destroys nothing and costs nothing; without a create call it does not even look", async () => {
    const cloud = new Cloud();
    cloud.createOutcome = "lost, nothing made";
    const d = lifecycle(cloud);
    await expect(d.create(jobId, new AbortController().signal, hooks)).rejects.toThrow();
    await d.destroy();
    expect(cloud.lists).toHaveLength(1);
    expect(cloud.destroyed).toEqual([]);
    expect(ledger.forJob(jobId).map((r) => r.state)).toEqual(["destroyed"]);
    expect(d.costUsd()).toBe(0);

    // Stopped before the create call (a budget refusal in onRequested): nothing can exist, nothing is listed.
    const quiet = new Cloud();
    const stopped = lifecycle(quiet);
    const otherJob = new JobStore(db).create({ kind: "torrent", ownerId: 1, chatId: 1, state: "approved", input: {} }).id;
    await expect(
      stopped.create(otherJob, new AbortController().signal, {
        ...hooks,
        onRequested: () => {
          throw new Error("over the budget");
        },
      }),
    ).rejects.toThrow("over the budget");
    await stopped.destroy();
    expect(quiet.lists).toEqual([]);
    expect(stopped.destroyed).toBe(true);
  });
});
