// A disk that fits the torrent. Before the droplet exists (the size known from a .torrent or `xl=`): the cheapest
// droplet size whose disk holds the files plus a margin, or DO_SIZE with a block storage volume when that is cheaper
// or nothing else holds them. On the droplet, once the bytes to fetch are known: its free space is measured and, if
// short, a volume of the needed size is created, attached and mounted where aria2 downloads — or the job is refused,
// with the numbers, when the volume would break a budget.
import { quote } from "shell-quote";
import type { Logger } from "../../shared/logger.js";
import { formatBytes } from "../../shared/text-format.js";
import type { JobStore } from "../job-store.js";
import type { JobVolumes } from "./job-volumes.js";
import { billVolumeSeconds, GIB, volumePriceHourly } from "./pricing.js";
import type { TorrentJobData, TorrentJobInput } from "./torrent-job-model.js";
import type { DropletSession } from "./torrent-ports.js";

/** ext4 on a fresh volume leaves 88–93% of its nominal size available (journal, inode tables, 5% kept for root): measured on 1–100 GiB. */
const VOLUME_USABLE_FRACTION = 0.88;
/** The largest volume DigitalOcean makes (POST /v2/volumes/{id}/actions, resize: "maximum size … 16TiB"). */
export const MAX_VOLUME_GIB = 16_384;
/** What a droplet's image and logs take of its size's disk before a torrent arrives (debian-12-x64 is about 2 GiB). */
const IMAGE_RESERVE_BYTES = 3 * GIB;

export interface DiskSettings {
  /** Room kept on top of the files, in percent of them (DISK_MARGIN_PERCENT) and in bytes (DISK_MARGIN_MB). */
  marginPercent: number;
  marginBytes: number;
  /** DO_VOLUME_USD_PER_GIB_MONTH. */
  volumeUsdPerGibMonth: number;
}

/** The room `bytes` of files need on a disk. */
export function roomNeeded(bytes: number, s: DiskSettings): number {
  return Math.ceil(bytes * (1 + s.marginPercent / 100) + s.marginBytes);
}

/** The volume (whole GiB, at least 1) whose ext4 filesystem has `needBytes` available. */
export function volumeGibFor(needBytes: number): number {
  return Math.max(1, Math.ceil(needBytes / (GIB * VOLUME_USABLE_FRACTION)));
}

/** A droplet size as the choice sees it (CloudSize has these fields). */
export interface SizeOption {
  slug: string;
  priceHourly: number;
  priceMonthly: number;
  transferTb: number;
  diskGb: number;
  vcpus: number;
  memoryMb: number;
  regions: string[];
  available: boolean;
}

export interface DiskPlan {
  size: SizeOption;
  /** A volume to attach (GiB), or null when the droplet's own disk holds the files. */
  volumeGib: number | null;
  /** The room the files need (margin included). */
  needBytes: number;
  /** The whole job's estimate with this choice. */
  usd: number;
}

/**
 * The cheapest way to hold `bytes`: `base` (DO_SIZE) when its disk holds them; else the cheapest of the sizes at least
 * as big as `base` (vCPUs, memory) whose disk holds them and `base` with a volume, by the whole job's estimate
 * (`usdFor`). A size is never chosen smaller than DO_SIZE: the owner picked it for a reason.
 */
export function planDisk(o: {
  bytes: number;
  base: SizeOption;
  sizes: SizeOption[];
  region: string;
  settings: DiskSettings;
  usdFor(size: SizeOption, volumeGib: number | null): number;
}): { plan: DiskPlan } | { refused: string } {
  const needBytes = roomNeeded(o.bytes, o.settings);
  const holds = (s: SizeOption) => s.diskGb * GIB - IMAGE_RESERVE_BYTES >= needBytes;
  if (holds(o.base)) return { plan: { size: o.base, volumeGib: null, needBytes, usd: o.usdFor(o.base, null) } };
  const options: DiskPlan[] = o.sizes
    .filter((s) => s.available && s.regions.includes(o.region) && s.vcpus >= o.base.vcpus && s.memoryMb >= o.base.memoryMb && holds(s))
    .map((s) => ({ size: s, volumeGib: null, needBytes, usd: o.usdFor(s, null) }));
  const gib = volumeGibFor(needBytes);
  if (gib <= MAX_VOLUME_GIB) options.push({ size: o.base, volumeGib: gib, needBytes, usd: o.usdFor(o.base, gib) });
  if (options.length === 0) {
    return { refused: `no droplet size offered in ${o.region} has room for ${formatBytes(needBytes)}, and a volume can hold at most ${MAX_VOLUME_GIB} GiB` };
  }
  // Cheapest first; at the same price the droplet alone (one thing less to create and delete).
  options.sort((a, b) => a.usd - b.usd || (a.volumeGib === null ? -1 : 1) - (b.volumeGib === null ? -1 : 1));
  return { plan: options[0]! };
}

/** The volume's share of an estimate: its price for the job's expected lifetime, DigitalOcean's minimum included. */
export function volumeEstimateUsd(sizeGib: number, seconds: number, usdPerGibMonth: number): number {
  return billVolumeSeconds(seconds, volumePriceHourly(sizeGib, usdPerGibMonth));
}

export interface DiskFitDeps {
  jobs: JobStore;
  volumes: JobVolumes;
  settings: DiskSettings & { region: string; attachTimeoutMs: number };
  /**
   * The job's reservation becomes `usd` (its estimate with the volume): why that breaks a money cap, with the numbers,
   * or null. `capsAccepted`: the owner already chose to go on past a monthly cap (only the per-job budget still counts).
   */
  checkCaps(jobId: number, ownerId: number, usd: number, capsAccepted: boolean): string | null;
}

export interface DiskFitContext {
  jobId: number;
  /** What aria2 is to fetch. */
  bytes: number;
  session: DropletSession;
  /** aria2's download directory on the droplet; a volume is mounted on it. */
  dir: string;
  dropletDoId: number;
  signal: AbortSignal;
  log: Logger;
  /** Puts a line on the job's card. */
  say(detail: string): void;
}

/**
 * Makes room for `bytes` in `dir` on the droplet before aria2 writes them: nothing when its disk has the room; else a
 * volume created, attached and mounted on `dir`. A job that already has one (a restart) gets it mounted again. Throws,
 * with the numbers, when the volume would break a budget or cannot be made.
 */
export async function fitDisk(deps: DiskFitDeps, ctx: DiskFitContext): Promise<void> {
  const { jobs, volumes, settings } = deps;
  const job = jobs.get<TorrentJobInput, TorrentJobData>(ctx.jobId)!;
  // A volume already under way (a restart, a reconnect): carried on, its cost already in the reservation.
  const existing = volumes.current(ctx.jobId);
  if (existing) {
    await attachAndMount(deps, ctx, existing.sizeGib, existing.priceHourly);
    return;
  }
  const room = await measureRoom(ctx.session, ctx.dir, ctx.signal);
  const needBytes = roomNeeded(ctx.bytes, settings);
  if (room >= needBytes) {
    ctx.log.info({ bytes: ctx.bytes, room }, "the droplet's disk has room for the torrent");
    return;
  }
  const sizeGib = volumeGibFor(needBytes);
  const short = `the droplet's disk has ${formatBytes(room)} free and the torrent needs ${formatBytes(needBytes)} (${formatBytes(ctx.bytes)} and the margin)`;
  if (sizeGib > MAX_VOLUME_GIB) throw new Error(`no room: ${short}, and a volume can hold at most ${MAX_VOLUME_GIB} GiB`);
  const priceHourly = volumePriceHourly(sizeGib, settings.volumeUsdPerGibMonth);
  const volumeUsd = volumeEstimateUsd(sizeGib, job.data.estimateSeconds ?? 3600, settings.volumeUsdPerGibMonth);
  const estimateUsd = Math.round(((job.data.estimateUsd ?? 0) + volumeUsd) * 1e6) / 1e6;
  const overCap = deps.checkCaps(ctx.jobId, job.ownerId, estimateUsd, job.data.sizeAccepted === true);
  if (overCap) {
    throw new Error(`refused before the download: ${short}, so it needs a ${sizeGib} GiB volume (about $${volumeUsd.toFixed(4)}), and with it ${overCap}`);
  }
  ctx.log.info({ bytes: ctx.bytes, room, sizeGib, estimateUsd }, "the droplet's disk is too small: attaching a volume");
  ctx.say(`💾 Adding a ${sizeGib} GiB volume: ${short}.`);
  await attachAndMount(deps, ctx, sizeGib, priceHourly);
}

async function attachAndMount(deps: DiskFitDeps, ctx: DiskFitContext, sizeGib: number, priceHourly: number): Promise<void> {
  const rec = await deps.volumes.provide(ctx.jobId, {
    sizeGib,
    priceHourly,
    region: deps.settings.region,
    dropletDoId: ctx.dropletDoId,
    timeoutMs: deps.settings.attachTimeoutMs,
    signal: ctx.signal,
  });
  await mountVolume(ctx.session, rec.name, ctx.dir, ctx.signal);
  deps.jobs.patchData(ctx.jobId, { volume: { name: rec.name, sizeGib: rec.sizeGib, priceHourly: rec.priceHourly } });
  ctx.say(`💾 ${rec.sizeGib} GiB volume attached, aria2 downloads to it.`);
}

/** Bytes the download can use in `dir`: what its filesystem has free plus what the download already wrote there. */
async function measureRoom(session: DropletSession, dir: string, signal: AbortSignal): Promise<number> {
  const q = quote([dir]);
  const r = await session.exec(["sh", "-c", `mkdir -p ${q} && df -B1 --output=avail ${q} | tail -n 1 && du -sxB1 ${q} | cut -f1`], { timeoutMs: 30_000, signal });
  const [avail, used] = r.stdout.trim().split(/\s+/).map(Number);
  if (r.code !== 0 || !Number.isFinite(avail) || !Number.isFinite(used)) {
    throw new Error(`could not measure the droplet's free disk: ${(r.stderr || r.stdout).trim().slice(0, 300)}`);
  }
  return avail! + used!;
}

/**
 * Mounts the attached volume on `dir` (DigitalOcean's device path and mount options; formatted only if it has no
 * filesystem). Idempotent: a restarted job runs it again. Refuses to hide files already in `dir`.
 */
async function mountVolume(session: DropletSession, name: string, dir: string, signal: AbortSignal): Promise<void> {
  const dev = quote([`/dev/disk/by-id/scsi-0DO_Volume_${name}`]);
  const d = quote([dir]);
  const script = [
    // The attach action completes before the kernel always shows the device: wait a little for it.
    `i=0; while [ ! -e ${dev} ]; do i=$((i+1)); if [ $i -gt 60 ]; then echo "the volume's device ${dev} did not appear on the droplet" >&2; exit 3; fi; sleep 0.5; done`,
    `mkdir -p ${d}`,
    `if mountpoint -q ${d}; then exit 0; fi`,
    `if [ -n "$(ls -A ${d})" ]; then echo "${d} already holds files; a volume mounted on it would hide them" >&2; exit 4; fi`,
    `blkid ${dev} >/dev/null 2>&1 || mkfs.ext4 -q ${dev}`,
    `mount -o defaults,nofail,discard,noatime ${dev} ${d}`,
    `chmod 700 ${d}`,
  ].join("\n");
  const r = await session.exec(["sh", "-c", script], { timeoutMs: 120_000, signal });
  if (r.code !== 0) throw new Error(`could not mount the volume on the droplet: ${(r.stderr || r.stdout).trim().slice(0, 300)}`);
}
