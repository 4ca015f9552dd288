// The fake DigitalOcean API's catalogue: regions, sizes and images shaped like GET /v2/regions and /v2/sizes.
// Prices and allowances follow DigitalOcean's public price list (2025); s-1vcpu-512mb-10gb is deliberately
// missing from fra1 so that "size not offered in region" can be exercised with the default region.

export interface FakeSize {
  slug: string;
  memory: number;
  vcpus: number;
  disk: number;
  transfer: number;
  price_monthly: number;
  price_hourly: number;
  regions: string[];
  available: boolean;
  description: string;
  disk_info: { type: "local"; size: { amount: number; unit: "gib" } }[];
}

export interface FakeRegion {
  name: string;
  slug: string;
  features: string[];
  available: boolean;
  sizes: string[];
}

const FEATURES = ["backups", "ipv6", "metadata", "install_agent", "storage", "image_transfer"];

/** slug → display name; nyc2 is closed to new droplets, as on the real platform. */
const REGION_NAMES: Record<string, string> = {
  nyc1: "New York 1",
  nyc2: "New York 2",
  nyc3: "New York 3",
  sfo2: "San Francisco 2",
  sfo3: "San Francisco 3",
  ams3: "Amsterdam 3",
  sgp1: "Singapore 1",
  lon1: "London 1",
  fra1: "Frankfurt 1",
  tor1: "Toronto 1",
  blr1: "Bangalore 1",
  syd1: "Sydney 1",
  atl1: "Atlanta 1",
};
const CLOSED_REGIONS = new Set(["nyc2"]);
const OPEN_REGIONS = Object.keys(REGION_NAMES).filter((r) => !CLOSED_REGIONS.has(r));
const PREMIUM_REGIONS = ["nyc1", "nyc3", "sfo3", "ams3", "sgp1", "lon1", "fra1", "tor1", "blr1", "syd1"];
const DEDICATED_REGIONS = ["nyc1", "nyc3", "sfo3", "ams3", "lon1", "fra1", "tor1", "blr1", "sgp1"];
const TINY_REGIONS = ["ams3", "blr1", "nyc1", "sfo3", "sgp1", "syd1", "atl1"];

// [slug, vcpus, memory MiB, disk GiB, transfer TB, $/month, $/hour, description, regions]
type Row = [string, number, number, number, number, number, number, string, string[]];
const ROWS: Row[] = [
  ["s-1vcpu-512mb-10gb", 1, 512, 10, 0.5, 4, 0.00595, "Basic", TINY_REGIONS],
  ["s-1vcpu-1gb", 1, 1024, 25, 1, 6, 0.00893, "Basic", OPEN_REGIONS],
  ["s-1vcpu-1gb-amd", 1, 1024, 25, 1, 7, 0.01042, "Basic AMD", PREMIUM_REGIONS],
  ["s-1vcpu-1gb-intel", 1, 1024, 25, 1, 7, 0.01042, "Basic Intel", PREMIUM_REGIONS],
  ["s-1vcpu-1gb-35gb-intel", 1, 1024, 35, 1, 8, 0.0119, "Basic Intel", PREMIUM_REGIONS],
  ["s-1vcpu-2gb", 1, 2048, 50, 2, 12, 0.01786, "Basic", OPEN_REGIONS],
  ["s-1vcpu-2gb-amd", 1, 2048, 50, 2, 14, 0.02083, "Basic AMD", PREMIUM_REGIONS],
  ["s-1vcpu-2gb-intel", 1, 2048, 50, 2, 14, 0.02083, "Basic Intel", PREMIUM_REGIONS],
  ["s-1vcpu-2gb-70gb-intel", 1, 2048, 70, 2, 16, 0.02381, "Basic Intel", PREMIUM_REGIONS],
  ["s-2vcpu-2gb", 2, 2048, 60, 3, 18, 0.02679, "Basic", OPEN_REGIONS],
  ["s-2vcpu-2gb-amd", 2, 2048, 60, 3, 21, 0.03125, "Basic AMD", PREMIUM_REGIONS],
  ["s-2vcpu-2gb-intel", 2, 2048, 60, 3, 21, 0.03125, "Basic Intel", PREMIUM_REGIONS],
  ["s-2vcpu-2gb-90gb-intel", 2, 2048, 90, 3, 24, 0.03571, "Basic Intel", PREMIUM_REGIONS],
  ["s-2vcpu-4gb", 2, 4096, 80, 4, 24, 0.03571, "Basic", OPEN_REGIONS],
  ["s-2vcpu-4gb-amd", 2, 4096, 80, 4, 28, 0.04167, "Basic AMD", PREMIUM_REGIONS],
  ["s-2vcpu-4gb-intel", 2, 4096, 80, 4, 28, 0.04167, "Basic Intel", PREMIUM_REGIONS],
  ["s-2vcpu-4gb-120gb-intel", 2, 4096, 120, 4, 32, 0.04762, "Basic Intel", PREMIUM_REGIONS],
  ["s-2vcpu-8gb-amd", 2, 8192, 100, 5, 42, 0.0625, "Basic AMD", PREMIUM_REGIONS],
  ["c-2", 2, 4096, 25, 4, 42, 0.0625, "CPU-Optimized", DEDICATED_REGIONS],
  ["c2-2vcpu-4gb", 2, 4096, 50, 4, 47, 0.06994, "CPU-Optimized 2x SSD", DEDICATED_REGIONS],
  ["s-2vcpu-8gb-160gb-intel", 2, 8192, 160, 5, 48, 0.07143, "Basic Intel", PREMIUM_REGIONS],
  ["s-4vcpu-8gb", 4, 8192, 160, 5, 48, 0.07143, "Basic", OPEN_REGIONS],
  ["s-4vcpu-8gb-amd", 4, 8192, 160, 5, 56, 0.08333, "Basic AMD", PREMIUM_REGIONS],
  ["s-4vcpu-8gb-intel", 4, 8192, 160, 5, 56, 0.08333, "Basic Intel", PREMIUM_REGIONS],
  ["g-2vcpu-8gb", 2, 8192, 25, 4, 63, 0.09375, "General Purpose", DEDICATED_REGIONS],
  ["s-4vcpu-8gb-240gb-intel", 4, 8192, 240, 5, 64, 0.09524, "Basic Intel", PREMIUM_REGIONS],
  ["gd-2vcpu-8gb", 2, 8192, 50, 4, 68, 0.10119, "General Purpose 2x SSD", DEDICATED_REGIONS],
  ["g-2vcpu-8gb-intel", 2, 8192, 30, 4, 76, 0.1131, "General Purpose Intel", DEDICATED_REGIONS],
  ["gd-2vcpu-8gb-intel", 2, 8192, 60, 4, 79, 0.11756, "General Purpose Intel 2x SSD", DEDICATED_REGIONS],
  ["s-4vcpu-16gb-amd", 4, 16384, 200, 6, 84, 0.125, "Basic AMD", PREMIUM_REGIONS],
  ["m-2vcpu-16gb", 2, 16384, 50, 4, 84, 0.125, "Memory-Optimized", DEDICATED_REGIONS],
  ["c-4", 4, 8192, 50, 5, 84, 0.125, "CPU-Optimized", DEDICATED_REGIONS],
  ["c2-4vcpu-8gb", 4, 8192, 100, 5, 94, 0.13988, "CPU-Optimized 2x SSD", DEDICATED_REGIONS],
  ["s-4vcpu-16gb-320gb-intel", 4, 16384, 320, 6, 96, 0.14286, "Basic Intel", PREMIUM_REGIONS],
  ["s-8vcpu-16gb", 8, 16384, 320, 6, 96, 0.14286, "Basic", OPEN_REGIONS],
  ["m-2vcpu-16gb-intel", 2, 16384, 50, 4, 99, 0.14732, "Memory-Optimized Intel", DEDICATED_REGIONS],
  ["m3-2vcpu-16gb", 2, 16384, 150, 4, 104, 0.15476, "Memory-Optimized 3x SSD", DEDICATED_REGIONS],
  ["c-4-intel", 4, 8192, 50, 5, 109, 0.1622, "CPU-Optimized Intel", DEDICATED_REGIONS],
  ["s-8vcpu-16gb-amd", 8, 16384, 320, 6, 112, 0.16667, "Basic AMD", PREMIUM_REGIONS],
  ["s-8vcpu-16gb-intel", 8, 16384, 320, 6, 112, 0.16667, "Basic Intel", PREMIUM_REGIONS],
  ["g-4vcpu-16gb", 4, 16384, 50, 5, 126, 0.1875, "General Purpose", DEDICATED_REGIONS],
  ["s-8vcpu-16gb-480gb-intel", 8, 16384, 480, 6, 128, 0.19048, "Basic Intel", PREMIUM_REGIONS],
  ["so-2vcpu-16gb", 2, 16384, 300, 4, 131, 0.19494, "Storage-Optimized", DEDICATED_REGIONS],
  ["gd-4vcpu-16gb", 4, 16384, 100, 5, 136, 0.20238, "General Purpose 2x SSD", DEDICATED_REGIONS],
  ["s-8vcpu-32gb-amd", 8, 32768, 400, 7, 168, 0.25, "Basic AMD", PREMIUM_REGIONS],
  ["c-8", 8, 16384, 100, 6, 168, 0.25, "CPU-Optimized", DEDICATED_REGIONS],
  ["m-4vcpu-32gb", 4, 32768, 100, 6, 168, 0.25, "Memory-Optimized", DEDICATED_REGIONS],
  ["g-8vcpu-32gb", 8, 32768, 100, 6, 252, 0.375, "General Purpose", DEDICATED_REGIONS],
  // Retired: listed, but no longer sold anywhere.
  ["s-3vcpu-1gb", 3, 1024, 60, 3, 15, 0.02232, "Basic", []],
];

export function defaultSizes(): FakeSize[] {
  return ROWS.map(([slug, vcpus, memory, disk, transfer, monthly, hourly, description, regions]) => ({
    slug,
    memory,
    vcpus,
    disk,
    transfer,
    price_monthly: monthly,
    price_hourly: hourly,
    regions: [...regions].sort(),
    available: regions.length > 0,
    description,
    disk_info: [{ type: "local", size: { amount: disk, unit: "gib" } }],
  }));
}

/** Regions, each listing the sizes sold there (derived from the sizes, so the two never disagree). */
export function regionsFor(sizes: FakeSize[]): FakeRegion[] {
  return Object.entries(REGION_NAMES).map(([slug, name]) => ({
    name,
    slug,
    features: FEATURES,
    available: !CLOSED_REGIONS.has(slug),
    sizes: CLOSED_REGIONS.has(slug) ? [] : sizes.filter((s) => s.available && s.regions.includes(slug)).map((s) => s.slug),
  }));
}

/** Public distribution images the fake accepts by slug (any droplet "runs" this machine's Debian anyway). */
export const DEFAULT_IMAGES: { id: number; slug: string; name: string; distribution: string }[] = [
  { id: 148036301, slug: "debian-12-x64", name: "12 x64", distribution: "Debian" },
  { id: 178916733, slug: "debian-13-x64", name: "13 x64", distribution: "Debian" },
  { id: 129211873, slug: "ubuntu-22-04-x64", name: "22.04 (LTS) x64", distribution: "Ubuntu" },
  { id: 160336521, slug: "ubuntu-24-04-x64", name: "24.04 (LTS) x64", distribution: "Ubuntu" },
];
