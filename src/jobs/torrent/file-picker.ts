// The file picker as data: a torrent's files as a tree of folders, which of them are chosen (aria2's file indexes),
// the page shown, what a button press does to that, and the compact code a button carries. Pure: no chat, no I/O —
// the card renders a PickerView (src/bot/render/file-picker.ts); the job stores a PickerState.
import path from "node:path";

/** One file of the torrent, as aria2 numbers it (its `select-file` index, from 1, in the torrent's order). */
export interface PickerFile {
  index: number;
  /** "/"-separated, as written in the torrent (or as aria2 stored it); for display only. */
  path: string;
  size: number;
}

/** What the user has chosen so far; kept in the job's data so a restart shows the same picker. */
export interface PickerState {
  /** aria2 file indexes, ascending. */
  selected: number[];
  /** 0-based. */
  page: number;
}

export type PickAction =
  | { kind: "file"; index: number; on: boolean }
  | { kind: "folder"; id: number; on: boolean }
  | { kind: "all" }
  | { kind: "none" }
  | { kind: "largest" }
  | { kind: "group"; group: ExtensionGroupId }
  | { kind: "page"; page: number }
  | { kind: "confirm" };

/** Rows a page shows: with the paging, bulk and confirm buttons that stays far below Telegram's 100 buttons. */
export const ROWS_PER_PAGE = 10;

export const EXTENSION_GROUPS = [
  { id: "video", label: "Video", extensions: ["mkv", "mp4", "avi", "mov", "m4v", "webm", "wmv", "ts", "mpg", "mpeg", "flv", "m2ts"] },
  { id: "audio", label: "Audio", extensions: ["mp3", "flac", "ogg", "opus", "m4a", "wav", "aac", "wma", "ape", "alac"] },
  { id: "subs", label: "Subtitles", extensions: ["srt", "ass", "ssa", "sub", "idx", "vtt"] },
  { id: "images", label: "Images", extensions: ["jpg", "jpeg", "png", "gif", "webp", "bmp", "tif", "tiff", "heic"] },
  { id: "docs", label: "Documents", extensions: ["pdf", "epub", "mobi", "djvu", "txt", "nfo", "doc", "docx", "md", "cbz", "cbr"] },
  { id: "archives", label: "Archives", extensions: ["zip", "rar", "7z", "tar", "gz", "tgz", "bz2", "xz", "zst", "iso", "img", "dmg"] },
] as const;

export type ExtensionGroupId = (typeof EXTENSION_GROUPS)[number]["id"];

interface FolderNode {
  id: number;
  name: string;
  depth: number;
  /** aria2 indexes of every file below it. */
  indexes: number[];
  size: number;
}

type TreeRow = { kind: "folder"; folder: FolderNode } | { kind: "file"; file: PickerFile; name: string; depth: number };

/** A torrent's files laid out once: the rows in display order (folders before their files) and the folders by id. */
export interface FileTree {
  /** The folder every path starts with (a multi-file torrent's name), left out of the rows; null when none. */
  root: string | null;
  files: PickerFile[];
  rows: TreeRow[];
  folders: FolderNode[];
}

export function buildFileTree(files: PickerFile[]): FileTree {
  const segments = files.map((f) => f.path.split("/").filter((s) => s !== ""));
  const first = segments[0]?.[0];
  const shared = first !== undefined && segments.every((s) => s.length > 1 && s[0] === first);
  const root = shared ? first : null;
  interface Dir { dirs: Map<string, Dir>; files: { file: PickerFile; name: string }[] }
  const top: Dir = { dirs: new Map(), files: [] };
  files.forEach((file, i) => {
    const segs = shared ? segments[i]!.slice(1) : segments[i]!;
    let dir = top;
    for (const seg of segs.slice(0, -1)) {
      let next = dir.dirs.get(seg);
      if (!next) dir.dirs.set(seg, (next = { dirs: new Map(), files: [] }));
      dir = next;
    }
    dir.files.push({ file, name: segs.at(-1) ?? file.path });
  });
  const rows: TreeRow[] = [];
  const folders: FolderNode[] = [];
  const byName = (a: string, b: string) => a.localeCompare(b, "en", { numeric: true, sensitivity: "base" });
  const walk = (dir: Dir, depth: number): number[] => {
    const below: number[] = [];
    for (const name of [...dir.dirs.keys()].sort(byName)) {
      const folder: FolderNode = { id: folders.length, name, depth, indexes: [], size: 0 };
      folders.push(folder);
      rows.push({ kind: "folder", folder });
      folder.indexes = walk(dir.dirs.get(name)!, depth + 1);
      folder.size = folder.indexes.reduce((n, i) => n + sizeOf(files, i), 0);
      below.push(...folder.indexes);
    }
    for (const f of [...dir.files].sort((a, b) => byName(a.name, b.name))) {
      rows.push({ kind: "file", file: f.file, name: f.name, depth });
      below.push(f.file.index);
    }
    return below;
  };
  walk(top, 0);
  return { root, files, rows, folders };
}

function sizeOf(files: PickerFile[], index: number): number {
  return files.find((f) => f.index === index)?.size ?? 0;
}

/** Every file chosen, first page: where a picker starts. */
export function initialPickerState(tree: FileTree): PickerState {
  return { selected: sortedUnique(tree.files.map((f) => f.index)), page: 0 };
}

export function pageCount(tree: FileTree): number {
  return Math.max(1, Math.ceil(tree.rows.length / ROWS_PER_PAGE));
}

/** The state after a press. Presses say what they set ("choose this folder"), so a stale or double press is harmless. */
export function applyPick(tree: FileTree, state: PickerState, action: PickAction): PickerState {
  const chosen = new Set(state.selected);
  const known = new Set(tree.files.map((f) => f.index));
  const set = (indexes: number[], on: boolean) => indexes.forEach((i) => (on ? chosen.add(i) : chosen.delete(i)));
  switch (action.kind) {
    case "file":
      if (known.has(action.index)) set([action.index], action.on);
      break;
    case "folder": {
      const folder = tree.folders[action.id];
      if (folder) set(folder.indexes, action.on);
      break;
    }
    case "all":
      set([...known], true);
      break;
    case "none":
      chosen.clear();
      break;
    case "largest": {
      const largest = tree.files.reduce<PickerFile | null>((best, f) => (best === null || f.size > best.size ? f : best), null);
      chosen.clear();
      if (largest) chosen.add(largest.index);
      break;
    }
    case "group":
      chosen.clear();
      set(tree.files.filter((f) => groupOf(f.path) === action.group).map((f) => f.index), true);
      break;
    case "page":
      return { selected: state.selected, page: Math.min(Math.max(0, action.page), pageCount(tree) - 1) };
    case "confirm":
      return state;
  }
  return { selected: sortedUnique([...chosen]), page: state.page };
}

export function groupOf(filePath: string): ExtensionGroupId | null {
  const ext = path.posix.extname(filePath).slice(1).toLowerCase();
  return EXTENSION_GROUPS.find((g) => (g.extensions as readonly string[]).includes(ext))?.id ?? null;
}

export interface PickerRow {
  kind: "folder" | "file";
  name: string;
  depth: number;
  size: number;
  /** A folder is "some" when only part of it is chosen. */
  checked: "all" | "some" | "none";
  /** What pressing this row does. */
  press: PickAction;
}

/** One page of the picker with its totals: everything a card needs to show it. */
export interface PickerView {
  root: string | null;
  rows: PickerRow[];
  page: number;
  pageCount: number;
  selectedCount: number;
  selectedBytes: number;
  totalCount: number;
  totalBytes: number;
  /** Extension groups present in this torrent, for "only video" and the like. */
  groups: { id: ExtensionGroupId; label: string; count: number }[];
}

export function pickerView(tree: FileTree, state: PickerState): PickerView {
  const chosen = new Set(state.selected);
  const page = Math.min(Math.max(0, state.page), pageCount(tree) - 1);
  const rows = tree.rows.slice(page * ROWS_PER_PAGE, (page + 1) * ROWS_PER_PAGE).map((row): PickerRow => {
    if (row.kind === "file") {
      const on = chosen.has(row.file.index);
      return { kind: "file", name: row.name, depth: row.depth, size: row.file.size, checked: on ? "all" : "none", press: { kind: "file", index: row.file.index, on: !on } };
    }
    const { folder } = row;
    const inside = folder.indexes.filter((i) => chosen.has(i)).length;
    const checked = inside === 0 ? "none" : inside === folder.indexes.length ? "all" : "some";
    // A partly chosen folder's press completes it; a fully chosen one's clears it.
    return { kind: "folder", name: folder.name, depth: folder.depth, size: folder.size, checked, press: { kind: "folder", id: folder.id, on: checked !== "all" } };
  });
  const picked = tree.files.filter((f) => chosen.has(f.index));
  const groups = EXTENSION_GROUPS.map((g) => ({ id: g.id, label: g.label, count: tree.files.filter((f) => groupOf(f.path) === g.id).length })).filter(
    (g) => g.count > 0,
  );
  return {
    root: tree.root,
    rows,
    page,
    pageCount: pageCount(tree),
    selectedCount: picked.length,
    selectedBytes: picked.reduce((n, f) => n + f.size, 0),
    totalCount: tree.files.length,
    totalBytes: tree.files.reduce((n, f) => n + f.size, 0),
    groups,
  };
}

/** The chosen files' total size. */
export function selectedBytes(tree: FileTree, selected: readonly number[]): number {
  const chosen = new Set(selected);
  return tree.files.filter((f) => chosen.has(f.index)).reduce((n, f) => n + f.size, 0);
}

/** aria2's `select-file` value for a selection ("2,5,7"), or null when every file is chosen (aria2's default). */
export function selectFileOption(tree: FileTree, selected: readonly number[]): string | null {
  const chosen = new Set(selected);
  if (tree.files.every((f) => chosen.has(f.index))) return null;
  return sortedUnique([...chosen]).join(",");
}

/** The code a picker button carries after "fp:<job>:" (callback data is at most 64 bytes; codes stay under 12). */
export const PICK_CODE = /f[01]\.\d{1,6}|d[01]\.\d{1,6}|a|n|l|g\.[a-z]{1,10}|p\.\d{1,6}|ok/;

export function encodePick(action: PickAction): string {
  switch (action.kind) {
    case "file":
      return `f${action.on ? 1 : 0}.${action.index}`;
    case "folder":
      return `d${action.on ? 1 : 0}.${action.id}`;
    case "all":
      return "a";
    case "none":
      return "n";
    case "largest":
      return "l";
    case "group":
      return `g.${action.group}`;
    case "page":
      return `p.${action.page}`;
    case "confirm":
      return "ok";
  }
}

/** The action a button's code stands for; null for anything a picker never sent. */
export function decodePick(code: string): PickAction | null {
  if (!new RegExp(`^(?:${PICK_CODE.source})$`).test(code)) return null;
  const [head, arg] = code.split(".") as [string, string | undefined];
  const n = Number(arg);
  switch (head) {
    case "f1":
    case "f0":
      return { kind: "file", index: n, on: head === "f1" };
    case "d1":
    case "d0":
      return { kind: "folder", id: n, on: head === "d1" };
    case "a":
      return { kind: "all" };
    case "n":
      return { kind: "none" };
    case "l":
      return { kind: "largest" };
    case "p":
      return { kind: "page", page: n };
    case "ok":
      return { kind: "confirm" };
    case "g": {
      const group = EXTENSION_GROUPS.find((g) => g.id === arg);
      return group ? { kind: "group", group: group.id } : null;
    }
  }
  return null;
}

function sortedUnique(xs: number[]): number[] {
  return [...new Set(xs)].sort((a, b) => a - b);
}
