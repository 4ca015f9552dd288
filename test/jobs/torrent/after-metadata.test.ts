// The step after a magnet's metadata, without aria2 or chat: the card's summary, the picker held open until Confirm
// or its deadline (then the owner's default), the choice recorded in the job, the size check on the chosen bytes,
// and a picker open when the process stopped coming back with the same selection and a fresh deadline.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, type Db } from "../../../src/storage/database.js";
import { JobStore } from "../../../src/jobs/job-store.js";
import { torrentMayMove } from "../../../src/jobs/torrent/torrent-states.js";
import { createLogger } from "../../../src/shared/logger.js";
import { FilePickers, settleMetadata, type FilePreferences, type MetadataDeps, type PickerShown, type TorrentSummary } from "../../../src/jobs/torrent/after-metadata.js";
import { SizeQuestions, type SizeQuestion } from "../../../src/jobs/torrent/metadata-check.js";
import { JobCancelled, type TorrentJobData } from "../../../src/jobs/torrent/torrent-job-model.js";
import type { TorrentMetadata } from "../../../src/jobs/torrent/torrent-ports.js";

const META: TorrentMetadata = {
  name: "Pack",
  totalBytes: 0,
  files: [
    { index: 1, path: "Pack/a/one.mkv", size: 1000 },
    { index: 2, path: "Pack/a/two.mkv", size: 2000 },
    { index: 3, path: "Pack/b/three.mkv", size: 4000 },
    { index: 4, path: "Pack/.pad/123", size: 123 },
  ],
};

let db: Db;
let jobs: JobStore;
let pickers: FilePickers;
let prefs: FilePreferences;
let checked: number[];
let shown: { summary: TorrentSummary; picker?: PickerShown; question?: SizeQuestion }[];
const log = createLogger({ level: "silent" });

beforeEach(() => {
  db = openDatabase(path.join(fs.mkdtempSync(path.join(os.tmpdir(), "after-metadata-")), "jobs.sqlite"));
  jobs = new JobStore(db, Date.now, { torrent: torrentMayMove });
  pickers = new FilePickers();
  prefs = { afterMetadata: "ask", onPickerTimeout: "all" };
  checked = [];
  shown = [];
});

afterEach(() => db.close());

function deps(timeoutMs = 5000): MetadataDeps {
  return {
    sizes: {
      jobs,
      questions: new SizeQuestions(),
      timeoutMs: 5000,
      now: Date.now,
      // Fits every cap; records the bytes it was asked about.
      check: async (_jobId, _owner, bytes) => (checked.push(bytes), { estimateUsd: bytes / 1e6, estimateSeconds: bytes / 100, overCap: null }),
    },
    pickers,
    pickerTimeoutMs: timeoutMs,
    preferences: () => prefs,
    estimate: async (_owner, bytes) => ({ usd: bytes / 1e6, seconds: bytes / 100 }),
  };
}

function newJob(): number {
  return jobs.create({ kind: "torrent", ownerId: 7, chatId: 7, state: "downloading", input: { infoHash: "a".repeat(40), name: null, sizeBytes: null, magnetUri: "magnet:?", torrentFile: null } }).id;
}

function settle(jobId: number, d = deps(), abort = new AbortController()) {
  return settleMetadata(d, { jobId, meta: META, abort, log, show: (extra) => shown.push(extra) });
}

const lastPicker = () => shown.filter((s) => s.picker).at(-1)!.picker!;
const untilPicker = async (n = 1) => {
  for (let i = 0; i < 200 && shown.filter((s) => s.picker).length < n; i++) await new Promise((r) => setTimeout(r, 5));
  return lastPicker();
};

describe("settleMetadata", () => {
  it("shows the real torrent, holds the picker open until Confirm, and returns aria2's select-file for the choice", async () => {
    const jobId = newJob();
    const done = settle(jobId);
    const first = await untilPicker();
    // The padding file aria2 lists is left out of everything.
    expect(shown[0]!.summary).toEqual({ name: "Pack", totalBytes: 7000, fileCount: 3, estimateUsd: 0.007, estimateSeconds: 70 });
    expect(first.view).toMatchObject({ selectedCount: 3, totalCount: 3, selectedBytes: 7000 });
    expect(first.deadline).toBeGreaterThan(Date.now());
    expect(jobs.get<unknown, TorrentJobData>(jobId)!.data.picker).toEqual({ selected: [1, 2, 3], page: 0 });

    expect(await pickers.press(jobId, { kind: "none" })).toEqual({ kind: "changed" });
    expect(await pickers.press(jobId, { kind: "confirm" })).toEqual({ kind: "empty" });
    await pickers.press(jobId, { kind: "folder", id: 0, on: true });
    expect(lastPicker()).toMatchObject({ view: { selectedCount: 2, selectedBytes: 3000 }, estimateUsd: 0.003, estimateSeconds: 30 });
    expect(await pickers.press(jobId, { kind: "confirm" })).toEqual({ kind: "confirmed", count: 2, bytes: 3000 });

    expect(await done).toEqual({ selectFiles: "1,2", bytes: 3000 });
    expect(await pickers.press(jobId, { kind: "all" })).toEqual({ kind: "not-waiting" });
    // The caps were checked for what will be fetched, and the choice is recorded for a restart.
    expect(checked).toEqual([3000]);
    expect(jobs.get<unknown, TorrentJobData>(jobId)!.data).toMatchObject({ picker: null, selectFiles: "1,2", selectedBytes: 3000, realSizeBytes: 7000, name: "Pack" });
    expect(shown.at(-1)!.summary).toMatchObject({ chosen: { count: 2, bytes: 3000 }, estimateUsd: 0.003 });
  });

  it("each press moves the deadline; with no press in time the owner's default fetches every file", async () => {
    const jobId = newJob();
    const started = Date.now();
    const done = settle(jobId, deps(300));
    const first = await untilPicker();
    await new Promise((r) => setTimeout(r, 150));
    await pickers.press(jobId, { kind: "file", index: 3, on: false });
    expect(lastPicker().deadline).toBeGreaterThan(first.deadline + 100);
    expect(await done).toEqual({ selectFiles: null, bytes: 7000 });
    // Held past the first deadline: the press gave it the full time again.
    expect(Date.now() - started).toBeGreaterThanOrEqual(440);
    expect(checked).toEqual([7000]);
  });

  it("cancels the job at the deadline when that is the owner's default, saying why", async () => {
    prefs = { afterMetadata: "ask", onPickerTimeout: "cancel" };
    const jobId = newJob();
    const abort = new AbortController();
    const err = await settle(jobId, deps(50), abort).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobCancelled);
    expect((err as JobCancelled).why).toBe("no files were chosen within 0 s, and your /settings say to cancel then");
    expect(abort.signal.reason).toBe(err);
    expect(jobs.get<unknown, TorrentJobData>(jobId)!.data.cancelRequested).toBe(true);
    expect(lastPicker().onTimeout).toBe("cancel");
    expect(checked).toEqual([]);
  });

  it("asks nothing when the owner fetches everything, or the torrent has one file", async () => {
    prefs = { afterMetadata: "all", onPickerTimeout: "cancel" };
    expect(await settle(newJob())).toEqual({ selectFiles: null, bytes: 7000 });
    prefs = { afterMetadata: "ask", onPickerTimeout: "cancel" };
    const single = settleMetadata(deps(), { jobId: newJob(), meta: { name: "x", totalBytes: 5, files: [{ index: 1, path: "x", size: 5 }] }, abort: new AbortController(), log, show: (e) => shown.push(e) });
    expect(await single).toEqual({ selectFiles: null, bytes: 5 });
    expect(shown.some((s) => s.picker)).toBe(false);
  });

  it("a picker open when the process stopped comes back with the same selection and a fresh deadline; a choice made stays made", async () => {
    const jobId = newJob();
    const abort = new AbortController();
    const first = settle(jobId, deps(), abort);
    const shownFirst = await untilPicker();
    await pickers.press(jobId, { kind: "file", index: 2, on: false });
    await pickers.press(jobId, { kind: "page", page: 0 });
    abort.abort(new Error("the bot is shutting down"));
    await expect(first).rejects.toThrow("shutting down");
    expect(pickers.isOpen(jobId)).toBe(false);

    // The next process: aria2 still holds the download, the metadata arrives again.
    await new Promise((r) => setTimeout(r, 20));
    const again = settle(jobId);
    const resumed = await untilPicker(4);
    expect(resumed.view.selectedCount).toBe(2);
    expect(resumed.deadline).toBeGreaterThan(shownFirst.deadline);
    await pickers.press(jobId, { kind: "confirm" });
    expect(await again).toEqual({ selectFiles: "1,3", bytes: 5000 });

    // aria2 restarted after the choice (a relaunch pauses at the metadata again): no picker, the same choice.
    const pickersBefore = shown.filter((s) => s.picker).length;
    expect(await settle(jobId)).toEqual({ selectFiles: "1,3", bytes: 5000 });
    expect(shown.filter((s) => s.picker)).toHaveLength(pickersBefore);
  });
});
