// The torrent use-cases without any chat: requesting a torrent records its job and estimate; Start approves once,
// refuses strangers, stale cards and budgets; Cancel goes through the generic cancel. Real SQLite, real JobStore.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, type Db } from "../../../src/storage/database.js";
import { JobStore } from "../../../src/jobs/job-store.js";
import { JobCanceller } from "../../../src/jobs/cancel-job.js";
import { torrentMayMove } from "../../../src/jobs/torrent/torrent-states.js";
import { TorrentBudget } from "../../../src/jobs/torrent/torrent-budget.js";
import { TorrentQuoter } from "../../../src/jobs/torrent/torrent-quote.js";
import { torrentCancellation, type TorrentJobInput } from "../../../src/jobs/torrent/torrent-job.js";
import type { TorrentRequest } from "../../../src/jobs/torrent/torrent-request.js";
import type { CloudSize } from "../../../src/cloud/cloud-provider.js";
import {
  cancelTorrentFromCard,
  pickOnCard,
  recordCardMessage,
  requestTorrent,
  startTorrent,
  type TorrentUseCaseDeps,
} from "../../../src/jobs/torrent/torrent-use-cases.js";

const SIZE: CloudSize = {
  slug: "s-1vcpu-1gb", priceHourly: 0.00893, priceMonthly: 6, transferTb: 1, regions: ["fra1"], available: true,
  vcpus: 1, memoryMb: 1024, diskGb: 25, description: "Basic",
};
const OWNER = { ownerId: 7, chatId: 70 };
const STRANGER = 8;
const CARD_TTL_MS = 60_000;

const magnet = (name: string, sizeBytes: number | null): TorrentRequest => ({
  source: "magnet",
  infoHash: "0123456789abcdef0123456789abcdef01234567",
  infoHashV1: "0123456789abcdef0123456789abcdef01234567",
  infoHashV2: null,
  name,
  sizeBytes,
  trackers: [],
  magnetUri: `magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567&dn=${name}`,
});

let db: Db;
let jobs: JobStore;
let clock: number;
let monthlyBudget: number;
/** The runner as the card sees it: which jobs run, and which were stopped. */
let running: Set<number>;
let stopped: number[];
let deps: TorrentUseCaseDeps;

beforeEach(() => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "torrent-use-cases-"));
  db = openDatabase(path.join(dir, "jobs.sqlite"));
  clock = Date.UTC(2026, 5, 15, 12);
  monthlyBudget = 20;
  running = new Set();
  stopped = [];
  jobs = new JobStore(db, () => clock, { torrent: torrentMayMove });
  const quoter = new TorrentQuoter({
    sizes: { getSize: async (slug) => (slug === SIZE.slug ? SIZE : null), sizeProblem: async () => null },
    store: jobs,
    settings: { size: SIZE.slug, region: "fra1", speedBytesPerSecond: 50e6 },
    budget: new TorrentBudget({
      db,
      jobs,
      settings: { perJobUsd: 1, get monthlyUsd() { return monthlyBudget; }, monthlyPerUserUsd: null, maxDroplets: 3, maxDropletsPerUser: 2 },
      now: () => clock,
    }),
  });
  const runner = {
    isRunning: (id: number) => running.has(id),
    // Like the real runner: the job ends cancelled and is no longer running once cancel resolves.
    cancel: async (id: number) => {
      stopped.push(id);
      jobs.transition(id, "cancelled");
      return running.delete(id);
    },
  };
  const canceller = new JobCanceller(jobs, { torrent: torrentCancellation(runner, jobs) });
  deps = { jobs, quoter, canceller, cardTtlMs: CARD_TTL_MS, now: () => clock };
});

afterEach(() => db.close());

const requested = async (sizeBytes: number | null = 1_000_000) => (await requestTorrent(deps, OWNER, magnet("film", sizeBytes))).jobId;

describe("requestTorrent", () => {
  it("records an estimated job with the request, its estimate and the card's facts", async () => {
    const t = await requestTorrent(deps, OWNER, magnet("film", 2_000_000_000));
    expect(t).toMatchObject({ name: "film", sizeBytes: 2_000_000_000, fileCount: null, infoHash: "0123456789abcdef0123456789abcdef01234567" });
    expect(t.quote.usd).toBeGreaterThan(0);
    const job = jobs.get<TorrentJobInput>(t.jobId)!;
    expect(job).toMatchObject({ kind: "torrent", ownerId: 7, chatId: 70, state: "estimated" });
    expect(job.input).toEqual({ infoHash: t.infoHash, name: "film", sizeBytes: 2_000_000_000, magnetUri: magnet("film", 0).magnetUri, torrentFile: null });
    expect(job.data).toMatchObject({ size: SIZE.slug, region: "fra1", priceHourly: SIZE.priceHourly, estimateUsd: t.quote.usd, estimateSeconds: t.quote.seconds });
    expect(jobs.spendForJob(t.jobId)).toEqual({ estimate: t.quote.usd, actual: null });
  });

  it("keeps a .torrent document with the job and counts its files; an unknown size records no estimate", async () => {
    const doc = Buffer.from("d4:infod4:name4:filee");
    const req: TorrentRequest = { ...magnet("album", null), source: "torrent-file", torrentFile: doc, files: [{ index: 1, path: "a", sizeBytes: 1 }, { index: 2, path: "b", sizeBytes: 2 }] };
    const t = await requestTorrent(deps, OWNER, req);
    expect(t.fileCount).toBe(2);
    expect(t.quote.usd).toBeNull();
    expect(jobs.get<TorrentJobInput>(t.jobId)!.input.torrentFile).toBe(doc.toString("base64"));
    expect(jobs.spendForJob(t.jobId)).toEqual({ estimate: null, actual: null });
  });

  it("remembers the card's message", async () => {
    const jobId = await requested();
    recordCardMessage(jobs, jobId, 555);
    expect(jobs.get(jobId)!.data).toMatchObject({ cardMessageId: 555, estimateUsd: expect.any(Number) });
  });
});

describe("startTorrent", () => {
  it("approves on the first press only: a double press starts one job", async () => {
    const jobId = await requested();
    expect(startTorrent(deps, jobId, OWNER.ownerId)).toEqual({ kind: "started" });
    expect(startTorrent(deps, jobId, OWNER.ownerId)).toEqual({ kind: "already-started" });
    expect(jobs.get(jobId)!.state).toBe("approved");
    expect(jobs.events(jobId).filter((e) => e.state === "approved")).toHaveLength(1);
  });

  it("refuses a stranger's press and a button for no torrent job", async () => {
    const jobId = await requested();
    expect(startTorrent(deps, jobId, STRANGER)).toEqual({ kind: "not-yours" });
    expect(jobs.get(jobId)!.state).toBe("estimated");
    expect(startTorrent(deps, 9999, OWNER.ownerId)).toEqual({ kind: "invalid" });
    const playbook = jobs.create({ kind: "playbook", ownerId: OWNER.ownerId, chatId: OWNER.chatId, state: "estimated", input: {} });
    expect(startTorrent(deps, playbook.id, OWNER.ownerId)).toEqual({ kind: "invalid" });
  });

  it("cancels a card pressed after its time, once, and starts nothing", async () => {
    const jobId = await requested();
    clock += CARD_TTL_MS + 1;
    expect(startTorrent(deps, jobId, OWNER.ownerId)).toEqual({ kind: "expired", why: "too-old", closedNow: true });
    expect(jobs.get(jobId)!.state).toBe("cancelled");
    expect(jobs.events(jobId).at(-1)!.detail).toBe("card expired");
    expect(startTorrent(deps, jobId, OWNER.ownerId)).toEqual({ kind: "expired", why: "finished", closedNow: false });
  });

  it("still starts a card pressed just within its time", async () => {
    const jobId = await requested();
    clock += CARD_TTL_MS;
    expect(startTorrent(deps, jobId, OWNER.ownerId)).toEqual({ kind: "started" });
  });

  it("refuses while the month's budget would be passed, keeping the card usable", async () => {
    const jobId = await requested();
    jobs.recordSpend({ jobId: null, userId: OWNER.ownerId, kind: "actual", usd: 0.5 });
    monthlyBudget = 0.5;
    const outcome = startTorrent(deps, jobId, OWNER.ownerId);
    expect(outcome.kind).toBe("blocked");
    expect(outcome.kind === "blocked" && outcome.reason).toMatch(/monthly budget of \$0\.50/);
    expect(jobs.get(jobId)!.state).toBe("estimated");
    monthlyBudget = 20;
    expect(startTorrent(deps, jobId, OWNER.ownerId)).toEqual({ kind: "started" });
  });
});

describe("cancelTorrentFromCard", () => {
  it("cancels a card not yet started, creating nothing, and names the torrent", async () => {
    const jobId = await requested();
    const outcome = await cancelTorrentFromCard(deps, jobId, OWNER.ownerId);
    expect(outcome).toMatchObject({ kind: "cancelled", name: "film" });
    expect(jobs.get(jobId)!.state).toBe("cancelled");
    expect(jobs.events(jobId).at(-1)!.detail).toBe("cancelled with the card");
    expect(stopped).toEqual([]);
    // A second press finds it finished; Start no longer works either.
    expect(await cancelTorrentFromCard(deps, jobId, OWNER.ownerId)).toMatchObject({ kind: "finished", state: "cancelled" });
    expect(startTorrent(deps, jobId, OWNER.ownerId)).toMatchObject({ kind: "expired", why: "finished" });
  });

  it("stops a running job in the background", async () => {
    const jobId = await requested();
    startTorrent(deps, jobId, OWNER.ownerId);
    running.add(jobId);
    const outcome = await cancelTorrentFromCard(deps, jobId, OWNER.ownerId);
    expect(outcome.kind).toBe("stopping");
    if (outcome.kind === "stopping") await outcome.stopped;
    expect(stopped).toEqual([jobId]);
    expect(jobs.get(jobId)!.state).toBe("cancelled");
  });

  it("says an approved job that is not running has nothing to stop", async () => {
    const jobId = await requested();
    startTorrent(deps, jobId, OWNER.ownerId);
    expect(await cancelTorrentFromCard(deps, jobId, OWNER.ownerId)).toMatchObject({ kind: "not-running" });
    expect(jobs.get(jobId)!.state).toBe("approved");
  });

  it("refuses a stranger's press and a button for no torrent job", async () => {
    const jobId = await requested();
    expect(await cancelTorrentFromCard(deps, jobId, STRANGER)).toEqual({ kind: "not-yours" });
    expect(jobs.get(jobId)!.state).toBe("estimated");
    expect(await cancelTorrentFromCard(deps, 9999, OWNER.ownerId)).toEqual({ kind: "invalid" });
  });
});

describe("pickOnCard", () => {
  const GIB = 1024 ** 3;
  const album = (): TorrentRequest => ({
    ...magnet("album", 6 * GIB),
    source: "torrent-file",
    torrentFile: Buffer.from("d4:infod4:name5:albumee"),
    // aria2's numbers: 2 is a BEP 47 padding file, left out of the list.
    files: [
      { index: 1, path: "album/cd1/a.flac", sizeBytes: 1 * GIB },
      { index: 3, path: "album/cd1/b.flac", sizeBytes: 2 * GIB },
      { index: 4, path: "album/cd2/c.flac", sizeBytes: 3 * GIB },
    ],
  });
  const runner = { presses: [] as unknown[], pickFiles: async (jobId: number, action: unknown) => (runner.presses.push([jobId, action]), { kind: "changed" as const }) };
  const pickDeps = () => ({ ...deps, runner });
  type Data = { estimateUsd: number; selectFiles: string | null; selectedBytes: number; picker: { selected: number[] } | null };

  it("puts a .torrent's files on its card, every one chosen, and re-prices the card for each choice", async () => {
    const t = await requestTorrent(deps, OWNER, album());
    expect(t.picker).toMatchObject({ selectedCount: 3, totalCount: 3, root: "album" });
    const before = jobs.get<TorrentJobInput, Data>(t.jobId)!.data;
    expect(before).toMatchObject({ selectFiles: null, selectedBytes: 6 * GIB, picker: { selected: [1, 3, 4], page: 0 } });

    const out = await pickOnCard(pickDeps(), t.jobId, OWNER.ownerId, "d0.0");
    expect(out.kind).toBe("card");
    if (out.kind !== "card") return;
    expect(out.requested.picker).toMatchObject({ selectedCount: 1, selectedBytes: 3 * GIB });
    expect(out.requested.chosenFiles).toEqual([{ index: 4, path: "album/cd2/c.flac", sizeBytes: 3 * GIB }]);
    const after = jobs.get<TorrentJobInput, Data>(t.jobId)!.data;
    expect(after).toMatchObject({ selectFiles: "4", selectedBytes: 3 * GIB, estimateUsd: out.requested.quote.usd });
    // Half the bytes: a smaller estimate, and Start admits that one.
    expect(after.estimateUsd).toBeLessThan(before.estimateUsd);
    expect(startTorrent(deps, t.jobId, OWNER.ownerId)).toEqual({ kind: "started" });
    expect(jobs.get<TorrentJobInput, Data>(t.jobId)!.data.picker).toBeNull();
  });

  it("refuses Start with nothing chosen, a stranger's press, a forged code and an expired card", async () => {
    const t = await requestTorrent(deps, OWNER, album());
    await pickOnCard(pickDeps(), t.jobId, OWNER.ownerId, "n");
    expect(startTorrent(deps, t.jobId, OWNER.ownerId)).toEqual({ kind: "nothing-chosen" });
    expect(jobs.get(t.jobId)!.state).toBe("estimated");
    expect(await pickOnCard(pickDeps(), t.jobId, STRANGER, "a")).toEqual({ kind: "not-yours" });
    expect(await pickOnCard(pickDeps(), t.jobId, OWNER.ownerId, "f1.x")).toEqual({ kind: "invalid" });
    expect(await pickOnCard(pickDeps(), t.jobId, OWNER.ownerId, "ok")).toEqual({ kind: "not-waiting" });
    clock += CARD_TTL_MS + 1;
    expect(await pickOnCard(pickDeps(), t.jobId, OWNER.ownerId, "a")).toEqual({ kind: "expired" });
    expect(jobs.get<TorrentJobInput, Data>(t.jobId)!.data.selectedBytes).toBe(0);
  });

  it("gives a running job's presses to its runner, and a finished job's to nobody", async () => {
    const jobId = await requested();
    startTorrent(deps, jobId, OWNER.ownerId);
    runner.presses.length = 0;
    expect(await pickOnCard(pickDeps(), jobId, OWNER.ownerId, "f1.2")).toEqual({ kind: "running", outcome: { kind: "changed" } });
    expect(runner.presses).toEqual([[jobId, { kind: "file", index: 2, on: true }]]);
    jobs.transition(jobId, "cancelled");
    expect(await pickOnCard(pickDeps(), jobId, OWNER.ownerId, "a")).toEqual({ kind: "finished" });
    // A magnet's card has no picker before Start.
    const magnetJob = await requested();
    expect(await pickOnCard(pickDeps(), magnetJob, OWNER.ownerId, "a")).toEqual({ kind: "not-waiting" });
  });
});
