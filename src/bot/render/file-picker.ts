// The file picker on a card: the text (one page of the tree, with sizes, and the running total of size and cost) and
// the buttons as labels with the picker's own codes; src/bot/file-picker-keyboard.ts turns them into callback data.
import { EXTENSION_GROUPS, encodePick, type PickerRow, type PickerView } from "../../jobs/torrent/file-picker.js";
import { formatBytes, formatDuration, formatUsd, shortenMiddle } from "./format.js";
import { escapeHtml } from "./telegram-html.js";

export interface PickerFigures {
  view: PickerView;
  /** The estimate for the chosen files. */
  estimateUsd: number | null;
  estimateSeconds: number | null;
  /** A running job's picker ends at this time (ms since epoch) with the owner's default; absent on a card before Start. */
  deadline?: number | null;
  onTimeout?: "all" | "cancel";
}

/** Names on the page: long enough to tell episodes apart, short enough for ten rows in one message. */
const NAME_CHARS = 80;
const BUTTON_CHARS = 40;

const MARK = { all: "☑️", some: "➖", none: "⬜" } as const;

const GROUP_ICON: Record<string, string> = { video: "🎬", audio: "🎵", subs: "💬", images: "🖼", docs: "📄", archives: "🗜" };

export function renderPickerSection(p: PickerFigures): string[] {
  const v = p.view;
  const lines = [
    `📂 <b>Choose the files to fetch</b>: ${v.selectedCount} of ${v.totalCount} · ${formatBytes(v.selectedBytes)} of ${formatBytes(v.totalBytes)}`,
  ];
  if (v.selectedCount === 0) lines.push("Nothing chosen yet.");
  else if (p.estimateUsd !== null) {
    const time = p.estimateSeconds === null ? "" : `~${formatDuration(p.estimateSeconds)}, `;
    lines.push(`Estimate for these: ${time}about <b>${formatUsd(p.estimateUsd)}</b>`);
  }
  const where = v.root ? ` in ${escapeHtml(shortenMiddle(visible(v.root), 60))}` : "";
  const paging = v.pageCount > 1 ? `Page ${v.page + 1} of ${v.pageCount}${where}. ` : where ? `Files${where}. ` : "";
  lines.push(`<i>${paging}Tap a file to choose or drop it, a folder for everything in it.</i>`);
  for (const row of v.rows) lines.push(rowLine(row));
  if (p.deadline != null) {
    const at = new Date(p.deadline).toISOString().slice(11, 19);
    const then = p.onTimeout === "cancel" ? "the job is cancelled and its droplet destroyed" : "every file is fetched";
    lines.push(`No choice by ${at} UTC: ${then} (your /settings).`);
  }
  return lines;
}

function rowLine(row: PickerRow): string {
  const indent = "   ".repeat(row.depth);
  const icon = row.kind === "folder" ? "📁 " : "";
  const name = escapeHtml(shortenMiddle(visible(row.name), NAME_CHARS)) + (row.kind === "folder" ? "/" : "");
  return `${indent}${MARK[row.checked]} ${icon}${name} · ${formatBytes(row.size)}`;
}

export interface PickerButton {
  text: string;
  /** The picker's code for the press (file-picker.ts: encodePick). */
  code: string;
}

/** The picker's buttons, row by row: one per tree row, then paging, then all / none / largest, then the groups. */
export function pickerButtons(view: PickerView): PickerButton[][] {
  const rows: PickerButton[][] = view.rows.map((row) => [{ text: rowButton(row), code: encodePick(row.press) }]);
  const paging: PickerButton[] = [];
  if (view.page > 0) paging.push({ text: "« Previous", code: encodePick({ kind: "page", page: view.page - 1 }) });
  if (view.page < view.pageCount - 1) paging.push({ text: "Next »", code: encodePick({ kind: "page", page: view.page + 1 }) });
  if (paging.length > 0) rows.push(paging);
  rows.push([
    { text: "All", code: encodePick({ kind: "all" }) },
    { text: "None", code: encodePick({ kind: "none" }) },
    { text: "Largest only", code: encodePick({ kind: "largest" }) },
  ]);
  const groups = view.groups.map((g) => ({ text: `${GROUP_ICON[g.id] ?? ""} ${labelOf(g.id)} only`.trim(), code: encodePick({ kind: "group", group: g.id }) }));
  for (let i = 0; i < groups.length; i += 3) rows.push(groups.slice(i, i + 3));
  return rows;
}

function labelOf(id: string): string {
  return EXTENSION_GROUPS.find((g) => g.id === id)?.label ?? id;
}

function rowButton(row: PickerRow): string {
  const depth = row.depth > 0 ? `${"›".repeat(row.depth)} ` : "";
  const icon = row.kind === "folder" ? "📁 " : "";
  return `${MARK[row.checked]} ${depth}${icon}${shortenMiddle(visible(row.name), BUTTON_CHARS)} · ${formatBytes(row.size)}`;
}

/** Names are the torrent author's: control characters (a bell, a bidi override) are shown as � rather than acted on. */
function visible(name: string): string {
  return name.replace(/[\p{Cc}\u202A-\u202E\u2066-\u2069]/gu, "�");
}
