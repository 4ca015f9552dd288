// Messages for a job that failed or was cancelled: what happened, what to try, what was cleaned up and what it cost.
import { formatDuration, formatUsd, shortenMiddle } from "./format.js";
import { escapeHtml, fitMessage } from "./telegram-html.js";
import type { RenderedMessage } from "./torrent-card.js";

export interface FailureInput {
  /** The job's name (torrent name, playbook file); null for an unnamed one. */
  name: string | null;
  /** What went wrong, worded for the user, e.g. "No seeders answered within 5m 00s." Plain text. */
  reason: string;
  /** What the user can do about it, plain text. */
  hint?: string | null;
  /** What was cleaned up, plain text, e.g. "The droplet is destroyed and partial files are removed." */
  cleanup?: string | null;
  usd?: number | null;
  seconds?: number | null;
}

export function renderFailure(input: FailureInput): RenderedMessage {
  const lines = [`❌ <b>${escapeHtml(shortenMiddle(input.name ?? "Job", 200))}</b> failed`, escapeHtml(input.reason)];
  if (input.hint) lines.push(`💡 ${escapeHtml(input.hint)}`);
  const tail = costLine(input);
  if (input.cleanup || tail) lines.push("", [input.cleanup ? escapeHtml(input.cleanup) : "", tail].filter(Boolean).join(" "));
  return { text: fitMessage(lines.join("\n")) };
}

export interface CancelledInput {
  name: string | null;
  /** True when the job was cancelled before anything was rented. */
  createdNothing: boolean;
  /** Why, when it was not a press of Cancel (the file picker's default), plain text. */
  reason?: string | null;
  cleanup?: string | null;
  usd?: number | null;
  seconds?: number | null;
}

export function renderCancelled(input: CancelledInput): RenderedMessage {
  const lines = [`🛑 <b>${escapeHtml(shortenMiddle(input.name ?? "Job", 200))}</b> cancelled`];
  if (input.reason) lines.push(`${escapeHtml(input.reason.charAt(0).toUpperCase() + input.reason.slice(1))}.`);
  if (input.createdNothing) lines.push("Nothing was created and nothing was charged.");
  else {
    const tail = costLine(input);
    lines.push([input.cleanup ? escapeHtml(input.cleanup) : "", tail].filter(Boolean).join(" "));
  }
  return { text: fitMessage(lines.join("\n")) };
}

function costLine(input: { usd?: number | null; seconds?: number | null }): string {
  if (input.usd == null) return "";
  const took = input.seconds == null ? "" : ` for ${formatDuration(input.seconds)}`;
  return `It cost ${formatUsd(input.usd)}${took}.`;
}

/** What a failed or cancelled job's clean-up did, as it is: a droplet DigitalOcean would not destroy is not "destroyed". */
export function cleanupLine(cleanup: { dropletCreated: boolean; dropletDestroyed: boolean; destroyError?: string } | undefined): string {
  if (!cleanup) return "Partial files are removed.";
  if (!cleanup.dropletCreated) return "No droplet was created; partial files are removed.";
  if (cleanup.dropletDestroyed) return "The droplet is destroyed and partial files are removed.";
  const why = cleanup.destroyError ? ` (${cleanup.destroyError})` : "";
  return `The droplet could not be destroyed yet${why}: Dropship keeps trying until it is gone and books its cost. Partial files are removed.`;
}
