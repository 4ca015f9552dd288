// How long a torrent job gives back to the swarm after its download: not at all (default), until its upload reaches a
// ratio of the download, or for some minutes. Pure: the policy, its code on buttons, its extra cost, what aria2 is
// told, and whether a reading of aria2 meets it. Private trackers ban "hit and run"; seeding keeps the droplet (and
// its bill) running, so the card shows what it adds.

export type SeedPolicy = { kind: "none" } | { kind: "ratio"; ratio: number } | { kind: "time"; minutes: number };

export const NO_SEEDING: SeedPolicy = { kind: "none" };

/** The choices the card and /settings offer, in their order. */
export const SEED_CHOICES: readonly SeedPolicy[] = [
  NO_SEEDING,
  { kind: "ratio", ratio: 1 },
  { kind: "ratio", ratio: 2 },
  { kind: "time", minutes: 30 },
  { kind: "time", minutes: 60 },
];

/** A policy as a button's code: "n", "r1.0", "r2.5", "t30". */
export const SEED_CODE = /n|r\d{1,2}\.\d|t\d{1,4}/;

export function encodeSeedPolicy(p: SeedPolicy): string {
  if (p.kind === "none") return "n";
  if (p.kind === "ratio") return `r${p.ratio.toFixed(1)}`;
  return `t${p.minutes}`;
}

/** The policy a code names, or null for anything else (a forged button). Ratios 0.1–50, minutes 1–1440. */
export function decodeSeedPolicy(code: string): SeedPolicy | null {
  if (code === "n") return NO_SEEDING;
  const r = /^r(\d{1,2}\.\d)$/.exec(code);
  if (r) {
    const ratio = Number(r[1]);
    return ratio >= 0.1 && ratio <= 50 ? { kind: "ratio", ratio } : null;
  }
  const t = /^t(\d{1,4})$/.exec(code);
  if (t) {
    const minutes = Number(t[1]);
    return minutes >= 1 && minutes <= 1440 ? { kind: "time", minutes } : null;
  }
  return null;
}

/** A policy read back from a job's data or a user's settings row; anything unreadable is no seeding. */
export function seedPolicyOf(value: unknown): SeedPolicy {
  if (typeof value === "string") return decodeSeedPolicy(value) ?? NO_SEEDING;
  if (value && typeof value === "object" && "kind" in value) return decodeSeedPolicy(encodeSeedPolicy(value as SeedPolicy)) ?? NO_SEEDING;
  return NO_SEEDING;
}

export function sameSeedPolicy(a: SeedPolicy, b: SeedPolicy): boolean {
  return encodeSeedPolicy(a) === encodeSeedPolicy(b);
}

export function describeSeedPolicy(p: SeedPolicy): string {
  if (p.kind === "none") return "no seeding";
  if (p.kind === "ratio") return `seed until ratio ${p.ratio.toFixed(1)}`;
  return `seed for ${p.minutes} min`;
}

/** The button label: "None", "Ratio 1.0", "30 min". */
export function seedChoiceLabel(p: SeedPolicy): string {
  if (p.kind === "none") return "None";
  if (p.kind === "ratio") return `Ratio ${p.ratio.toFixed(1)}`;
  return `${p.minutes} min`;
}

/**
 * What seeding adds to a job's cost. Time: the minutes at the droplet's (and volume's) hourly price, exactly.
 * Ratio: unknown (it depends on the swarm's appetite), bounded only by the per-job budget, which stops it.
 */
export type SeedingCost = { kind: "none" } | { kind: "exact"; usd: number } | { kind: "up-to-budget"; capUsd: number };

export function seedingCost(p: SeedPolicy, prices: { dropletHourly: number; volumeHourly?: number; perJobBudgetUsd: number }): SeedingCost {
  if (p.kind === "none") return { kind: "none" };
  if (p.kind === "ratio") return { kind: "up-to-budget", capUsd: prices.perJobBudgetUsd };
  return { kind: "exact", usd: (p.minutes / 60) * (prices.dropletHourly + (prices.volumeHourly ?? 0)) };
}

/**
 * The estimate a job reserves against the budgets with its seeding: the download's estimate plus the time's cost, or
 * null (the per-job budget, what a job of unknown cost reserves) for a ratio. `baseUsd` null stays null.
 */
export function estimateWithSeeding(baseUsd: number | null, cost: SeedingCost): number | null {
  if (baseUsd === null || cost.kind === "up-to-budget") return null;
  return cost.kind === "exact" ? baseUsd + cost.usd : baseUsd;
}

/**
 * A ratio policy's `seed-time`: aria2 stops at whichever of the two is met first, and an option once given cannot be
 * unset by changeOption (a job that first said "none" has seed-time 0). A year: the per-job budget stops it long before.
 */
const UNBOUNDED_SEED_MINUTES = 525_600;

/**
 * Per-download aria2 options for a policy, both named so a change replaces the earlier ones. aria2 stops seeding by
 * itself when its rule is met (status "complete"), so a droplet whose bot is away still stops giving. `seed-ratio`
 * 0.0 means "regardless of ratio".
 */
export function aria2SeedOptions(p: SeedPolicy): Record<string, string> {
  if (p.kind === "none") return { "seed-time": "0", "seed-ratio": "0.0" };
  if (p.kind === "ratio") return { "seed-time": String(UNBOUNDED_SEED_MINUTES), "seed-ratio": p.ratio.toFixed(1) };
  return { "seed-time": String(p.minutes), "seed-ratio": "0.0" };
}

/** What seeding has done so far: bytes sent to the swarm, the torrent's (chosen) size, and seconds since all bytes. */
export interface SeedingReading {
  uploadedBytes: number;
  sizeBytes: number;
  seedingSeconds: number;
}

/** uploaded ÷ size, as aria2 counts a share ratio; 0 for an empty torrent. */
export function shareRatio(r: Pick<SeedingReading, "uploadedBytes" | "sizeBytes">): number {
  return r.sizeBytes > 0 ? r.uploadedBytes / r.sizeBytes : 0;
}

/** Whether the policy is met by this reading (the bot's own check; aria2 applies the same rule on the droplet). */
export function seedPolicyMet(p: SeedPolicy, r: SeedingReading): boolean {
  if (p.kind === "none") return true;
  if (p.kind === "ratio") return shareRatio(r) >= p.ratio;
  return r.seedingSeconds >= p.minutes * 60;
}
