// The file picker as the chat shows it: one page of the tree with sizes and marks, the running total, the deadline
// and what follows it; names escaped and their control characters defused; every page of a large torrent with long
// names within Telegram's limits (message length, buttons, 64-byte callback data).
import { describe, expect, it } from "vitest";
import { applyPick, buildFileTree, initialPickerState, pageCount, pickerView, type PickerFile } from "../../src/jobs/torrent/file-picker.js";
import { pickerButtons, renderPickerSection } from "../../src/bot/render/file-picker.js";
import { renderTorrentProgress } from "../../src/bot/render/torrent-progress.js";
import { visibleLength } from "../../src/bot/render/telegram-html.js";
import { pickerKeyboard } from "../../src/bot/file-picker-keyboard.js";

const FILES: PickerFile[] = [
  { index: 1, path: "Pack/S01/E01 <b>.mkv", size: 5 * 1024 * 1024 },
  { index: 2, path: "Pack/S01/E02\u0007bell\u202Evkm.mkv", size: 6 * 1024 * 1024 },
  { index: 3, path: "Pack/notes.txt", size: 1000 },
];

describe("renderPickerSection", () => {
  it("shows the running total, one page of the tree with marks and sizes, and the estimate for the choice", () => {
    const tree = buildFileTree(FILES);
    const state = applyPick(tree, initialPickerState(tree), { kind: "file", index: 2, on: false });
    const lines = renderPickerSection({ view: pickerView(tree, state), estimateUsd: 0.0123, estimateSeconds: 95 });
    expect(lines).toEqual([
      "📂 <b>Choose the files to fetch</b>: 2 of 3 · 5 MiB of 11 MiB",
      "Estimate for these: ~1m 35s, about <b>$0.0123</b>",
      "<i>Files in Pack. Tap a file to choose or drop it, a folder for everything in it.</i>",
      "➖ 📁 S01/ · 11 MiB",
      "   ☑️ E01 &lt;b&gt;.mkv · 5 MiB",
      "   ⬜ E02�bell�vkm.mkv · 6 MiB",
      "☑️ notes.txt · 1000 B",
    ]);
  });

  it("says when the picker ends and what follows, as the owner's settings say; nothing chosen says so", () => {
    const tree = buildFileTree(FILES);
    const none = pickerView(tree, { selected: [], page: 0 });
    const deadline = Date.UTC(2026, 0, 1, 8, 12, 30);
    expect(renderPickerSection({ view: none, estimateUsd: 0.01, estimateSeconds: 1, deadline, onTimeout: "all" })).toEqual(
      expect.arrayContaining(["Nothing chosen yet.", "No choice by 08:12:30 UTC: every file is fetched (your /settings)."]),
    );
    expect(renderPickerSection({ view: none, estimateUsd: null, estimateSeconds: null, deadline, onTimeout: "cancel" }).at(-1)).toBe(
      "No choice by 08:12:30 UTC: the job is cancelled and its droplet destroyed (your /settings).",
    );
  });
});

describe("every page of a 500-file torrent with 255-character names", () => {
  const long = (i: number) => `${"x".repeat(240)} part ${String(i).padStart(4, "0")}.mkv`;
  const files: PickerFile[] = Array.from({ length: 500 }, (_, i) => ({ index: i + 1, path: `${"Box ".repeat(40)}/${"dir ".repeat(50)}${Math.floor(i / 50)}/${long(i)}`, size: 1e9 + i }));
  const tree = buildFileTree(files);

  it("fits Telegram's limits: text, buttons per row and in all, 64-byte callback data", () => {
    const pages = pageCount(tree);
    expect(pages).toBe(51);
    for (let page = 0; page < pages; page++) {
      const view = pickerView(tree, { selected: [1, 2, 3], page });
      const text = renderTorrentProgress({
        phase: "downloading",
        name: "y".repeat(300),
        costSoFarUsd: 0.01,
        elapsedSeconds: 100,
        detail: "z".repeat(200),
        summary: { totalBytes: 5e11, fileCount: 500, estimateUsd: 0.5, estimateSeconds: 3600 },
        picker: { view, estimateUsd: 0.1, estimateSeconds: 100, deadline: Date.now(), onTimeout: "all" },
      }).text;
      expect(visibleLength(text)).toBeLessThanOrEqual(4096);
      // Whole: the page's rows are not cut off by the length limit.
      expect(text).not.toMatch(/…$/);
      const keyboard = pickerKeyboard(999_999_999_999_999, view, [{ text: "Cancel", data: "t:cancel:999999999999999" }]).inline_keyboard;
      expect(keyboard.flat().length).toBeLessThanOrEqual(100);
      for (const row of keyboard) expect(row.length).toBeLessThanOrEqual(8);
      for (const b of keyboard.flat()) {
        expect(Buffer.byteLength((b as { callback_data: string }).callback_data)).toBeLessThanOrEqual(64);
        expect(b.text.length).toBeLessThanOrEqual(64);
      }
    }
  });

  it("lays out rows, paging, the bulk choices and the groups present", () => {
    const rows = pickerButtons(pickerView(tree, { selected: [], page: 1 }));
    expect(rows).toHaveLength(10 + 3);
    expect(rows[10]!.map((b) => b.text)).toEqual(["« Previous", "Next »"]);
    expect(rows[11]!.map((b) => b.code)).toEqual(["a", "n", "l"]);
    expect(rows[12]!.map((b) => b.text)).toEqual(["🎬 Video only"]);
    expect(pickerButtons(pickerView(tree, { selected: [], page: 0 }))[10]!.map((b) => b.text)).toEqual(["Next »"]);
  });
});

describe("a size question about chosen files", () => {
  it("speaks of the files chosen, not of what the link claimed for the whole torrent", () => {
    const question = { realBytes: 3 * 1024 * 1024, claimedBytes: 300 * 1024 * 1024, fileCount: 2, estimateUsd: 0.08, estimateSeconds: 60, overCap: "the new estimate $0.08 is over the per-job budget of $0.05 (BUDGET_PER_JOB_USD)", deadline: Date.UTC(2026, 0, 1, 9, 30) };
    const base = { phase: "downloading" as const, name: "Pack", costSoFarUsd: 0.01, elapsedSeconds: 30 };
    expect(renderTorrentProgress({ ...base, question: { ...question, chosenOf: 12 } }).text).toContain("⚠️ <b>The 2 files chosen (of 12) are 3 MiB</b>. New estimate: $0.08, about 1m 00s.");
    expect(renderTorrentProgress({ ...base, question }).text).toContain("⚠️ <b>The torrent is 3 MiB in 2 files</b> (not 300 MiB as the link said).");
  });
});
