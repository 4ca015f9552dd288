// Small formatters for chat text: sizes in binary units, durations, dollars, speeds and a text progress bar.

export { formatBytes } from "../../shared/text-format.js";
import { formatBytes } from "../../shared/text-format.js";

/** A transfer rate: 1310720 → "1.25 MiB/s". */
export function formatSpeed(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** Whole seconds, two units at most: 5 → "5s", 65 → "1m 05s", 3720 → "1h 02m", 97200 → "1d 3h". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const pad = (n: number) => String(n).padStart(2, "0");
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

/**
 * US dollars. Droplet costs are often fractions of a cent, so amounts under $1 keep up to four decimals:
 * 1.5 → "$1.50", 0.00595 → "$0.006", 0.012 → "$0.012", 0.5 → "$0.50", 0.00001 → "<$0.0001".
 */
export function formatUsd(usd: number): string {
  if (!Number.isFinite(usd)) return "$?";
  if (usd < 0) return `-${formatUsd(-usd)}`;
  if (usd === 0) return "$0.00";
  if (usd < 0.0001) return "<$0.0001";
  if (usd >= 1) return `$${usd.toFixed(2)}`;
  return `$${usd.toFixed(4).replace(/0{1,2}$/, "")}`;
}

/** A fraction in 0..1 as a whole percentage, rounded down so that 100% means done: 0.999 → "99%". */
export function formatPercent(fraction: number): string {
  return `${Math.floor(clamp01(fraction) * 100)}%`;
}

/** A bar of `width` cells, filled by whole cells rounded down: progressBar(0.42, 10) → "▓▓▓▓░░░░░░". */
export function progressBar(fraction: number, width = 12): string {
  const filled = Math.floor(clamp01(fraction) * width);
  return "▓".repeat(filled) + "░".repeat(width - filled);
}

/** Shortens long names in the middle, where they differ least usefully: keeps the start and the extension. */
export function shortenMiddle(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  const tail = Math.min(Math.floor((max - 1) / 3), 20);
  return chars.slice(0, max - 1 - tail).join("") + "…" + chars.slice(chars.length - tail).join("");
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
