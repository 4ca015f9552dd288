// Words for "this size cannot be had there": what to try instead, from the sizes list (and, when a
// DigitalOcean 422 names them, the regions it says have capacity).
import type { CloudSize } from "./cloud-provider.js";

/** Null when `slug` is sold in `region`; otherwise why not, ending in a concrete DO_SIZE / DO_REGION to try. */
export function sizeProblem(sizes: CloudSize[], slug: string, region: string, regionsFromApi?: string[]): string | null {
  const size = sizes.find((s) => s.slug === slug);
  const inRegion = sizes.filter((s) => s.available && s.regions.includes(region));
  if (!size) {
    const cheapest = cheapestFirst(inRegion.length > 0 ? inRegion : sizes.filter((s) => s.available)).slice(0, 3);
    return `the size ${slug} does not exist — try ${cheapest.map((s) => `DO_SIZE=${s.slug} (${usd(s.priceHourly)}/h)`).join(", ")}`;
  }
  if (size.available && size.regions.includes(region) && !regionsFromApi) return null;
  const regions = (regionsFromApi ?? (size.available ? size.regions : [])).filter((r) => r !== region);
  const alternative = similarSize(inRegion, size);
  const tries = [
    alternative ? `DO_SIZE=${alternative.slug} (${usd(alternative.priceHourly)}/h)` : null,
    regions.length > 0 ? `DO_REGION=${regions[0]}` : null,
  ].filter((x): x is string => x !== null);
  const where = size.available ? `is not offered in ${region}` : "is no longer sold";
  const also = regions.length > 1 ? ` (${slug} is offered in ${regions.join(", ")})` : "";
  if (tries.length === 0) return `the size ${slug} ${where} — pick another size or region`;
  return `the size ${slug} ${where} — try ${tries.join(" or ")}${also}`;
}

/** The cheapest size in the region with at least as much memory and as many vCPUs. */
function similarSize(candidates: CloudSize[], wanted: CloudSize): CloudSize | undefined {
  const bigEnough = candidates.filter((s) => s.slug !== wanted.slug && s.memoryMb >= wanted.memoryMb && s.vcpus >= wanted.vcpus);
  return cheapestFirst(bigEnough)[0] ?? cheapestFirst(candidates.filter((s) => s.slug !== wanted.slug))[0];
}

function cheapestFirst(sizes: CloudSize[]): CloudSize[] {
  return [...sizes].sort((a, b) => a.priceHourly - b.priceHourly || a.slug.localeCompare(b.slug));
}

function usd(v: number): string {
  return `$${v.toFixed(v < 0.1 ? 5 : 4).replace(/0+$/, "").replace(/\.$/, "")}`;
}
