// The file picker's inline keyboard: the rows the renderer lays out (render/file-picker.ts) with their callback data,
// and the card's own last row under them (Start / Cancel, or Fetch / Cancel).
import { InlineKeyboard } from "grammy";
import type { PickerView } from "../jobs/torrent/file-picker.js";
import { filePickerButton } from "./callback-data.js";
import { pickerButtons } from "./render/file-picker.js";

export function pickerKeyboard(jobId: number, view: PickerView, lastRow: { text: string; data: string }[]): InlineKeyboard {
  const keyboard = new InlineKeyboard();
  for (const row of pickerButtons(view)) {
    for (const b of row) keyboard.text(b.text, filePickerButton.pack({ jobId, code: b.code }));
    keyboard.row();
  }
  for (const b of lastRow) keyboard.text(b.text, b.data);
  return keyboard;
}
