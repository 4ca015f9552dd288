// Picks the closest known name to a misspelt one (Levenshtein distance, from fastest-levenshtein).
import { distance } from "fastest-levenshtein";

/** The nearest candidate within a distance that grows with the name's length, or null. */
export function closestName(name: string, candidates: Iterable<string>): string | null {
  const max = Math.max(1, Math.min(3, Math.floor(name.length / 3)));
  let best: string | null = null;
  let bestDist = max + 1;
  for (const c of candidates) {
    // The distance is at least the difference in length: skip the thousands of index names that cannot be near.
    if (Math.abs(name.length - c.length) > max) continue;
    const d = distance(name, c);
    if (d < bestDist || (d === bestDist && best !== null && d <= max && c < best)) {
      best = c;
      bestDist = d;
    }
  }
  return bestDist <= max ? best : null;
}
