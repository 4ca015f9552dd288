// Picks the closest known name to a misspelt one (bounded Levenshtein distance).

/** Edit distance, giving up (returning max + 1) once it must exceed max. */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const v = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      cur.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    prev = cur;
  }
  return prev[b.length] ?? max + 1;
}

/** The nearest candidate within a distance that grows with the name's length, or null. */
export function closestName(name: string, candidates: Iterable<string>): string | null {
  const max = Math.max(1, Math.min(3, Math.floor(name.length / 3)));
  let best: string | null = null;
  let bestDist = max + 1;
  for (const c of candidates) {
    const d = editDistance(name, c, max);
    if (d < bestDist || (d === bestDist && best !== null && d <= max && c < best)) {
      best = c;
      bestDist = d;
    }
  }
  return bestDist <= max ? best : null;
}
