// Median and spread of a benchmark's repeated runs, for `detail`.
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export function spread(xs: number[]): { min: number; median: number; max: number; runs: number } {
  return { min: Math.min(...xs), median: median(xs), max: Math.max(...xs), runs: xs.length };
}
