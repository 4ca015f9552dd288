// "Seed after download" in the chat: the policy and its extra cost on the card, the ratio and upload while the droplet
// seeds, and what seeding reached in the summary.
import { describeSeedPolicy, seedPolicyOf, type SeedingCost, type SeedPolicy } from "../../jobs/torrent/seeding-policy.js";
import { formatBytes, formatDuration, formatSpeed, formatUsd } from "./format.js";

/** The card's line: "🌱 Seed after download: until ratio 1.0 — costs up to the per-job budget ($0.50)". */
export function seedPolicyLine(policy: SeedPolicy, cost: SeedingCost): string {
  const head = "🌱 Seed after download:";
  if (policy.kind === "none") return `${head} no (leave the swarm when the download is done).`;
  const what = policy.kind === "ratio" ? `until ratio ${policy.ratio.toFixed(1)} (uploaded ÷ size)` : `for ${policy.minutes} min`;
  const price =
    cost.kind === "exact"
      ? `adds ${formatUsd(cost.usd)} (${policy.kind === "time" ? policy.minutes : 0} min of the droplet)`
      : cost.kind === "up-to-budget"
        ? `adds at most the per-job budget (${formatUsd(cost.capUsd)}): how fast the swarm takes it decides`
        : "adds nothing";
  return `${head} ${what}, ${price}. The files come home meanwhile.`;
}

export interface SeedingFigures {
  policy: string;
  uploadedBytes: number;
  sizeBytes: number;
  ratio: number;
  seconds: number;
  uploadSpeed?: number;
}

/** While the droplet seeds: "Ratio 0.42 of 1.0 · 4.2 MiB uploaded · 1.2 MiB/s" and "Seeding for 1m 5s; your files are home." */
export function seedingLines(s: SeedingFigures): string[] {
  const policy = seedPolicyOf(s.policy);
  const target = policy.kind === "ratio" ? ` of ${policy.ratio.toFixed(1)}` : "";
  const until = policy.kind === "time" ? ` of ${policy.minutes} min` : "";
  return [
    `Ratio ${s.ratio.toFixed(2)}${target} · ${formatBytes(s.uploadedBytes)} uploaded · ${formatSpeed(s.uploadSpeed ?? 0)}`,
    `Seeding for ${formatDuration(s.seconds)}${until}; your files are already home.`,
  ];
}

/** The summary's line: "🌱 Seeded to ratio 1.02 (10.2 MiB uploaded of 10 MiB) for 45s, adding $0.0001; the policy was met." */
export function seedingSummaryLine(s: SeedingFigures & { usd: number; endedBy: string }): string {
  const policy = describeSeedPolicy(seedPolicyOf(s.policy));
  return (
    `🌱 Seeded to ratio ${s.ratio.toFixed(2)} (${formatBytes(s.uploadedBytes)} uploaded of ${formatBytes(s.sizeBytes)}) ` +
    `for ${formatDuration(s.seconds)}, adding ${formatUsd(s.usd)} (${policy}; ended: ${s.endedBy}).`
  );
}
