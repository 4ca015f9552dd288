// Median and spread of a benchmark's repeated runs, for `detail`, and the alternation of ours with the plain tool.
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export function spread(xs: number[]): { min: number; median: number; max: number; runs: number } {
  return { min: Math.min(...xs), median: median(xs), max: Math.max(...xs), runs: xs.length };
}

const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** Spread with its numbers rounded, for readable `detail`. */
export function roundedSpread(xs: number[], digits = 1): { min: number; median: number; max: number; runs: number } {
  const s = spread(xs);
  return { min: round(s.min, digits), median: round(s.median, digits), max: round(s.max, digits), runs: s.runs };
}

/**
 * Both sides of an alternating comparison, for `detail`: median and spread of each side and the ratio of the medians
 * (the figure a target is stated in), with the per-round ratios to show how much the ratio itself moves.
 */
export function comparison(ours: number[], plain: number[], digits = 1): Record<string, unknown> & { ratio: number } {
  return {
    ours: roundedSpread(ours, digits),
    plain: roundedSpread(plain, digits),
    ratio: round(median(ours) / median(plain), 3),
    perRoundRatio: ours.map((o, i) => round(o / plain[i]!, 3)),
  };
}

/** Runs ours and the plain baseline in turn (ours, plain, ours, plain, …), `runs` times each: both see the same load. */
export async function alternate<O, P>(runs: number, ours: (i: number) => Promise<O>, plain: (i: number) => Promise<P>): Promise<{ ours: O[]; plain: P[] }> {
  const out = { ours: [] as O[], plain: [] as P[] };
  for (let i = 0; i < runs; i++) {
    out.ours.push(await ours(i));
    out.plain.push(await plain(i));
  }
  return out;
}
