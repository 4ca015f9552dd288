// The file picker's pure model: the tree (root folder left out, folders before files, natural order), presses that
// say what they set, pages, totals, extension groups, aria2's select-file, and the codes buttons carry within 64 bytes.
import { describe, expect, it } from "vitest";
import {
  EXTENSION_GROUPS,
  PICK_CODE,
  ROWS_PER_PAGE,
  applyPick,
  buildFileTree,
  decodePick,
  encodePick,
  initialPickerState,
  pickerView,
  selectFileOption,
  selectedBytes,
  type PickAction,
  type PickerFile,
} from "../../../src/jobs/torrent/file-picker.js";
import { filePickerButton } from "../../../src/bot/callback-data.js";

// aria2 numbers files in the torrent's order (mktorrent sorts them): indexes are not the display order.
const FILES: PickerFile[] = [
  { index: 1, path: "Pack/S01/E10.mkv", size: 100 },
  { index: 2, path: "Pack/S01/E2.mkv", size: 200 },
  { index: 3, path: "Pack/S01/subs/E2.srt", size: 3 },
  { index: 4, path: "Pack/S02/E1.mkv", size: 400 },
  { index: 5, path: "Pack/cover.jpg", size: 50 },
  { index: 6, path: "Pack/README.txt", size: 7 },
];

const tree = buildFileTree(FILES);
const names = (view = pickerView(tree, initialPickerState(tree))) => view.rows.map((r) => `${"  ".repeat(r.depth)}${r.name}${r.kind === "folder" ? "/" : ""}`);

describe("buildFileTree", () => {
  it("leaves out the torrent's own folder and lists folders before files, in natural order", () => {
    expect(tree.root).toBe("Pack");
    expect(names()).toEqual(["S01/", "  subs/", "    E2.srt", "  E2.mkv", "  E10.mkv", "S02/", "  E1.mkv", "cover.jpg", "README.txt"]);
    expect(tree.folders.map((f) => [f.name, f.indexes.sort(), f.size])).toEqual([
      ["S01", [1, 2, 3], 303],
      ["subs", [3], 3],
      ["S02", [4], 400],
    ]);
  });

  it("has no root when the files do not share a first folder (a single-file torrent's one file)", () => {
    const t = buildFileTree([{ index: 1, path: "a.bin", size: 1 }, { index: 2, path: "b/c.bin", size: 2 }]);
    expect(t.root).toBeNull();
    expect(t.rows.map((r) => r.kind)).toEqual(["folder", "file", "file"]);
    expect(buildFileTree([{ index: 1, path: "only.iso", size: 9 }]).root).toBeNull();
  });
});

describe("applyPick", () => {
  const all = initialPickerState(tree);

  it("starts with every file chosen, and a file press sets what its button said", () => {
    expect(all).toEqual({ selected: [1, 2, 3, 4, 5, 6], page: 0 });
    const dropped = applyPick(tree, all, { kind: "file", index: 2, on: false });
    expect(dropped.selected).toEqual([1, 3, 4, 5, 6]);
    // A stale or double press does what it said again, not the opposite.
    expect(applyPick(tree, dropped, { kind: "file", index: 2, on: false })).toEqual(dropped);
    expect(applyPick(tree, dropped, { kind: "file", index: 2, on: true }).selected).toEqual([1, 2, 3, 4, 5, 6]);
    // An index the torrent does not have (a forged press) changes nothing.
    expect(applyPick(tree, dropped, { kind: "file", index: 99, on: true })).toEqual(dropped);
  });

  it("sets a whole folder, subfolders included; a partly chosen folder shows so and its press completes it", () => {
    const none = applyPick(tree, all, { kind: "none" });
    expect(none.selected).toEqual([]);
    const s01 = applyPick(tree, none, { kind: "folder", id: 0, on: true });
    expect(s01.selected).toEqual([1, 2, 3]);
    const partly = applyPick(tree, s01, { kind: "folder", id: 1, on: false });
    expect(partly.selected).toEqual([1, 2]);
    const row = pickerView(tree, partly).rows[0]!;
    expect(row).toMatchObject({ kind: "folder", name: "S01", checked: "some", press: { kind: "folder", id: 0, on: true } });
    expect(pickerView(tree, s01).rows[0]!).toMatchObject({ checked: "all", press: { kind: "folder", id: 0, on: false } });
    expect(pickerView(tree, none).rows[0]!).toMatchObject({ checked: "none", press: { kind: "folder", id: 0, on: true } });
  });

  it("all, none, largest only, and one extension group only", () => {
    const none = applyPick(tree, all, { kind: "none" });
    expect(applyPick(tree, none, { kind: "all" }).selected).toEqual([1, 2, 3, 4, 5, 6]);
    expect(applyPick(tree, all, { kind: "largest" }).selected).toEqual([4]);
    expect(applyPick(tree, all, { kind: "group", group: "video" }).selected).toEqual([1, 2, 4]);
    expect(applyPick(tree, all, { kind: "group", group: "subs" }).selected).toEqual([3]);
    expect(applyPick(tree, all, { kind: "group", group: "audio" }).selected).toEqual([]);
  });

  it("moves between pages within the tree, keeping the selection", () => {
    const many = buildFileTree(Array.from({ length: 25 }, (_, i) => ({ index: i + 1, path: `t/${String(i).padStart(2, "0")}.flac`, size: 1 })));
    const start = initialPickerState(many);
    expect(pickerView(many, start)).toMatchObject({ page: 0, pageCount: 3 });
    expect(applyPick(many, start, { kind: "page", page: 2 })).toEqual({ selected: start.selected, page: 2 });
    expect(applyPick(many, start, { kind: "page", page: 7 }).page).toBe(2);
    const last = pickerView(many, { selected: [], page: 2 });
    expect(last.rows.map((r) => r.name)).toEqual(["20.flac", "21.flac", "22.flac", "23.flac", "24.flac"]);
    expect(pickerView(many, { selected: [], page: 0 }).rows).toHaveLength(ROWS_PER_PAGE);
  });
});

describe("pickerView totals and select-file", () => {
  it("counts and sizes the chosen files against the whole, and lists the groups present", () => {
    const view = pickerView(tree, { selected: [2, 3], page: 0 });
    expect(view).toMatchObject({ selectedCount: 2, selectedBytes: 203, totalCount: 6, totalBytes: 760, pageCount: 1 });
    expect(view.groups).toEqual([
      { id: "video", label: "Video", count: 3 },
      { id: "subs", label: "Subtitles", count: 1 },
      { id: "images", label: "Images", count: 1 },
      { id: "docs", label: "Documents", count: 1 },
    ]);
    expect(selectedBytes(tree, [4, 5])).toBe(450);
  });

  it("gives aria2 the chosen indexes, or nothing when every file is chosen", () => {
    expect(selectFileOption(tree, [5, 2, 3])).toBe("2,3,5");
    expect(selectFileOption(tree, [1, 2, 3, 4, 5, 6])).toBeNull();
    // BEP 47 padding files are not in the picker's list: indexes keep aria2's numbering, gaps and all.
    const padded = buildFileTree([{ index: 1, path: "x/a", size: 1 }, { index: 3, path: "x/b", size: 1 }]);
    expect(selectFileOption(padded, [3])).toBe("3");
    expect(selectFileOption(padded, [1, 3])).toBeNull();
  });
});

describe("button codes", () => {
  const actions: PickAction[] = [
    { kind: "file", index: 123456, on: true },
    { kind: "file", index: 1, on: false },
    { kind: "folder", id: 0, on: true },
    { kind: "folder", id: 999_999, on: false },
    { kind: "all" },
    { kind: "none" },
    { kind: "largest" },
    ...EXTENSION_GROUPS.map((g) => ({ kind: "group", group: g.id }) as PickAction),
    { kind: "page", page: 20 },
    { kind: "confirm" },
  ];

  it("round-trip, and fit Telegram's 64 bytes with the largest job id", () => {
    for (const a of actions) {
      const code = encodePick(a);
      expect(decodePick(code)).toEqual(a);
      const data = filePickerButton.pack({ jobId: 999_999_999_999_999, code });
      expect(Buffer.byteLength(data)).toBeLessThanOrEqual(64);
      expect(filePickerButton.unpack(data)).toEqual({ jobId: "999999999999999", code });
    }
  });

  it("refuse what a picker never sends", () => {
    for (const junk of ["", "f2.1", "f1.", "f1.1234567", "g.nope", "p.-1", "ok!", "a.1", "d1.x"]) expect(decodePick(junk)).toBeNull();
    expect(new RegExp(`^(?:${PICK_CODE.source})$`).test("g.toolongforagroupname")).toBe(false);
  });
});
