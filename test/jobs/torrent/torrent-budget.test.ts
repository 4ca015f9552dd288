// Start against the caps, in real SQLite: started jobs reserve their estimate and hold a droplet slot until their real
// cost is booked, so Starts pressed together are counted against each other.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, type Db } from "../../../src/storage/database.js";
import { JobStore } from "../../../src/jobs/job-store.js";
import { DropletLedger } from "../../../src/jobs/torrent/droplet-ledger.js";
import { torrentMayMove } from "../../../src/jobs/torrent/torrent-states.js";
import { TorrentBudget, type BudgetSettings } from "../../../src/jobs/torrent/torrent-budget.js";

const ALICE = 1;
const BOB = 2;
let db: Db;
let jobs: JobStore;
let settings: BudgetSettings;
let budget: TorrentBudget;

beforeEach(() => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "torrent-budget-"));
  db = openDatabase(path.join(dir, "b.sqlite"));
  jobs = new JobStore(db, Date.now, { torrent: torrentMayMove });
  settings = { perJobUsd: 1, monthlyUsd: 20, monthlyPerUserUsd: null, maxDroplets: 3, maxDropletsPerUser: 2 };
  budget = new TorrentBudget({ db, jobs, settings });
});

afterEach(() => db.close());

/** A card waiting for Start, with its estimate as requestTorrent records it. */
function card(ownerId: number, estimateUsd: number | null): number {
  const job = jobs.create({ kind: "torrent", ownerId, chatId: ownerId, state: "estimated", input: {} });
  jobs.patchData(job.id, { estimateUsd });
  return job.id;
}

const press = (jobId: number, estimateUsd: number | null) => budget.admit(jobId, jobs.get(jobId)!.ownerId, estimateUsd);

describe("TorrentBudget.admit", () => {
  it("lets ten Starts at once through only as far as the monthly budget reaches, and says the numbers", () => {
    Object.assign(settings, { monthlyUsd: 0.035, maxDroplets: 100, maxDropletsPerUser: 100 });
    const cards = Array.from({ length: 10 }, () => card(ALICE, 0.01));
    const outcomes = cards.map((id) => press(id, 0.01));
    expect(outcomes.filter((o) => o.kind === "approved")).toHaveLength(3);
    expect(cards.filter((id) => jobs.get(id)!.state === "approved")).toEqual(cards.slice(0, 3));
    const refused = outcomes[3]!;
    expect(refused.kind === "blocked" && refused.reason).toBe(
      "this month: $0.00 spent + $0.0300 reserved by 3 running jobs + $0.0100 for this job = $0.0400, over the monthly budget of $0.0350 (BUDGET_MONTHLY_USD)",
    );
  });

  it("turns the reservation into the real cost when the job ends", () => {
    Object.assign(settings, { monthlyUsd: 0.5 });
    const first = card(ALICE, 0.3);
    expect(press(first, 0.3)).toEqual({ kind: "approved" });
    const second = card(BOB, 0.3);
    expect(press(second, 0.3).kind).toBe("blocked");
    // It cost less than estimated: the real $0.05 is booked as the job ends, and the rest of the budget is free again.
    jobs.recordSpend({ jobId: first, userId: ALICE, kind: "actual", usd: 0.05 });
    jobs.transition(first, "failed", { error: "test" });
    expect(budget.commitments(null)).toMatchObject({ spentUsd: 0.05, reservedUsd: 0, runningJobs: 0 });
    expect(press(second, 0.3)).toEqual({ kind: "approved" });
  });

  it("reserves the per-job budget for a torrent whose size is unknown", () => {
    Object.assign(settings, { monthlyUsd: 1.5 });
    expect(press(card(ALICE, null), null)).toEqual({ kind: "approved" });
    expect(budget.commitments(null).reservedUsd).toBe(1);
    const next = press(card(BOB, null), null);
    expect(next.kind === "blocked" && next.reason).toMatch(/\$1\.00 reserved by 1 running job \+ \$1\.00 for this job = \$2\.00/);
  });

  it("caps droplets at once for everyone (MAX_DROPLETS) and per user (MAX_DROPLETS_PER_USER)", () => {
    expect(press(card(ALICE, 0.01), 0.01).kind).toBe("approved");
    expect(press(card(ALICE, 0.01), 0.01).kind).toBe("approved");
    const third = press(card(ALICE, 0.01), 0.01);
    expect(third.kind === "blocked" && third.reason).toBe(
      "you have 2 droplets running, the most per user is 2 (MAX_DROPLETS_PER_USER); press Start again when one has finished",
    );
    expect(press(card(BOB, 0.01), 0.01).kind).toBe("approved");
    const fourth = press(card(BOB, 0.01), 0.01);
    expect(fourth.kind === "blocked" && fourth.reason).toBe(
      "3 droplets are running, the most at once is 3 (MAX_DROPLETS); press Start again when one has finished",
    );
  });

  it("counts a droplet whose job has ended but which is not destroyed yet", () => {
    Object.assign(settings, { maxDropletsPerUser: 1 });
    const ended = card(ALICE, 0.01);
    press(ended, 0.01);
    const ledger = new DropletLedger(db);
    const rec = ledger.recordIntent({ jobId: ended, name: "d", region: "fra1", size: "s", priceHourly: 0.01, hostKeyPublic: "k" });
    ledger.markCreated(rec.id, 42);
    jobs.transition(ended, "failed", { error: "destroy failed" });
    const next = press(card(ALICE, 0.01), 0.01);
    expect(next.kind === "blocked" && next.reason).toMatch(/you have 1 droplet running/);
    ledger.markDestroyed(rec.id);
    expect(press(card(ALICE, 0.01), 0.01).kind).toBe("approved");
  });

  it("holds each user to BUDGET_MONTHLY_PER_USER_USD when it is set", () => {
    Object.assign(settings, { monthlyPerUserUsd: 0.5 });
    jobs.recordSpend({ jobId: null, userId: ALICE, kind: "actual", usd: 0.45 });
    const refused = press(card(ALICE, 0.1), 0.1);
    expect(refused.kind === "blocked" && refused.reason).toMatch(/^your spending this month: \$0\.45 spent \+ \$0\.10 for this job = \$0\.55, over the monthly budget of \$0\.50 \(BUDGET_MONTHLY_PER_USER_USD\)$/);
    expect(press(card(BOB, 0.1), 0.1).kind).toBe("approved");
  });

  it("refuses an estimate over the per-job budget, and a second press of the same card", () => {
    const big = press(card(ALICE, 2), 2);
    expect(big.kind === "blocked" && big.reason).toMatch(/over the per-job budget of \$1\.00/);
    const id = card(ALICE, 0.01);
    expect(press(id, 0.01).kind).toBe("approved");
    expect(press(id, 0.01).kind).toBe("not-waiting");
  });
});
